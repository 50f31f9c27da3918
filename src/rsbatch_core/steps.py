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
from botocore.exceptions import ClientError

from rsbatch_core.classify import error_code
from rsbatch_core.errors import RsbatchError
from rsbatch_core.models import (
    Attempt,
    CallbackPayload,
    DecidedBy,
    ResumedBy,
    RunError,
    RunRecord,
    RunRequest,
    RunStatus,
    RunSummary,
)
from rsbatch_core.observability import logger, record_finished, record_started
from rsbatch_core.plan import RunPlan
from rsbatch_core.ports import Services, Submission
from rsbatch_core.registry import RunConflictError
from rsbatch_core.results import kept_results
from rsbatch_core.runkey import client_token, step_name
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

#: A wake-up whose statement is not terminal yet (a lagging describe, a sub-statement's event)
#: is given this long, in long polls, before the run goes back to waiting.
WAKE_UP_GRACE_SECONDS = 5


@dataclass(frozen=True)
class BatchContext:
    """What one attempt of one batch needs to know about the run (and the batches before it)."""

    run: str  # the batch's key: the run's key for the first batch, `run-N` after
    index: int
    execution_arn: str
    target: RedshiftTarget
    started_at: float | None  # when the run's first batch was submitted (the deadline counts from it)
    session_id: str | None  # the Redshift session the chain's first batch opened, if asked
    attempt: int = 1  # > 1: a rerun after a conflict
    offset: int = 0  # statements of the file committed by earlier attempts (AUTO_COMMIT resume)
    round_cap: int | None = None  # a chain's session must outlive each round: check before it expires

    def name(self, kind: str, round_no: int | None = None) -> str:
        return step_name(kind, self.index, round_no, self.attempt)


@dataclass
class Resumption:
    """Why the waiting ended, and who says so."""

    decided_by: DecidedBy | None  # None: a raw callback with no rsbatch payload (a wake-up)
    success: bool | None  # None: nobody sent anything (a check saw the end, or the deadline)
    payload: CallbackPayload = field(default_factory=CallbackPayload)
    deadline_passed: bool = False

    @property
    def resumed_by(self) -> ResumedBy:
        return self.decided_by.resumed_by if self.decided_by else ResumedBy.OPERATOR

    @property
    def by_person(self) -> bool:
        """A person decided (`rsbatch succeed|fail`): their verdict wins over Redshift's record."""
        return self.decided_by is DecidedBy.PERSON and self.success is not None

    @property
    def is_verdict(self) -> bool:
        """Ends the batch whatever Redshift says (the statement is cancelled if still running)."""
        return self.by_person or self.deadline_passed


@durable_step
def load_sql(ctx: StepContext, services: Services, plan: RunPlan, name: str) -> list[str]:
    """An S3 file's statements (bundled files are read outside any step: they ship with the code)."""
    with plan.policy.attempt(ctx.attempt):
        return list(services.sql.load(name).statements)


@durable_step
def submit_batch(
    ctx: StepContext,
    services: Services,
    plan: RunPlan,
    where: BatchContext,
    batch: SqlBatch,
    callback_id: str,
    request: RunRequest,
    parameters: list[dict[str, str]],
) -> dict[str, Any]:
    """Point the registry at this attempt's callback, then submit the batch once."""
    run = where.run
    with plan.policy.attempt(ctx.attempt):
        if where.attempt == 1:
            record = RunRecord(
                run_key=run, callback_id=callback_id, execution_arn=where.execution_arn, sql_file=batch.name
            )
            services.registry.register(record)
        else:
            services.registry.next_attempt(run, callback_id)
        submission = Submission(
            batch=batch,
            target=where.target,
            run=run,
            token=client_token(run, where.attempt),
            parameters=parameters,
            execution_mode=request.execution_mode,
            session_keep_alive=request.session_keep_alive_seconds,
            session_id=where.session_id,
            preamble=plan.preamble,
            result_format=request.result_format,
        )
        statement_id = _submit(services, submission, request)
        session_id = where.session_id
        if request.session_keep_alive_seconds and not session_id:
            session_id = services.redshift.describe(statement_id).get("SessionId")
        services.registry.set_statement(run, statement_id)
    record_started()
    logger.info(
        "batch submitted",
        extra={"statement_id": statement_id, "sql_file": batch.name, "attempt": where.attempt},
    )
    return {"statement_id": statement_id, "submitted_at": time.time(), "session_id": session_id}


def _submit(services: Services, submission: Submission, request: RunRequest) -> str:
    """Submit; a chain whose session expired between batches fails saying so."""
    try:
        return services.redshift.submit(submission)
    except ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if (
            submission.session_id
            and error_code(exc) == "ValidationException"
            and "session" in message.lower()
        ):
            raise RsbatchError(
                f"the chain's Redshift session {submission.session_id} is gone ({message}); it must "
                f"outlive the wait between batches: give a longer --session-keep-alive than "
                f"{request.session_keep_alive_seconds} s"
            ) from None
        raise


@durable_step
def check_statement(
    ctx: StepContext,
    services: Services,
    plan: RunPlan,
    run: str,
    statement_id: str,
    new_callback_id: str | None,
) -> dict[str, Any]:
    """A new round: re-arm the registry with its callback first, then describe the statement once."""
    with plan.policy.attempt(ctx.attempt):
        if new_callback_id:
            try:
                services.registry.rearm(run, new_callback_id)
            except RunConflictError:
                logger.warning("run is no longer WAITING in the registry; checking anyway")
        description = services.redshift.describe(statement_id)
    logger.info("checked the statement", extra={"status": description.get("Status")})
    return {"status": description.get("Status"), "now": time.time()}


