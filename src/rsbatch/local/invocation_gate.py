"""A gate in front of the local runner's handler invocations: a few at once, resumes first.

Why: the local stack runs every handler invocation in one interpreter. In a burst (200 runs
started at once, `make bench`'s scale row) the statements of the first runs end while the
later runs are still making their first invocation, and every runnable thread takes its turn
on the interpreter lock, so a resume that needs ~30 ms of CPU waits behind a hundred first
invocations. On AWS each invocation has its own sandbox and nothing like this happens; the
gate gives the local stack the same shape for the one number an operator sees, the time from
a statement's end to the run's resume.

Rules, all in `InvocationGate._may_enter` and `InvocationGate.wait_for_slot`:

- at most ``slots`` invocations run at once;
- first invocations hold at most a quarter of them (at least one), so the rest is always free
  for resumes: a small gate alone starved first invocations, a cap on them did not (the
  measurements are in docs/ARCHITECTURE.md §6, "A burst");
- a resume (an invocation whose checkpointed state holds more than the EXECUTION operation)
  enters before any waiting first invocation;
- nobody waits longer than ``max_wait_s``: after it, an invocation runs whatever the count,
  so a handler that waits on another invocation cannot deadlock the stack, and a first
  invocation is never starved by a stream of resumes.

`GatedInvoker` wraps the SDK testing package's invoker (its `Invoker` protocol: `invoke`,
`create_invocation_input`, endpoint updates), so the runner itself is unchanged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Invocation kinds, in the order they enter.
RESUME = 0
FIRST = 1


class InvocationGate:
    """Counts running invocations and lets waiters in by kind, each for a bounded time."""

    def __init__(self, *, slots: int, max_wait_s: float) -> None:
        if slots < 1:
            raise ValueError(f"an invocation gate needs at least one slot, not {slots}")
        self.slots = slots
        self.max_wait_s = max_wait_s
        self._lock = threading.Condition()
        #: First invocations get a quarter of the slots: resumes keep the rest.
        self.first_slots = max(1, slots // 4)
        self._running = 0
        self._running_first = 0
        self._waiting = [0, 0]
        #: Invocations that entered after waiting ``max_wait_s`` (a sign the slots are too few).
        self.overrun = 0

    @property
    def running(self) -> int:
        with self._lock:
            return self._running

    def _may_enter(self, kind: int) -> bool:
        if self._running >= self.slots:
            return False
        if kind == RESUME:
            return True
        return self._waiting[RESUME] == 0 and self._running_first < self.first_slots

    @contextmanager
    def wait_for_slot(self, kind: int) -> Iterator[None]:
        """Hold one slot for the ``with`` block; resumes enter before first invocations."""
        deadline = time.monotonic() + self.max_wait_s
        with self._lock:
            self._waiting[kind] += 1
            try:
                while not self._may_enter(kind):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self.overrun += 1
                        break
                    self._lock.wait(remaining)
                self._running += 1
                self._running_first += kind == FIRST
            finally:
                self._waiting[kind] -= 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._running_first -= kind == FIRST
                self._lock.notify_all()


def invocation_kind(invocation_input: Any) -> int:
    """RESUME when the execution has checkpointed anything beyond its EXECUTION operation."""
    state = getattr(invocation_input, "initial_execution_state", None)
    operations = getattr(state, "operations", None) or []
    more_pages = bool(getattr(state, "next_marker", None))
    return RESUME if len(operations) > 1 or more_pages else FIRST


class GatedInvoker:
    """The runner's invoker, with each `invoke` passed through an `InvocationGate`."""

    def __init__(self, inner: Any, gate: InvocationGate) -> None:
        self._inner = inner
        self.gate = gate

    def invoke(self, function_name: str, input: Any, *args: Any, **kwargs: Any) -> Any:
        with self.gate.wait_for_slot(invocation_kind(input)):
            return self._inner.invoke(function_name, input, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # create_invocation_input, register, update_endpoint, inherit_endpoint, ...
        return getattr(self._inner, name)
