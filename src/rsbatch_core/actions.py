"""Operator actions that must run as the durable function's role.

The Data API lets only the identity that submitted a statement describe or
cancel it (`redshift-data:statement-owner-iam-userid`). So `rsbatch show`,
`cancel` and `reconcile` start a short execution of the durable function
(`{"action": …}`) instead of calling the Data API with the operator's own
credentials. Each action is one step; expected failures come back as
`{"ok": false, "error": …}` so the CLI can say what happened.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aws_durable_execution_sdk_python import DurableContext, StepContext
from aws_durable_execution_sdk_python.config import StepConfig
from aws_durable_execution_sdk_python.retries import RetryPresets
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rsbatch_core.classify import error_code
from rsbatch_core.errors import BadInputError, RsbatchError
from rsbatch_core.executions import ENDED
from rsbatch_core.models import CallbackPayload, DecidedBy, RunRecord, RunStatus
from rsbatch_core.observability import logger
from rsbatch_core.ports import CallbackSink, ExecutionStatus, RunStore, StatementApi
from rsbatch_core.registry import RunNotFoundError
from rsbatch_core.verdict import RedshiftRecord, bounded, decision


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["inspect", "cancel", "reconcile"]
    run: str | None = Field(default=None, min_length=1, max_length=2048)
    older_than_seconds: int = Field(default=600, ge=0)
    dry_run: bool = False


def is_action(event: Any) -> bool:
    return isinstance(event, dict) and "action" in event


def run_action(
    event: Any,
    context: DurableContext,
    registry: RunStore,
    redshift: StatementApi,
    sender: CallbackSink,
    executions: ExecutionStatus,
) -> dict[str, Any]:
    try:
        request = ActionRequest.model_validate(event)
    except ValidationError as exc:
        raise BadInputError(f"invalid action: {exc.errors()[0]['msg']}") from None

    def act(_: StepContext) -> dict[str, Any]:
        try:
            return {"ok": True, **perform(request, registry, redshift, sender, executions)}
        except (RunNotFoundError, BadInputError) as exc:
            return {"ok": False, "error": {"type": "BadInput", "message": str(exc)}}
        except RsbatchError as exc:
            return {"ok": False, "error": {"type": type(exc).__name__, "message": str(exc)}}

    # No retries: the operator sees the error and decides (a cancel or callback twice is harmless anyway).
    return context.step(
        act, name=f"action-{request.action}", config=StepConfig(retry_strategy=RetryPresets.none())
    )


def perform(
    request: ActionRequest,
    registry: RunStore,
    redshift: StatementApi,
    sender: CallbackSink,
    executions: ExecutionStatus,
) -> dict[str, Any]:
    if request.action == "reconcile":
        found = reconcile(registry, redshift, sender, executions, request.older_than_seconds, request.dry_run)
        return {"actions": found}
    if not request.run:
        raise BadInputError(f"action {request.action} needs a run")
    record = registry.find(request.run)
    if not record.statement_id:
        raise RsbatchError(f"run {record.run_key} has no statement yet")
    if request.action == "cancel":
        if not redshift.cancel(record.statement_id):
            raise RsbatchError(f"statement {record.statement_id} is not running (already ended?)")
        return {"run": record.run_key, "statement_id": record.statement_id, "cancelled": True}
    try:
        description = dict(redshift.describe(record.statement_id))
    except ClientError as exc:
        if not _statement_gone(exc):
            raise
        gone = f"Redshift no longer knows statement {record.statement_id} (statements are kept 24 h)"
        return {"run": record.run_key, "statement": None, "note": gone}
    description.pop("ResponseMetadata", None)
    return {"run": record.run_key, "statement": json.loads(json.dumps(_bounded(description), default=str))}


def _statement_gone(exc: ClientError) -> bool:
    """The Data API no longer knows the statement (it keeps them 24 h): not an error of ours."""
    return error_code(exc) in ("ResourceNotFoundException", "ValidationException")


def _bounded(description: dict[str, Any]) -> dict[str, Any]:
    """Texts cut to size: the action's result is a checkpoint (256 KB) and an Invoke payload (6 MB)."""
    out: dict[str, Any] = {
        k: bounded(v) if k in ("Error", "QueryString") else v for k, v in description.items()
    }
    subs = out.get("SubStatements")
    if isinstance(subs, list):
        out["SubStatements"] = [_bounded(dict(sub)) for sub in subs[:MAX_SUB_STATEMENTS]]
    return out


