"""What a production Redshift does that a well-behaved warehouse does not, and the run still ends right.

Each scenario ends with the four checks (status, mart, one batch per attempt, nothing WAITING).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta

import boto3

from rsbatch.local.faults import Faults
from rsbatch.operations import RunOptions, Started
from tests.faults.conftest import Harness


def _statement_of(harness: Harness, run: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while not (record := harness.operator.registry.get(run)) or not record.statement_id:
        assert time.monotonic() < deadline, "the run never submitted its batch"
        time.sleep(0.05)
    return record.statement_id


def test_a_raw_success_callback_while_the_statement_runs_only_wakes_the_run(harness: Harness) -> None:
    """`aws lambda send-durable-execution-callback-success` as the README shows it, mid-run."""
    before = harness.mart()
    started = harness.start("examples/sleep_ten.sql")  # outlasts the wake-up's grace of a few seconds
    _statement_of(harness, started.run)
    record = harness.operator.registry.get(started.run)
    assert record is not None
    lambda_ = boto3.client("lambda", endpoint_url=harness.stack.env()["AWS_ENDPOINT_URL_LAMBDA"])
    lambda_.send_durable_execution_callback_success(CallbackId=record.callback_id, Result=b"{}")
    report = harness.follow(started)
    harness.check(report, "SUCCEEDED", mart=before, resumed_by="event")  # Redshift's event ended it
    assert report["statements"][0]["status"] == "FINISHED"
    history = harness.operator.history(started.execution_arn)
    names = {e.get("Name") for e in history}
    assert {"finish", "wait-2", "check-2", "finish-2"} <= names  # woken, still running, waited again


def test_a_chain_sharing_a_session_survives_every_event_lost(harness: Harness) -> None:
    """Rounds are kept inside the session's keep-alive, so a lost event never outlives the session."""
    harness.faults(Faults(drop=1.0))
    # Rounds of 20 s would outlive the 4-s session: the first batch's are capped at 2 s. The last
    # batch keeps no session, so it waits its full round before its check finds it finished.
    started = harness.start(
        ["examples/temp_stage.sql", "examples/temp_report.sql"],
        callback_timeout=20,
        options=RunOptions(session_keep_alive=4),
    )
    report = harness.follow(started, timeout=90)
    assert report["status"] == "SUCCEEDED", report
    assert [b["status"] for b in report["batches"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert {b["resumed_by"] for b in report["batches"]} == {"poll"}
    harness.nothing_waiting()


def test_statement_timeout_fails_the_run_naming_the_timeout(harness: Harness) -> None:
    before = harness.mart()
    began = time.monotonic()
    report = harness.follow(harness.start("examples/sleep_ten.sql", options=RunOptions(statement_timeout=2)))
    harness.check(report, "FAILED", mart=before, resumed_by="event")
    assert time.monotonic() - began < 9  # stopped by the timeout, not by the end of pg_sleep(10)
    assert "statement timeout" in report["error"]["message"]
    assert "statement_timeout is 2 s" in report["error"]["message"]
    assert report["error"]["statement_index"] == 1  # the user's statement, not rsbatch's SET


def test_a_megabyte_of_error_fails_the_run_with_its_own_shortened_error(harness: Harness) -> None:
    before = harness.mart()
    report = harness.run("examples/huge_error.sql")
    harness.check(report, "FAILED", mart=before, resumed_by="event")
    message = report["error"]["message"]
    assert "invalid input syntax for type integer" in message and "characters in all" in message
    assert len(message) < 2100  # not the DynamoDB item-size error, and small enough for a checkpoint
    shown = harness.operator.show(report["run"], live=True)  # the runbook's first step answers
    assert shown.statement is not None and len(shown.statement.get("Error", "")) <= 2000


def test_a_stopped_execution_is_closed_by_reconcile_and_its_statement_cancelled(harness: Harness) -> None:
    """`aws lambda stop-durable-execution` (or Stop in the console) mid-run orphans the run."""
    before = harness.mart()
    started = harness.start("examples/sleep.sql")
    statement_id = _statement_of(harness, started.run)
    lambda_ = boto3.client("lambda", endpoint_url=harness.stack.env()["AWS_ENDPOINT_URL_LAMBDA"])
    lambda_.stop_durable_execution(DurableExecutionArn=started.execution_arn)
    assert harness.operator.execution(started.execution_arn)["Status"] == "STOPPED"

    actions = harness.operator.reconcile(timedelta(0), dry_run=False).actions
    assert [(a.run, a.action) for a in actions] == [(started.run, "close")]
    record = harness.operator.registry.get(started.run)
    assert record is not None and record.status.value == "FAILED" and "STOPPED" in (record.error or "")
    redshift = boto3.client("redshift-data")  # this process holds the function's identity
    deadline = time.monotonic() + 10
    while (status := redshift.describe_statement(Id=statement_id)["Status"]) != "ABORTED":
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert harness.mart() == before
    harness.nothing_waiting()
    assert harness.operator.reconcile(timedelta(0), dry_run=False).actions == []  # healed once, for good


def _stop_and_end(harness: Harness, started: Started) -> str:
    """Stop the run's execution (an orphan now) and end its statement as Redshift would, in time."""
    statement_id = _statement_of(harness, started.run)
    lambda_ = boto3.client("lambda", endpoint_url=harness.stack.env()["AWS_ENDPOINT_URL_LAMBDA"])
    lambda_.stop_durable_execution(DurableExecutionArn=started.execution_arn)
    redshift = boto3.client("redshift-data")  # this process holds the function's identity
    redshift.cancel_statement(Id=statement_id)
    deadline = time.monotonic() + 10
    while redshift.describe_statement(Id=statement_id)["Status"] != "ABORTED":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return statement_id


@contextlib.contextmanager
def _statements_expire(harness: Harness) -> Iterator[None]:
    """The Data API forgets ended statements at once (it keeps them 24 h); the next submit sweeps."""
    emulator = harness.stack.redshift
    assert emulator is not None
    kept = emulator.retention_seconds
    emulator.retention_seconds = 0
    try:
        yield
    finally:
        emulator.retention_seconds = kept


def test_a_stopped_run_whose_statement_expired_is_reported_and_closed_with_the_others(
    harness: Harness,
) -> None:
    """Stop, then 24 h pass: reconcile and `show --live` say they cannot describe it and go on."""
    before = harness.mart()
    expired = harness.start("examples/sleep.sql")
    expired_statement = _stop_and_end(harness, expired)
    assert harness.stack.redshift is not None
    assert harness.stack.redshift.statements_named(expired.run) == 1  # one batch
    with _statements_expire(harness):
        other = harness.start("examples/sleep.sql")  # its submit sweeps the expired statement away
        other_statement = _statement_of(harness, other.run)
    assert harness.stack.redshift.statements_named(expired.run) == 0  # forgotten by the Data API
    lambda_ = boto3.client("lambda", endpoint_url=harness.stack.env()["AWS_ENDPOINT_URL_LAMBDA"])
    lambda_.stop_durable_execution(DurableExecutionArn=other.execution_arn)

    shown = harness.operator.show(expired.run, live=True)
    assert shown.statement is None and shown.note is not None and expired_statement in shown.note
    assert shown.execution["Status"] == "STOPPED"

    done = harness.operator.reconcile(timedelta(0), dry_run=False)
    by_run = {a.run: a for a in done.actions}
    assert set(by_run) == {expired.run, other.run} and {a.action for a in done.actions} == {"close"}
    assert "no longer knows" in (by_run[expired.run].note or "")
    closed = harness.operator.registry.get(expired.run)
    assert closed is not None and closed.status.value == "FAILED"
    assert "STOPPED" in (closed.error or "") and "no longer knows" in (closed.error or "")
    other_closed = harness.operator.registry.get(other.run)
    assert other_closed is not None and "statement was cancelled" in (other_closed.error or "")
    redshift = boto3.client("redshift-data")
    deadline = time.monotonic() + 10
    while redshift.describe_statement(Id=other_statement)["Status"] != "ABORTED":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert harness.mart() == before
    harness.nothing_waiting()


def test_a_stopped_run_whose_statement_expired_is_failed_by_hand_with_force(harness: Harness) -> None:
    """`rsbatch fail RUN --force`: no callback can reach it; the item is recorded FAILED, saying so."""
    before = harness.mart()
    started = harness.start("examples/sleep.sql")
    _stop_and_end(harness, started)
    assert harness.stack.redshift is not None
    assert harness.stack.redshift.statements_named(started.run) == 1  # one batch
    with _statements_expire(harness):
        harness.stack.run_sql(["SELECT 1"])  # any submit sweeps the expired statement away
    assert harness.stack.redshift.statements_named(started.run) == 0

    record, delivery = harness.operator.fail(started.run, "source gone", "OperatorFailed", force=True)
    assert (record.run_key, delivery) == (started.run, "recorded")
    failed = harness.operator.registry.get(started.run)
    assert failed is not None and failed.status.value == "FAILED"
    assert failed.error == "OperatorFailed: source gone (failed by hand; no callback could reach it)"
    assert harness.mart() == before
    harness.nothing_waiting()
    assert harness.operator.reconcile(timedelta(0), dry_run=False).actions == []
