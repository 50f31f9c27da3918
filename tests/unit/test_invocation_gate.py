"""The local runner's invocation gate: a few invocations at once, resumes first, nobody stuck."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from rsbatch.local.invocation_gate import FIRST, RESUME, GatedInvoker, InvocationGate, invocation_kind


@dataclass
class _State:
    operations: list[Any]
    next_marker: str = ""


@dataclass
class _Input:
    initial_execution_state: _State


@dataclass
class _Inner:
    """An invoker that records what it was asked to run, in order."""

    calls: list[str] = field(default_factory=list)

    def invoke(self, function_name: str, input: Any, *args: Any, **kwargs: Any) -> str:
        self.calls.append(function_name)
        return f"ran {function_name}"

    def create_invocation_input(self, execution: Any) -> str:
        return f"input for {execution}"


def _hold(gate: InvocationGate, kind: int, entered: list[str], name: str, release: threading.Event) -> None:
    with gate.wait_for_slot(kind):
        entered.append(name)
        release.wait(5)


def _start(
    gate: InvocationGate, kind: int, entered: list[str], names: list[str], release: threading.Event
) -> list[threading.Thread]:
    """One started thread per name, each holding a slot of ``kind`` until ``release``."""
    threads = [threading.Thread(target=_hold, args=(gate, kind, entered, name, release)) for name in names]
    for t in threads:
        t.start()
    return threads


def test_a_first_invocation_is_one_operation_and_a_resume_is_more() -> None:
    assert invocation_kind(_Input(_State(operations=["EXECUTION"]))) == FIRST
    assert invocation_kind(_Input(_State(operations=["EXECUTION", "submit", "callback"]))) == RESUME
    assert invocation_kind(_Input(_State(operations=["EXECUTION"], next_marker="page-2"))) == RESUME


def test_no_more_than_the_slots_run_at_once() -> None:
    gate = InvocationGate(slots=2, max_wait_s=5)
    release = threading.Event()
    entered: list[str] = []
    threads = _start(gate, RESUME, entered, [f"run-{i}" for i in range(5)], release)
    time.sleep(0.3)
    assert len(entered) == 2
    assert gate.running == 2
    release.set()
    for t in threads:
        t.join(5)
    assert len(entered) == 5
    assert gate.running == 0
    assert gate.overrun == 0


def test_first_invocations_get_a_quarter_of_the_slots_and_resumes_the_rest() -> None:
    gate = InvocationGate(slots=8, max_wait_s=5)
    release = threading.Event()
    entered: list[str] = []
    firsts = _start(gate, FIRST, entered, [f"first-{i}" for i in range(6)], release)
    time.sleep(0.3)
    assert len(entered) == 2  # a quarter of 8: the other four first invocations wait
    resumes = _start(gate, RESUME, entered, [f"resume-{i}" for i in range(8)], release)
    time.sleep(0.3)
    assert gate.running == 8  # six resumes filled the free slots past the waiting first invocations
    assert sum(name.startswith("resume") for name in entered) == 6
    release.set()
    for t in [*firsts, *resumes]:
        t.join(5)
    assert len(entered) == 14
    assert gate.running == 0


def test_a_waiting_resume_enters_before_first_invocations_that_waited_longer() -> None:
    gate = InvocationGate(slots=1, max_wait_s=5)
    release_holder = threading.Event()
    holder_in: list[str] = []
    holder = _start(gate, FIRST, holder_in, ["holder"], release_holder)
    time.sleep(0.1)
    order: list[str] = []
    go = threading.Event()
    go.set()
    waiters = _start(gate, FIRST, order, [f"first-{i}" for i in range(3)], go)
    time.sleep(0.2)  # the first invocations have queued before the resume arrives
    resume = _start(gate, RESUME, order, ["resume"], go)
    time.sleep(0.2)
    release_holder.set()
    for t in [*holder, *resume, *waiters]:
        t.join(5)
    assert order[0] == "resume"
    assert sorted(order[1:]) == ["first-0", "first-1", "first-2"]


def test_a_waiter_enters_after_the_bounded_wait_even_when_every_slot_is_held() -> None:
    """Invocations that wait on each other (a barrier) cannot deadlock behind the gate."""
    gate = InvocationGate(slots=1, max_wait_s=0.2)
    barrier = threading.Barrier(3, timeout=5)
    met: list[bool] = []

    def meet() -> None:
        with gate.wait_for_slot(FIRST):
            barrier.wait()
            met.append(True)

    threads = [threading.Thread(target=meet) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert met == [True, True, True]
    assert gate.overrun == 2


def test_the_gated_invoker_passes_calls_through_and_frees_its_slot_on_error() -> None:
    inner = _Inner()
    gated = GatedInvoker(inner, InvocationGate(slots=1, max_wait_s=5))
    assert (
        gated.invoke("fn", _Input(_State(operations=["EXECUTION"])), "http://x", region_name="r") == "ran fn"
    )
    assert gated.create_invocation_input("exec") == "input for exec"
    assert gated.gate.running == 0
    assert inner.calls == ["fn"]

    class _Failing(_Inner):
        def invoke(self, function_name: str, input: Any, *args: Any, **kwargs: Any) -> str:
            raise RuntimeError("handler crashed")

    failing = GatedInvoker(_Failing(), InvocationGate(slots=1, max_wait_s=5))
    with pytest.raises(RuntimeError, match="handler crashed"):
        failing.invoke("fn", _Input(_State(operations=["EXECUTION"])))
    assert failing.gate.running == 0  # the slot is free for the next invocation


def test_a_gate_without_slots_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        InvocationGate(slots=0, max_wait_s=1)