#: A batch has at most 40 statements (botocore's model: SqlList max 40) plus rsbatch's SETs.
MAX_SUB_STATEMENTS = 50


def reconcile(
    registry: RunStore,
    redshift: StatementApi,
    sender: CallbackSink,
    executions: ExecutionStatus,
    older_than_seconds: int,
    dry_run: bool,
) -> list[dict[str, Any]]:
    """Heal what waits for nothing: a WAITING run whose statement ended (lost event), whose
    execution ended (an orphan: stopped, timed out), or whose statement Redshift forgot."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
    actions = []
    for record in registry.scan(RunStatus.WAITING):
        if record.created_at > cutoff:
            continue
        execution = executions.status(record.execution_arn)
        if execution is None or execution in ENDED:
            actions.append(_close_orphan(registry, redshift, record, execution, dry_run))
            continue
        if not record.statement_id:
            continue  # between a new attempt's re-arm and its submit
        actions.append(_relay(redshift, sender, record, dry_run))
    return actions


def _relay(redshift: StatementApi, sender: CallbackSink, record: RunRecord, dry_run: bool) -> dict[str, Any]:
    """Send the callback Redshift's event would have; a statement Redshift forgot wakes the run."""
    statement_id = str(record.statement_id)
    entry: dict[str, Any] = {"run": record.run_key, "statement_id": statement_id}
    try:
        redshift_record = RedshiftRecord.from_description(redshift.describe(statement_id))
    except ClientError as exc:
        if not _statement_gone(exc):
            raise
        # Kept 24 h by the Data API: the run's own finish step will see it is gone and fail the run.
        payload = CallbackPayload(decided_by=DecidedBy.RECONCILE, statement_id=statement_id)
        payload.message = f"Redshift no longer knows statement {statement_id} (statements are kept 24 h)"
        delivery = None if dry_run else sender.fail(record.callback_id, "StatementUnknown", payload).value
        return {**entry, "state": "UNKNOWN", "action": "wake", "delivery": delivery}
    entry["state"] = redshift_record.state
    if not redshift_record.terminal:
        return {**entry, "action": "skip", "delivery": None}
    relayed = decision(redshift_record, DecidedBy.RECONCILE)
    delivery = None if dry_run else sender.send(record.callback_id, relayed).value
    return {**entry, "action": "succeed" if relayed.success else "fail", "delivery": delivery}


def _close_orphan(
    registry: RunStore, redshift: StatementApi, record: RunRecord, execution: str | None, dry_run: bool
) -> dict[str, Any]:
    """Nothing can resume this run any more: cancel its statement and record it FAILED, saying why."""
    why = f"its durable execution is {execution}" if execution else "its durable execution no longer exists"
    entry = {
        "run": record.run_key,
        "statement_id": record.statement_id or "",
        "state": f"execution {execution}",
    }
    if dry_run:
        return {**entry, "action": "close", "delivery": None}
    cancelled = False
    if record.statement_id:
        try:
            cancelled = redshift.cancel(record.statement_id)
        except ClientError as exc:
            logger.warning("could not cancel an orphan's statement", extra={"code": error_code(exc)})
    note = "; its statement was cancelled" if cancelled else ""
    registry.abandon(record.run_key, f"orphaned: {why}, so nothing could resume it{note}")
    logger.warning("closed an orphaned run", extra={"execution": execution, "cancelled": cancelled})
    return {**entry, "action": "close", "delivery": "recorded"}
