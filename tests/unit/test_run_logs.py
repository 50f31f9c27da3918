"""rsbatch.run_logs: a run's lines from both log groups (moto's CloudWatch Logs), in order, no one else's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from rsbatch.run_logs import CloudWatchRunLogs, belongs, follow

RUN = "rsbatch-0123456789abcdef01234567"
OTHER = "rsbatch-0123456789abcdef01234568"
GROUPS = ("/aws/lambda/rsbatch-durable", "/aws/lambda/rsbatch-listener")
T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _line(message: str, correlation_id: str, **extra: Any) -> str:
    return json.dumps({"level": "INFO", "message": message, "correlation_id": correlation_id, **extra})


@pytest.fixture
def logs() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("logs", region_name="us-east-1")
        for group in GROUPS:
            client.create_log_group(logGroupName=group)
            client.create_log_stream(logGroupName=group, logStreamName="s")
        yield client


def _put(logs: Any, group: str, seconds: float, message: str) -> None:
    when = int((T0 + timedelta(seconds=seconds)).timestamp() * 1000)
    logs.put_log_events(
        logGroupName=group, logStreamName="s", logEvents=[{"timestamp": when, "message": message}]
    )


def test_both_functions_lines_of_one_run_come_in_time_order(logs: Any) -> None:
    durable, listener = GROUPS
    _put(logs, durable, 1, _line("batch submitted", RUN, statement_id="s-1"))
    _put(logs, durable, 3, _line("run finished", RUN))
    _put(logs, listener, 2, _line("callback sent", f"{RUN}-2"))
    _put(logs, listener, 2.5, _line("callback sent", OTHER))  # another run
    _put(logs, durable, 2.7, "START RequestId: 1 Version: 3")  # Lambda's own line: not Powertools JSON

    lines = CloudWatchRunLogs(logs, GROUPS).read(RUN, T0)

    assert [(line.function, line.message) for line in lines] == [
        ("rsbatch-durable", "batch submitted"),
        ("rsbatch-listener", "callback sent"),
        ("rsbatch-durable", "run finished"),
    ]
    assert lines[0].to_json()["fields"] == {"statement_id": "s-1"}
    assert "statement_id=s-1" in lines[0].text()


def test_following_prints_each_line_once_and_stops_after_the_run_ended(logs: Any) -> None:
    source = CloudWatchRunLogs(logs, GROUPS)
    _put(logs, GROUPS[0], 1, _line("batch submitted", RUN))
    polls: list[int] = []

    def ended() -> bool:
        polls.append(1)
        if len(polls) == 2:  # the run ends while being followed
            _put(logs, GROUPS[1], 2, _line("callback sent", RUN))
        return len(polls) >= 2

    seen = [line.message for line in follow(source, RUN, T0, ended=ended, sleep=lambda _: None)]
    assert seen == ["batch submitted", "callback sent"]
    assert len(polls) == 3  # the read after the end found nothing new: done


@pytest.mark.parametrize(
    ("correlation_id", "ours"),
    [
        (RUN, True),
        (f"{RUN}-2", True),
        (f"{RUN}.stage", True),
        (OTHER, False),
        (f"{RUN}0", False),
        (None, False),
    ],
)
def test_a_line_belongs_to_the_run_or_its_batches_only(correlation_id: str | None, ours: bool) -> None:
    assert belongs(RUN, correlation_id) is ours
