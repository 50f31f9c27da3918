"""One Powertools logger, tracer and metrics set for the whole core, shared by both Lambdas.

The service name comes from POWERTOOLS_SERVICE_NAME, so each function's lines
say which function wrote them while the code stays written once.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from rsbatch_core.models import RunStatus, RunSummary

NAMESPACE = "rsbatch"

#: rsbatch-durable or rsbatch-listener on AWS (template); the alarms filter on it.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "rsbatch-lambda"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def bind_run(run: str) -> None:
    """Put the run key on every following log line (and as the correlation id)."""
    logger.append_keys(run=run)
    logger.set_correlation_id(run)


def record_waiting(count: int, older_than_seconds: int) -> None:
    """WaitingRuns: the WAITING runs older than a reconcile's cutoff that it walked (all pages).

    Emitted once per reconcile, from its last page's step (so a replay adds none), with the
    cutoff as a dimension: the schedule's `older_than_seconds: 600` makes it "runs still waiting
    after ten minutes", a by-hand `reconcile --older-than 0` a count of every waiting run. Runs
    younger than the cutoff are not counted: reconcile does not read them.
    """
    if is_metrics_disabled():
        return
    dimensions = {**metrics.default_dimensions, "OlderThanSeconds": str(older_than_seconds)}
    with single_metric(
        name="WaitingRuns",
        unit=MetricUnit.Count,
        value=count,
        namespace=NAMESPACE,
        default_dimensions=dimensions,
    ):
        pass


def record_started() -> None:
    metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1)


def record_finished(summary: RunSummary, resume_latency_ms: float | None) -> None:
    """RunsSucceeded/RunsFailed by service only (the alarm's dimensions); the rest by ResumedBy."""
    name = "RunsSucceeded" if summary.status is RunStatus.SUCCEEDED else "RunsFailed"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    if is_metrics_disabled():  # single_metric prints even when metrics are switched off
        return
    dimensions = {**metrics.default_dimensions, "ResumedBy": summary.resumed_by.value}
    with single_metric(
        name="RunsResumed", unit=MetricUnit.Count, value=1, namespace=NAMESPACE, default_dimensions=dimensions
    ):
        pass
    if resume_latency_ms is not None:
        with single_metric(
            name="ResumeLatency",
            unit=MetricUnit.Milliseconds,
            value=resume_latency_ms,
            namespace=NAMESPACE,
            default_dimensions=dimensions,
        ):
            pass
