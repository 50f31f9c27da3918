"""The warehouse misbehaves (conflicts, quotas, throttling, surprising events); every run still ends right.

Each scenario ends with the four checks (status, mart, one batch per attempt, nothing WAITING).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from rsbatch.local.faults import Faults
from rsbatch.operations import RunOptions
from tests.faults.conftest import Harness

#: Short waits between attempts, so the scenarios take seconds (the default is 30 s).
FAST = RunOptions(retry_backoff=1)


def test_two_conflicts_then_success_on_the_third_attempt(harness: Harness) -> None:
    harness.faults(Faults(conflict=2))
    report = harness.follow(harness.start("query.sql", options=FAST))
    harness.check(report, "SUCCEEDED", statements=3)  # the mart is right: the third attempt committed
    attempts = report["attempts"]
    assert [a["status"] for a in attempts] == ["FAILED", "FAILED", "FINISHED"]
    assert all("1023" in (a["error"] or "") for a in attempts[:2])
    assert len({a["statement_id"] for a in attempts}) == 3


def test_conflicts_outlasting_the_attempts_fail_with_redshifts_text(harness: Harness) -> None:
    before = harness.mart()
    harness.faults(Faults(conflict=5))
    report = harness.follow(harness.start("query.sql", options=RunOptions(retries=3, retry_backoff=1)))
    harness.check(report, "FAILED", mart=before, statements=3)  # nothing committed, by any attempt
    assert "Serializable isolation violation" in report["error"]["message"]
    assert [a["status"] for a in report["attempts"]] == ["FAILED"] * 3


def test_auto_commit_opt_in_reruns_only_after_the_last_committed_statement(harness: Harness) -> None:
    harness.faults(Faults(conflict=1))  # statement 1 (DELETE) commits, statement 2 (INSERT) conflicts
    options = RunOptions(execution_mode="AUTO_COMMIT", retry_auto_commit=True, retry_backoff=1)
    report = harness.follow(harness.start("query.sql", options=options))
    harness.check(report, "SUCCEEDED", statements=2)
    assert report["committed_statements"] == [1, 2]
    assert [s["index"] for s in report["statements"]] == [2]  # the rerun ran the INSERT only
    redshift = boto3.client("redshift-data")  # this process holds the function's identity
    rerun = redshift.describe_statement(Id=report["attempts"][1]["statement_id"])
    assert len(rerun["SubStatements"]) == 1 and "INSERT" in rerun["SubStatements"][0]["QueryString"]


def test_three_overlapping_refreshes_all_succeed_with_one_row_per_customer(harness: Harness) -> None:
    """Serializable isolation, as Redshift runs it: the losers conflict, are rerun, and win later."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        started = list(
            pool.map(lambda _: harness.start("examples/mart_refresh_slow.sql", options=FAST), range(3))
        )
        reports = list(pool.map(lambda s: harness.follow(s, timeout=100), started))
    for report in reports:
        attempts = len(report["attempts"])
        harness.check(report, "SUCCEEDED", statements=attempts)
    assert sum(len(r["attempts"]) for r in reports) > 3  # at least one lost a conflict and was rerun
    rows = harness.rows("SELECT customer_id, COUNT(*) FROM public.mart_customer_summary GROUP BY 1")
    assert rows and all(count == 1 for _, count in rows)


@pytest.mark.timeout(240)
def test_a_full_quota_of_active_statements_is_waited_out(harness: Harness) -> None:
    redshift = harness.stack.redshift
    assert redshift is not None
    before = harness.mart()
    harness.faults(Faults(active_limit=2))
    redshift.reset_peak_active()
    with ThreadPoolExecutor(max_workers=10) as pool:
        started = list(pool.map(lambda _: harness.start("examples/sleep_one.sql"), range(10)))
        reports = list(pool.map(lambda s: harness.follow(s, timeout=200), started))
    for report in reports:
        harness.check(report, "SUCCEEDED", mart=before)
    assert redshift.peak_active <= 2
    # Waiting for room is a durable wait: a run took a handful of invocations, not a busy loop.
    assert max(r["invocations"] for r in reports) <= 12, [r["invocations"] for r in reports]


def test_throttling_and_server_errors_on_twenty_runs(harness: Harness) -> None:
    # A read-only batch: twenty concurrent mart refreshes would also conflict (serializable), and
    # this scenario is about the API's errors alone.
    before = harness.mart()
    harness.faults(Faults(throttle=0.3, server_error=0.2))
    options = RunOptions(parameters={"since": "2026-11-01"})
    with ThreadPoolExecutor(max_workers=20) as pool:
        started = list(
            pool.map(lambda _: harness.start("examples/orders_since.sql", options=options), range(20))
        )
        reports = list(pool.map(lambda s: harness.follow(s, timeout=100), started))
    harness.faults(Faults())
    for report in reports:
        harness.check(report, "SUCCEEDED", mart=before)  # one batch each: retried submits kept their token


def test_sub_statement_events_and_a_lagging_describe(harness: Harness) -> None:
    harness.faults(Faults(sub_events=True, describe_lag=3))
    with ThreadPoolExecutor(max_workers=5) as pool:
        started = list(pool.map(lambda _: harness.start("query.sql", options=FAST), range(5)))
        reports = list(pool.map(lambda s: harness.follow(s, timeout=90), started))
    harness.faults(Faults())
    for report in reports:  # concurrent refreshes may also lose conflicts: one batch per attempt
        harness.check(report, "SUCCEEDED", statements=len(report["attempts"]))
        assert [s["status"] for s in report["statements"]] == [
            "FINISHED",
            "FINISHED",
        ]  # ended after the batch
        assert report["committed_statements"] == [1, 2]
