"""The durable orchestration: submit once, suspend on a callback, finish from Redshift's own record.

Waiting happens in *rounds*. Each round creates a callback, points the run's
registry item at it, and suspends with no compute. Redshift's event (through
the listener) or an operator resumes the round. If a round times out, the
next round re-arms the registry with a fresh callback and then describes the
statement once: a statement that ended while its event was lost is seen
there (resumed by poll); one still running is waited for again, with the
round's timeout doubled up to a cap. So a lost event costs at most one round
of latency, a healthy run costs three durable operations whatever its
duration, and the fallback's operations grow with the logarithm of the
duration (then linearly past the cap).

Re-arming before describing closes the race with a late event: an event sent
before the re-arm reaches a closed callback, but then the describe sees the
terminal state; an event sent after it reaches the new callback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_durable_execution_sdk_python import (
    CallbackExternalError,
    CallbackTimeoutError,
    DurableContext,
    StepContext,
)
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration, StepConfig

from rsbatch_core.callbacks import parse_payload
from rsbatch_core.errors import BatchFailedError
from rsbatch_core.models import (
    CallbackPayload,
    ResultRows,
    ResumedBy,
    RunError,
    RunRecord,
    RunRequest,
    RunStatus,
    RunSummary,
)
from rsbatch_core.observability import bind_run, logger, record_finished, record_started
from rsbatch_core.parameters import check_parameters, for_batch
from rsbatch_core.redshift import RedshiftData, failing_statement, is_terminal, statement_stats
from rsbatch_core.registry import RunConflictError, RunRegistry
from rsbatch_core.retry import transient_retry
from rsbatch_core.runkey import client_token, run_key
from rsbatch_core.settings import RedshiftTarget, Settings
from rsbatch_core.sqlfile import SqlBatch
from rsbatch_core.sqlsource import SqlSource, is_s3_uri

#: Every step is safe to repeat (conditional writes, ClientToken), so transient errors are retried.
STEP_CONFIG = StepConfig(retry_strategy=transient_retry())


@dataclass
class Services:
    """What the flow talks to; the handler builds it once per container."""

    settings: Settings
    registry: RunRegistry
    redshift: RedshiftData
    sql: SqlSource


@dataclass
class Resumption:
    """Why the waiting ended."""

    resumed_by: ResumedBy
    success: bool | None  # None: nobody decided, read the statement (poll, deadline)
    payload: CallbackPayload = field(default_factory=CallbackPayload)
    deadline_passed: bool = False


def run_batch(event: Any, context: DurableContext, services: Services) -> dict[str, Any]:
    """The whole run: every batch in order, stopping at the first failure.

    Raises BatchFailedError (failing the execution) when a batch fails.
    Returns the batch's summary, or for a chain `{"run", "status", "batches": [...]}`.
    """
    request = RunRequest.parse(event)
    settings = services.settings
    target = settings.target  # validated before anything is submitted
    execution_arn = context.execution_context.durable_execution_arn
    run = run_key(execution_arn)
    bind_run(run)
    batches = _load_batches(request, context, services)
    parameters = request.parameter_values
    check_parameters(batches, parameters)

    summaries: list[dict[str, Any]] = []
    for index, batch in enumerate(batches, start=1):
        batch_run = run if index == 1 else f"{run}-{index}"
        summary = _run_one(context, services, request, batch, batch_run, index, execution_arn, target)
        summaries.append(summary)
        if summary["status"] == RunStatus.FAILED.value:
            error = summary.get("error") or {}
            where = f"batch {index} ({batch.name}): " if len(batches) > 1 else ""
            raise BatchFailedError(
                where + (error.get("message") or "the batch failed"), error.get("statement_index")
            )
    if len(batches) == 1:
        return summaries[0]
    return {"run": run, "status": RunStatus.SUCCEEDED.value, "batches": summaries}


def _load_batches(request: RunRequest, context: DurableContext, services: Services) -> list[SqlBatch]:
    """Bundled files are read directly (they ship with the code); S3 objects inside a step."""
    batches = []
    for index, name in enumerate(request.files, start=1):
        if is_s3_uri(name):
            services.sql.check_s3_uri(name)  # refuse before creating any operation

            def load(_: StepContext, name: str = name) -> list[str]:
                return list(services.sql.load(name).statements)

            statements = context.step(load, name=f"load-{index}", config=STEP_CONFIG)
            batches.append(SqlBatch(name=name, statements=tuple(statements)))
        else:
            batches.append(services.sql.load(name))
    return batches


def _run_one(
    context: DurableContext,
    services: Services,
    request: RunRequest,
    batch: SqlBatch,
    run: str,
    index: int,
    execution_arn: str,
    target: RedshiftTarget,
) -> dict[str, Any]:
    """One batch: callback, register + submit, wait in rounds, finish from Redshift's record."""
    settings = services.settings
    timeout = min(
        request.callback_timeout_seconds or settings.callback_timeout_seconds, settings.deadline_seconds
    )
    suffix = "" if index == 1 else f"-b{index}"
    callback = context.create_callback(f"wait{suffix}-1", _callback_config(timeout))
    parameters = for_batch(batch, request.parameter_values)

    def submit(_: StepContext) -> dict[str, Any]:
        services.registry.register(
            RunRecord(
                run_key=run,
                callback_id=callback.callback_id,
                execution_arn=execution_arn,
                sql_file=batch.name,
            )
        )
        statement_id = services.redshift.submit(
            batch, target, run, client_token(run), parameters, request.execution_mode
        )
        services.registry.set_statement(run, statement_id)
        record_started()
        logger.info("batch submitted", extra={"statement_id": statement_id, "sql_file": batch.name})
        return {"statement_id": statement_id, "submitted_at": time.time()}

    submitted = context.step(submit, name=f"submit{suffix}", config=STEP_CONFIG)
    statement_id: str = submitted["statement_id"]
    resumption = _wait_rounds(context, services, run, statement_id, callback, timeout, submitted, suffix)
    max_rows = settings.max_result_rows if request.max_rows is None else request.max_rows

    def finish(_: StepContext) -> dict[str, Any]:
        summary, latency_ms = _summarize(services, run, execution_arn, batch, statement_id, resumption)
        summary.execution_mode = request.execution_mode
        summary.resume_latency_ms = latency_ms
        summary.committed_statements = _committed(summary)
        if summary.status is RunStatus.SUCCEEDED and max_rows > 0:
            summary.result = _result_rows(services, statement_id, summary, max_rows)
        services.registry.finish(summary)
        record_finished(summary, latency_ms)
        logger.info(
            "run finished",
            extra={"status": summary.status.value, "resumed_by": summary.resumed_by.value},
        )
        return summary.model_dump(mode="json")

    return context.step(finish, name=f"finish{suffix}", config=STEP_CONFIG)


