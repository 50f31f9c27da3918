"""The CloudWatch dashboard graphs only metrics that exist, with the dimensions they carry.

rsbatch's own metrics are taken from what `rsbatch_core.observability` really prints (its
Powertools EMF documents, captured here), not from a second list; AWS's come from AWS's pages:
- AWS/Lambda `Duration`, `Errors` by `FunctionName` ("Types of metrics for Lambda functions",
  https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html; the FunctionName
  dimension aggregates every version and alias, so the alias `live` is included);
- AWS/SQS `ApproximateNumberOfMessagesVisible` by `QueueName` ("Available CloudWatch metrics for
  Amazon SQS", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.metrics import EphemeralMetrics

from rsbatch_core import observability
from rsbatch_core.models import ResumedBy, RunStatus, RunSummary
from tests.infrastructure.cfn import raw_template, stack_for

#: (namespace, metric) → the dimension names AWS publishes it with (pages cited above).
AWS_METRICS: dict[tuple[str, str], frozenset[str]] = {
    ("AWS/Lambda", "Duration"): frozenset({"FunctionName"}),
    ("AWS/Lambda", "Errors"): frozenset({"FunctionName"}),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible"): frozenset({"QueueName"}),
}

Metric = tuple[str, str, tuple[tuple[str, str], ...]]  # namespace, name, sorted dimensions


def emitted_by_rsbatch(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> set[Metric]:
    """Every (namespace, metric, dimensions) the durable function's code prints as EMF."""
    stack = stack_for("serverless_iam")
    env = stack.properties("DurableFunction")["Environment"]["Variables"]  # as the function runs
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", env["POWERTOOLS_SERVICE_NAME"])
    metrics = EphemeralMetrics(
        namespace=env["POWERTOOLS_METRICS_NAMESPACE"], service=env["POWERTOOLS_SERVICE_NAME"]
    )
    monkeypatch.setattr(observability, "metrics", metrics)
    capsys.readouterr()
    observability.record_started()
    for status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        for by in ResumedBy:
            summary = RunSummary(
                run="rsbatch-x",
                status=status,
                execution_arn="a",
                statement_id="s",
                sql_file="q.sql",
                resumed_by=by,
            )
            observability.record_finished(summary, resume_latency_ms=12.5)
    reconcile_input = json.loads(
        stack_for("serverless_iam").properties("ReconcileSchedule")["Target"]["Input"]
    )
    observability.record_waiting(3, reconcile_input["older_than_seconds"])
    metrics.flush_metrics()
    found: set[Metric] = set()
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith("{") or "_aws" not in line:
            continue
        doc = json.loads(line)
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for names in directive["Dimensions"]:
                dims = tuple(sorted((n, str(doc[n])) for n in names))
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], dims))
    return found


def graphed() -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """Each line of each widget: namespace, metric, dimensions, its options (stat, label)."""
    body = json.loads(stack_for("serverless_iam").properties("Dashboard")["DashboardBody"])
    lines = []
    for widget in body["widgets"]:
        assert widget["type"] == "metric" and widget["properties"]["region"] == "us-east-1"
        for entry in widget["properties"]["metrics"]:
            options = entry[-1] if isinstance(entry[-1], dict) else {}
            parts = entry[:-1] if options else entry
            namespace, name, *pairs = parts
            assert len(pairs) % 2 == 0, entry
            lines.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True)), options))
    return lines


def test_every_rsbatch_metric_graphed_is_one_the_code_emits_with_those_dimensions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    emitted = emitted_by_rsbatch(capsys, monkeypatch)
    ours = [line for line in graphed() if line[0] == observability.NAMESPACE]
    assert ours
    for namespace, name, dims, _ in ours:
        assert (namespace, name, tuple(sorted(dims.items()))) in emitted, (name, dims)
    # What the issue asks the dashboard to show, all of it.
    names = {name for _, name, _, _ in ours}
    assert {"RunsStarted", "RunsSucceeded", "RunsFailed", "ResumeLatency", "WaitingRuns"} <= names


def test_resume_latency_has_p50_and_p99_for_every_resumed_by() -> None:
    latency = {(d["ResumedBy"], o.get("stat")) for _, n, d, o in graphed() if n == "ResumeLatency"}
    assert latency == {(by.value, stat) for by in ResumedBy for stat in ("p50", "p99")}


def test_aws_metrics_are_named_as_aws_publishes_them_for_this_stack_s_resources() -> None:
    aws = [line for line in graphed() if line[0].startswith("AWS/")]
    for namespace, name, dims, _ in aws:
        assert set(dims) == AWS_METRICS[(namespace, name)], (namespace, name)
    values = {(n, next(iter(d.values()))) for _, n, d, _ in aws}
    assert values == {
        ("ApproximateNumberOfMessagesVisible", "getatt:DeadLetterQueue.QueueName"),  # the listener's DLQ
        ("Errors", "ref:StatusListenerFunction"),
        ("Duration", "ref:DurableFunction"),
    }


def test_dashboard_url_output_opens_this_dashboard() -> None:
    url = raw_template()["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]
    assert url == (
        "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home"
        "?region=${AWS::Region}#dashboards:name=${Dashboard}"
    )
