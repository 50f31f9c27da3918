"""The durable flow under the SDK's own test runner: callbacks, failures, timeouts, bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.lambda_service import ErrorObject
from aws_durable_execution_sdk_python_testing import DurableFunctionTestRunner

from rsbatch_core.flow import run_batch
from rsbatch_core.models import CallbackPayload, DecidedBy, ResumedBy, RunStatus
from rsbatch_core.ports import Services
from rsbatch_core.registry import RunRegistry
from rsbatch_core.settings import Settings
from rsbatch_core.sqlsource import SqlSource
from rsbatch_core.verdict import RedshiftRecord, decision
from tests.unit.fakes import FakeRedshift


@pytest.fixture
def fake() -> FakeRedshift:
    return FakeRedshift()


@pytest.fixture
def runner(
    registry: RunRegistry, fake: FakeRedshift, sql_root: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DurableFunctionTestRunner]:
    monkeypatch.setenv("RSBATCH_WORKGROUP", "wg")
    settings = Settings(table="runs", sql_root=sql_root, max_callback_timeout_seconds=2)
    services = Services(
        settings=settings,
        registry=registry,
        redshift=fake,
        sql=SqlSource(sql_root),
    )

    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        return run_batch(event, context, services)

    with DurableFunctionTestRunner(handler, skip_time=True) as test_runner:
        yield test_runner


def start(runner: DurableFunctionTestRunner, **event: Any) -> str:
    return runner.run_async(input=json.dumps(event), execution_timeout=60)


def send_failure(
    runner: DurableFunctionTestRunner,
    callback_id: str,
    message: str,
    error_type: str | None,
    payload: CallbackPayload | None = None,
) -> None:
    """SendDurableExecutionCallbackFailure, as the listener, reconcile or an operator sends it."""
    data = payload.model_dump_json() if payload else None
    runner.send_callback_failure(
        callback_id, ErrorObject(message=message, type=error_type, data=data, stack_trace=None)
    )


def test_event_callback_resumes_and_succeeds(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = start(runner, sql_file="query.sql")
    callback_id = runner.wait_for_callback(arn)
    statement_id = fake.only_statement()
    run = registry.find(statement_id)
    assert run.status is RunStatus.WAITING and run.callback_id == callback_id

    fake.end(statement_id, "FINISHED")
    relayed = decision(RedshiftRecord(statement_id, "FINISHED"), DecidedBy.REDSHIFT_EVENT)
    runner.send_callback_success(callback_id, relayed.payload.model_dump_json().encode())
    result = runner.wait_for_result(arn, timeout=30)

    summary = json.loads(result.result or "{}")
    assert summary["status"] == "SUCCEEDED"
    assert summary["resumed_by"] == "event"
    assert [s["index"] for s in summary["statements"]] == [1, 2]
    assert fake.submits == 1
    record = registry.get(run.run_key)
    assert record is not None and record.status is RunStatus.SUCCEEDED
    # create callback + submit + finish: the event path stays this small whatever the duration
    assert len(result.operations) == 3


def test_failed_batch_fails_the_execution_with_statement_index(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = start(runner, sql_file="examples/fails_midway.sql")
    callback_id = runner.wait_for_callback(arn)
    statement_id = fake.only_statement()
    fake.end(statement_id, "FAILED", failing_index=2)
    relayed = decision(RedshiftRecord(statement_id, "FAILED"), DecidedBy.REDSHIFT_EVENT)
    send_failure(runner, callback_id, "failed", relayed.error_type, relayed.payload)
    result = runner.wait_for_result(arn, timeout=30)

    assert result.status.value == "FAILED"
    assert result.error is not None
    assert "statement 2 failed" in (result.error.message or "")
    assert "division by zero" in (result.error.message or "")
    record = registry.find(statement_id)
    assert record.status is RunStatus.FAILED and record.statement_index == 2
    assert record.resumed_by is ResumedBy.EVENT


def test_callback_timeout_falls_back_to_poll(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = start(runner, sql_file="query.sql", callback_timeout_seconds=1)
    runner.wait_for_callback(arn)
    fake.end(fake.only_statement(), "FINISHED")  # finished, but its event is lost
    result = runner.wait_for_result(arn, timeout=30)

    summary = json.loads(result.result or "{}")
    assert summary["status"] == "SUCCEEDED" and summary["resumed_by"] == "poll"
    # the registry points at the newest callback, so a late event would reach an open one
    assert registry.find(fake.only_statement()).callback_id != ""


def test_still_running_after_timeout_waits_another_round(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = start(runner, sql_file="query.sql", callback_timeout_seconds=1)
    first = runner.wait_for_callback(arn, name="wait-1")
    second = runner.wait_for_callback(arn, name="wait-2")  # round 1 timed out while running
    assert first != second
    statement_id = fake.only_statement()
    deadline = time.monotonic() + 10
    while registry.find(statement_id).callback_id != second and time.monotonic() < deadline:
        time.sleep(0.05)  # the round's check step re-arms the registry just after the callback
    assert registry.find(statement_id).callback_id == second
    fake.end(statement_id, "FINISHED")
    payload = CallbackPayload(decided_by=DecidedBy.REDSHIFT_EVENT, state="FINISHED")
    runner.send_callback_success(second, payload.model_dump_json().encode())
    summary = json.loads(runner.wait_for_result(arn, timeout=30).result or "{}")
    assert summary["resumed_by"] == "event"
    assert fake.submits == 1


def test_operator_failure_cancels_a_running_statement(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = start(runner, sql_file="query.sql")
    callback_id = runner.wait_for_callback(arn)
    # What `rsbatch fail` sends: a person's verdict, which wins over Redshift's record.
    verdict = CallbackPayload(decided_by=DecidedBy.PERSON, message="stop: wrong day", error_type="Manual")
    send_failure(runner, callback_id, "stop: wrong day", "Manual", verdict)
    result = runner.wait_for_result(arn, timeout=30)

    assert result.status.value == "FAILED"
    assert result.error is not None and "stop: wrong day" in (result.error.message or "")
    assert fake.cancelled == [fake.only_statement()]
    assert registry.find(fake.only_statement()).resumed_by is ResumedBy.OPERATOR


@pytest.mark.parametrize("success", [True, False])
def test_a_raw_callback_only_wakes_the_run_redshift_decides(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry, success: bool
) -> None:
    """`aws lambda send-durable-execution-callback-*` with no rsbatch payload, while the batch runs."""
    arn = start(runner, sql_file="query.sql", callback_timeout_seconds=60)
    first = runner.wait_for_callback(arn, name="wait-1")
    if success:
        runner.send_callback_success(first, b"{}")
    else:
        send_failure(runner, first, "stop it", "Manual")
    second = runner.wait_for_callback(arn, name="wait-2")  # woken, still running: waiting again
    statement_id = fake.only_statement()
    assert fake.cancelled == [] and registry.find(statement_id).status is RunStatus.WAITING
    fake.end(statement_id, "FINISHED")
    relayed = decision(RedshiftRecord(statement_id, "FINISHED"), DecidedBy.REDSHIFT_EVENT)
    deadline = time.monotonic() + 10
    while registry.find(statement_id).callback_id != second and time.monotonic() < deadline:
        time.sleep(0.05)  # the new round re-arms the registry with its callback
    runner.send_callback_success(second, relayed.payload.model_dump_json().encode())
    summary = json.loads(runner.wait_for_result(arn, timeout=30).result or "{}")
    assert summary["status"] == "SUCCEEDED" and summary["resumed_by"] == "event"
    assert fake.submits == 1


def test_a_statement_that_never_ends_is_cancelled_at_the_deadline(
    registry: RunRegistry, fake: FakeRedshift, sql_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RSBATCH_WORKGROUP", "wg")
    # An execution timeout of 302 s leaves a 2 s deadline (5 min margin): rounds of 1 s, then give up.
    settings = Settings(table="runs", sql_root=sql_root, execution_timeout_seconds=302)
    services = Services(settings=settings, registry=registry, redshift=fake, sql=SqlSource(sql_root))

    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        return run_batch(event, context, services)

    began = time.monotonic()
    with DurableFunctionTestRunner(handler, skip_time=True) as deadline_runner:
        result = deadline_runner.wait_for_result(
            start(deadline_runner, sql_file="query.sql", callback_timeout_seconds=1), timeout=30
        )
    assert time.monotonic() - began < 4  # rounds shrink to the deadline instead of overshooting it
    assert result.status.value == "FAILED"
    assert result.error is not None and "no end after 2 s" in (result.error.message or "")
    assert fake.cancelled == [fake.only_statement()]
    assert registry.find(fake.only_statement()).status is RunStatus.FAILED


@pytest.mark.parametrize(
    "event",
    [
        {"sql_file": "../pyproject.toml"},
        {"sql_file": "/etc/passwd.sql"},
        {"sql_file": "missing.sql"},
        {"sql": "query.sql"},
        {"sql_file": "query.sql", "callback_timeout_seconds": 0},
    ],
)
def test_bad_input_fails_before_anything_is_submitted(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, event: dict[str, Any]
) -> None:
    result = runner.wait_for_result(start(runner, **event), timeout=30)
    assert result.status.value == "FAILED"
    assert result.error is not None and result.error.message
    assert fake.submits == 0


def test_refused_input_leaves_a_failed_item_saying_why(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    """`rsbatch start` returns before the function reads its input: the registry tells the rest."""
    arn = start(runner, batches=[f"q{i}.sql" for i in range(11)])
    result = runner.wait_for_result(arn, timeout=30)
    assert result.status.value == "FAILED" and fake.submits == 0
    record = registry.find(arn)
    assert record.status is RunStatus.FAILED
    assert "batches" in (record.error or "") and record.sql_file.startswith("q0.sql, q1.sql")


def test_reconcile_relays_redshift_state_and_keeps_the_statement_index(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = start(runner, sql_file="examples/fails_midway.sql")
    callback_id = runner.wait_for_callback(arn)
    statement_id = fake.only_statement()
    fake.end(statement_id, "FAILED", failing_index=2)
    relayed = decision(
        RedshiftRecord(statement_id, "FAILED", error="ERROR: division by zero"), DecidedBy.RECONCILE
    )
    send_failure(runner, callback_id, "failed", relayed.error_type, relayed.payload)
    runner.wait_for_result(arn, timeout=30)
    record = registry.find(statement_id)
    assert record.status is RunStatus.FAILED and record.resumed_by is ResumedBy.OPERATOR
    assert record.statement_index == 2  # Redshift's record, not "failed by an operator"
    assert fake.cancelled == []


def test_operator_result_and_error_type_are_recorded(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = start(runner, sql_file="query.sql")
    callback_id = runner.wait_for_callback(arn)
    fake.end(fake.only_statement(), "FINISHED")
    payload = CallbackPayload(decided_by=DecidedBy.PERSON, result='{"checked_by": "ana"}')
    runner.send_callback_success(callback_id, payload.model_dump_json().encode())
    summary = json.loads(runner.wait_for_result(arn, timeout=30).result or "{}")
    assert summary["operator_result"] == '{"checked_by": "ana"}'

    arn = start(runner, sql_file="query.sql", callback_timeout_seconds=60)
    callback_id = runner.wait_for_callback(arn)
    failure = CallbackPayload(decided_by=DecidedBy.PERSON, message="late data", error_type="SourceLate")
    send_failure(runner, callback_id, "late data", "SourceLate", failure)
    runner.wait_for_result(arn, timeout=30)
    record = registry.get(registry.find(arn).run_key)
    assert record is not None and json.loads(record.summary or "{}")["error"]["type"] == "SourceLate"


def test_a_step_that_fails_for_good_still_records_the_run_failed(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    from botocore.exceptions import ClientError

    fake.submit_error = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "BatchExecuteStatement"
    )
    arn = start(runner, sql_file="query.sql")
    result = runner.wait_for_result(arn, timeout=30)
    assert result.status.value == "FAILED"
    record = registry.find(arn)
    assert record.status is RunStatus.FAILED
    assert "AccessDenied" in (record.error or "")


#: Redshift's text for a lost serializable-isolation conflict (Database Developer Guide).
CONFLICT = (
    "ERROR: 1023 DETAIL: Serializable isolation violation on table - 156128, transactions forming the cycle"
)


def _fail_next_with_conflict(runner: DurableFunctionTestRunner, fake: FakeRedshift, arn: str, n: int) -> str:
    """Wait for attempt `n`'s statement, end it FAILED with the conflict, and relay that event."""
    name = "wait-1" if n == 1 else f"wait-a{n}-1"
    callback_id = runner.wait_for_callback(arn, name=name)
    statement_id = fake.statements()[n - 1]
    fake.end(statement_id, "FAILED", failing_index=2, error=CONFLICT)
    relayed = decision(RedshiftRecord(statement_id, "FAILED"), DecidedBy.REDSHIFT_EVENT)
    send_failure(runner, callback_id, "failed", relayed.error_type, relayed.payload)
    return statement_id


