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

Rounds are sized so the run gives up (cancels its statement, records FAILED)
before the deadline, itself inside the execution timeout: a run always
records its own end. A step that fails for good (permission, expired
statement) still marks the run FAILED before the execution fails.
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
    StepError,
)
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration, StepConfig
from aws_durable_execution_sdk_python.context import Callback

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

    @property
    def manual(self) -> bool:
        """A person decided (rsbatch succeed/fail, the AWS CLI); reconcile relays Redshift's state."""
        return self.resumed_by is ResumedBy.OPERATOR and self.success is not None and not self.payload.state


@dataclass(frozen=True)
class BatchContext:
    """What one batch of a run needs to know about the run (and the batches before it)."""

    run: str
    index: int
    execution_arn: str
    target: RedshiftTarget
    started_at: float | None  # when the run's first batch was submitted (the deadline counts from it)
    session_id: str | None  # the Redshift session the chain's first batch opened, if asked

    @property
    def suffix(self) -> str:
        return "" if self.index == 1 else f"-b{self.index}"


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
    check_parameters(batches, request.parameter_values)

    summaries: list[dict[str, Any]] = []
    started_at: float | None = None
    session_id: str | None = None
    for index, batch in enumerate(batches, start=1):
        batch_run = run if index == 1 else f"{run}-{index}"
        where = BatchContext(batch_run, index, execution_arn, target, started_at, session_id)
        summary, started_at, session_id = _run_one(context, services, request, batch, where)
        summaries.append(summary)
        if summary["status"] == RunStatus.FAILED.value:
            error = summary.get("error") or {}
            prefix = f"batch {index} ({batch.name}): " if len(batches) > 1 else ""
            raise BatchFailedError(
                prefix + (error.get("message") or "the batch failed"), error.get("statement_index")
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
    where: BatchContext,
) -> tuple[dict[str, Any], float, str | None]:
    """One batch: callback, register + submit, wait in rounds, finish from Redshift's record.

    Returns the summary, when the run's deadline clock started, and the chain's session.
    """
    settings = services.settings
    run, suffix = where.run, where.suffix
    timeout = min(
        request.callback_timeout_seconds or settings.callback_timeout_seconds, settings.deadline_seconds
    )
    callback = context.create_callback(f"wait{suffix}-1", _callback_config(timeout))
    parameters = for_batch(batch, request.parameter_values)

    def submit(_: StepContext) -> dict[str, Any]:
        services.registry.register(
            RunRecord(
                run_key=run,
                callback_id=callback.callback_id,
                execution_arn=where.execution_arn,
                sql_file=batch.name,
            )
        )
        statement_id = services.redshift.submit(
            batch,
            where.target,
            run,
            client_token(run),
            parameters,
            request.execution_mode,
            session_keep_alive=request.session_keep_alive_seconds,
            session_id=where.session_id,
        )
        session_id = where.session_id
        if request.session_keep_alive_seconds and not session_id:
            session_id = services.redshift.describe(statement_id).get("SessionId")
        services.registry.set_statement(run, statement_id)
        record_started()
        logger.info("batch submitted", extra={"statement_id": statement_id, "sql_file": batch.name})
        return {"statement_id": statement_id, "submitted_at": time.time(), "session_id": session_id}

    try:
        submitted = context.step(submit, name=f"submit{suffix}", config=STEP_CONFIG)
        statement_id: str = submitted["statement_id"]
        started_at = where.started_at if where.started_at is not None else float(submitted["submitted_at"])
        resumption = _wait_rounds(context, services, run, statement_id, callback, timeout, started_at, suffix)
        max_rows = settings.max_result_rows if request.max_rows is None else request.max_rows

        def finish(_: StepContext) -> dict[str, Any]:
            summary = _summarize(
                services, run, where.execution_arn, batch, statement_id, resumption, max_rows
            )
            summary.execution_mode = request.execution_mode
            summary.committed_statements = _committed(summary)
            services.registry.finish(summary)
            record_finished(summary, summary.resume_latency_ms)
            logger.info(
                "run finished",
                extra={"status": summary.status.value, "resumed_by": summary.resumed_by.value},
            )
            return summary.model_dump(mode="json")

        summary = context.step(finish, name=f"finish{suffix}", config=STEP_CONFIG)
        return summary, started_at, submitted.get("session_id")
    except StepError as exc:
        _abandon(context, services, run, suffix, exc)
        raise


def _abandon(context: DurableContext, services: Services, run: str, suffix: str, exc: StepError) -> None:
    """A step failed for good: cancel what may still run and record FAILED, so nothing stays WAITING."""
    message = f"{exc.error_type}: {exc.message}" if exc.message else exc.error_type

    def abandon(_: StepContext) -> None:
        record = services.registry.get(run)
        if record is None or record.status is not RunStatus.WAITING:
            return
        if record.statement_id:
            try:
                services.redshift.cancel(record.statement_id)
            except Exception:
                logger.warning("could not cancel the statement of an abandoned run", exc_info=True)
        services.registry.abandon(run, message[:2000])
        logger.error("run abandoned after a failed step", extra={"error": message[:500]})

    context.step(abandon, name=f"abandon{suffix}", config=STEP_CONFIG)


