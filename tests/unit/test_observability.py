"""Metrics the alarms and dashboards rely on: names, units and dimensions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.metrics import EphemeralMetrics

from rsbatch_core import observability
from rsbatch_core.models import ResumedBy, RunStatus, RunSummary
from rsbatch_core.observability import NAMESPACE, SERVICE, record_finished


def emitted(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{") and "_aws" in line]


def summary(status: RunStatus, resumed_by: ResumedBy) -> RunSummary:
    return RunSummary(
        run="rsbatch-x",
        status=status,
        execution_arn="arn",
        statement_id="s",
        sql_file="q.sql",
        resumed_by=resumed_by,
    )


def test_failed_run_metric_has_only_the_service_dimension(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A metrics set of this test's own: durable runs of other tests in this worker may still be
    # finishing on their runner's threads and flushing the shared one.
    metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)  # shares no buffer
    # A session-scoped local stack in this worker switches EMF off until the session ends.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setattr(observability, "metrics", metrics)
    metrics.clear_metrics()
    record_finished(summary(RunStatus.FAILED, ResumedBy.POLL), resume_latency_ms=1234.5)
    metrics.flush_metrics()
    docs = emitted(capsys.readouterr().out)

    runs_failed = next(d for d in docs if "RunsFailed" in d)
    (directive,) = runs_failed["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "rsbatch"
    assert directive["Dimensions"] == [["service"]]  # what the RunsFailed alarm watches

    latency = next(d for d in docs if "ResumeLatency" in d)
    assert latency["ResumedBy"] == "poll" and latency["ResumeLatency"] in (1234.5, [1234.5])
    assert latency["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] == "Milliseconds"
    assert next(d for d in docs if "RunsResumed" in d)["ResumedBy"] == "poll"


def test_waiting_runs_metric_names_its_cutoff(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "rsbatch-durable")
    capsys.readouterr()
    observability.record_waiting(7, 600)
    (doc,) = [d for d in emitted(capsys.readouterr().out) if "WaitingRuns" in d]
    assert doc["WaitingRuns"] in (7, [7.0], 7.0) and doc["OlderThanSeconds"] == "600"
    assert sorted(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == ["OlderThanSeconds", "service"]
