"""Turn one Redshift status event into one durable callback — the listener's logic.

Duplicate, late, reordered and foreign events are normal; each ends in a
logged, non-failing outcome. Only infrastructure errors raise, so Lambda's
async retries (then the dead-letter queue) handle them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import ValidationError

from rsbatch_core.callbacks import CallbackSender, Delivery
from rsbatch_core.models import DecidedBy, RedshiftEventDetail, RunStatus
from rsbatch_core.observability import bind_run, logger
from rsbatch_core.registry import RunRegistry
from rsbatch_core.runkey import is_ours
from rsbatch_core.verdict import RedshiftRecord, decision

EVENT_SOURCE = "aws.redshift-data"
EVENT_DETAIL_TYPE = "Redshift Data Statement Status Change"


class Outcome(StrEnum):
    RESUMED = "resumed"
    ALREADY_CLOSED = "already_closed"
    MALFORMED = "malformed"
    NOT_OURS = "not_ours"
    UNKNOWN_RUN = "unknown_run"
    STALE = "stale"  # the run already ended, or the event is for another statement


class RedshiftStatusEvent(EventBridgeModel):
    detail: RedshiftEventDetail


def parse_event(event: Any) -> RedshiftStatusEvent | None:
    """The event, or None if it is not a well-formed Redshift status change."""
    if not isinstance(event, dict):
        return None
    try:
        parsed = parse(event=event, model=RedshiftStatusEvent)
    except (ValidationError, ValueError, TypeError):
        return None
    if parsed.source != EVENT_SOURCE or parsed.detail_type != EVENT_DETAIL_TYPE:
        return None
    return parsed


def resume_from_event(event: Any, registry: RunRegistry, sender: CallbackSender) -> Outcome:
    parsed = parse_event(event)
    if parsed is None:
        logger.warning("dropped: not a Redshift statement status event")
        return Outcome.MALFORMED
    detail = parsed.detail
    name = detail.statement_name
    if not name or not is_ours(name):
        logger.info("ignored: statement is not ours", extra={"statement_id": detail.statement_id})
        return Outcome.NOT_OURS
    bind_run(name)
    record = registry.get(name)
    if record is None:
        logger.info("ignored: no such run in the registry")
        return Outcome.UNKNOWN_RUN
    if record.status is not RunStatus.WAITING:
        logger.info("ignored: run already ended", extra={"status": record.status.value})
        return Outcome.STALE
    # A batch's event may name the batch or one of its sub-statements (`<id>:N`); either wakes
    # the run, which then reads the batch's own record. No statement yet: a new attempt's event.
    if record.statement_id and record.statement_id != detail.statement_id.split(":")[0]:
        logger.warning("ignored: event for another statement of this run")
        return Outcome.STALE
    redshift = RedshiftRecord(statement_id=detail.statement_id, state=detail.state)
    delivery = sender.send(record.callback_id, decision(redshift, DecidedBy.REDSHIFT_EVENT))
    logger.info("event handled", extra={"state": detail.state, "delivery": delivery.value})
    return Outcome.RESUMED if delivery is Delivery.SENT else Outcome.ALREADY_CLOSED
