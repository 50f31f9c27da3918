"""Every fault the local stack can inject on purpose, with one parser and one help text.

Three kinds, one spec (`--events` on `rsbatch run --local` and `rsbatch local up`):
- on the way of an event (the bus applies them): drop, duplicate, delay, reorder;
- in a Lambda (the stack wraps the function it runs): the listener fails its
  first K deliveries or cold-starts before each one; the durable function's
  submit step dies after BatchExecuteStatement returned;
- in the warehouse (the Data API emulator applies them): serializable conflicts,
  throttled calls, submits failing with a server error, a lower active-statements
  limit, an event per sub-statement, DescribeStatement lagging behind the event.
The Lambda code itself is never changed: a fault wraps what the stack hands it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only types: the CLI imports this module for its help text, and must start fast
    from rsbatch_core.models import ResultRows
    from rsbatch_core.ports import StatementApi, Submission

#: The one description of the spec, for every `--events` option and every parse error.
HELP = (
    "drop[=FRACTION], duplicate=N[@FRACTION], delay=SECONDS, reorder=SECONDS, fail=K, restart, "
    "crash-after-submit[=K], conflict=K, throttle=FRACTION, server-error=FRACTION, active-limit=N, "
    "sub-events, describe-lag=SECONDS, comma-separated"
)


@dataclass(frozen=True)
class Faults:
    """What to do wrong on purpose. The defaults deliver every event once, at once."""

    drop: float = 0.0  # fraction of events never delivered (1.0 = all)
    duplicate: int = 1  # deliveries of a duplicated event
    duplicate_rate: float = 1.0  # fraction of events that are duplicated (when duplicate > 1)
    delay: float = 0.0  # seconds before each delivery
    reorder: float = 0.0  # extra random delay, 0..SECONDS, per delivery: events overtake each other
    listener_failures: int = 0  # the listener raises on its first K deliveries
    restart_listener: bool = False  # a cold start (fresh clients and settings) before each delivery
    crash_after_submit: int = 0  # the submit step fails after BatchExecuteStatement returned, K times
    # The warehouse's (the Data API emulator applies them).
    conflict: int = 0  # the first K statements of each StatementName fail with Redshift's error 1023
    throttle: float = 0.0  # fraction of Data API calls answered ThrottlingException (400)
    server_error: float = 0.0  # fraction of submits answered (Batch)ExecuteStatementException (500)
    active_limit: int | None = None  # active statements allowed (None: the emulator's own limit)
    sub_events: bool = False  # an event per sub-statement of a batch too, as each one ends
    describe_lag: float = 0.0  # seconds DescribeStatement shows a statement as it was before it ended

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        """The `--events` spec ('' or 'normal' = none); ValueError naming the bad part and the syntax."""
        values: dict[str, Any] = {}
        for part in (spec or "").split(","):
            part = part.strip()
            if not part or part == "normal":
                continue
            try:
                ok = _parse_part(part, values)
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"bad --events value {part!r}: use {HELP}")
        return cls(**values)


def _parse_part(part: str, values: dict[str, Any]) -> bool:
    """Put one `name[=value]` into `values`; False if it is out of range or unknown."""
    name, _, raw = part.partition("=")
    if name == "drop":
        fraction = float(raw) if raw else 1.0
        values["drop"] = fraction
        return 0.0 <= fraction <= 1.0
    if name == "duplicate":
        count, _, rate = raw.partition("@")
        copies, share = int(count) if count else 2, float(rate) if rate else 1.0
        values.update(duplicate=copies, duplicate_rate=share)
        return 1 <= copies <= 100 and 0.0 <= share <= 1.0
    if name in ("reorder", "delay"):
        seconds = float(raw) if raw or name == "delay" else 1.0
        values[name] = seconds
        return 0.0 <= seconds <= 3600
    if name == "restart" and not raw:
        values["restart_listener"] = True
        return True
    if name in ("crash-after-submit", "fail"):
        times = int(raw) if raw else 1
        values["crash_after_submit" if name == "crash-after-submit" else "listener_failures"] = times
        return 0 <= times <= 100
    if name in ("conflict", "active-limit") and raw:
        number = int(raw)
        values[name.replace("-", "_")] = number
        return 0 <= number <= 1000
    if name in ("throttle", "server-error") and raw:
        fraction = float(raw)
        values[name.replace("-", "_")] = fraction
        return 0.0 <= fraction <= 1.0
    if name == "describe-lag" and raw:
        seconds = float(raw)
        values["describe_lag"] = seconds
        return 0.0 <= seconds <= 3600
    if name == "sub-events" and not raw:
        values["sub_events"] = True
        return True
    return False


class Countdown:
    """A thread-safe "the next K times": `take()` is True K times, then False."""

    def __init__(self, count: int = 0) -> None:
        self._lock = threading.Lock()
        self._left = count

    def reset(self, count: int) -> None:
        with self._lock:
            self._left = count

    @property
    def left(self) -> int:
        with self._lock:
            return self._left

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True


Event = dict[str, Any]


class FaultyListener:
    """The listener as the bus calls it, failing or cold-starting first when the faults say so."""

    def __init__(self, target: Callable[[Event], Any], cold_start: Callable[[], None]) -> None:
        self._target = target
        self._cold_start = cold_start
        self._failures = Countdown()
        self._restart = False

    def set(self, faults: Faults) -> None:
        self._failures.reset(faults.listener_failures)
        self._restart = faults.restart_listener

    def __call__(self, event: Event) -> Any:
        if self._restart:
            self._cold_start()
        if self._failures.take():
            raise RuntimeError("injected listener failure")
        return self._target(event)


class CrashAfterSubmit:
    """The Data API adapter of the durable function (a `StatementApi`), whose submit can "die".

    The batch really is submitted; then the step fails as if the function died before
    checkpointing, so the retried step must find the same statement (ClientToken).
    """

    def __init__(self, inner: StatementApi) -> None:
        self.inner = inner
        self.crashes = Countdown()

    def set(self, faults: Faults) -> None:
        self.crashes.reset(faults.crash_after_submit)

    def submit(self, submission: Submission) -> str:
        statement_id = self.inner.submit(submission)
        if self.crashes.take():
            raise ConnectionError(f"injected crash after BatchExecuteStatement returned {statement_id}")
        return statement_id

    def describe(self, statement_id: str, wait_seconds: int = 0) -> dict[str, Any]:
        return self.inner.describe(statement_id, wait_seconds)

    def wait_terminal(self, statement_id: str, seconds: int = 30) -> dict[str, Any]:
        return self.inner.wait_terminal(statement_id, seconds)

    def cancel(self, statement_id: str) -> bool:
        return self.inner.cancel(statement_id)

    def result_rows(
        self, sub_statement_id: str, max_rows: int, max_bytes: int = 64 * 1024, *, csv: bool = False
    ) -> ResultRows:
        return self.inner.result_rows(sub_statement_id, max_rows, max_bytes, csv=csv)
