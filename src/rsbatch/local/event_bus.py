"""The local event bus: Redshift's events → the rule's pattern → the listener, like async invoke.

Delivery mimics Lambda's asynchronous invocation: each matching event is
handed to the listener on a worker thread; an exception is retried (with a
short backoff) up to `max_attempts` times, then the event is kept as a
dead-letter record. Fault knobs let tests and rehearsals drop, duplicate,
delay events and make the listener fail its first deliveries.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rsbatch.local.event_pattern import matches

Event = dict[str, Any]
Target = Callable[[Event], Any]


@dataclass(frozen=True)
class EventFaults:
    """What to do wrong on purpose. The defaults deliver every event once, at once."""

    drop: float = 0.0  # fraction of events never delivered (1.0 = all)
    duplicate: int = 1  # deliveries of a duplicated event
    duplicate_rate: float = 1.0  # fraction of events that are duplicated (when duplicate > 1)
    delay: float = 0.0  # seconds before each delivery
    reorder: float = 0.0  # extra random delay, 0..SECONDS, per delivery: events overtake each other
    listener_failures: int = 0  # the listener raises on its first K deliveries
    restart_listener: bool = False  # a cold start (fresh clients and settings) before each delivery
    crash_after_submit: int = 0  # the submit step fails after BatchExecuteStatement returned, K times

    @classmethod
    def parse(cls, spec: str | None) -> EventFaults:
        """`drop[=F]`, `duplicate=N[@F]`, `delay=S`, `reorder=S`, `fail=K`, `restart`,
        `crash-after-submit[=K]`, comma-separated; '' = none."""
        values: dict[str, Any] = {}
        for part in (spec or "").split(","):
            part = part.strip()
            if not part or part == "normal":
                continue
            name, _, raw = part.partition("=")
            try:
                if name == "drop":
                    values["drop"] = float(raw) if raw else 1.0
                    ok = 0.0 <= values["drop"] <= 1.0
                elif name == "duplicate":
                    count, _, rate = raw.partition("@")
                    values["duplicate"] = int(count) if count else 2
                    values["duplicate_rate"] = float(rate) if rate else 1.0
                    ok = 1 <= values["duplicate"] <= 100 and 0.0 <= values["duplicate_rate"] <= 1.0
                elif name == "reorder":
                    values["reorder"] = float(raw) if raw else 1.0
                    ok = 0.0 <= values["reorder"] <= 3600
                elif name == "delay":
                    values["delay"] = float(raw)
                    ok = 0.0 <= values["delay"] <= 3600
                elif name == "restart" and not raw:
                    values["restart_listener"] = ok = True
                elif name == "crash-after-submit":
                    values["crash_after_submit"] = int(raw) if raw else 1
                    ok = 0 <= values["crash_after_submit"] <= 100
                elif name == "fail":
                    values["listener_failures"] = int(raw) if raw else 1
                    ok = 0 <= values["listener_failures"] <= 100
                else:
                    ok = False
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(
                    f"bad --events value {part!r}: use drop[=FRACTION], duplicate=N[@FRACTION], "
                    "delay=SECONDS, reorder=SECONDS, fail=K, restart, crash-after-submit[=K], comma-separated"
                )
        return cls(**values)


@dataclass
class BusStats:
    published: int = 0
    matched: int = 0
    dropped: int = 0
    duplicated: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    dead_letters: list[Event] = field(default_factory=list)


class EventBus:
    """Match events against one rule and deliver them to one target with async-invoke semantics."""

    def __init__(
        self,
        pattern: dict[str, Any],
        target: Target,
        faults: EventFaults | None = None,
        on_restart: Callable[[], None] | None = None,
        max_attempts: int = 3,
        retry_backoff: float = 0.2,
        seed: int | None = None,
    ) -> None:
        self._pattern = pattern
        self._target = target
        self.faults = faults or EventFaults()
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._failures_left = self.faults.listener_failures
        self._crashes_left = self.faults.crash_after_submit
        self._on_restart = on_restart
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="event-bus")
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self.stats = BusStats()

    def set_faults(self, faults: EventFaults) -> None:
        """Change the faults for the events published from now on (tests, rehearsals)."""
        with self._lock:
            self.faults = faults
            self._failures_left = faults.listener_failures
            self._crashes_left = faults.crash_after_submit

    def take_submit_crash(self) -> bool:
        """True if the submit that just returned should crash now (`crash-after-submit`)."""
        with self._lock:
            if self._crashes_left <= 0:
                return False
            self._crashes_left -= 1
            return True

    def publish(self, event: Event) -> None:
        """Called by the Redshift emulator for each terminal statement submitted WithEvent."""
        with self._lock:
            self.stats.published += 1
            if not matches(self._pattern, event):
                return
            self.stats.matched += 1
            if self.faults.drop and self._random.random() < self.faults.drop:
                self.stats.dropped += 1
                return
            copies = 1
            if self.faults.duplicate > 1 and self._random.random() < self.faults.duplicate_rate:
                copies = self.faults.duplicate
                self.stats.duplicated += 1
            delays = [self.faults.delay + self._random.uniform(0, self.faults.reorder) for _ in range(copies)]
            self._pending += copies
        for delay in delays:
            self._pool.submit(self._deliver, event, delay)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every accepted delivery has ended (delivered or dead-lettered)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, event: Event, delay: float) -> None:
        try:
            if delay:
                time.sleep(delay)
            for attempt in range(1, self._max_attempts + 1):
                try:
                    if self.faults.restart_listener and self._on_restart:
                        self._on_restart()
                    self._maybe_fail()
                    self._target(event)
                except Exception:
                    with self._lock:
                        self.stats.failed_attempts += 1
                    if attempt == self._max_attempts:
                        with self._lock:
                            self.stats.dead_letters.append(event)
                        return
                    time.sleep(self._retry_backoff * attempt)
                else:
                    with self._lock:
                        self.stats.delivered += 1
                    return
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _maybe_fail(self) -> None:
        with self._lock:
            if self._failures_left <= 0:
                return
            self._failures_left -= 1
        raise RuntimeError("injected listener failure")
