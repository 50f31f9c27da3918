"""Operator actions that must run as the durable function's role.

The Data API lets only the identity that submitted a statement describe or
cancel it (`redshift-data:statement-owner-iam-userid`). So `rsbatch show --live`,
`cancel` and `reconcile` (by hand, or on its schedule) start an execution of
the durable function (`{"action": …}`) instead of calling the Data API with the
operator's own credentials; `show` and `runs` read the registry and the
execution themselves. Inspect and cancel are one step; reconcile is a step per
page of waiting runs. Expected failures come back as `{"ok": false, "error": …}`
so the CLI can say what happened.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aws_durable_execution_sdk_python import DurableContext, StepContext
from aws_durable_execution_sdk_python.config import Duration, StepConfig
from aws_durable_execution_sdk_python.retries import RetryPresets
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rsbatch_core.classify import error_code
from rsbatch_core.errors import BadInputError, RsbatchError
from rsbatch_core.executions import ENDED
from rsbatch_core.models import CallbackPayload, DecidedBy, RunRecord
from rsbatch_core.observability import logger, record_waiting
from rsbatch_core.ports import CallbackSink, ExecutionStatus, RunStore, StatementApi
from rsbatch_core.registry import RunNotFoundError
from rsbatch_core.verdict import RedshiftRecord, bounded, decision

#: Runs per reconcile page (one durable step each) and threads describing them in parallel.
RECONCILE_PAGE = 25
RECONCILE_THREADS = 8
#: Work done in one invocation before reconcile yields (a 1-s durable wait ends the invocation),
#: well inside the function's 60-s timeout: the page steps' own elapsed times decide, so a
#: replay takes the same decisions from the checkpoints.
INVOCATION_BUDGET_MS = 20_000
#: Actions listed in a reconcile's result (the counts cover all): the result is a checkpoint.
MAX_LISTED = 200


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["inspect", "cancel", "reconcile"]
    run: str | None = Field(default=None, min_length=1, max_length=2048)
    older_than_seconds: int = Field(default=600, ge=0)
    dry_run: bool = False
    page_size: int = Field(default=RECONCILE_PAGE, ge=1, le=100)


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
    if request.action == "reconcile":
        return reconcile_durably(request, context, registry, redshift, sender, executions)

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
        return {"actions": found}  # in one go; the durable function walks pages (reconcile_durably)
    if not request.run:
        raise BadInputError(f"action {request.action} needs a run")
    record = registry.find(request.run)
    if request.action == "cancel" and record.is_pipeline:
        return _cancel_pipeline(record, redshift)
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


def _cancel_pipeline(record: RunRecord, redshift: StatementApi) -> dict[str, Any]:
    """Cancel every running step of a pipeline run; each step's end then reaches the pipeline,
    which fails the run naming them (as `on_failure` says for the steps not yet started)."""
    running = {n: s for n, s in record.step_states().items() if s.state.value == "RUNNING" and s.statement_id}
    if not running:
        raise RsbatchError(f"pipeline run {record.run_key} has no running step")
    cancelled = [n for n, s in running.items() if redshift.cancel(str(s.statement_id))]
    return {"run": record.run_key, "cancelled_steps": cancelled, "cancelled": bool(cancelled)}


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
    """Every page of `reconcile_page` in one go (tests, and small registries)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
    actions: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = reconcile_page(registry, redshift, sender, executions, cutoff, token, dry_run)
        actions += page["actions"]
        if page["next"] is None:
            return actions
        token = page["next"]


def reconcile_page(
    registry: RunStore,
    redshift: StatementApi,
    sender: CallbackSink,
    executions: ExecutionStatus,
    started_before: datetime,
    token: str | None,
    dry_run: bool,
    page_size: int = RECONCILE_PAGE,
) -> dict[str, Any]:
    """Heal one page of what waits for nothing: a WAITING run whose statement ended (lost event),
    whose execution ended (an orphan: stopped, timed out), or whose statement Redshift forgot.

    The page's runs are looked at in parallel (Data API and Lambda calls); a run that cannot be
    looked at is reported (`action: error`) and the others go on. Registry writes stay on this
    thread (boto3 resources are not thread-safe).
    """
    began = time.monotonic()
    page = registry.waiting(started_before=started_before, limit=page_size, token=token)
    with ThreadPoolExecutor(max_workers=RECONCILE_THREADS) as pool:
        looked = list(pool.map(lambda r: _look_at(redshift, sender, executions, r, dry_run), page.records))
    actions = []
    for record, (entry, orphan_error) in zip(page.records, looked, strict=True):
        if orphan_error is not None:
            registry.abandon(record.run_key, orphan_error)
            logger.warning("closed an orphaned run", extra={"run": record.run_key})
        if entry is not None:
            actions.append(entry)
    return {
        "actions": actions,
        "next": page.next_token,
        "looked_at": len(page.records),
        "elapsed_ms": round((time.monotonic() - began) * 1000),
    }


