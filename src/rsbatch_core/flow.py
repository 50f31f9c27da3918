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

from dataclasses import replace
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
from rsbatch_core.errors import BadInputError, BatchFailedError
from rsbatch_core.models import (
    TERMINAL_STATES,
    Attempt,
    DecidedBy,
    RunRecord,
    RunRequest,
    RunStatus,
    RunSummary,
)
from rsbatch_core.observability import bind_run
from rsbatch_core.parameters import check_parameters, for_batch
from rsbatch_core.plan import RunPlan
from rsbatch_core.ports import Services
from rsbatch_core.runkey import batch_key, run_key, step_name
from rsbatch_core.sqlfile import SqlBatch, check_preamble
from rsbatch_core.sqlsource import is_s3_uri
from rsbatch_core.steps import (
    BatchContext,
    Resumption,
    abandon_run,
    check_statement,
    finish_batch,
    load_sql,
    refuse_run,
    submit_batch,
)
from rsbatch_core.verdict import bounded


def run_batch(event: Any, context: DurableContext, services: Services) -> dict[str, Any]:
    """The whole run: every batch in order, stopping at the first failure.

    Raises BatchFailedError (failing the execution) when a batch fails.
    Returns the batch's summary, or for a chain `{"run", "status", "batches": [...]}`.
    """
    execution_arn = context.execution_context.durable_execution_arn
    run = run_key(execution_arn)
    bind_run(run)
    try:  # everything is checked before anything is submitted
        request = RunRequest.parse(event)
        target = services.settings.target
        plan = RunPlan.of(request, services.settings)
        batches = _load_batches(request, context, services, plan)
        check_parameters(batches, request.parameter_values)
        check_preamble(batches, plan.preamble)
    except BadInputError as exc:
        refused = RunRecord(
            run_key=run,
            callback_id="",
            execution_arn=execution_arn,
            sql_file=_named(event),
            error=bounded(str(exc)),
        )
        context.step(refuse_run(services, refused), name="refuse")
        raise

    summaries: list[RunSummary] = []
    started_at: float | None = None
    session_id: str | None = None
    for index, batch in enumerate(batches, start=1):
        keeps_session = request.session_keep_alive_seconds if index < len(batches) else None
        where = BatchContext(
            batch_key(run, index),
            index,
            execution_arn,
            target,
            started_at,
            session_id,
            round_cap=max(1, keeps_session // 2) if keeps_session else None,
        )
        summary, started_at, session_id = _run_one(context, services, plan, request, batch, where)
        summaries.append(summary)
        if summary.status is RunStatus.FAILED:
            message = summary.error.message if summary.error else "the batch failed"
            prefix = f"batch {index} ({batch.name}): " if len(batches) > 1 else ""
            raise BatchFailedError(prefix + message, summary.error.statement_index if summary.error else None)
    dumped = [s.model_dump(mode="json") for s in summaries]
    if len(batches) == 1:
        return dumped[0]
    return {"run": run, "status": RunStatus.SUCCEEDED.value, "batches": dumped}


def _named(event: Any) -> str:
    """What the refused input asked to run, for `runs` and `show` (bounded)."""
    files = event.get("batches") or event.get("sql_file") if isinstance(event, dict) else None
    text = ", ".join(map(str, files)) if isinstance(files, list) else str(files or "?")
    return text[:1100]


def _load_batches(
    request: RunRequest, context: DurableContext, services: Services, plan: RunPlan
) -> list[SqlBatch]:
    """Bundled files are read directly (they ship with the code); S3 objects inside a step."""
    batches = []
    for index, name in enumerate(request.files, start=1):
        if is_s3_uri(name):
            services.sql.check_s3_uri(name)  # refuse before creating any operation
            statements = context.step(
                load_sql(services, plan, name),
                name=step_name("load", index),
                config=plan.policy.step_config(),
            )
            batches.append(SqlBatch(name=name, statements=tuple(statements)))
        else:
            batches.append(services.sql.load(name))
    return batches


def _run_one(
    context: DurableContext,
    services: Services,
    plan: RunPlan,
    request: RunRequest,
    batch: SqlBatch,
    where: BatchContext,
) -> tuple[RunSummary, float, str | None]:
    """One batch, attempt after attempt while it loses conflicts (a durable wait between them).

    Returns the summary, when the run's deadline clock started, and the chain's session.
    """
    attempts: list[Attempt] = []
    while True:
        finished, started_at, session_id = _attempt(context, services, plan, request, batch, where, attempts)
        summary = RunSummary.model_validate(finished["summary"])
        if not finished["rerun"]:
            return summary, started_at, session_id
        attempts = summary.attempts
        context.wait(Duration.from_seconds(plan.backoff(where.attempt)), name=where.name("backoff"))
        failed = summary.error.statement_index if summary.error else None
        resume_at = (failed - 1) if request.execution_mode == "AUTO_COMMIT" and failed else 0
        where = replace(where, attempt=where.attempt + 1, offset=resume_at, started_at=started_at)


def _attempt(
    context: DurableContext,
    services: Services,
    plan: RunPlan,
    request: RunRequest,
    batch: SqlBatch,
    where: BatchContext,
    earlier: list[Attempt],
) -> tuple[dict[str, Any], float, str | None]:
    """One submission: callback, register + submit, wait in rounds, finish from Redshift's record."""
    settings = services.settings
    config = plan.policy.step_config()
    timeout = min(
        request.callback_timeout_seconds or settings.callback_timeout_seconds,
        settings.deadline_seconds,
        where.round_cap or settings.deadline_seconds,
    )
    callback = context.create_callback(where.name("wait", 1), _callback_config(timeout))
    todo = batch if where.offset == 0 else SqlBatch(batch.name, batch.statements[where.offset :])
    parameters = for_batch(todo, request.parameter_values)
    try:
        submit = submit_batch(services, plan, where, todo, callback.callback_id, request, parameters)
        submitted = context.step(submit, name=where.name("submit"), config=config)
        statement_id: str = submitted["statement_id"]
        started_at = where.started_at if where.started_at is not None else float(submitted["submitted_at"])
        rounds = Rounds(context, services, plan, where, statement_id, callback, timeout, started_at)
        finishes = 0
        while True:
            resumption = rounds.wait()
            finishes += 1
            finish = finish_batch(services, plan, where, batch, statement_id, resumption, request, earlier)
            name = where.name("finish", finishes if finishes > 1 else None)
            finished = context.step(finish, name=name, config=config)
            if finished["terminal"]:
                return finished, started_at, submitted.get("session_id")
            rounds.woken_too_early(float(finished["now"]))
    except StepError as exc:
        message = f"{exc.error_type}: {exc.message}" if exc.message else exc.error_type
        context.step(abandon_run(services, where.run, message), name=where.name("abandon"), config=config)
        raise


def _callback_config(timeout_seconds: int) -> CallbackConfig:
    return CallbackConfig(timeout=Duration.from_seconds(max(1, timeout_seconds)))


class Rounds:
    """The rounds of waiting for one statement: a callback each, then a check when it times out."""

    def __init__(
        self,
        context: DurableContext,
        services: Services,
        plan: RunPlan,
        where: BatchContext,
        statement_id: str,
        callback: Callback[Any],
        timeout: int,
        started_at: float,
    ) -> None:
        self._context, self._services, self._plan, self._where = context, services, plan, where
        self._statement_id, self._callback, self._timeout = statement_id, callback, timeout
        self._started_at = self._last_check = started_at
        self._round = 1
        self._ready: Resumption | None = None

    def wait(self) -> Resumption:
        """Until a callback comes (a wake-up or a person's verdict), a check sees an end, or the deadline."""
        while self._ready is None:
            try:
                payload = parse_payload(self._callback.result())
                return Resumption(decided_by=payload.decided_by, success=True, payload=payload)
            except CallbackExternalError as exc:
                payload = parse_payload(exc.data)
                if payload.message is None:
                    payload.message = exc.message
                return Resumption(decided_by=payload.decided_by, success=False, payload=payload)
            except CallbackTimeoutError:
                # The round that timed out lasted `timeout` after the last check (or the submit).
                self._new_round(self._last_check + self._timeout, double=True)
        ready, self._ready = self._ready, None
        return ready

    def woken_too_early(self, now: float) -> None:
        """Woken, but Redshift says the statement still runs: wait again, in a new round."""
        self._new_round(now, double=False)

    def _new_round(self, now: float, *, double: bool) -> None:
        """A fresh callback (unless past the deadline), then one check of the statement."""
        settings = self._services.settings
        self._round += 1
        remaining = settings.deadline_seconds - (now - self._started_at)
        new_callback_id: str | None = None
        if remaining >= 1:
            longer = self._timeout * 2 if double else self._timeout
            cap = self._where.round_cap or settings.max_callback_timeout_seconds
            self._timeout = int(min(longer, settings.max_callback_timeout_seconds, cap, remaining))
            self._callback = self._context.create_callback(
                self._where.name("wait", self._round), _callback_config(self._timeout)
            )
            new_callback_id = self._callback.callback_id
        check = check_statement(
            self._services, self._plan, self._where.run, self._statement_id, new_callback_id
        )
        checked = self._context.step(
            check, name=self._where.name("check", self._round), config=self._plan.policy.step_config()
        )
        if checked["status"] in TERMINAL_STATES:
            self._ready = Resumption(decided_by=DecidedBy.REDSHIFT_CHECK, success=None)
        elif new_callback_id is None:
            self._ready = Resumption(decided_by=DecidedBy.REDSHIFT_CHECK, success=None, deadline_passed=True)
        else:
            self._last_check = float(checked["now"])
