"""The local event bus: Redshift's events → the rule's pattern → the listener, like async invoke.

Delivery mimics Lambda's asynchronous invocation: each matching event is
handed to the listener on a worker thread; an exception is retried (with a
short backoff) up to `max_attempts` times, then the event is kept as a
dead-letter record. Fault knobs (`faults.Faults`) let tests and rehearsals
drop, duplicate, delay and reorder events; the Lambda faults are applied by
the stack around the listener it hands the bus.
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
from rsbatch.local.faults import Faults

Event = dict[str, Any]
Target = Callable[[Event], Any]


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
        faults: Faults | None = None,
        max_attempts: int = 3,
        retry_backoff: float = 0.2,
        seed: int | None = None,
    ) -> None:
        self._pattern = pattern
        self._target = target
        self.faults = faults or Faults()
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="event-bus")
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self.stats = BusStats()

    def set_faults(self, faults: Faults) -> None:
        """Change the faults for the events published from now on (tests, rehearsals)."""
        with self._lock:
            self.faults = faults

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
