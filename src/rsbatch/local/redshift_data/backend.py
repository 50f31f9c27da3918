"""The operations: each applies one parsed request to the service's state.

Requests arrive parsed (:mod:`.parsing`), so every refusal here depends on state: an unknown
or foreign statement, a busy or expired session, the active-statements limit, a cancel that
comes too late, a result that does not exist (yet). ``ClientToken`` replays return the first
statement's id (the same token with another request is refused); results are read in
the format the statement was submitted with (GetStatementResult: JSON, GetStatementResultV2:
CSV); the catalog operations read PostgreSQL's catalogs (:mod:`.catalog`);
``WaitTimeSeconds`` long polls return as soon as the statement ends (or the emulator stops;
for DescribeStatement with the ``describe-lag`` fault, as soon as its lag is over).
Running the SQL is the runner's; making a statement terminal, the store's.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any, assert_never

import psycopg

from rsbatch.local.redshift_data import catalog
from rsbatch.local.redshift_data.exceptions import (
    database_connection,
    invalid,
    no_result,
    result_expired,
    shutting_down,
    wrong_result_format,
)
from rsbatch.local.redshift_data.models import FINISHED, Statement
from rsbatch.local.redshift_data.parsing import (
    MAX_WAIT_SECONDS,
    CancelRequest,
    CatalogRequest,
    DescribeRequest,
    GetResultRequest,
    ListRequest,
    ListSessionsRequest,
    ParsedRequest,
    SubmitRequest,
    decode_token,
    encode_token,
)
from rsbatch.local.redshift_data.results import csv_records, field
from rsbatch.local.redshift_data.runner import Runner
from rsbatch.local.redshift_data.sessions import Sessions
from rsbatch.local.redshift_data.settings import Settings
from rsbatch.local.redshift_data.store import StatementStore
from rsbatch.local.warehouse import DEFAULT_DATABASE


class Backend:
    """ExecuteStatement, BatchExecuteStatement, DescribeStatement, CancelStatement,
    GetStatementResult(V2), ListStatements, ListSessions and the catalog operations
    (ListDatabases, ListSchemas, ListTables, DescribeTable), under the emulator's condition."""

    def __init__(
        self,
        cond: threading.Condition,
        store: StatementStore,
        sessions: Sessions,
        runner: Runner,
        settings: Settings,
    ) -> None:
        self._cond = cond
        self._store = store
        self._sessions = sessions
        self._runner = runner
        self._settings = settings
        self.stopping = False  # refuse new work; long polls return at once

    def resume(self) -> None:
        with self._cond:
            self.stopping = False

    def stop_accepting(self) -> list[Statement]:
        """Refuse new work, mark every live statement cancelled, wake the long polls.

        Returns the live statements, for the caller to interrupt and, failing that, abort.
        """
        with self._cond:
            self.stopping = True
            live = self._store.live()
            for stmt in live:
                stmt.cancel_requested = True
            self._cond.notify_all()  # long polls return now
        return live

    def apply(self, request: ParsedRequest, principal: str) -> dict[str, Any]:
        """The response body of ``request`` made by ``principal``; raises ApiError."""
        match request:
            case SubmitRequest():
                return self._submit(request, principal)
            case DescribeRequest():
                return self._describe(request, principal)
            case CancelRequest():
                return self._cancel(request, principal)
            case GetResultRequest():
                return self._get_result(request, principal)
            case ListRequest():
                return self._list(request, principal)
            case CatalogRequest():
                return self._catalog(request)
            case ListSessionsRequest():
                return self._list_sessions(request, principal)
            case _:
                assert_never(request)

    def _owner(self, principal: str) -> str | None:
        """Whom a statement must belong to for ``principal`` to see it (None: anyone)."""
        return principal if self._settings.enforce_owner else None

    def _wait(self, stmt: Statement, seconds: int | None) -> None:
        """Long poll (lock held): until ``stmt`` is terminal, the emulator stops, or time is up."""
        if seconds:
            self._cond.wait_for(lambda: stmt.terminal or self.stopping, timeout=seconds)

    def _wait_seen(self, stmt: Statement, seconds: int | None) -> None:
        """:meth:`_wait` for DescribeStatement: until ``stmt`` is seen terminal (its lag over)."""
        if not seconds:
            return
        deadline = time.monotonic() + seconds
        while not self.stopping:
            left = deadline - time.monotonic()
            if left <= 0 or (stmt.terminal and not stmt.lagging(time.time())):
                return
            if stmt.terminal and stmt.lagged is not None:  # nobody notifies when a lag ends
                left = min(left, max(0.0, stmt.lagged.until - time.time()) + 0.001)
            self._cond.wait(left)

    # -- submit ----------------------------------------------------------------------------

    def _submit(self, req: SubmitRequest, principal: str) -> dict[str, Any]:
        now = time.time()
        with self._cond:
            if self.stopping:
                raise shutting_down()
            self._sessions.expire(now)
            self._store.expire(now)
            known = self._store.replay(principal, req, now)
            stmt = known if known is not None else self._create(req, principal, now)
        if known is None:
            self._runner.submit(stmt)
        out: dict[str, Any] = {"Id": stmt.id, "CreatedAt": stmt.created_at, **stmt.target}
        if stmt.session is not None:
            out["SessionId"] = stmt.session.id
        if req.wait is not None:
            with self._cond:
                self._wait(stmt, req.wait)
                out.update(
                    Status=stmt.status,
                    HasResultSet=stmt.has_result_set,
                    RedshiftPid=stmt.redshift_pid,
                )
        return out

    def _create(self, req: SubmitRequest, principal: str, now: float) -> Statement:
        """A new statement, on the caller's session or a new one if asked (lock held)."""
        session = self._sessions.claim(req.session_id, principal, now)
        target = session.target if session is not None else req.target
        stmt = self._store.create(req, target, principal, now)
        if session is None and req.keep_alive:
            session = self._sessions.open(principal, stmt.database, stmt.target, req.keep_alive)
        if session is not None:
            self._sessions.bind(session, stmt, req.keep_alive)
        self._store.remember(principal, req, stmt, now)
        return stmt

    # -- cancel ----------------------------------------------------------------------------

    def _cancel(self, req: CancelRequest, principal: str) -> dict[str, Any]:
        with self._cond:
            stmt, _ = self._store.lookup(req.ref, self._owner(principal))
            # A worker past its last cancel check is committing: report its real outcome.
            self._cond.wait_for(lambda: not stmt.finishing, timeout=MAX_WAIT_SECONDS)
            if stmt.terminal:
                raise invalid(f"Could not cancel a query that is already in {stmt.status} state.")
            stmt.cancel_requested = True
        self._runner.cancel(stmt)
        return {"Status": True}

    # -- read operations -------------------------------------------------------------------

    def _describe(self, req: DescribeRequest, principal: str) -> dict[str, Any]:
        with self._cond:
            stmt, sub = self._store.lookup(req.ref, self._owner(principal))
            self._wait_seen(stmt, req.wait)
            return stmt.seen(sub, time.time())

    def _get_result(self, req: GetResultRequest, principal: str) -> dict[str, Any]:
        with self._cond:
            stmt, sub = self._store.lookup(req.ref, self._owner(principal))
            if sub is None and stmt.is_batch:
                raise invalid(
                    f"Query {stmt.id} is a batch statement: read each result with its "
                    f"sub-statement id, e.g. {stmt.id}:1"
                )
            self._wait(stmt, req.wait)
            result = sub if sub is not None else stmt.subs[0]
            if result.status != FINISHED or not result.has_result_set:
                raise no_result(result.id)
            if stmt.result_format != req.result_format:
                raise wrong_result_format(result.id, stmt.result_format)
            if result.evicted_at is not None:  # dropped to keep the emulator's memory bounded
                raise result_expired(result.evicted_at)
            rows_all = result.rows
        offset = decode_token(req.next_token, "offset", id=result.id) if req.next_token else 0
        end = offset + max(1, self._settings.result_page_rows)
        rows = rows_all[offset:end]
        out: dict[str, Any] = {
            "ColumnMetadata": result.columns,
            "TotalNumRows": len(rows_all),
        }
        if req.result_format == "CSV":
            out["Records"] = csv_records(result.columns, rows, header=offset == 0)
            out["ResultFormat"] = "CSV"
        else:
            out["Records"] = [[field(v) for v in row] for row in rows]
        if end < len(rows_all):
            out["NextToken"] = encode_token({"id": result.id, "offset": end})
        return out

    # -- catalog and sessions --------------------------------------------------------------

    def _catalog(self, req: CatalogRequest) -> dict[str, Any]:
        """A page of the warehouse's catalog, read on the request's thread (no statement)."""
        database = req.database or DEFAULT_DATABASE
        try:
            with self._runner.connection(database) as conn:
                entries = catalog.page(conn, req)
        except psycopg.OperationalError as exc:
            raise database_connection(f"Could not connect to database {database}: {exc}") from None
        key = {
            "ListDatabases": "Databases",
            "ListSchemas": "Schemas",
            "ListTables": "Tables",
            "DescribeTable": "ColumnList",
        }[req.operation]
        out: dict[str, Any] = {key: entries[: req.limit]}
        if req.operation == "DescribeTable" and req.table is not None:
            out["TableName"] = req.table
        if len(entries) > req.limit:
            out["NextToken"] = encode_token({"offset": req.offset + req.limit, "query": req.query_key})
        return out

    def _list_sessions(self, req: ListSessionsRequest, principal: str) -> dict[str, Any]:
        """The caller's sessions of the last 24 hours (AVAILABLE or BUSY unless asked), newest first."""
        with self._cond:
            self._sessions.expire(time.time())
            matches = [
                s.summary()
                for s in self._sessions.of(principal)
                if s.status in req.statuses
                and (req.session_id is None or s.id == req.session_id)
                and all({**s.target, "Database": s.database}.get(k) == v for k, v in req.filters.items())
            ]
        end = req.offset + req.limit
        out: dict[str, Any] = {"Sessions": matches[req.offset : end]}
        if end < len(matches):
            out["NextToken"] = encode_token({"offset": end, "query": "ListSessions"})
        return out

    def _list(self, req: ListRequest, principal: str) -> dict[str, Any]:
        owner = self._owner(principal)
        with self._cond:
            matches = (
                s
                for s in self._store.newest_first()
                if (req.before is None or s.seq < req.before)
                and (req.status == "ALL" or s.status == req.status)
                and (req.prefix is None or (s.name or "").startswith(req.prefix))
                and (owner is None or s.principal == owner)
                and all(s.target.get(k) == v for k, v in req.filters.items())
            )
            page = list(itertools.islice(matches, req.limit + 1))
            out: dict[str, Any] = {"Statements": [s.summary() for s in page[: req.limit]]}
        if len(page) > req.limit:
            out["NextToken"] = encode_token({"before": page[req.limit - 1].seq})
        return out
