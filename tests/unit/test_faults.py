"""Tests of rsbatch.local.faults: the --events spec, Countdown, FaultyListener and CrashAfterSubmit."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rsbatch.local.faults import HELP, Countdown, CrashAfterSubmit, Faults, FaultyListener
from rsbatch_core.models import ResultRows
from rsbatch_core.ports import StatementApi, Submission
from rsbatch_core.settings import RedshiftTarget
from rsbatch_core.sqlfile import SqlBatch

BATCH = SqlBatch(name="q.sql", statements=("CREATE TEMP TABLE t AS SELECT 1 AS x", "SELECT x FROM t"))
TARGET = RedshiftTarget(workgroup="analytics")


class RecordingRedshift(StatementApi):
    """A Data API stand-in that records every call and answers each with something recognisable."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.submitted = 0

    def submit(self, submission: Submission) -> str:
        self.submitted += 1
        self.calls.append(("submit", (submission,)))
        return f"stmt-{submission.token}"

    def describe(self, statement_id: str, wait_seconds: int = 0) -> dict[str, Any]:
        self.calls.append(("describe", (statement_id, wait_seconds)))
        return {"Id": statement_id, "Status": "STARTED"}

    def wait_terminal(self, statement_id: str, seconds: int = 30) -> dict[str, Any]:
        self.calls.append(("wait_terminal", (statement_id, seconds)))
        return {"Id": statement_id, "Status": "FINISHED"}

    def cancel(self, statement_id: str) -> bool:
        self.calls.append(("cancel", (statement_id,)))
        return statement_id == "running"

    def result_rows(
        self, sub_statement_id: str, max_rows: int, max_bytes: int = 64 * 1024, *, csv: bool = False
    ) -> ResultRows:
        self.calls.append(("result_rows", (sub_statement_id, max_rows, max_bytes)))
        return ResultRows(columns=["x"], rows=[[1]], total_rows=1, truncated=False)


# -- Faults.parse --------------------------------------------------------------------------------


def test_faults_parse() -> None:
    assert Faults.parse("") == Faults()
    assert Faults.parse("drop") == Faults(drop=1.0)
    assert Faults.parse("drop=0.1,duplicate=3,delay=0.5,fail=2") == Faults(
        drop=0.1, duplicate=3, delay=0.5, listener_failures=2
    )
    assert Faults.parse("duplicate=2@0.1,reorder=3") == Faults(duplicate=2, duplicate_rate=0.1, reorder=3)
    for bad in ("drop=2", "duplicate=0", "explode", "delay=x", "duplicate=2@3", "restart=1"):
        with pytest.raises(ValueError, match="bad --events value"):
            Faults.parse(bad)


def test_parse_of_nothing_or_normal_is_no_fault() -> None:
    assert Faults.parse(None) == Faults()
    assert Faults.parse("normal") == Faults()
    assert Faults.parse(" , normal ,") == Faults()


def test_parse_of_the_lambda_faults() -> None:
    assert Faults.parse("restart") == Faults(restart_listener=True)
    assert Faults.parse("crash-after-submit") == Faults(crash_after_submit=1)
    assert Faults.parse("crash-after-submit=3, fail=1") == Faults(crash_after_submit=3, listener_failures=1)
    assert Faults.parse("fail") == Faults(listener_failures=1)


def test_parse_defaults_of_bare_names() -> None:
    assert Faults.parse("duplicate") == Faults(duplicate=2)
    assert Faults.parse("reorder") == Faults(reorder=1.0)


@pytest.mark.parametrize(
    "bad", ["explode", "drop=2", "delay", "fail=-1", "crash-after-submit=101", "restart=yes"]
)
def test_parse_error_names_the_bad_part_and_shows_the_syntax(bad: str) -> None:
    with pytest.raises(ValueError) as raised:
        Faults.parse(f"drop=0.5,{bad}")
    message = str(raised.value)
    assert repr(bad) in message
    assert HELP in message
    assert "drop=0.5" not in message.replace(HELP, "")  # the good part is not blamed


def test_help_lists_every_fault_name() -> None:
    for name in ("drop", "duplicate", "delay", "reorder", "fail", "restart", "crash-after-submit"):
        assert name in HELP


# -- Countdown -----------------------------------------------------------------------------------


def test_countdown_is_true_k_times_then_false() -> None:
    countdown = Countdown(3)
    assert [countdown.take() for _ in range(5)] == [True, True, True, False, False]
    assert countdown.left == 0


def test_countdown_starts_empty_and_can_be_reset() -> None:
    countdown = Countdown()
    assert not countdown.take()
    countdown.reset(2)
    assert countdown.left == 2
    assert countdown.take()
    assert countdown.left == 1
    countdown.reset(0)
    assert not countdown.take()


