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

The steps themselves are in `steps.py`; this module only orders them.
"""

from __future__ import annotations

from typing import Any

from aws_durable_execution_sdk_python import (
    CallbackExternalError,
    CallbackTimeoutError,
    DurableContext,
    StepError,
)
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration
from aws_durable_execution_sdk_python.context import Callback

from rsbatch_core.callbacks import parse_payload
from rsbatch_core.errors import BatchFailedError
from rsbatch_core.models import TERMINAL_STATES, DecidedBy, RunRequest, RunStatus, RunSummary
from rsbatch_core.observability import bind_run
from rsbatch_core.parameters import check_parameters, for_batch
from rsbatch_core.ports import Services
from rsbatch_core.runkey import batch_key, run_key, step_name
from rsbatch_core.sqlfile import SqlBatch
from rsbatch_core.sqlsource import is_s3_uri
from rsbatch_core.steps import (
    STEP_CONFIG,
    BatchContext,
    Resumption,
    abandon_run,
    check_statement,
    finish_batch,
    load_sql,
    submit_batch,
)


def run_batch(event: Any, context: DurableContext, services: Services) -> dict[str, Any]:
    """The whole run: every batch in order, stopping at the first failure.

    Raises BatchFailedError (failing the execution) when a batch fails.
    Returns the batch's summary, or for a chain `{"run", "status", "batches": [...]}`.
    """
    request = RunRequest.parse(event)
    target = services.settings.target  # validated before anything is submitted
    execution_arn = context.execution_context.durable_execution_arn
    run = run_key(execution_arn)
    bind_run(run)
    batches = _load_batches(request, context, services)
    check_parameters(batches, request.parameter_values)

    summaries: list[RunSummary] = []
    started_at: float | None = None
    session_id: str | None = None
    for index, batch in enumerate(batches, start=1):
        where = BatchContext(batch_key(run, index), index, execution_arn, target, started_at, session_id)
        summary, started_at, session_id = _run_one(context, services, request, batch, where)
        summaries.append(summary)
        if summary.status is RunStatus.FAILED:
            message = summary.error.message if summary.error else "the batch failed"
            prefix = f"batch {index} ({batch.name}): " if len(batches) > 1 else ""
            raise BatchFailedError(prefix + message, summary.error.statement_index if summary.error else None)
    dumped = [s.model_dump(mode="json") for s in summaries]
    if len(batches) == 1:
        return dumped[0]
    return {"run": run, "status": RunStatus.SUCCEEDED.value, "batches": dumped}


def _load_batches(request: RunRequest, context: DurableContext, services: Services) -> list[SqlBatch]:
    """Bundled files are read directly (they ship with the code); S3 objects inside a step."""
    batches = []
    for index, name in enumerate(request.files, start=1):
        if is_s3_uri(name):
            services.sql.check_s3_uri(name)  # refuse before creating any operation
            statements = context.step(
                load_sql(services, name), name=step_name("load", index), config=STEP_CONFIG
            )
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
) -> tuple[RunSummary, float, str | None]:
    """One batch: callback, register + submit, wait in rounds, finish from Redshift's record.

    Returns the summary, when the run's deadline clock started, and the chain's session.
    """
    settings = services.settings
    timeout = min(
        request.callback_timeout_seconds or settings.callback_timeout_seconds, settings.deadline_seconds
    )
    callback = context.create_callback(step_name("wait", where.index, 1), _callback_config(timeout))
    parameters = for_batch(batch, request.parameter_values)
    try:
        submitted = context.step(
            submit_batch(services, where, batch, callback.callback_id, request, parameters),
            name=step_name("submit", where.index),
            config=STEP_CONFIG,
        )
        statement_id: str = submitted["statement_id"]
        started_at = where.started_at if where.started_at is not None else float(submitted["submitted_at"])
        resumption = _wait_rounds(context, services, where, statement_id, callback, timeout, started_at)
        finished = context.step(
            finish_batch(services, where, batch, statement_id, resumption, request),
            name=step_name("finish", where.index),
            config=STEP_CONFIG,
        )
        return RunSummary.model_validate(finished), started_at, submitted.get("session_id")
    except StepError as exc:
        message = f"{exc.error_type}: {exc.message}" if exc.message else exc.error_type
        context.step(
            abandon_run(services, where.run, message),
            name=step_name("abandon", where.index),
            config=STEP_CONFIG,
        )
        raise


def _callback_config(timeout_seconds: int) -> CallbackConfig:
    return CallbackConfig(timeout=Duration.from_seconds(max(1, timeout_seconds)))


def _wait_rounds(
    context: DurableContext,
    services: Services,
    where: BatchContext,
    statement_id: str,
    callback: Callback[Any],
    timeout: int,
    started_at: float,
) -> Resumption:
    """Suspend on callbacks until someone resumes us, a check sees an end, or the deadline."""
    settings = services.settings
    round_no = 1
    last_check = started_at
    while True:
        try:
            payload = parse_payload(callback.result())
            return Resumption(decided_by=payload.decided_by, success=True, payload=payload)
        except CallbackExternalError as exc:
            payload = parse_payload(exc.data)
            if payload.message is None:
                payload.message = exc.message
            return Resumption(decided_by=payload.decided_by, success=False, payload=payload)
        except CallbackTimeoutError:
            pass

        round_no += 1
        # The round that just timed out lasted `timeout` after the last check (or the submit).
        remaining = settings.deadline_seconds - (last_check - started_at + timeout)
        new_callback_id: str | None = None
        if remaining >= 1:
            timeout = int(min(timeout * 2, settings.max_callback_timeout_seconds, remaining))
            callback = context.create_callback(
                step_name("wait", where.index, round_no), _callback_config(timeout)
            )
            new_callback_id = callback.callback_id
        checked = context.step(
            check_statement(services, where.run, statement_id, new_callback_id),
            name=step_name("check", where.index, round_no),
            config=STEP_CONFIG,
        )
        if checked["status"] in TERMINAL_STATES:
            return Resumption(decided_by=DecidedBy.REDSHIFT_CHECK, success=None)
        if new_callback_id is None:
            return Resumption(decided_by=DecidedBy.REDSHIFT_CHECK, success=None, deadline_passed=True)
        last_check = float(checked["now"])
