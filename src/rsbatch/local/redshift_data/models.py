"""The state the service keeps: statements, their sub-statements, and sessions.

Plain records, with the shapes the read operations return (:meth:`Statement.describe`,
:meth:`Statement.summary`). They are shared between request and worker threads, which
change them with the emulator's one condition held; the records themselves take no lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

Connection = psycopg.Connection[Any]

SUBMITTED, PICKED, STARTED = "SUBMITTED", "PICKED", "STARTED"
FINISHED, FAILED, ABORTED = "FINISHED", "FAILED", "ABORTED"
STATUSES = (SUBMITTED, PICKED, STARTED, FINISHED, FAILED, ABORTED)  # in the order they are reached
TERMINAL = frozenset({FINISHED, FAILED, ABORTED})
TRANSACTION, AUTO_COMMIT = "TRANSACTION", "AUTO_COMMIT"

# Limits of the real service (botocore model and the Redshift management guide).
RETENTION_SECONDS = 24 * 3600


def _progress(stmt: Sub | Statement) -> dict[str, Any]:
    """The fields DescribeStatement shows for a statement and for each of its sub-statements."""
    return {
        "Id": stmt.id,
        "Status": stmt.status,
        "CreatedAt": stmt.created_at,
        "UpdatedAt": stmt.updated_at,
        "Duration": stmt.duration_ns,
        "HasResultSet": stmt.has_result_set,
        "ResultRows": stmt.result_rows,
        "ResultSize": stmt.result_size,
        "RedshiftQueryId": stmt.query_id,
    }


@dataclass(eq=False)
class Sub:
    """One SQL of a statement (an ExecuteStatement has exactly one, never shown as such)."""

    id: str
    sql: str
    created_at: float
    status: str = SUBMITTED
    updated_at: float = 0.0
    error: str | None = None
    duration_ns: int = 0
    query_id: int = 0
    result_rows: int = -1
    result_size: int = -1
    has_result_set: bool = False
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    result_bytes: int = 0  # an estimate of the memory ``rows`` holds (the emulator's result budget)
    evicted_at: float | None = None  # when its rows were dropped to stay within that budget

    def set_status(self, status: str, now: float, error: str | None = None) -> None:
        self.status = status
        self.updated_at = now
        if error is not None:
            self.error = error

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {**_progress(self), "QueryString": self.sql}
        if self.error is not None:
            out["Error"] = self.error
        return out


@dataclass(eq=False)
class Session:
    """A connection kept for one principal between statements (SessionKeepAliveSeconds)."""

    id: str
    principal: str
    database: str
    target: dict[str, str]
    keep_alive: int
    created_at: float = 0.0
    updated_at: float = 0.0
    conn: Connection | None = None
    busy: bool = False
    closed: bool = False
    expires_at: float = 0.0
    current_statement: str | None = None  # the statement it runs (busy) or ran last

    @property
    def status(self) -> str:
        """SessionStatusString: AVAILABLE, BUSY or CLOSED."""
        return "CLOSED" if self.closed else "BUSY" if self.busy else "AVAILABLE"

    def summary(self) -> dict[str, Any]:
        """The ListSessions view (SessionData)."""
        out: dict[str, Any] = {
            "SessionId": self.id,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "Database": self.database,
            "SessionAliveSeconds": self.keep_alive,
            **{k: v for k, v in self.target.items() if k in ("ClusterIdentifier", "WorkgroupName", "DbUser")},
        }
        if not self.closed and not self.busy:
            out["SessionTtl"] = self.expires_at
        if self.current_statement is not None:
            out["CurrentStatementId"] = self.current_statement
        return out


@dataclass(frozen=True)
class Lagged:
    """What a lagging DescribeStatement shows until ``until``: the statement just before it ended."""

    until: float
    statement: dict[str, Any]
    subs: dict[str, dict[str, Any]]  # by sub-statement id


@dataclass(eq=False)
class Statement:
    """An ExecuteStatement or BatchExecuteStatement, from submission to its terminal state."""

    id: str
    seq: int
    is_batch: bool
    subs: list[Sub]
    name: str | None
    target: dict[str, str]
    database: str
    parameters: list[dict[str, str]]
    mode: str
    with_event: bool
    principal: str
    created_at: float
    result_format: str = "JSON"  # how GetStatementResult(V2) reads its results: JSON or CSV
    status: str = SUBMITTED
    updated_at: float = 0.0
    error: str | None = None
    redshift_pid: int = 0
    query_id: int = 0
    started_ns: int = 0
    duration_ns: int = 0
    cancel_requested: bool = False
    cancel_sent: bool = False
    finishing: bool = False  # past the point where a cancel can still change the outcome
    conn: Connection | None = None
    session: Session | None = None
    conflict_at: int = 0  # the sub-statement (1-based) an injected conflict fails; 0: none
    query_group: str | None = None  # the label of the last ``SET query_group`` it ran (None: reset)
    lagged: Lagged | None = None  # describe-lag: the view DescribeStatement shows for a while

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def lagging(self, now: float) -> bool:
        """DescribeStatement still shows the statement as it was before it ended."""
        return self.lagged is not None and now < self.lagged.until

    def lag(self, seconds: float, now: float) -> None:
        """From now on, for ``seconds``, describe the statement as it is now (before it ends)."""
        self.lagged = Lagged(
            until=now + seconds,
            statement=self.describe(),
            subs={sub.id: self.describe_sub(sub) for sub in self.subs} if self.is_batch else {},
        )

    def seen(self, sub: Sub | None, now: float) -> dict[str, Any]:
        """DescribeStatement of the statement (or of its ``sub``), lagging if it is meant to."""
        lagged = self.lagged
        if lagged is not None and now < lagged.until:
            return dict(lagged.statement if sub is None else lagged.subs[sub.id])
        return self.describe() if sub is None else self.describe_sub(sub)

    def set_status(self, status: str, now: float) -> None:
        self.status = status
        self.updated_at = now

    def end(self, status: str, error: str | None, now: float) -> bool:
        """Make the statement terminal; False (and no change) if it already is."""
        if self.terminal:
            return False
        for sub in self.subs:
            if sub.status not in TERMINAL:
                sub.set_status(ABORTED if status != FINISHED else FINISHED, now)
        self.error = error
        if self.started_ns:
            self.duration_ns = time.monotonic_ns() - self.started_ns
        self.set_status(status, now)
        self.finishing = False
        return True

    @property
    def result_rows(self) -> int:
        if not self.terminal:
            return -1
        return sum(max(sub.result_rows, 0) for sub in self.subs)

    @property
    def result_size(self) -> int:
        if not self.terminal:
            return -1
        return sum(max(sub.result_size, 0) for sub in self.subs)

    @property
    def has_result_set(self) -> bool:
        return any(sub.has_result_set for sub in self.subs)

    def parameter_values(self) -> dict[str, str]:
        return {p["name"]: p["value"] for p in self.parameters}

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **_progress(self),
            "RedshiftPid": self.redshift_pid,
            "ResultFormat": self.result_format,
            **self.target,
        }
        if self.error is not None:
            out["Error"] = self.error
        if self.parameters:
            out["QueryParameters"] = self.parameters
        if self.session is not None:
            out["SessionId"] = self.session.id
        if self.is_batch:
            out["ExecutionMode"] = self.mode
            out["SubStatements"] = [sub.describe() for sub in self.subs]
        else:
            out["QueryString"] = self.subs[0].sql
        return out

    def describe_sub(self, sub: Sub) -> dict[str, Any]:
        """DescribeStatement of ``<id>:N``: the sub-statement, with its statement's connection."""
        return {
            **sub.describe(),
            "RedshiftPid": self.redshift_pid,
            "ResultFormat": self.result_format,
            **self.target,
        }

    def summary(self) -> dict[str, Any]:
        """The ListStatements view (StatementData)."""
        out: dict[str, Any] = {
            "Id": self.id,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "IsBatchStatement": self.is_batch,
            "ResultFormat": self.result_format,
        }
        if self.is_batch:
            out["QueryStrings"] = [sub.sql for sub in self.subs]
        else:
            out["QueryString"] = self.subs[0].sql
        if self.name is not None:
            out["StatementName"] = self.name
        if self.parameters:
            out["QueryParameters"] = self.parameters
        if "SecretArn" in self.target:
            out["SecretArn"] = self.target["SecretArn"]
        if self.session is not None:
            out["SessionId"] = self.session.id
        return out