def test_countdown_never_gives_more_than_k_across_threads() -> None:
    countdown = Countdown(500)
    taken: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(200):
            got = countdown.take()
            with lock:
                taken.append(got)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert taken.count(True) == 500
    assert countdown.left == 0


# -- FaultyListener ------------------------------------------------------------------------------


class Listener:
    """The listener handler and its cold start, recording the order things happen in."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        self.log.append(f"handle:{event['id']}")
        return {"handled": event["id"]}

    def cold_start(self) -> None:
        self.log.append("cold-start")


def test_listener_without_faults_just_delivers() -> None:
    listener = Listener()
    faulty = FaultyListener(listener.handle, listener.cold_start)
    assert faulty({"id": "e1"}) == {"handled": "e1"}
    assert listener.log == ["handle:e1"]


def test_listener_fails_its_first_k_calls_then_delivers() -> None:
    listener = Listener()
    faulty = FaultyListener(listener.handle, listener.cold_start)
    faulty.set(Faults(listener_failures=2))
    for _ in range(2):
        with pytest.raises(RuntimeError, match="injected"):
            faulty({"id": "e1"})
    assert listener.log == []  # the handler never saw the failed deliveries
    assert faulty({"id": "e1"}) == {"handled": "e1"}
    assert faulty({"id": "e2"}) == {"handled": "e2"}
    assert listener.log == ["handle:e1", "handle:e2"]


def test_listener_cold_starts_before_each_delivery_when_restart_is_set() -> None:
    listener = Listener()
    faulty = FaultyListener(listener.handle, listener.cold_start)
    faulty.set(Faults(restart_listener=True))
    faulty({"id": "e1"})
    faulty({"id": "e2"})
    assert listener.log == ["cold-start", "handle:e1", "cold-start", "handle:e2"]


def test_listener_never_cold_starts_without_restart() -> None:
    listener = Listener()
    faulty = FaultyListener(listener.handle, listener.cold_start)
    faulty.set(Faults(listener_failures=1))
    with pytest.raises(RuntimeError):
        faulty({"id": "e1"})
    faulty({"id": "e1"})
    assert "cold-start" not in listener.log


def test_setting_new_faults_replaces_the_old_ones() -> None:
    listener = Listener()
    faulty = FaultyListener(listener.handle, listener.cold_start)
    faulty.set(Faults(listener_failures=5, restart_listener=True))
    faulty.set(Faults())
    assert faulty({"id": "e1"}) == {"handled": "e1"}
    assert listener.log == ["handle:e1"]


# -- CrashAfterSubmit ----------------------------------------------------------------------------


def submission(token: str = "tok-1") -> Submission:
    return Submission(
        BATCH, TARGET, "rsbatch-abc", token, [{"name": "day", "value": "1"}], "AUTO_COMMIT", 60, "s-9"
    )


def submit(api: StatementApi, token: str = "tok-1") -> str:
    return api.submit(submission(token))


def test_without_crashes_submit_passes_through_unchanged() -> None:
    inner = RecordingRedshift()
    api = CrashAfterSubmit(inner)
    assert submit(api) == "stmt-tok-1"
    assert inner.calls == [("submit", (submission(),))]


def test_crash_happens_after_the_batch_was_really_submitted() -> None:
    inner = RecordingRedshift()
    api = CrashAfterSubmit(inner)
    api.set(Faults(crash_after_submit=2))
    for attempt in (1, 2):
        with pytest.raises(ConnectionError) as raised:
            submit(api)
        assert inner.submitted == attempt  # BatchExecuteStatement did return
        assert "stmt-tok-1" in str(raised.value)  # the statement it returned is named
    assert submit(api) == "stmt-tok-1"
    assert submit(api, token="tok-2") == "stmt-tok-2"
    assert inner.submitted == 4


def test_other_calls_delegate_to_the_inner_adapter_even_while_crashing() -> None:
    inner = RecordingRedshift()
    api = CrashAfterSubmit(inner)
    api.set(Faults(crash_after_submit=5))
    assert api.describe("s-1", 3) == {"Id": "s-1", "Status": "STARTED"}
    assert api.wait_terminal("s-1", 10) == {"Id": "s-1", "Status": "FINISHED"}
    assert api.cancel("running") is True
    assert api.cancel("ended") is False
    rows = api.result_rows("s-1:2", 50, 1024)
    assert rows.rows == [[1]]
    assert inner.calls == [
        ("describe", ("s-1", 3)),
        ("wait_terminal", ("s-1", 10)),
        ("cancel", ("running",)),
        ("cancel", ("ended",)),
        ("result_rows", ("s-1:2", 50, 1024)),
    ]
    assert api.crashes.left == 5  # only submits use up crashes


def test_crash_count_is_reset_by_set() -> None:
    inner = RecordingRedshift()
    api = CrashAfterSubmit(inner)
    api.set(Faults(crash_after_submit=3))
    api.set(Faults())
    assert submit(api) == "stmt-tok-1"
