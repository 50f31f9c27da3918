"""A pipeline run: a DAG of batches in ONE durable execution, waiting on all of them at once.

Each step's batch is a single run's batch — its own run key (`RUN.step`, a
chain's next `RUN.step.2`; all start with the run prefix the rule matches),
statement, ClientToken, registry item and Redshift event — so the listener,
reconcile, cancel and every fault guarantee carry over unchanged.

Waiting costs no compute however many steps run: the pipeline waits in
*rounds*, ONE callback per round shared by every running step (the shared-
callback invariant). A round:

1. creates its callback (`wait-N`);
2. `arm-N`: points every running step's item (and the pipeline's) at it, THEN
   describes every running statement once — an event sent before the re-arm
   reached the old callback but the describe sees the end; one sent after
   wakes this round (the same reasoning as `flow.Rounds`);
3. finishes the steps that ended (`finish@STEP[-bI][-aK]`, Redshift's record
   decides), applies `on_failure`, and submits every step whose `after` all
   succeeded, up to `max_parallel` (`submit@STEP…`): critical-path, not level
   by level;
4. suspends on the callback. Any step's event wakes it (a duplicate reaches
   an already-closed callback: harmless); a round that times out is the
   fallback for lost events, its timeout doubled up to the cap, never past
   the deadline (then every running statement is cancelled).

A healthy pipeline of S steps that wakes W times costs 1 + 2·(W+1) + 2·S + 1
durable operations and W + 1 invocations. Names are deterministic: the loop
is driven only by checkpointed results, in manifest order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws_durable_execution_sdk_python import (
    CallbackExternalError,
    CallbackTimeoutError,
    DurableContext,
)
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration

from rsbatch_core.callbacks import parse_payload
from rsbatch_core.errors import BadInputError, BatchFailedError
from rsbatch_core.models import (
    TERMINAL_STATES,
    Attempt,
    DecidedBy,
    PipelineInfo,
    PipelineRequest,
    RetryOptions,
    RunRecord,
    RunRequest,
    RunStatus,
    StepState,
    StepStatus,
)
from rsbatch_core.observability import bind_run
from rsbatch_core.parameters import check_parameters, for_batch, placeholders
from rsbatch_core.pipeline import Pipeline, StepSpec, load_pipeline, run_parameters, step_parameters
from rsbatch_core.pipeline_steps import (
    arm_round,
    begin_pipeline,
    end_pipeline,
    finish_step,
    refuse_pipeline,
    submit_step,
)
from rsbatch_core.plan import RunPlan
from rsbatch_core.ports import Services, SqlStore
from rsbatch_core.runkey import run_key
from rsbatch_core.sqlfile import SqlBatch, check_preamble
from rsbatch_core.steps import BatchContext, Resumption
from rsbatch_core.verdict import bounded

#: Validating a manifest's parameters needs some `:run_date`; its value never matters there.
_PROBE_DATE = "2000-01-01"


def is_pipeline(event: Any) -> bool:
    return isinstance(event, dict) and "pipeline" in event


def step_key(run: str, step: str, batch: int = 1) -> str:
    """A step's batch's run key: `RUN.step`, `RUN.step.2`… (the prefix stays: the rule matches it)."""
    return f"{run}.{step}" if batch == 1 else f"{run}.{step}.{batch}"


def op_name(kind: str, step: str, batch: int = 1, attempt: int = 1) -> str:
    """`submit@stage`, `finish@stage-b2`, `submit@mart-a2`: one spelling, the same on replay.

    botocore's Lambda model: an OperationName is 1-256 printable ASCII characters (`[\\x20-\\x7E]+`);
    a step name is at most 40 of `[a-z0-9_-]` (rsbatch_core.pipeline), so these always fit.
    """
    name = f"{kind}@{step}"
    if batch > 1:
        name += f"-b{batch}"
    return name if attempt == 1 else f"{name}-a{attempt}"


@dataclass
class StepRun:
    """What the flow knows of one step while the run goes on (rebuilt from checkpoints on replay)."""

    spec: StepSpec
    batches: list[SqlBatch]
    request: RunRequest
    plan: RunPlan
    state: StepState = field(default_factory=StepState)
    batch: int = 1
    attempt: int = 1
    offset: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    rerun_at: float | None = None  # a conflict rerun waits until then
    cancelled: bool = False


def run_pipeline(event: Any, context: DurableContext, services: Services) -> dict[str, Any]:
    """The whole pipeline run; raises BatchFailedError naming the failed step(s)."""
    settings = services.settings
    execution_arn = context.execution_context.durable_execution_arn
    run = run_key(execution_arn)
    bind_run(run)
    try:  # everything is checked before anything is submitted
        request = PipelineRequest.parse(event)
        pipeline = load_pipeline(
            settings.pipeline_root,
            request.pipeline,
            sql_root=settings.sql_root,
        )
        steps = _steps(pipeline, request, services, run, _PROBE_DATE)
        unknown = sorted(set(request.skip_steps) - set(steps))
        if unknown:
            raise BadInputError(f"skip_steps: no such step(s) in {pipeline.name}: {', '.join(unknown)}")
    except BadInputError as exc:
        name = event.get("pipeline") if isinstance(event, dict) else None
        refused = RunRecord(
            run_key=run,
            callback_id="",
            execution_arn=execution_arn,
            sql_file=f"pipeline:{str(name)[:128]}",
            error=bounded(str(exc)),
        )
        context.step(refuse_pipeline(services, refused), name="refuse")
        raise
    info = PipelineInfo(
        name=pipeline.name,
        parameters=run_parameters(pipeline, request.parameter_values),  # defaults included
        run_date=_PROBE_DATE,
        graph={name: list(pipeline.step(name).after) for name in pipeline.order()},
        skip_steps=list(request.skip_steps),
        redrive_of=request.redrive_of,
    )
    record = RunRecord(
        run_key=run, callback_id="", execution_arn=execution_arn, sql_file=f"pipeline:{pipeline.name}"
    )
    begun = context.step(begin_pipeline(services, record, info, request), name="begin")
    info.run_date = begun["run_date"]
    steps = _steps(pipeline, request, services, run, info.run_date)
    return PipelineRun(context, services, pipeline, request, info, run, execution_arn, steps).run(
        float(begun["started_at"])
    )


def check_pipeline(
    pipeline: Pipeline,
    values: dict[str, str],
    sql: SqlStore,
    *,
    run_date: str = _PROBE_DATE,
    run_id: str = "",
) -> dict[str, tuple[list[SqlBatch], dict[str, str]]]:
    """Every step's batches and the parameters they bind, checked: files load, no `:name` missing.

    The CLI calls it before starting (exit 2, nothing submitted); the function again before `begin`.
    """
    out: dict[str, tuple[list[SqlBatch], dict[str, str]]] = {}
    for name in pipeline.order():
        spec = pipeline.step(name)
        given = step_parameters(pipeline, name, values, run_date=run_date, run_id=run_id or "rsbatch-probe")
        batches = [sql.load(f) for f in spec.files]
        used = set().union(*(placeholders(b.statements) for b in batches))
        bound = {k: v for k, v in given.items() if k in used}  # the manifest checks unused ones
        try:
            check_parameters(batches, bound)
        except BadInputError as exc:
            raise BadInputError(f"steps.{name}: {exc}") from None
        out[name] = (batches, bound)
    return out


def _steps(
    pipeline: Pipeline, request: PipelineRequest, services: Services, run: str, run_date: str
) -> dict[str, StepRun]:
    """Every step's batches, input and plan, checked (files, parameters, guards)."""
    out: dict[str, StepRun] = {}
    checked = check_pipeline(pipeline, request.parameter_values, services.sql, run_date=run_date, run_id=run)
    for name, (batches, values) in checked.items():
        spec = pipeline.step(name)
        step_request = RunRequest(
            batches=list(spec.files) if len(spec.files) > 1 else None,
            sql_file=spec.files[0] if len(spec.files) == 1 else None,
            parameters=dict(values),
            execution_mode=spec.execution_mode,
            max_rows=0,  # checkpoints stay small: a step's summary keeps counts, not rows
            retry=spec.retry or RetryOptions(),
            statement_timeout_seconds=spec.statement_timeout,
            query_group=spec.query_group,
        )
        plan = RunPlan.of(step_request, services.settings)
        check_preamble(batches, plan.preamble)
        state = StepState(state=StepStatus.SKIPPED) if name in request.skip_steps else StepState()
        out[name] = StepRun(spec, batches, step_request, plan, state)
    return out