def test_a_conflict_reruns_the_batch_as_a_new_attempt(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = start(runner, sql_file="query.sql", retry={"backoff_seconds": 1})
    first = _fail_next_with_conflict(runner, fake, arn, 1)
    second = _fail_next_with_conflict(runner, fake, arn, 2)
    callback_id = runner.wait_for_callback(arn, name="wait-a3-1")
    third = fake.statements()[2]
    fake.end(third, "FINISHED")
    relayed = decision(RedshiftRecord(third, "FINISHED"), DecidedBy.REDSHIFT_EVENT)
    runner.send_callback_success(callback_id, relayed.payload.model_dump_json().encode())
    summary = json.loads(runner.wait_for_result(arn, timeout=30).result or "{}")

    assert summary["status"] == "SUCCEEDED" and summary["statement_id"] == third
    assert [(a["number"], a["statement_id"], a["status"]) for a in summary["attempts"]] == [
        (1, first, "FAILED"),
        (2, second, "FAILED"),
        (3, third, "FINISHED"),
    ]
    assert "Serializable isolation violation" in summary["attempts"][0]["error"]
    assert fake.submits == 3 and len(fake.by_token) == 3  # a ClientToken per attempt
    record = registry.find(third)
    assert record.status is RunStatus.SUCCEEDED and record.statement_id == third


def test_conflicts_past_the_attempts_fail_the_run_with_redshifts_text(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = start(runner, sql_file="query.sql", retry={"backoff_seconds": 1, "max_attempts": 2})
    _fail_next_with_conflict(runner, fake, arn, 1)
    last = _fail_next_with_conflict(runner, fake, arn, 2)
    result = runner.wait_for_result(arn, timeout=30)

    assert result.status.value == "FAILED"
    assert result.error is not None and "Serializable isolation violation" in (result.error.message or "")
    record = registry.find(last)
    assert record.status is RunStatus.FAILED
    assert len(json.loads(record.summary or "{}")["attempts"]) == 2


def test_other_failures_are_not_rerun(runner: DurableFunctionTestRunner, fake: FakeRedshift) -> None:
    arn = start(runner, sql_file="examples/fails_midway.sql")
    callback_id = runner.wait_for_callback(arn)
    fake.end(fake.only_statement(), "FAILED", failing_index=2)  # division by zero: permanent
    relayed = decision(RedshiftRecord(fake.only_statement(), "FAILED"), DecidedBy.REDSHIFT_EVENT)
    send_failure(runner, callback_id, "failed", relayed.error_type, relayed.payload)
    assert runner.wait_for_result(arn, timeout=30).status.value == "FAILED"
    assert fake.submits == 1


def test_auto_commit_is_rerun_only_when_asked(runner: DurableFunctionTestRunner, fake: FakeRedshift) -> None:
    arn = start(runner, sql_file="query.sql", execution_mode="AUTO_COMMIT", retry={"backoff_seconds": 1})
    _fail_next_with_conflict(runner, fake, arn, 1)
    assert runner.wait_for_result(arn, timeout=30).status.value == "FAILED"
    assert fake.submits == 1
