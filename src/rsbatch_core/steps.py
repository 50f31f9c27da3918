"""The durable steps of a run, one named module-level function each (the SDK's `@durable_step` style).

Each step is safe to repeat — registry writes are conditional, the submit
carries a ClientToken — so a step the SDK retries, or an invocation that
dies before its checkpoint, never submits a second batch or overwrites a
decision. What a step returns is its checkpoint: small, JSON, bounded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_durable_execution_sdk_python import StepContext, durable_step
from aws_durable_execution_sdk_python.config import StepConfig

from rsbatch_core.models import (
    TERMINAL_STATES,
    CallbackPayload,
    DecidedBy,
    ResultRows,
    ResumedBy,
    RunError,
    RunRecord,
    RunRequest,
    RunStatus,
    RunSummary,
)
from rsbatch_core.observability import logger, record_finished, record_started
from rsbatch_core.ports import Services, Submission
from rsbatch_core.registry import RunConflictError
from rsbatch_core.retry import transient_retry
from rsbatch_core.runkey import client_token
from rsbatch_core.settings import RedshiftTarget
from rsbatch_core.sqlfile import SqlBatch
from rsbatch_core.verdict import (
    RedshiftRecord,
    committed_statements,
    deadline_verdict,
    is_terminal,
    person_verdict,
    redshift_verdict,
)

#: Every step is safe to repeat (conditional writes, ClientToken), so transient errors are retried.
STEP_CONFIG = StepConfig(retry_strategy=transient_retry())


@dataclass(frozen=True)
class BatchContext:
    """What one batch of a run needs to know about the run (and the batches before it)."""

    run: str  # the batch's key: the run's key for the first batch, `run-N` after
    index: int
    execution_arn: str
    target: RedshiftTarget
    started_at: float | None  # when the run's first batch was submitted (the deadline counts from it)
    session_id: str | None  # the Redshift session the chain's first batch opened, if asked


@dataclass
class Resumption:
    """Why the waiting ended, and who decided."""

    decided_by: DecidedBy
    success: bool | None  # None: nobody decided, read the statement (poll, deadline)
    payload: CallbackPayload = field(default_factory=CallbackPayload)
    deadline_passed: bool = False

    @property
    def resumed_by(self) -> ResumedBy:
        return self.decided_by.resumed_by

    @property
    def by_person(self) -> bool:
        """A person decided (rsbatch succeed/fail, the AWS CLI): their verdict wins over Redshift's."""
        return self.decided_by is DecidedBy.PERSON and self.success is not None


@durable_step
def load_sql(_: StepContext, services: Services, name: str) -> list[str]:
    """An S3 file's statements (bundled files are read outside any step: they ship with the code)."""
    return list(services.sql.load(name).statements)


@durable_step
def submit_batch(
    _: StepContext,
    services: Services,
    where: BatchContext,
    batch: SqlBatch,
    callback_id: str,
    request: RunRequest,
    parameters: list[dict[str, str]],
) -> dict[str, Any]:
    """Register the run (pointing at the first callback), then submit the batch once."""
    run = where.run
    services.registry.register(
        RunRecord(
            run_key=run, callback_id=callback_id, execution_arn=where.execution_arn, sql_file=batch.name
        )
    )
    submission = Submission(
        batch=batch,
        target=where.target,
        run=run,
        token=client_token(run),
        parameters=parameters,
        execution_mode=request.execution_mode,
        session_keep_alive=request.session_keep_alive_seconds,
        session_id=where.session_id,
    )
    statement_id = services.redshift.submit(submission)
    session_id = where.session_id
    if request.session_keep_alive_seconds and not session_id:
        session_id = services.redshift.describe(statement_id).get("SessionId")
    services.registry.set_statement(run, statement_id)
    record_started()
    logger.info("batch submitted", extra={"statement_id": statement_id, "sql_file": batch.name})
    return {"statement_id": statement_id, "submitted_at": time.time(), "session_id": session_id}


@durable_step
def check_statement(
    _: StepContext, services: Services, run: str, statement_id: str, new_callback_id: str | None
) -> dict[str, Any]:
    """A round timed out: re-arm the registry with the next callback first, then describe once."""
    if new_callback_id:
        try:
            services.registry.rearm(run, new_callback_id)
        except RunConflictError:
            logger.warning("run is no longer WAITING in the registry; checking anyway")
    description = services.redshift.describe(statement_id)
    logger.info("no callback this round; checked", extra={"status": description.get("Status")})
    return {"status": description.get("Status"), "now": time.time()}


@durable_step
def finish_batch(
    _: StepContext,
    services: Services,
    where: BatchContext,
    batch: SqlBatch,
    statement_id: str,
    resumption: Resumption,
    request: RunRequest,
) -> dict[str, Any]:
    """Decide the batch's end from Redshift's record (or a person's word) and record it."""
    settings = services.settings
    max_rows = settings.max_result_rows if request.max_rows is None else request.max_rows
    summary = summarize(services, where, batch, statement_id, resumption, max_rows)
    summary.execution_mode = request.execution_mode
    summary.committed_statements = committed_statements(
        summary.statements, summary.execution_mode, str(summary.redshift_status)
    )
    services.registry.finish(summary)
    record_finished(summary, summary.resume_latency_ms)
    logger.info(
        "run finished", extra={"status": summary.status.value, "resumed_by": summary.resumed_by.value}
    )
    return summary.model_dump(mode="json")


@durable_step
def abandon_run(_: StepContext, services: Services, run: str, message: str) -> None:
    """A step failed for good: cancel what may still run and record FAILED, so nothing stays WAITING."""
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


def summarize(
    services: Services,
    where: BatchContext,
    batch: SqlBatch,
    statement_id: str,
    resumption: Resumption,
    max_rows: int,
) -> RunSummary:
    """The batch's summary: a person's or the deadline's verdict, else Redshift's own record."""
    redshift = services.redshift
    description = redshift.describe(statement_id)
    error: RunError | None = None
    if resumption.by_person and not resumption.success:
        error = person_verdict(resumption.payload)  # nothing of a run failed by hand may commit
    elif resumption.deadline_passed:
        error = deadline_verdict(services.settings.deadline_seconds)
    cancel = error is not None
    if cancel and not is_terminal(description):
        redshift.cancel(statement_id)
        description = redshift.wait_terminal(statement_id)  # report what the cancel really left
    record = RedshiftRecord.from_description(description)
    if error is None and not resumption.by_person:
        state = record.state if record.terminal else resumption.payload.state
        decided = state if state in TERMINAL_STATES else "FAILED"  # an unreadable payload: not a success
        error = redshift_verdict(RedshiftRecord(statement_id, decided, record.statements, record.error))
    summary = RunSummary(
        run=where.run,
        status=RunStatus.FAILED if error else RunStatus.SUCCEEDED,
        execution_arn=where.execution_arn,
        statement_id=statement_id,
        sql_file=batch.name,
        resumed_by=resumption.resumed_by,
        redshift_status=record.state,
        statements=list(record.statements),
        resume_latency_ms=None if cancel else _resume_latency_ms(description),
        operator_result=resumption.payload.result if resumption.by_person else None,
        error=error,
    )
    if summary.status is RunStatus.SUCCEEDED and max_rows > 0:
        summary.result = _result_rows(services, description, max_rows)
    return summary


def _resume_latency_ms(description: dict[str, Any]) -> float | None:
    """Statement end → now (this finish step), when Redshift says when it ended."""
    ended = description.get("UpdatedAt")
    if not is_terminal(description) or not isinstance(ended, datetime):
        return None
    return round((datetime.now(UTC) - ended).total_seconds() * 1000, 1)


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
