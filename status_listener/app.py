"""Status listener: Redshift's EventBridge "statement finished" event → durable callback."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from rsbatch_core.callbacks import CallbackSender
from rsbatch_core.observability import logger, tracer
from rsbatch_core.registry import RunRegistry
from rsbatch_core.resume import resume_from_event
from rsbatch_core.settings import Settings


@cache
def _adapters() -> tuple[RunRegistry, CallbackSender]:
    settings = Settings.from_env()
    return RunRegistry(settings.table, settings.retention_days), CallbackSender()


def cold_start() -> None:
    """Forget the cached adapters and settings, as a new container would (the local stack, tests)."""
    _adapters.cache_clear()


@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    registry, sender = _adapters()
    return {"outcome": resume_from_event(event, registry, sender).value}
