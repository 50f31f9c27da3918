"""What a waiting run looks like while it waits: a typed snapshot and its one rendering.

`rsbatch run` and `rsbatch show --watch` gather a `Snapshot` (rsbatch.watching: the
registry, the durable execution's history, Redshift's DescribeStatement through the
function) and hand it to a `ProgressView`. The view draws one live panel with rich on a
terminal, or writes plain timestamped lines when stdout is not one (a log, a pipe, CI),
always on stderr so stdout keeps only the report (or the `--json` document). The text
of a snapshot is a pure function of the snapshot and the clock, so it is unit-tested.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

#: DescribeStatement's statuses after which a (sub-)statement changes no more (botocore's model).
TERMINAL_STATEMENT = frozenset({"FINISHED", "FAILED", "ABORTED"})
#: A plain line is written when what it says changes, and at least this often while waiting.
HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class SubProgress:
    """One sub-statement of the batch (DescribeStatement's SubStatements[i])."""

    index: int  # 1-based, the `:N` of its id
    status: str
    elapsed_s: float | None = None  # at the snapshot's `taken_at`
    rows: int | None = None  # ResultRows; None while Redshift reports -1

    @property
    def running(self) -> bool:
        return self.status not in TERMINAL_STATEMENT


@dataclass(frozen=True)
class StatementProgress:
    """Redshift's view of the run's statement, as the function described it."""

    statement_id: str
    status: str
    subs: tuple[SubProgress, ...] = ()
    elapsed_s: float | None = None
    described_at: datetime | None = None  # when the elapsed times were true (they grow since)

    @property
    def current(self) -> SubProgress | None:
        """The first sub-statement still to end (the one Redshift works on), else the last."""
        for sub in self.subs:
            if sub.running:
                return sub
        return self.subs[-1] if self.subs else None


@dataclass(frozen=True)
class RoundInfo:
    """The round of waiting the run is in: its callback's name and timeout (the history's
    CallbackStarted event)."""

    name: str  # wait-1, wait-b2-3 …
    # The round's timeout: the history's CallbackStartedDetails.Timeout (None if it has none).
    batch: int
    attempt: int
    number: int
    timeout_s: int | None
    started_at: datetime


@dataclass(frozen=True)
class Snapshot:
    """Everything one refresh knows about a run."""

    run: str
    taken_at: datetime
    execution_status: str  # GetDurableExecution's Status
    started_at: datetime | None = None  # the execution's StartTimestamp
    registry_status: str | None = None
    statement_id: str | None = None
    round: RoundInfo | None = None
    redshift: StatementProgress | None = None
    note: str | None = None  # why Redshift's view is missing (not submitted yet, not allowed…)
    batch: int | None = None  # for a chain: the batch being run (1, 2, …)

    @property
    def key(self) -> tuple[object, ...]:
        """What a plain line says apart from the clock: a new line when it changes."""
        current = self.redshift.current if self.redshift else None
        return (
            self.execution_status,
            self.registry_status,
            self.round.name if self.round else None,
            self.redshift.status if self.redshift else None,
            (current.index, current.status) if current else None,
            self.note,
        )


def clock(seconds: float | None) -> str:
    """`42s`, `3m05s`, `1h02m03s`: short and the same width class as it grows."""
    if seconds is None:
        return "-"
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _since(then: datetime, now: datetime) -> float:
    return (now - then).total_seconds()


def describe_round(snapshot: Snapshot, now: datetime) -> str | None:
    """`round 2 (wait-2): 31s of 120s` — how long this round has waited, and its timeout."""
    r = snapshot.round
    if r is None:
        return None
    waited = clock(_since(r.started_at, now))
    timeout = f" of {clock(r.timeout_s)}" if r.timeout_s else ""
    return f"round {r.number} ({r.name}): {waited}{timeout}"


def describe_redshift(snapshot: Snapshot, now: datetime) -> str | None:
    """`Redshift STARTED: statement 2 of 3, 4s, rows -`."""
    rs = snapshot.redshift
    if rs is None:
        return f"Redshift: {snapshot.note}" if snapshot.note else None
    current = rs.current
    if current is None:
        return f"Redshift {rs.status}: {clock(rs.elapsed_s)}"
    elapsed = current.elapsed_s
    if elapsed is not None and current.running:
        elapsed += max(0.0, _since(rs.described_at or snapshot.taken_at, now))
    rows = "-" if current.rows is None else str(current.rows)
    return (
        f"Redshift {rs.status}: statement {current.index} of {len(rs.subs)} "
        f"{current.status.lower()}, {clock(elapsed)}, rows {rows}"
    )


def lines(snapshot: Snapshot, now: datetime | None = None) -> list[str]:
    """The snapshot as text lines: the run and its elapsed time, the round, Redshift."""
    now = now or datetime.now(UTC)
    elapsed = clock(_since(snapshot.started_at, now)) if snapshot.started_at else "-"
    state = snapshot.registry_status or snapshot.execution_status
    head = f"{snapshot.run} {state} {elapsed}"
    if snapshot.batch:
        head += f", batch {snapshot.batch}"
    out = [head]
    for part in (describe_round(snapshot, now), describe_redshift(snapshot, now)):
        if part:
            out.append(part)
    return out


def plain_line(snapshot: Snapshot, now: datetime | None = None) -> str:
    """One timestamped line for logs and pipes: `15:04:05 rsbatch-… WAITING 12s | round … | …`."""
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC):%H:%M:%S} " + " | ".join(lines(snapshot, now))


