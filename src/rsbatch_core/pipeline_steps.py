"""The durable steps of a pipeline run, one named module-level function each (as in `steps.py`).

A pipeline step's batch is submitted and finished by the single run's own steps
(`steps.submit_batch`, `steps.finish_batch`, called inside these), so its
registry item, ClientToken and verdict are exactly a single run's; these steps
add what the pipeline's own item records. Each is safe to repeat: the pipeline
item's writes set values (a replay writes the same ones again).
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from aws_durable_execution_sdk_python import StepContext, durable_step

from rsbatch_core.models import (
    MAX_STEP_ERROR,
    PIPELINE_ITEM,
    Attempt,
    PipelineInfo,
    PipelineRequest,
    RunRecord,
    RunRequest,
    RunStatus,
    RunSummary,
    StepState,
    StepStatus,
)
from rsbatch_core.observability import logger
from rsbatch_core.plan import RunPlan
from rsbatch_core.ports import Services
from rsbatch_core.registry import RunConflictError
from rsbatch_core.sqlfile import SqlBatch
from rsbatch_core.steps import BatchContext, Resumption, finish_batch, submit_batch

#: Statements described at once in a round (the Data API's calls are short; a round has at most
#: max_parallel running steps).
DESCRIBE_THREADS = 8


@durable_step
def begin_pipeline(
    _: StepContext,
    services: Services,
    record: RunRecord,
    info: PipelineInfo,
    request: PipelineRequest,
) -> dict[str, Any]:
    """The pipeline's item, before any step is submitted: the graph, parameters, each step PENDING.

    `:run_date` is decided here (today's date is a checkpoint, the same on every replay).
    """
    now = time.time()
    info = info.model_copy(update={"run_date": request.resolved_run_date(datetime.now(UTC))})
    steps = {
        name: StepState(state=StepStatus.SKIPPED if name in info.skip_steps else StepStatus.PENDING)
        for name in info.graph
    }
    services.registry.start_pipeline(
        record.model_copy(
            update={
                "pipeline": info.model_dump_json(),
                "steps": {k: v.model_dump_json() for k, v in steps.items()},
                "item_type": PIPELINE_ITEM,
            }
        )
    )
    if request.redrive_of:
        services.registry.link_redrive(request.redrive_of, record.run_key)
    logger.info("pipeline started", extra={"pipeline": info.name, "steps": len(steps)})
    return {"run_date": info.run_date, "started_at": now}


@durable_step
def refuse_pipeline(_: StepContext, services: Services, record: RunRecord) -> None:
    """The function refused the pipeline's input or manifest: a FAILED item that says why."""
    services.registry.refuse(record.model_copy(update={"item_type": PIPELINE_ITEM}))
    logger.error("pipeline refused", extra={"error": record.error})


@durable_step
def arm_round(
    ctx: StepContext,
    services: Services,
    plan: RunPlan,
    pipeline_run: str,
    running: dict[str, tuple[str, str]],
    callback_id: str,
    cancel: list[str],
) -> dict[str, Any]:
    """A round: point every running step's item (and the pipeline's) at the round's callback,
    THEN describe every running statement once (the steps in `cancel` are cancelled first).

    Re-arming before describing closes the race with a late event, as a single run's check does:
    an event sent before the re-arm reached the old callback, but the describe sees its end;
    one sent after reaches this round's callback. `running` is step → (run key, statement id).
    Returns `{"now": …, "status": {step: Redshift's status}}`.
    """
    with plan.policy.attempt(ctx.attempt):
        for run, _statement in running.values():
            with contextlib.suppress(RunConflictError):  # ended meanwhile: the describe tells
                services.registry.rearm(run, callback_id)
        with contextlib.suppress(RunConflictError):
            services.registry.rearm(pipeline_run, callback_id)  # `rsbatch fail RUN` reaches the round
        steps = list(running)
        for step in cancel:
            try:
                services.redshift.cancel(running[step][1])
            except Exception:  # ended meanwhile, or the API refused: the describe says what it is
                logger.warning("could not cancel a step's statement", extra={"step": step})
        with ThreadPoolExecutor(max_workers=DESCRIBE_THREADS) as pool:
            described = list(pool.map(lambda s: services.redshift.describe(running[s][1]), steps))
    status = {step: str(d.get("Status")) for step, d in zip(steps, described, strict=True)}
    return {"now": time.time(), "status": status}


@durable_step
def submit_step(
    ctx: StepContext,
    services: Services,
    plan: RunPlan,
    where: BatchContext,
    batch: SqlBatch,
    callback_id: str,
    request: RunRequest,
    parameters: list[dict[str, str]],
    pipeline_run: str,
    step: str,
    state: StepState,
) -> dict[str, Any]:
    """Register and submit one batch of a step (the single run's submit), then mark it RUNNING."""
    submitted: dict[str, Any] = submit_batch(services, plan, where, batch, callback_id, request, parameters)(
        ctx
    )
    started = state.started_at if state.started_at is not None else float(submitted["submitted_at"])
    running = state.model_copy(
        update={
            "state": StepStatus.RUNNING,
            "run_key": where.run,
            "statement_id": submitted["statement_id"],
            "batch": where.index,
            "started_at": started,
            "attempts": state.attempts + 1,
        }
    )
    services.registry.pipeline_step(pipeline_run, step, running)
    return {**submitted, "state": running.model_dump(mode="json")}


@durable_step
def finish_step(
    ctx: StepContext,
    services: Services,
    plan: RunPlan,
    where: BatchContext,
    batch: SqlBatch,
    statement_id: str,
    resumption: Resumption,
    request: RunRequest,
    earlier: list[Attempt],
    pipeline_run: str,
    step: str,
    state: StepState,
    last_batch: bool,
    cancelled: bool,
) -> dict[str, Any]:
    """Finish one batch of a step from Redshift's record (the single run's finish), and record
    the step's state: still RUNNING for a chain's next batch or a rerun, else its end."""
    finished: dict[str, Any] = finish_batch(
        services, plan, where, batch, statement_id, resumption, request, earlier
    )(ctx)
    summary = RunSummary.model_validate(finished["summary"])
    rows = sum(s.rows or 0 for s in summary.statements if s.rows is not None)
    update: dict[str, Any] = {"rows": (state.rows or 0) + rows}
    if summary.status is RunStatus.FAILED and not finished["rerun"]:
        message = summary.error.message if summary.error else "the batch failed"
        update |= {
            "state": StepStatus.CANCELLED if cancelled else StepStatus.FAILED,
            "error": message[:MAX_STEP_ERROR],
            "ended_at": time.time(),
        }
    elif summary.status is RunStatus.SUCCEEDED and last_batch:
        update |= {"state": StepStatus.SUCCEEDED, "ended_at": time.time()}
    new_state = state.model_copy(update=update)
    services.registry.pipeline_step(pipeline_run, step, new_state)
    return {
        "rerun": finished["rerun"],
        "status": summary.status.value,
        "attempts": [a.model_dump(mode="json") for a in summary.attempts],
        "statement_index": summary.error.statement_index if summary.error else None,
        "state": new_state.model_dump(mode="json"),
    }


@durable_step
def end_pipeline(
    _: StepContext,
    services: Services,
    pipeline_run: str,
    info: PipelineInfo,
    final: dict[str, StepState],
    error: str | None,
) -> None:
    """The run's end: steps never started (or never rerun) say so, the item which steps failed."""
    for step, state in final.items():
        services.registry.pipeline_step(pipeline_run, step, state)
    status = RunStatus.FAILED if error else RunStatus.SUCCEEDED
    services.registry.end_pipeline(pipeline_run, status, error, info.model_dump_json())
    logger.info("pipeline finished", extra={"status": status.value, "failed": info.failed_steps})