def _committed(summary: RunSummary) -> list[int]:
    """What Redshift kept: all or nothing in a transaction, each finished statement in auto-commit."""
    finished = [s.index for s in summary.statements if s.status == "FINISHED"]
    if summary.execution_mode == "AUTO_COMMIT":
        return finished
    return finished if summary.redshift_status == "FINISHED" else []


def _result_rows(
    services: Services, statement_id: str, summary: RunSummary, max_rows: int
) -> ResultRows | None:
    """The rows of the last statement, if it returned a result set."""
    description = services.redshift.describe(statement_id)
    subs = description.get("SubStatements") or []
    last = subs[-1] if subs else description
    if not last.get("HasResultSet"):
        return None
    return services.redshift.result_rows(str(last.get("Id", statement_id)), max_rows)


def _callback_config(timeout_seconds: int) -> CallbackConfig:
    return CallbackConfig(timeout=Duration.from_seconds(max(1, timeout_seconds)))


def _wait_rounds(
    context: DurableContext,
    services: Services,
    run: str,
    statement_id: str,
    callback: Any,
    timeout: int,
    submitted: dict[str, Any],
    suffix: str = "",
) -> Resumption:
    """Suspend on callbacks until someone resumes us, the poll sees an end, or the deadline."""
    settings = services.settings
    round_no = 1
    last_check = submitted["submitted_at"]
    while True:
        try:
            payload = parse_payload(callback.result())
            return Resumption(resumed_by=payload.resumed_by, success=True, payload=payload)
        except CallbackExternalError as exc:
            payload = parse_payload(exc.data)
            if payload.message is None:
                payload.message = exc.message
            return Resumption(resumed_by=payload.resumed_by, success=False, payload=payload)
        except CallbackTimeoutError:
            logger.info("no callback this round, checking the statement", extra={"round": round_no})

        round_no += 1
        remaining = settings.deadline_seconds - (last_check - submitted["submitted_at"])
        timeout = int(min(timeout * 2, settings.max_callback_timeout_seconds, max(remaining, 1)))
        callback = context.create_callback(f"wait{suffix}-{round_no}", _callback_config(timeout))
        new_callback_id = callback.callback_id

        def check(_: StepContext, new_callback_id: str = new_callback_id) -> dict[str, Any]:
            try:
                services.registry.rearm(run, new_callback_id)
            except RunConflictError:
                logger.warning("run is no longer WAITING in the registry; checking anyway")
            description = services.redshift.describe(statement_id)
            return {"status": description.get("Status"), "now": time.time()}

        checked = context.step(check, name=f"check{suffix}-{round_no}", config=STEP_CONFIG)
        if checked["status"] in ("FINISHED", "FAILED", "ABORTED"):
            return Resumption(resumed_by=ResumedBy.POLL, success=None)
        last_check = checked["now"]
        if last_check - submitted["submitted_at"] >= settings.deadline_seconds:
            return Resumption(resumed_by=ResumedBy.POLL, success=None, deadline_passed=True)


