"""Durable function: run one SQL batch on Redshift and wait for it without compute."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, durable_execution

from rsbatch_core.actions import is_action, run_action
from rsbatch_core.callbacks import CallbackSender
from rsbatch_core.executions import DurableExecutions
from rsbatch_core.flow import run_batch
from rsbatch_core.observability import logger, metrics, tracer
from rsbatch_core.pipeline_flow import is_pipeline, run_pipeline
from rsbatch_core.ports import Services
from rsbatch_core.redshift import RedshiftData
from rsbatch_core.registry import RunRegistry
from rsbatch_core.settings import Settings
from rsbatch_core.sqlsource import SqlSource


@cache
def services() -> Services:
    """Built on first use, once per container; a bad environment fails with one clear message."""
    settings = Settings.from_env()
    return Services(
        settings=settings,
        registry=RunRegistry(settings.table, settings.retention_days),
        redshift=RedshiftData(),
        sql=SqlSource(settings.sql_root, settings.sql_bucket, settings.sql_prefix),
    )


@cache
def callbacks() -> CallbackSender:
    return CallbackSender()


@cache
def executions() -> DurableExecutions:
    return DurableExecutions()


def cold_start() -> None:
    """Forget the cached adapters and settings, as a new container would (the local stack, tests)."""
    services.cache_clear()
    callbacks.cache_clear()
    executions.cache_clear()


def run(event: Any, context: DurableContext) -> dict[str, Any]:
    """A SQL run, a pipeline run (`{"pipeline": …}`), or an operator action (`{"action": …}`)."""
    s = services()
    if is_action(event):
        return run_action(event, context, s.registry, s.redshift, callbacks(), executions())
    if is_pipeline(event):
        return run_pipeline(event, context, s)
    return run_batch(event, context, s)


#: Metrics flush once per invocation; they are recorded inside steps, so replays add none.
#: Responses stay out of X-Ray: they can hold result rows and SQL parameters.
handler = tracer.capture_lambda_handler(
    logger.inject_lambda_context(clear_state=True)(metrics.log_metrics(durable_execution(run))),
    capture_response=False,
)
