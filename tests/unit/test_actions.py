"""Tests of rsbatch_core.actions: the operator actions (inspect, cancel, reconcile) on the moto registry."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rsbatch_core import actions as actions_module
from rsbatch_core.actions import ActionRequest, perform, reconcile
from rsbatch_core.callbacks import Delivery
from rsbatch_core.errors import BadInputError, RsbatchError
from rsbatch_core.models import (
    CallbackPayload,
    DecidedBy,
    ResultRows,
    ResumedBy,
    RunRecord,
    RunStatus,
    RunSummary,
)
from rsbatch_core.ports import CallbackSink, ExecutionStatus, StatementApi, Submission
from rsbatch_core.registry import RunNotFoundError, RunRegistry
from rsbatch_core.verdict import CallbackDecision

RUN = "rsbatch-0123456789abcdef01234567"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:live/durable-execution/run/1"
AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def statement(statement_id: str, status: str, error: str | None = None) -> dict[str, Any]:
    """A DescribeStatement response for a two-statement batch, as boto3 returns it."""
    subs: list[dict[str, Any]] = [
        {"Id": f"{statement_id}:1", "Status": "FINISHED", "Duration": 1_000_000, "ResultRows": -1},
        {"Id": f"{statement_id}:2", "Status": status, "Duration": 2_000_000, "ResultRows": 4},
    ]
    data: dict[str, Any] = {
        "Id": statement_id,
        "Status": status,
        "WorkgroupName": "analytics",
        "Database": "dev",
        "CreatedAt": AT,
        "UpdatedAt": AT,
        "SubStatements": subs,
        "ResponseMetadata": {"RequestId": "r-1", "HTTPStatusCode": 200},
    }
    if error is not None:
        data["Error"] = error
        subs[1].update(Error=error, ResultRows=-1)
    return data


class FakeRedshift(StatementApi):
    """Answers DescribeStatement from a table; a cancel succeeds only for a statement still running."""

    def __init__(self, descriptions: dict[str, dict[str, Any]] | None = None) -> None:
        self.descriptions = descriptions or {}
        self.described: list[str] = []
        self.cancelled: list[str] = []

    def submit(self, submission: Submission) -> str:
        raise AssertionError("an operator action never submits")

    def describe(self, statement_id: str, wait_seconds: int = 0) -> dict[str, Any]:
        self.described.append(statement_id)
        if statement_id not in self.descriptions:  # the Data API keeps statements 24 h
            error = {"Code": "ResourceNotFoundException", "Message": f"Query does not exist: {statement_id}"}
            raise ClientError({"Error": error}, "DescribeStatement")
        return copy.deepcopy(self.descriptions[statement_id])  # a fresh response, like boto3's

    def wait_terminal(self, statement_id: str, seconds: int = 30) -> dict[str, Any]:
        raise AssertionError("an operator action never waits")

    def cancel(self, statement_id: str) -> bool:
        if self.descriptions[statement_id]["Status"] not in ("SUBMITTED", "PICKED", "STARTED"):
            return False
        self.cancelled.append(statement_id)
        self.descriptions[statement_id]["Status"] = "ABORTED"
        return True

    def result_rows(
        self, sub_statement_id: str, max_rows: int, max_bytes: int = 64 * 1024, *, csv: bool = False
    ) -> ResultRows:
        raise AssertionError("an operator action never reads rows")


class RecordingSink(CallbackSink):
    """Records every callback it is asked to send; answers with a chosen delivery."""

    def __init__(self, answer: Delivery = Delivery.SENT) -> None:
        self.answer = answer
        self.sent: list[tuple[str, bool, str | None, CallbackPayload]] = []

    def succeed(self, callback_id: str, payload: CallbackPayload) -> Delivery:
        self.sent.append((callback_id, True, None, payload))
        return self.answer

    def fail(self, callback_id: str, error_type: str, payload: CallbackPayload) -> Delivery:
        self.sent.append((callback_id, False, error_type, payload))
        return self.answer

    def send(self, callback_id: str, decision: CallbackDecision) -> Delivery:
        if decision.success:
            return self.succeed(callback_id, decision.payload)
        return self.fail(callback_id, decision.error_type or "", decision.payload)


class Executions(ExecutionStatus):
    """What GetDurableExecution would say, per execution ARN (RUNNING unless told otherwise)."""

    def __init__(self, statuses: dict[str, str | None] | None = None) -> None:
        self.statuses = statuses or {}

    def status(self, execution_arn: str) -> str | None:
        return self.statuses.get(execution_arn, "RUNNING")


RUNNING = Executions()


def add_run(
    registry: RunRegistry, key: str, statement_id: str | None, callback_id: str | None = None
) -> RunRecord:
    """A WAITING run as the durable function registers it (and then records its statement)."""
    record = RunRecord(
        run_key=key, callback_id=callback_id or f"cb-{key}", execution_arn=f"{ARN}/{key}", sql_file="q.sql"
    )
    registry.register(record)
    if statement_id:
        registry.set_statement(key, statement_id)
    return record


def finish_run(registry: RunRegistry, key: str, statement_id: str) -> None:
    registry.finish(
        RunSummary(
            run=key,
            status=RunStatus.SUCCEEDED,
            execution_arn=f"{ARN}/{key}",
            statement_id=statement_id,
            sql_file="q.sql",
            resumed_by=ResumedBy.EVENT,
        )
    )


def request(action: str, run: str | None = None, older_than: int = 0, dry_run: bool = False) -> ActionRequest:
    return ActionRequest.model_validate(
        {"action": action, "run": run, "older_than_seconds": older_than, "dry_run": dry_run}
    )


# -- reconcile -----------------------------------------------------------------------------------


def test_reconcile_relays_finished_as_success(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-done")
    redshift = FakeRedshift({"st-done": statement("st-done", "FINISHED")})
    sink = RecordingSink()
    actions = reconcile(registry, redshift, sink, RUNNING, older_than_seconds=0, dry_run=False)
    assert actions == [
        {"run": RUN, "statement_id": "st-done", "state": "FINISHED", "action": "succeed", "delivery": "sent"}
    ]
    ((callback_id, success, error_type, payload),) = sink.sent
    assert callback_id == f"cb-{RUN}"
    assert success and error_type is None
    assert payload.decided_by is DecidedBy.RECONCILE
    assert payload.state == "FINISHED" and payload.statement_id == "st-done"


def test_reconcile_relays_failed_with_redshifts_error(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-bad")
    redshift = FakeRedshift({"st-bad": statement("st-bad", "FAILED", error="ERROR: division by zero")})
    sink = RecordingSink()
    actions = reconcile(registry, redshift, sink, RUNNING, older_than_seconds=0, dry_run=False)
    assert [a["action"] for a in actions] == ["fail"]
    assert actions[0]["state"] == "FAILED"
    ((callback_id, success, error_type, payload),) = sink.sent
    assert callback_id == f"cb-{RUN}"
    assert not success
    assert error_type == "RedshiftStatementFailed"
    assert payload.message is not None and "ERROR: division by zero" in payload.message
    assert "statement 2" in payload.message
    sent = json.loads(payload.model_dump_json())
    assert sent["decided_by"] == "reconcile" and sent["resumed_by"] == "operator"


def test_reconcile_relays_aborted_as_aborted(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-x")
    sink = RecordingSink()
    reconcile(registry, FakeRedshift({"st-x": statement("st-x", "ABORTED")}), sink, RUNNING, 0, False)
    ((_, success, error_type, _),) = sink.sent
    assert not success and error_type == "RedshiftStatementAborted"


def test_reconcile_skips_a_statement_still_running(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-run")
    sink = RecordingSink()
    actions = reconcile(
        registry, FakeRedshift({"st-run": statement("st-run", "STARTED")}), sink, RUNNING, 0, False
    )
    assert actions == [
        {"run": RUN, "statement_id": "st-run", "state": "STARTED", "action": "skip", "delivery": None}
    ]
    assert sink.sent == []


def test_reconcile_leaves_runs_younger_than_older_than_alone(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-done")
    redshift = FakeRedshift({"st-done": statement("st-done", "FINISHED")})
    sink = RecordingSink()
    assert reconcile(registry, redshift, sink, RUNNING, older_than_seconds=3600, dry_run=False) == []
    assert sink.sent == [] and redshift.described == []
    # The same run, once old enough (here: any age), is reconciled.
    assert len(reconcile(registry, redshift, sink, RUNNING, older_than_seconds=0, dry_run=False)) == 1
    assert len(sink.sent) == 1


def test_reconcile_ignores_ended_runs_and_runs_without_a_statement(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-old")
    finish_run(registry, RUN, "st-old")
    add_run(registry, f"{RUN}-2", None)
    add_run(registry, f"{RUN}-3", "st-3")
    redshift = FakeRedshift(
        {"st-old": statement("st-old", "FINISHED"), "st-3": statement("st-3", "FINISHED")}
    )
    sink = RecordingSink()
    actions = reconcile(registry, redshift, sink, RUNNING, 0, False)
    assert [a["run"] for a in actions] == [f"{RUN}-3"]
    assert redshift.described == ["st-3"]
    assert [s[0] for s in sink.sent] == [f"cb-{RUN}-3"]


def test_reconcile_dry_run_reports_but_sends_nothing(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-ok")
    add_run(registry, f"{RUN}-2", "st-bad")
    add_run(registry, f"{RUN}-3", "st-run")
    redshift = FakeRedshift(
        {
            "st-ok": statement("st-ok", "FINISHED"),
            "st-bad": statement("st-bad", "FAILED", error="ERROR: boom"),
            "st-run": statement("st-run", "PICKED"),
        }
    )
    sink = RecordingSink()
    actions = reconcile(registry, redshift, sink, RUNNING, 0, dry_run=True)
    assert sink.sent == []
    by_run = {a["run"]: (a["action"], a["delivery"]) for a in actions}
    assert by_run == {
        RUN: ("succeed", None),
        f"{RUN}-2": ("fail", None),
        f"{RUN}-3": ("skip", None),
    }


def test_reconcile_reports_a_callback_already_closed(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-done")
    sink = RecordingSink(answer=Delivery.ALREADY_CLOSED)
    actions = reconcile(
        registry, FakeRedshift({"st-done": statement("st-done", "FINISHED")}), sink, RUNNING, 0, False
    )
    assert actions[0]["delivery"] == "already_closed"


def test_perform_reconcile_wraps_the_actions(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-done")
    sink = RecordingSink()
    redshift = FakeRedshift({"st-done": statement("st-done", "FINISHED")})
    got = perform(request("reconcile", dry_run=True), registry, redshift, sink, RUNNING)
    assert [a["action"] for a in got["actions"]] == ["succeed"]
    assert sink.sent == []


# -- inspect -------------------------------------------------------------------------------------


def test_inspect_returns_the_description_as_json(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-1")
    redshift = FakeRedshift({"st-1": statement("st-1", "STARTED")})
    got = perform(request("inspect", RUN), registry, redshift, RecordingSink(), RUNNING)
    assert got["run"] == RUN
    described = got["statement"]
    assert described["Id"] == "st-1" and described["Status"] == "STARTED"
    assert [s["Id"] for s in described["SubStatements"]] == ["st-1:1", "st-1:2"]
    assert "ResponseMetadata" not in described
    assert isinstance(described["CreatedAt"], str)  # datetimes made JSON-safe for the Lambda's result
    json.dumps(got)


def test_inspect_finds_the_run_by_statement_id(registry: RunRegistry) -> None:
    add_run(registry, RUN, "0b7c4f5e-1d2a-4b3c-9e8f-7a6b5c4d3e2f")
    redshift = FakeRedshift(
        {
            "0b7c4f5e-1d2a-4b3c-9e8f-7a6b5c4d3e2f": statement(
                "0b7c4f5e-1d2a-4b3c-9e8f-7a6b5c4d3e2f", "FINISHED"
            )
        }
    )
    got = perform(
        request("inspect", "0b7c4f5e-1d2a-4b3c-9e8f-7a6b5c4d3e2f:2"),
        registry,
        redshift,
        RecordingSink(),
        RUNNING,
    )
    assert got["run"] == RUN


def test_action_on_an_unknown_run(registry: RunRegistry) -> None:
    with pytest.raises(RunNotFoundError, match="rsbatch-nope"):
        perform(request("inspect", "rsbatch-nope"), registry, FakeRedshift(), RecordingSink(), RUNNING)


def test_action_on_a_run_without_a_statement(registry: RunRegistry) -> None:
    add_run(registry, RUN, None)
    for action in ("inspect", "cancel"):
        with pytest.raises(RsbatchError, match="no statement"):
            perform(request(action, RUN), registry, FakeRedshift(), RecordingSink(), RUNNING)


def test_inspect_and_cancel_need_a_run(registry: RunRegistry) -> None:
    for action in ("inspect", "cancel"):
        with pytest.raises(BadInputError, match=action):
            perform(request(action), registry, FakeRedshift(), RecordingSink(), RUNNING)


# -- cancel --------------------------------------------------------------------------------------


def test_cancel_a_running_statement(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-run")
    redshift = FakeRedshift({"st-run": statement("st-run", "STARTED")})
    sink = RecordingSink()
    got = perform(request("cancel", RUN), registry, redshift, sink, RUNNING)
    assert got == {"run": RUN, "statement_id": "st-run", "cancelled": True}
    assert redshift.cancelled == ["st-run"]
    assert sink.sent == []  # the run ends through Redshift's ABORTED event, not a callback from here


def test_cancel_an_ended_statement_is_an_error(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-done")
    redshift = FakeRedshift({"st-done": statement("st-done", "FINISHED")})
    with pytest.raises(RsbatchError, match="st-done"):
        perform(request("cancel", RUN), registry, redshift, RecordingSink(), RUNNING)
    assert redshift.cancelled == []


@pytest.mark.parametrize("execution", ["STOPPED", "TIMED_OUT", "FAILED", None])
def test_reconcile_closes_an_orphan_and_cancels_its_statement(
    registry: RunRegistry, execution: str | None
) -> None:
    """`aws lambda stop-durable-execution` mid-run: nothing can resume the run but reconcile."""
    record = add_run(registry, RUN, "st-run")
    redshift = FakeRedshift({"st-run": statement("st-run", "STARTED")})
    sink = RecordingSink()
    actions = reconcile(registry, redshift, sink, Executions({record.execution_arn: execution}), 0, False)
    assert [(a["run"], a["action"], a["delivery"]) for a in actions] == [(RUN, "close", "recorded")]
    assert redshift.cancelled == ["st-run"] and sink.sent == []
    closed = registry.get(RUN)
    assert closed is not None and closed.status is RunStatus.FAILED
    assert "orphaned" in (closed.error or "") and "cancelled" in (closed.error or "")


def test_reconcile_wakes_a_run_whose_statement_redshift_forgot(registry: RunRegistry) -> None:
    add_run(registry, RUN, "st-gone")
    sink = RecordingSink()
    actions = reconcile(registry, FakeRedshift({}), sink, RUNNING, 0, False)
    assert [(a["state"], a["action"]) for a in actions] == [("UNKNOWN", "wake")]
    assert len(sink.sent) == 1


def test_the_last_reconcile_page_emits_the_waiting_runs_it_walked(
    registry: RunRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WaitingRuns (the dashboard's "waiting runs"): once per reconcile, from its last page's
    # step, counting every page's waiting runs past the cutoff.
    for n in range(3):
        add_run(registry, f"{RUN}{n}", f"st-{n}")
    redshift = FakeRedshift({f"st-{n}": statement(f"st-{n}", "STARTED") for n in range(3)})
    seen: list[tuple[int, int]] = []
    monkeypatch.setattr(actions_module, "record_waiting", lambda count, older: seen.append((count, older)))
    ask = ActionRequest(action="reconcile", older_than_seconds=0, page_size=2)
    cutoff = datetime.now(UTC)
    first = actions_module._page_step(registry, redshift, RecordingSink(), RUNNING, cutoff, None, ask)(None)  # type: ignore[arg-type]
    assert first["next"] is not None and seen == []  # not the last page: nothing yet
    last = actions_module._page_step(
        registry, redshift, RecordingSink(), RUNNING, cutoff, first["next"], ask, first["looked_at"]
    )(None)  # type: ignore[arg-type]
    assert last["next"] is None and seen == [(3, 0)]