def _committed(summary: RunSummary) -> list[int]:
    """What Redshift kept: all or nothing in a transaction, each finished statement in auto-commit."""
    finished = [s.index for s in summary.statements if s.status == "FINISHED"]
    if summary.execution_mode == "AUTO_COMMIT":
        return finished
    return finished if summary.redshift_status == "FINISHED" else []


def _result_rows(services: Services, description: dict[str, Any], max_rows: int) -> ResultRows | None:
    """The rows of the last statement, if it returned any; best effort (the batch already committed)."""
    subs = description.get("SubStatements") or []
    last = subs[-1] if subs else description
    if not last.get("HasResultSet"):
        return None
    try:
        return services.redshift.result_rows(str(last.get("Id", description.get("Id"))), max_rows)
    except Exception:
        logger.warning("could not read the result rows", exc_info=True)
        return None


def _callback_config(timeout_seconds: int) -> CallbackConfig:
    return CallbackConfig(timeout=Duration.from_seconds(max(1, timeout_seconds)))


def _wait_rounds(
    context: DurableContext,
    services: Services,
    run: str,
    statement_id: str,
    callback: Callback[Any],
    timeout: int,
    started_at: float,
    suffix: str = "",
) -> Resumption:
    """Suspend on callbacks until someone resumes us, a check sees an end, or the deadline."""
    settings = services.settings
    round_no = 1
    last_check = started_at
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
            pass

        round_no += 1
        # The round that just timed out lasted `timeout` after the last check (or the submit).
        remaining = settings.deadline_seconds - (last_check - started_at + timeout)
        new_callback_id: str | None = None
        if remaining >= 1:
            timeout = int(min(timeout * 2, settings.max_callback_timeout_seconds, remaining))
            callback = context.create_callback(f"wait{suffix}-{round_no}", _callback_config(timeout))
            new_callback_id = callback.callback_id

        def check(_: StepContext, new_callback_id: str | None = new_callback_id) -> dict[str, Any]:
            if new_callback_id:
                try:
                    services.registry.rearm(run, new_callback_id)
                except RunConflictError:
                    logger.warning("run is no longer WAITING in the registry; checking anyway")
            description = services.redshift.describe(statement_id)
            logger.info("no callback this round; checked", extra={"status": description.get("Status")})
            return {"status": description.get("Status"), "now": time.time()}

        checked = context.step(check, name=f"check{suffix}-{round_no}", config=STEP_CONFIG)
        if is_terminal({"Status": checked["status"]}):
            return Resumption(resumed_by=ResumedBy.POLL, success=None)
        if new_callback_id is None:
            return Resumption(resumed_by=ResumedBy.POLL, success=None, deadline_passed=True)
        last_check = float(checked["now"])


def _summarize(
    services: Services,
    run: str,
    execution_arn: str,
    batch: SqlBatch,
    statement_id: str,
    resumption: Resumption,
    max_rows: int,
) -> RunSummary:
    """Decide the run's end from Redshift's own record, and from the operator if one decided."""
    redshift = services.redshift
    description = redshift.describe(statement_id)
    error: RunError | None = None
    cancel = False
    if resumption.manual and not resumption.success:
        cancel = True  # nothing of a run failed by hand may commit
        error = RunError(
            type=resumption.payload.error_type or "OperatorFailed",
            message=resumption.payload.message or "failed by an operator",
        )
    elif resumption.deadline_passed:
        cancel = True
        error = RunError(
            type="DeadlineExceeded",
            message=f"no end after {services.settings.deadline_seconds} s; statement cancelled",
        )
    if cancel and not is_terminal(description):
        redshift.cancel(statement_id)
        description = redshift.wait_terminal(statement_id)  # report what the cancel really left
    ended = description.get("UpdatedAt")
    latency_ms = (
        round((datetime.now(UTC) - ended).total_seconds() * 1000, 1)
        if is_terminal(description) and isinstance(ended, datetime) and not cancel
        else None
    )
    stats = statement_stats(description)
    redshift_status = str(description.get("Status"))
    if error is None and not resumption.manual:
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
        resume_latency_ms=latency_ms,
        operator_result=resumption.payload.result if resumption.manual else None,
        error=error,
    )
    if summary.status is RunStatus.SUCCEEDED and max_rows > 0:
        summary.result = _result_rows(services, description, max_rows)
    return summary


def _failure_message(message: str, index: int | None) -> str:
    if index and f"statement {index}" not in message:
        return f"statement {index} failed: {message}"
    return message