def _look_at(
    redshift: StatementApi,
    sender: CallbackSink,
    executions: ExecutionStatus,
    record: RunRecord,
    dry_run: bool,
) -> tuple[dict[str, Any] | None, str | None]:
    """One waiting run: (what reconcile did, the error to record when it is an orphan to close)."""
    try:
        execution = executions.status(record.execution_arn)
        if execution is None or execution in ENDED:
            return _close_orphan(redshift, record, execution, dry_run)
        if not record.statement_id:
            return None, None  # between a new attempt's re-arm and its submit
        return _relay(redshift, sender, record, dry_run), None
    except (ClientError, RsbatchError) as exc:
        logger.warning("could not reconcile a run", extra={"run": record.run_key, "code": error_code(exc)})
        entry = {
            "run": record.run_key,
            "statement_id": record.statement_id or "",
            "state": "UNKNOWN",
            "action": "error",
            "delivery": None,
            "note": bounded(f"{type(exc).__name__}: {exc}", 300),
        }
        return entry, None


def reconcile_durably(
    request: ActionRequest,
    context: DurableContext,
    registry: RunStore,
    redshift: StatementApi,
    sender: CallbackSink,
    executions: ExecutionStatus,
) -> dict[str, Any]:
    """Reconcile at any size: one durable step per page, a durable 1-s wait when an invocation
    has worked `INVOCATION_BUDGET_MS`, and a bounded result (counts + the first actions)."""
    cutoff_iso: str = context.step(
        lambda _: (datetime.now(UTC) - timedelta(seconds=request.older_than_seconds)).isoformat(),
        name="reconcile-cutoff",
    )
    cutoff = datetime.fromisoformat(cutoff_iso)
    counts: dict[str, int] = {}
    listed: list[dict[str, Any]] = []
    token: str | None = None
    pages = looked_at = worked_ms = 0
    while True:
        pages += 1
        page = context.step(
            _page_step(registry, redshift, sender, executions, cutoff, token, request, looked_at),
            name=f"reconcile-page-{pages}",
            config=StepConfig(retry_strategy=RetryPresets.transient()),
        )
        looked_at += page["looked_at"]
        for entry in page["actions"]:
            counts[entry["action"]] = counts.get(entry["action"], 0) + 1
            if len(listed) < MAX_LISTED:
                listed.append(entry)
        token = page["next"]
        if token is None:
            break
        worked_ms += page["elapsed_ms"]
        if worked_ms >= INVOCATION_BUDGET_MS:
            context.wait(Duration.from_seconds(1), name=f"reconcile-rest-{pages}")
            worked_ms = 0
    total = sum(counts.values())
    return {
        "ok": True,
        "actions": listed,
        "counts": counts,
        "pages": pages,
        "looked_at": looked_at,
        "truncated": total > len(listed),
    }


def _page_step(
    registry: RunStore,
    redshift: StatementApi,
    sender: CallbackSink,
    executions: ExecutionStatus,
    cutoff: datetime,
    token: str | None,
    request: ActionRequest,
    looked_before: int = 0,
) -> Callable[[StepContext], dict[str, Any]]:
    def page(_: StepContext) -> dict[str, Any]:
        done = reconcile_page(
            registry, redshift, sender, executions, cutoff, token, request.dry_run, request.page_size
        )
        if done["next"] is None:  # the last page: every waiting run past the cutoff was walked
            record_waiting(looked_before + done["looked_at"], request.older_than_seconds)
        return done

    return page


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
    redshift: StatementApi, record: RunRecord, execution: str | None, dry_run: bool
) -> tuple[dict[str, Any], str | None]:
    """Nothing can resume this run any more: cancel its statement; the error to record it FAILED with."""
    why = f"its durable execution is {execution}" if execution else "its durable execution no longer exists"
    entry: dict[str, Any] = {
        "run": record.run_key,
        "statement_id": record.statement_id or "",
        "state": f"execution {execution}",
    }
    if dry_run:
        return {**entry, "action": "close", "delivery": None}, None
    note = ""
    if record.statement_id:
        try:
            if redshift.cancel(record.statement_id):
                note = "; its statement was cancelled"
        except ClientError as exc:
            if not _statement_gone(exc):
                raise
            note = f"; Redshift no longer knows its statement {record.statement_id} (kept 24 h)"
            entry["note"] = note[2:]
    return {**entry, "action": "close", "delivery": "recorded"}, (
        f"orphaned: {why}, so nothing could resume it{note}"
    )