def _summarize(
    services: Services,
    run: str,
    execution_arn: str,
    batch: SqlBatch,
    statement_id: str,
    resumption: Resumption,
) -> tuple[RunSummary, float | None]:
    """Decide the run's end from Redshift's own record, and from the operator if one decided.

    Also returns how long after the statement ended we resumed (for the ResumeLatency metric).
    """
    description = services.redshift.describe(statement_id)
    ended = description.get("UpdatedAt")
    latency_ms = (
        round((datetime.now(UTC) - ended).total_seconds() * 1000, 1)
        if is_terminal(description) and isinstance(ended, datetime)
        else None
    )
    stats = statement_stats(description)
    redshift_status = str(description.get("Status"))
    error: RunError | None = None

    if resumption.resumed_by is ResumedBy.OPERATOR and resumption.success is not None:
        if not resumption.success:
            if not is_terminal(description):
                services.redshift.cancel(statement_id)  # nothing of a failed run may commit
            error = RunError(
                type="OperatorFailed", message=resumption.payload.message or "failed by an operator"
            )
    elif resumption.deadline_passed and not is_terminal(description):
        services.redshift.cancel(statement_id)
        error = RunError(
            type="DeadlineExceeded",
            message=f"no end after {services.settings.deadline_seconds} s; statement cancelled",
        )
    else:
        state = redshift_status if is_terminal(description) else resumption.payload.state
        if state != "FINISHED":
            failed = failing_statement(stats)
            message = (failed.error if failed else None) or description.get("Error")
            if state == "ABORTED" or (failed and failed.status == "ABORTED" and not message):
                message = "aborted"
            error = RunError(
                type="RedshiftStatementAborted" if state == "ABORTED" else "RedshiftStatementFailed",
                message=_failure_message(message or "the batch failed", failed.index if failed else None),
                statement_index=failed.index if failed else None,
            )
    summary = RunSummary(
        run=run,
        status=RunStatus.FAILED if error else RunStatus.SUCCEEDED,
        execution_arn=execution_arn,
        statement_id=statement_id,
        sql_file=batch.name,
        resumed_by=resumption.resumed_by,
        redshift_status=redshift_status,
        statements=stats,
        error=error,
    )
    return summary, latency_ms


def _failure_message(message: str, index: int | None) -> str:
    if index and f"statement {index}" not in message:
        return f"statement {index} failed: {message}"
    return message
