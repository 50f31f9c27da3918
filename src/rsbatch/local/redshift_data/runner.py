"""The SQL runner: statements run on PostgreSQL on worker threads, over pooled connections.

Every SQL passes through :func:`~rsbatch.local.dialect.to_postgres` first. A batch runs as
one transaction (``ExecutionMode=TRANSACTION``: the failing sub-statement is FAILED with
PostgreSQL's error, the later ones ABORTED, nothing is committed) at ``SERIALIZABLE``
isolation, Redshift's only level, so concurrent batches that read and write the same tables
fail as they would there (PostgreSQL's ``could not serialize access …``, SQLSTATE 40001, or a
deadlock, 40P01, is the failing sub-statement's error); or statement by statement
(``AUTO_COMMIT``: each commits at PostgreSQL's default isolation, later statements still run
after a failure); ``:name`` parameters are bound by psycopg. A statement the ``conflict``
fault chose fails with Redshift's error 1023 when its conflicting sub-statement starts.
The label of a ``SET query_group`` is remembered on the statement. Connections run in UTC
and each statement sees a fresh session (pooled connections are ``DISCARD ALL``-ed), unless
it runs on a kept session.

The runner moves a statement through PICKED and STARTED itself, and reports the end
(status and error) through the ``on_end`` callback it is given, and each sub-statement's end
through ``on_sub_end``: making a statement terminal, and telling subscribers, is not its
business.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from rsbatch.local.dialect import (
    TranslatedSqlFailed,
    UnsupportedSql,
    commits_implicitly,
    parameter_names,
    query_group_setting,
    to_postgres,
    to_pyformat,
)
from rsbatch.local.redshift_data import leftovers
from rsbatch.local.redshift_data.injected import SERIALIZABLE_VIOLATION
from rsbatch.local.redshift_data.models import (
    ABORTED,
    FAILED,
    FINISHED,
    PICKED,
    STARTED,
    SUBMITTED,
    TRANSACTION,
    Connection,
    Statement,
    Sub,
)
from rsbatch.local.redshift_data.results import RESULT_ADAPTERS, column
from rsbatch.local.redshift_data.sessions import Sessions
from rsbatch.local.warehouse import Warehouse

log = logging.getLogger(__name__)

OnEnd = Callable[[Statement, str, str | None], None]
"""Told ``(statement, terminal status, error)`` once a statement is over."""

OnSubEnd = Callable[[Statement, Sub], None]
"""Told ``(statement, sub-statement)`` once the runner has ended one of its sub-statements."""


def _sizes(rows: list[tuple[Any, ...]]) -> tuple[int, int]:
    """The result's ``ResultSize`` (characters of its values) and the memory it holds in this
    process (the list, each row's tuple and each value object, as ``sys.getsizeof`` counts
    them; shared small ints are counted each time, so it errs on the high side)."""
    size = 0
    held = sys.getsizeof(rows)
    getsizeof = sys.getsizeof
    for row in rows:
        held += getsizeof(row)
        for value in row:
            if value is not None:
                size += len(str(value))
                held += getsizeof(value)
    return size, held


class _Cancelled(Exception):
    """The statement was cancelled while (or before) running a sub-statement."""


class _Conflict(Exception):
    """An injected serializable isolation violation (the ``conflict`` fault)."""


def error_text(exc: BaseException) -> str:
    """PostgreSQL's primary message, shaped like Redshift's ``ERROR: …``."""
    diag = getattr(exc, "diag", None)
    message = getattr(diag, "message_primary", None) or str(exc) or type(exc).__name__
    return f"ERROR: {message}"


class _Workers:
    """Daemon worker threads, started on demand up to ``max_workers``.

    Not a ThreadPoolExecutor: its threads are joined at interpreter exit *before* atexit
    handlers run, so a forgotten ``pg_sleep(3600)`` would hang Ctrl-C and keep the
    warehouse's atexit stop from ever running.
    """

    def __init__(self, max_workers: int) -> None:
        self._max = max_workers
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._pending = 0
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("worker pool is closed")
            self._pending += 1
            self._jobs.put(job)
            if self._pending > self._idle and len(self._threads) < self._max:
                thread = threading.Thread(
                    target=self._loop, name=f"redshift-data-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
                if job is not None:
                    self._pending -= 1
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("statement worker failed")

    def shutdown(self, timeout: float) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class _ConnectionPool:
    """Idle PostgreSQL connections per database, so a trivial statement costs no connect."""

    def __init__(self, warehouse: Warehouse, max_idle: int) -> None:
        self._warehouse = warehouse
        self._max_idle = max_idle
        self._idle: dict[str, list[Connection]] = {}
        self._lock = threading.Lock()
        self._application_name = leftovers.application_name()  # names this process as the owner

    def acquire(self, database: str) -> Connection:
        with self._lock:
            idle = self._idle.get(database, [])
            while idle:
                conn = idle.pop()
                if not conn.closed:
                    return conn
        return psycopg.connect(
            self._warehouse.dsn(database),
            autocommit=True,
            prepare_threshold=None,
            context=RESULT_ADAPTERS,
            options=leftovers.session_options(),  # UTC; a dead client's query ends (leftovers.py)
            application_name=self._application_name,
        )

    def release(self, database: str, conn: Connection, reusable: bool) -> None:
        if reusable and not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE:
            try:
                conn.execute("DISCARD ALL")  # the next statement gets a fresh session
            except psycopg.Error:
                reusable = False
            else:
                with self._lock:
                    if sum(len(v) for v in self._idle.values()) < self._max_idle:
                        self._idle.setdefault(database, []).append(conn)
                        return
        conn.close()

    def close(self) -> None:
        with self._lock:
            conns = [conn for idle in self._idle.values() for conn in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()


class Runner:
    """Runs submitted statements; shares the emulator's condition for every state change."""

    def __init__(
        self,
        warehouse: Warehouse,
        cond: threading.Condition,
        sessions: Sessions,
        on_end: OnEnd,
        on_sub_end: OnSubEnd | None = None,
    ) -> None:
        self._warehouse = warehouse
        self._cond = cond
        self._sessions = sessions
        self._on_end = on_end
        self._on_sub_end = on_sub_end
        self._query_ids = itertools.count(100001)
        self._workers: _Workers | None = None
        self._pool: _ConnectionPool | None = None

    def start(self, max_workers: int, max_idle_connections: int) -> None:
        self._pool = _ConnectionPool(self._warehouse, max_idle_connections)
        self._workers = _Workers(max_workers)

    def stop(self, timeout: float) -> None:
        """Join the workers (each finishing its statement), waiting ``timeout`` at most."""
        if self._workers is not None:
            self._workers.shutdown(timeout)

    def close(self) -> None:
        """Close the idle connections."""
        if self._pool is not None:
            self._pool.close()

    @contextlib.contextmanager
    def connection(self, database: str) -> Iterator[Connection]:
        """A pooled connection to ``database`` for a short read on the caller's thread
        (the catalog operations); back to the pool (``DISCARD ALL``) afterwards."""
        assert self._pool is not None
        conn = self._pool.acquire(database)
        try:
            yield conn
        finally:
            self._pool.release(database, conn, reusable=True)

    def submit(self, stmt: Statement) -> None:
        assert self._workers is not None
        self._workers.submit(lambda: self._run(stmt))

    def cancel(self, stmt: Statement) -> None:
        """A cancelled statement: ABORTED at once if not running, else cancel its query."""
        with self._cond:
            conn = stmt.conn
            not_started = stmt.status in (SUBMITTED, PICKED) and conn is None
            if conn is not None:
                stmt.cancel_sent = True
        if not_started:
            self._on_end(stmt, ABORTED, None)
        elif conn is not None:
            try:
                conn.cancel_safe(timeout=5)
            except psycopg.Error as exc:
                log.warning("cancel of statement %s failed: %s", stmt.id, exc)

    def _run(self, stmt: Statement) -> None:
        """Worker: run one statement (all its SQLs) on one pooled connection."""
        with self._cond:
            if stmt.terminal:
                return
            stmt.set_status(PICKED, time.time())
        assert self._pool is not None
        session = stmt.session
        try:
            conn = session.conn if session is not None and session.conn is not None else None
            conn = conn or self._pool.acquire(stmt.database)
        except Exception as exc:
            if session is not None:
                self._sessions.release(session, None, reusable=False)
            self._on_end(stmt, FAILED, error_text(exc))
            return
        status, error = ABORTED, None
        try:
            with self._cond:
                if not (stmt.cancel_requested or stmt.terminal):
                    stmt.conn = conn
                    stmt.redshift_pid = conn.info.backend_pid
                    stmt.started_ns = time.monotonic_ns()
                    stmt.set_status(STARTED, time.time())
            if stmt.conn is conn:
                status, error = self._run_all(stmt, conn)
        except Exception as exc:  # a bug or a lost connection: fail, never hang
            log.exception("statement %s failed unexpectedly", stmt.id)
            status, error = FAILED, error_text(exc)
        finally:
            with self._cond:
                stmt.conn = None
                reusable = not stmt.cancel_sent  # a late cancel must not hit the next user
            if session is None:
                self._pool.release(stmt.database, conn, reusable)
            else:
                self._sessions.release(session, conn, reusable)
        self._on_end(stmt, status, error)

    def _run_all(self, stmt: Statement, conn: Connection) -> tuple[str, str | None]:
        transactional = stmt.is_batch and stmt.mode == TRANSACTION
        values = stmt.parameter_values()
        first_failure: tuple[int, str] | None = None
        cancelled = False
        if transactional:
            conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")  # Redshift's only isolation level
        for index, sub in enumerate(stmt.subs, start=1):
            try:
                self._run_one(stmt, index, sub, conn, values)
            except _Cancelled:
                cancelled = True
                break
            except (UnsupportedSql, TranslatedSqlFailed, psycopg.Error, _Conflict) as exc:
                self._end_sub(stmt, sub, FAILED, error_text(exc))
                first_failure = first_failure or (index, sub.error or "")
                if transactional:
                    break
            else:
                if transactional and commits_implicitly(sub.sql):  # Redshift's TRUNCATE commits
                    conn.execute("COMMIT")
                    conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        with self._cond:
            cancelled = cancelled or (first_failure is None and stmt.cancel_requested)
            stmt.finishing = not cancelled
        if cancelled or first_failure is not None:
            if transactional:
                self._rollback(conn)
            if cancelled:
                return ABORTED, None
            assert first_failure is not None
            index, text = first_failure
            return FAILED, f"Query #{index} failed with {text}" if stmt.is_batch else text
        if transactional:
            try:
                conn.execute("COMMIT")
            except psycopg.Error as exc:
                self._rollback(conn)
                return FAILED, f"COMMIT failed with {error_text(exc)}"
        return FINISHED, None

    def _run_one(
        self, stmt: Statement, index: int, sub: Sub, conn: Connection, values: dict[str, str]
    ) -> None:
        with self._cond:
            if stmt.cancel_requested:
                raise _Cancelled
            sub.query_id = stmt.query_id = next(self._query_ids)
            sub.set_status(STARTED, time.time())
            conflict = stmt.conflict_at == index
        if conflict:  # the sub-statements before it ran; in a transaction, they roll back
            raise _Conflict(SERIALIZABLE_VIOLATION.format(pid=stmt.redshift_pid))
        started = time.monotonic_ns()
        try:
            self._execute(sub, conn, values)
        except psycopg.errors.QueryCanceled:
            with self._cond:
                cancelled = stmt.cancel_requested
            if not cancelled:
                raise  # statement_timeout and the like: a failure, not a cancel
            self._end_sub(stmt, sub, ABORTED, "ERROR: Query (cancelled on user's request)", started)
            raise _Cancelled from None
        except BaseException:
            sub.duration_ns = time.monotonic_ns() - started
            raise
        if (setting := query_group_setting(sub.sql)) is not None:
            with self._cond:
                stmt.query_group = setting.label
        self._end_sub(stmt, sub, FINISHED, None, started)

    @staticmethod
    def _execute(sub: Sub, conn: Connection, values: dict[str, str]) -> None:
        """Run one SQL (translated, parameters bound) and keep its rows on ``sub``."""
        sql = to_postgres(sub.sql)
        names = parameter_names(sql) if values else []
        with conn.cursor() as cur:
            try:
                if names:
                    cur.execute(to_pyformat(sql), {name: values[name] for name in names})
                else:
                    cur.execute(sql)
            except psycopg.Error as exc:  # show what really ran when the shim changed it
                if sql == sub.sql or isinstance(exc, psycopg.errors.QueryCanceled):
                    raise
                raise TranslatedSqlFailed(
                    error_text(exc).removeprefix("ERROR: "), original=sub.sql, translated=sql, cause=exc
                ) from exc
            if cur.description is not None:
                rows = cur.fetchall()
                sub.columns = [column(c) for c in cur.description]
                sub.rows = rows
                sub.has_result_set = True
                sub.result_rows = len(rows)
                sub.result_size, sub.result_bytes = _sizes(rows)
            else:
                sub.result_rows = max(cur.rowcount, 0)
                sub.result_size = 0

    def _end_sub(self, stmt: Statement, sub: Sub, status: str, error: str | None, started: int = 0) -> None:
        with self._cond:
            if started:
                sub.duration_ns = time.monotonic_ns() - started
            sub.set_status(status, time.time(), error)
            self._cond.notify_all()
        if self._on_sub_end is not None:
            self._on_sub_end(stmt, sub)

    @staticmethod
    def _rollback(conn: Connection) -> None:
        with contextlib.suppress(psycopg.Error):
            conn.execute("ROLLBACK")
