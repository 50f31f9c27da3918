"""The warehouse misbehaving on purpose: the emulator's share of the stack's fault knobs.

:class:`~rsbatch.local.faults.Faults` is the one spec of every fault; this module holds the
knobs the Data API emulator applies (``conflict``, ``throttle``, ``server-error``,
``sub-events``, ``describe-lag``; ``active-limit`` is the emulator's
``max_active_statements``) and the dice they are rolled with: one ``random.Random`` owned by
the emulator, seeded when a test wants the same rolls every time.

Which part applies which knob:

- throttled calls and failed submits: :meth:`RedshiftDataEmulator.handle
  <rsbatch.local.redshift_data.emulator.RedshiftDataEmulator.handle>`, before the request's
  members are even read, so nothing is created;
- conflicts: decided when the store creates a statement (:meth:`InjectedFaults.take_conflict`),
  raised by the runner when the conflicting sub-statement starts;
- sub-statement events and the describe lag: the store, when a sub-statement or the
  statement ends; the backend shows the lagging view.
"""

from __future__ import annotations

import random
import threading

from rsbatch.local.faults import Faults

#: Redshift's error for a serializable isolation violation (its code is 1023). The Redshift
#: Database Developer Guide quotes its start, "ERROR:1023 DETAIL: Serializable isolation
#: violation on table" ("Troubleshooting serializable isolation errors",
#: https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation-serializable-isolation-troubleshooting.html);
#: public reports quote the whole text, e.g. "ERROR: 1023 DETAIL: Serializable isolation
#: violation on table - 1256109, transactions forming the cycle are: 15749004, 15748971,
#: 15748625, 15748970, 15749497 (pid:8238)" (an ODBC client's log, bigdatamark.com, "How-To:
#: Redshift serializable isolation error 1023"; that client breaks the line before DETAIL).
#: The ``ERROR: `` prefix is added by the runner, as for every error it reports.
SERIALIZABLE_VIOLATION = (
    "1023 DETAIL: Serializable isolation violation on table - 156128, "
    "transactions forming the cycle are: 1522790, 1522762 (pid:{pid})"
)

#: The sub-statement a conflicting statement fails in: the second (the first ran), or the only one.
CONFLICT_AT = 2


class InjectedFaults:
    """The current warehouse knobs, their dice, and how many conflicts each StatementName had."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)  # dice for faults, not secrets
        self._faults = Faults()
        self._conflicts: dict[str, int] = {}

    def set(self, faults: Faults) -> None:
        """Apply ``faults`` from now on; conflicts are counted afresh."""
        with self._lock:
            self._faults = faults
            self._conflicts.clear()

    def _roll(self, fraction: float) -> bool:
        with self._lock:
            return fraction > 0 and self._random.random() < fraction

    def throttled(self) -> bool:
        """This call is answered ThrottlingException (``throttle``)."""
        return self._roll(self._faults.throttle)

    def server_error(self) -> bool:
        """This submit is answered (Batch)ExecuteStatementException (``server-error``)."""
        return self._roll(self._faults.server_error)

    def take_conflict(self, name: str | None) -> bool:
        """A new statement named ``name`` is one of the first ``conflict`` of that name.

        Statements without a StatementName never conflict: there is nothing to count them by.
        """
        with self._lock:
            limit = self._faults.conflict
            if name is None or limit <= 0:
                return False
            seen = self._conflicts.get(name, 0)
            if seen >= limit:
                return False
            self._conflicts[name] = seen + 1
            return True

    @property
    def sub_events(self) -> bool:
        return self._faults.sub_events

    @property
    def describe_lag(self) -> float:
        return self._faults.describe_lag

    @property
    def active_limit(self) -> int | None:
        return self._faults.active_limit