@durable_step
def finish_batch(
    ctx: StepContext,
    services: Services,
    plan: RunPlan,
    where: BatchContext,
    batch: SqlBatch,
    statement_id: str,
    resumption: Resumption,
    request: RunRequest,
    earlier: list[Attempt],
) -> dict[str, Any]:
    """Redshift's record decides: only a terminal batch (or a person, or the deadline) ends it.

    Returns `{"terminal": False, "now": …}` for a wake-up while the statement still runs;
    else the summary, with `"rerun": True` when the batch lost a conflict and runs again.
    """
    with plan.policy.attempt(ctx.attempt):
        if resumption.is_verdict:
            description = services.redshift.describe(statement_id)
        else:  # one describe when it has ended (the usual case), long polls while it has not
            description = services.redshift.wait_terminal(statement_id, WAKE_UP_GRACE_SECONDS)
            if not is_terminal(description):
                logger.info("woken up, but the statement still runs: waiting again")
                return {"terminal": False, "now": time.time()}
        max_rows = services.settings.max_result_rows if request.max_rows is None else request.max_rows
        summary = summarize(services, plan, where, batch, description, resumption)
        if summary.status is RunStatus.SUCCEEDED and max_rows > 0:
            shift = where.offset - len(plan.preamble)
            _keep_results(services, summary, description, request, max_rows, shift)
    summary.execution_mode = request.execution_mode
    earlier_commits = list(range(1, where.offset + 1)) if request.execution_mode == "AUTO_COMMIT" else []
    summary.committed_statements = earlier_commits + committed_statements(
        summary.statements, summary.execution_mode, str(summary.redshift_status)
    )
    summary.attempts = [*earlier, _attempt_of(summary, where, description)]
    rerun = plan.reruns(summary, where.attempt)
    if rerun:
        logger.warning("batch lost a conflict; running it again", extra={"attempt": where.attempt})
    else:
        services.registry.finish(summary)
        record_finished(summary, summary.resume_latency_ms)
        logger.info(
            "run finished", extra={"status": summary.status.value, "resumed_by": summary.resumed_by.value}
        )
    return {"terminal": True, "rerun": rerun, "summary": summary.model_dump(mode="json")}


def _attempt_of(summary: RunSummary, where: BatchContext, description: dict[str, Any]) -> Attempt:
    created, updated = description.get("CreatedAt"), description.get("UpdatedAt")
    return Attempt(
        number=where.attempt,
        statement_id=str(summary.statement_id),
        status=str(summary.redshift_status),
        error=summary.error.message[:2000] if summary.error else None,
        started_at=created.timestamp() if isinstance(created, datetime) else None,
        ended_at=updated.timestamp() if isinstance(updated, datetime) else None,
    )


@durable_step
def refuse_run(_: StepContext, services: Services, record: RunRecord) -> None:
    """The function refused the run's input: leave a FAILED item that says why."""
    services.registry.refuse(record)
    logger.error("run refused", extra={"error": record.error})


@durable_step
def abandon_run(ctx: StepContext, services: Services, run: str, message: str) -> None:
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
    plan: RunPlan,
    where: BatchContext,
    batch: SqlBatch,
    description: dict[str, Any],
    resumption: Resumption,
) -> RunSummary:
    """The batch's summary: a person's or the deadline's verdict, else Redshift's own record."""
    statement_id = str(description.get("Id"))
    error: RunError | None = None
    if resumption.by_person and not resumption.success:
        error = person_verdict(resumption.payload)  # nothing of a run failed by hand may commit
    elif resumption.deadline_passed:
        error = deadline_verdict(services.settings.deadline_seconds)
    cancel = error is not None
    if cancel and not is_terminal(description):
        services.redshift.cancel(statement_id)
        description = services.redshift.wait_terminal(statement_id)  # report what the cancel really left
    record = RedshiftRecord.from_description(description, shift=where.offset - len(plan.preamble))
    if error is None and not resumption.by_person:
        # Terminal here, except a person's success of a statement still running (--force).
        error = redshift_verdict(record) if record.terminal else None
        if error and plan.statement_timeout_seconds and "timeout" in error.message.lower():
            error.message += f" (the run's statement_timeout is {plan.statement_timeout_seconds} s)"
    summary = RunSummary(
        run=where.run,
        status=RunStatus.FAILED if error else RunStatus.SUCCEEDED,
        execution_arn=where.execution_arn,
        statement_id=statement_id,
        sql_file=batch.name,
        resumed_by=resumption.resumed_by,
        redshift_status=record.state,
        statements=record.user_statements,
        resume_latency_ms=None if cancel else _resume_latency_ms(description),
        operator_result=resumption.payload.result if resumption.by_person else None,
        error=error,
    )
    return summary


def _resume_latency_ms(description: dict[str, Any]) -> float | None:
    """Statement end → now (this finish step), when Redshift says when it ended."""
    ended = description.get("UpdatedAt")
    if not is_terminal(description) or not isinstance(ended, datetime):
        return None
    return round((datetime.now(UTC) - ended).total_seconds() * 1000, 1)


def _keep_results(
    services: Services,
    summary: RunSummary,
    description: dict[str, Any],
    request: RunRequest,
    max_rows: int,
    shift: int,
) -> None:
    """The rows the run keeps: the last statement's (`result`) or every statement's (`results`)."""
    every = request.results == "all"
    kept = kept_results(services.redshift, description, shift=shift, every=every, max_rows=max_rows)
    if every:
        summary.results = kept
    elif kept:
        summary.result = kept[-1]