class PipelineRun:
    """The rounds of one pipeline run (see the module's docstring)."""

    def __init__(
        self,
        context: DurableContext,
        services: Services,
        pipeline: Pipeline,
        request: PipelineRequest,
        info: PipelineInfo,
        run: str,
        execution_arn: str,
        steps: dict[str, StepRun],
    ) -> None:
        self.context, self.services, self.pipeline, self.request = context, services, pipeline, request
        self.info, self.run_key, self.execution_arn, self.steps = info, run, execution_arn, steps
        self.round = 0
        self.stopping = False  # start nothing new
        self.person_error: str | None = None
        self.deadline_passed = False
        self.cancel_sent: set[str] = set()  # steps whose statement a round cancelled
        self.rerun_scheduled = False  # a finish this round scheduled a conflict rerun
        self.dropped: dict[str, StepState] = {}  # reruns the pipeline stopped before they ran
        self.now = 0.0

    # -- sets the scheduler reads --------------------------------------------

    def _with(self, *states: StepStatus) -> list[str]:
        return [n for n in self.pipeline.order() if self.steps[n].state.state in states]

    @property
    def running(self) -> list[str]:
        return self._with(StepStatus.RUNNING)

    def run(self, started_at: float) -> dict[str, Any]:
        settings = self.services.settings
        timeout = min(
            self.request.callback_timeout_seconds or settings.callback_timeout_seconds,
            settings.deadline_seconds,
        )
        self.now = started_at
        while True:
            self.round += 1
            due = [s.rerun_at for s in self.steps.values() if s.rerun_at is not None]
            round_timeout = timeout if not due else max(1, min(timeout, int(min(due) - self.now) + 1))
            callback = self.context.create_callback(
                f"wait-{self.round}", CallbackConfig(timeout=Duration.from_seconds(round_timeout))
            )
            in_flight = {
                n: (str(self.steps[n].state.run_key), str(self.steps[n].state.statement_id))
                for n in self.running
                if self.steps[n].rerun_at is None and self.steps[n].state.statement_id
            }
            to_cancel = [n for n in in_flight if self.steps[n].cancelled and n not in self.cancel_sent]
            self.cancel_sent |= set(to_cancel)
            first_plan = self.steps[self.pipeline.order()[0]].plan
            armed = self.context.step(
                arm_round(
                    self.services, first_plan, self.run_key, in_flight, callback.callback_id, to_cancel
                ),
                name=f"arm-{self.round}",
            )
            self.now = float(armed["now"])
            self.deadline_passed = self.now - started_at >= settings.deadline_seconds
            for name in self.pipeline.order():
                status = armed["status"].get(name)
                if status in TERMINAL_STATES or (status is not None and self.deadline_passed):
                    self._finish(name)
            if self.deadline_passed:
                self.stopping = True
            self._start(callback.callback_id)
            if not self.running:
                break
            if any(self.steps[n].cancelled and n not in self.cancel_sent for n in self.running):
                continue  # cancel them now, in a new round, before waiting
            if self.rerun_scheduled:  # this round's callback outlasts the backoff: a round sized to it
                self.rerun_scheduled = False
                continue
            try:
                payload = parse_payload(callback.result())
                self._person(payload.decided_by, False, payload.message)
            except CallbackExternalError as exc:
                payload = parse_payload(exc.data)
                self._person(payload.decided_by, True, payload.message or exc.message)
            except CallbackTimeoutError:
                # the fallback for lost events: the next round describes; wait longer next time
                self.now += round_timeout
                if round_timeout == timeout:
                    remaining = settings.deadline_seconds - (self.now - started_at)
                    timeout = int(max(1, min(timeout * 2, settings.max_callback_timeout_seconds, remaining)))
        return self._end()

    def _person(self, decided_by: DecidedBy | None, failed: bool, message: str | None) -> None:
        """A person failed the pipeline (`rsbatch fail RUN`): cancel every running step, start none.

        Anything else only wakes the round up: Redshift's record of each statement decides."""
        if decided_by is DecidedBy.PERSON and failed:
            self.person_error = message or "failed by an operator"
            self.stopping = True
            for name in self.running:
                self.steps[name].cancelled = True

    # -- finishing -----------------------------------------------------------

    def _finish(self, name: str) -> None:
        step = self.steps[name]
        where = self._where(name, step)
        resumption = Resumption(
            decided_by=DecidedBy.REDSHIFT_CHECK, success=None, deadline_passed=self.deadline_passed
        )
        finished = self.context.step(
            finish_step(
                self.services,
                step.plan,
                where,
                step.batches[step.batch - 1],
                str(step.state.statement_id),
                resumption,
                _batch_request(step),
                step.attempts,
                self.run_key,
                name,
                step.state,
                step.batch == len(step.batches),
                step.cancelled,
            ),
            name=op_name("finish", name, step.batch, step.attempt),
            config=step.plan.policy.step_config(),
        )
        step.state = StepState.model_validate(finished["state"])
        step.attempts = [Attempt.model_validate(a) for a in finished["attempts"]]
        if finished["rerun"]:  # lost a conflict: the same batch again after a backoff
            failed = finished["statement_index"]
            auto = step.request.execution_mode == "AUTO_COMMIT"
            step.offset = (failed - 1) if auto and failed else 0
            step.rerun_at = self.now + step.plan.backoff(step.attempt)
            step.attempt += 1
            self.rerun_scheduled = True
            return
        if finished["status"] == RunStatus.SUCCEEDED.value and step.batch < len(step.batches):
            step.batch, step.attempt, step.offset, step.attempts = step.batch + 1, 1, 0, []
            step.state = step.state.model_copy(update={"statement_id": None})
            return  # the chain's next batch is submitted by _start, in this round
        if step.state.state is StepStatus.FAILED:
            self.info.failed_steps.append(name)
            policy = self.pipeline.on_failure
            if policy != "continue-independent":
                self.stopping = True
            if policy == "stop":
                for other in self.running:
                    self.steps[other].cancelled = True

    # -- starting ------------------------------------------------------------

    def _start(self, callback_id: str) -> None:
        """Chains' next batches and due reruns, then every ready step up to max_parallel."""
        for name in self.running:
            step = self.steps[name]
            if step.rerun_at is not None and (step.cancelled or self.deadline_passed):
                # a rerun the pipeline stopped before it ran: the last attempt's failure stands
                ended = step.state.model_copy(
                    update={
                        "state": StepStatus.CANCELLED if step.cancelled else StepStatus.FAILED,
                        "ended_at": self.now,
                        "error": "not rerun: the pipeline stopped",
                    }
                )
                step.state, step.rerun_at = ended, None
                self.dropped[name] = ended
                if not step.cancelled:
                    self.info.failed_steps.append(name)
            elif step.cancelled:
                continue
            elif step.state.statement_id is None or (step.rerun_at is not None and step.rerun_at <= self.now):
                step.rerun_at = None
                self._submit(name, callback_id)
        if self.stopping:
            return
        succeeded = set(self._with(StepStatus.SUCCEEDED, StepStatus.SKIPPED))
        started = {n for n, s in self.steps.items() if s.state.state is not StepStatus.PENDING}
        for name in self.pipeline.ready(succeeded, started):
            if len(self.running) >= self.pipeline.max_parallel:
                return
            self._submit(name, callback_id)

    def _submit(self, name: str, callback_id: str) -> None:
        step = self.steps[name]
        where = self._where(name, step)
        todo = step.batches[step.batch - 1]
        if step.offset:
            todo = SqlBatch(todo.name, todo.statements[step.offset :])
        submitted = self.context.step(
            submit_step(
                self.services,
                step.plan,
                where,
                todo,
                callback_id,
                _batch_request(step),
                for_batch(todo, step.request.parameter_values),
                self.run_key,
                name,
                step.state,
            ),
            name=op_name("submit", name, step.batch, step.attempt),
            config=step.plan.policy.step_config(),
        )
        step.state = StepState.model_validate(submitted["state"])

    def _where(self, name: str, step: StepRun) -> BatchContext:
        return BatchContext(
            run=step_key(self.run_key, name, step.batch),
            index=step.batch,
            execution_arn=self.execution_arn,
            target=self.services.settings.target,
            started_at=step.state.started_at,
            session_id=None,
            attempt=step.attempt,
            offset=step.offset,
        )

    # -- the end -------------------------------------------------------------

    def _end(self) -> dict[str, Any]:
        never = self._with(StepStatus.PENDING)
        final = {n: StepState(state=StepStatus.NOT_STARTED) for n in never} | self.dropped
        failed = self.info.failed_steps
        error: str | None = None
        if failed or self.person_error or self.deadline_passed:
            parts = [f"step(s) {', '.join(failed)} failed"] if failed else []
            if self.person_error:
                parts.append(f"failed by hand: {self.person_error}")
            first = self.steps[failed[0]].state.error if failed else None
            error = bounded(
                f"pipeline {self.pipeline.name}: " + "; ".join(parts) + (f" ({first})" if first else "")
            )
        self.context.step(end_pipeline(self.services, self.run_key, self.info, final, error), name="end")
        for name in never:
            self.steps[name].state = StepState(state=StepStatus.NOT_STARTED)
        if error:
            raise BatchFailedError(error)
        return {
            "run": self.run_key,
            "pipeline": self.pipeline.name,
            "status": RunStatus.SUCCEEDED.value,
            "steps": {n: s.state.model_dump(mode="json") for n, s in self.steps.items()},
        }


def _batch_request(step: StepRun) -> RunRequest:
    """The single-run input of the step's current batch (one file of its chain)."""
    return step.request.model_copy(update={"sql_file": step.batches[step.batch - 1].name, "batches": None})


__all__ = ["PipelineRun", "check_pipeline", "is_pipeline", "load_pipeline", "run_pipeline", "step_key"]