class ProgressView:
    """Shows snapshots on stderr: a rich `Live` panel on a terminal, plain lines otherwise.

    Live mode needs both stdout and stderr to be terminals (a person is watching; stdout
    redirected to a file means a log is being kept). Leaving the context removes the panel,
    so the report that follows prints on a clean screen.
    """

    def __init__(self, live: bool, stream: TextIO | None = None, heartbeat_s: float = HEARTBEAT_SECONDS):
        self.live = live
        self.stream = stream or sys.stderr
        self.heartbeat_s = heartbeat_s
        self._console = Console(file=self.stream, force_terminal=live or None, highlight=False)
        self._live: Live | None = None
        self._last: Snapshot | None = None
        self._last_key: tuple[object, ...] | None = None
        self._last_written: datetime | None = None
        self._spinner = Spinner("dots")
        self.written: list[str] = []  # the plain lines, as tests read them

    @classmethod
    def for_terminal(cls) -> ProgressView:
        return cls(live=sys.stdout.isatty() and sys.stderr.isatty())

    def __enter__(self) -> ProgressView:
        if self.live:
            self._live = Live(
                console=self._console, refresh_per_second=4, transient=True, get_renderable=self._renderable
            )
            self._live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def note(self, message: str) -> None:
        """A line that stays (`submitted batch …`), above the live panel or among the lines."""
        if self._live is not None:
            self._live.console.print(Text(f"· {message}"))
        else:
            self._write(f"{datetime.now(UTC):%H:%M:%S} · {message}")

    def show(self, snapshot: Snapshot) -> None:
        self._last = snapshot
        if self._live is not None:
            return  # the live panel redraws from the last snapshot on its own clock
        now = datetime.now(UTC)
        due = self._last_written is None or _since(self._last_written, now) >= self.heartbeat_s
        if snapshot.key != self._last_key or due:
            self._last_key = snapshot.key
            self._last_written = now
            self._write(plain_line(snapshot, now))

    def _write(self, line: str) -> None:
        self.written.append(line)
        print(line, file=self.stream, flush=True)

    def _renderable(self) -> Group:
        if self._last is None:
            return Group(Text("waiting for the run to start…"))
        first, *rest = lines(self._last)
        self._spinner.text = Text(first, style="bold")
        return Group(self._spinner, *(Text(f"  {line}") for line in rest))
