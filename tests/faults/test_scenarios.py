"""Each way the world misbehaves, and the proof the run still ends right (DESIGN section 4)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

import durable_fn.app
import status_listener.app
from rsbatch.local.faults import CrashAfterSubmit, Faults
from rsbatch.local.stack import lambda_context
from rsbatch_core.ports import Services, Submission
from tests.faults.conftest import Harness


def test_event_lost(harness: Harness) -> None:
    harness.faults(Faults(drop=1.0))
    harness.check(harness.run("query.sql", callback_timeout=1), "SUCCEEDED", resumed_by="poll")


def test_event_duplicated_three_times(harness: Harness) -> None:
    harness.faults(Faults(duplicate=3))
    report = harness.run("query.sql")
    harness.check(report, "SUCCEEDED", resumed_by="event")


def test_events_reordered_across_runs(harness: Harness) -> None:
    harness.faults(Faults(reorder=0.5, duplicate=2))
    started = [harness.start("examples/mart_refresh_locked.sql") for _ in range(6)]
    for report in [harness.follow(s) for s in started]:
        harness.check(report, "SUCCEEDED", resumed_by="event")


class SlowReturn(CrashAfterSubmit):
    """The function's Data API adapter, whose submit returns half a second after Redshift answered."""

    def submit(self, submission: Submission) -> str:
        statement_id = super().submit(submission)
        time.sleep(0.5)  # the statement ends and its event is delivered meanwhile
        return statement_id


@pytest.fixture
def services() -> Iterator[Services]:
    services = durable_fn.app.services()
    original = services.redshift
    yield services
    services.redshift = original


def test_statement_finishes_before_the_submit_step_returns(harness: Harness, services: Services) -> None:
    services.redshift = SlowReturn(services.redshift)
    harness.check(harness.run("query.sql"), "SUCCEEDED", resumed_by="event")


def test_crash_after_submit_submits_one_batch(harness: Harness) -> None:
    harness.faults(Faults(crash_after_submit=1))
    report = harness.run("query.sql")
    harness.check(report, "SUCCEEDED")  # the retried step got the same statement back (ClientToken)
    assert harness.stack.submits is not None and harness.stack.submits.crashes.left == 0  # it did crash once


def test_listener_restarting_before_every_event(harness: Harness) -> None:
    harness.faults(Faults(restart_listener=True, duplicate=2))
    harness.check(harness.run("query.sql"), "SUCCEEDED", resumed_by="event")


def test_event_for_a_statement_that_is_not_ours(harness: Harness) -> None:
    assert harness.stack.bus is not None
    before = harness.stack.bus.stats.matched
    client = boto3.client("redshift-data")
    statement_id = client.execute_statement(
        Sql="SELECT 1", StatementName="etl-nightly", WithEvent=True, WorkgroupName="local", Database="dev"
    )["Id"]
    client.describe_statement(Id=statement_id, WaitTimeSeconds=10)
    assert harness.stack.bus.drain(5)
    assert harness.stack.bus.stats.matched == before  # the rule's prefix keeps it off our listener
    harness.nothing_waiting()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"source": "aws.redshift-data", "detail-type": "Redshift Data Statement Status Change", "detail": {}},
        {"detail": {"statementName": "rsbatch-x", "state": "FINISHED"}},
        "garbage",
    ],
)
def test_malformed_event_is_dropped_with_a_log(harness: Harness, payload: Any) -> None:
    outcome = status_listener.app.handler(payload, lambda_context("rsbatch-listener"))
    assert outcome == {"outcome": "malformed"}
    harness.nothing_waiting()


def test_sql_error_in_the_middle_commits_nothing(harness: Harness) -> None:
    before = harness.mart()
    report = harness.run("examples/fails_midway.sql")
    harness.check(report, "FAILED", mart=before, resumed_by="event")
    assert report["error"]["statement_index"] == 2


def test_cancel_fails_the_run_as_aborted(harness: Harness) -> None:
    before = harness.mart()
    started = harness.start("examples/sleep.sql")
    deadline = time.monotonic() + 10
    while not (record := harness.operator.registry.get(started.run)) or not record.statement_id:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    harness.operator.cancel(started.run)
    report = harness.follow(started)
    harness.check(report, "FAILED", mart=before, resumed_by="event")
    assert report["error"]["type"] == "RedshiftStatementAborted"


def test_callback_timeout_then_late_event_is_handled_quietly(harness: Harness) -> None:
    assert harness.stack.bus is not None
    harness.faults(Faults(delay=2.5))
    report = harness.run("query.sql", callback_timeout=1)
    harness.check(report, "SUCCEEDED", resumed_by="poll")
    assert harness.stack.bus.drain(10)  # the late event arrives now, to a run that already ended
    assert harness.stack.bus.stats.dead_letters == []
    harness.nothing_waiting()


def test_listener_failing_twice_then_recovering(harness: Harness) -> None:
    assert harness.stack.bus is not None
    failed_before = harness.stack.bus.stats.failed_attempts
    harness.faults(Faults(listener_failures=2))
    report = harness.run("query.sql")
    harness.check(report, "SUCCEEDED", resumed_by="event")
    assert harness.stack.bus.stats.failed_attempts - failed_before == 2


def test_hundred_concurrent_runs_with_drops_and_duplicates(harness: Harness) -> None:
    harness.faults(Faults(drop=0.1, duplicate=2, duplicate_rate=0.1))
    with ThreadPoolExecutor(max_workers=20) as pool:
        started = list(pool.map(lambda _: harness.start("examples/mart_refresh_locked.sql", 2), range(100)))
        reports = list(pool.map(lambda s: harness.follow(s, timeout=120), started))
    assert len({r["run"] for r in reports}) == 100
    for report in reports:
        harness.check(report, "SUCCEEDED")
    resumed = {r["resumed_by"] for r in reports}
    assert resumed <= {"event", "poll"} and "event" in resumed
