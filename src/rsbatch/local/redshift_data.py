"""A local Redshift Data API: the real wire protocol in front of the local warehouse.

moto's ``redshift-data`` runs no SQL, so this module serves the Data API's JSON 1.1
protocol (``POST /``, ``X-Amz-Target: RedshiftData.<Operation>``) on 127.0.0.1 and runs
the statements on PostgreSQL (:class:`~rsbatch.local.warehouse.Warehouse`). The unchanged
boto3 ``redshift-data`` client reaches it through ``endpoint_url`` or
``AWS_ENDPOINT_URL_REDSHIFT_DATA``.

Operations: BatchExecuteStatement, ExecuteStatement, DescribeStatement (``WaitTimeSeconds``
long poll), CancelStatement (cancels the running PostgreSQL query), GetStatementResult
(typed fields, ``ColumnMetadata``, ``NextToken`` paging, batch results by ``<id>:N``) and
ListStatements (name prefix, status filter; FINISHED only by default, as documented).

Semantics follow the service: statuses SUBMITTED → PICKED → STARTED → FINISHED | FAILED |
ABORTED; a batch runs as one transaction (``ExecutionMode=TRANSACTION``, the default: the
failing sub-statement is FAILED with PostgreSQL's error, the later ones ABORTED, nothing is
committed) or statement by statement (``AUTO_COMMIT``: each commits, later statements still
run after a failure); ``ClientToken`` replays return the first statement's id; ``:name``
parameters are bound by psycopg; Redshift's limits answer ``ValidationException``. Every
statement passes through :func:`~rsbatch.local.dialect.to_postgres` first. Sessions run in
UTC and each statement sees a fresh session (pooled connections are ``DISCARD ALL``-ed),
unless it asks for one: ``SessionKeepAliveSeconds`` keeps its connection (temp tables and
all) for the caller's next statements with the returned ``SessionId``, one at a time, until
it has been idle that long.

With ``WithEvent=True``, a statement reaching a terminal state publishes exactly one
EventBridge-shaped event to the callables given to :meth:`RedshiftDataEmulator.subscribe`.

Not emulated: ``ResultFormat=CSV``
and ``GetStatementResultV2``, the Describe/List table operations.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import json
import logging
import queue
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import psycopg
from psycopg.adapt import AdaptersMap
from psycopg.pq import TransactionStatus
from psycopg.types.string import TextLoader

from rsbatch.local.dialect import UnsupportedSql, parameter_names, to_postgres, to_pyformat
from rsbatch.local.warehouse import DEFAULT_DATABASE, Warehouse

__all__ = ["RedshiftDataEmulator", "RedshiftEvent"]

log = logging.getLogger(__name__)

RedshiftEvent = dict[str, Any]
"""The full EventBridge envelope of a ``Redshift Data Statement Status Change`` event."""

Connection = psycopg.Connection[Any]

SUBMITTED, PICKED, STARTED = "SUBMITTED", "PICKED", "STARTED"
FINISHED, FAILED, ABORTED = "FINISHED", "FAILED", "ABORTED"
TERMINAL = frozenset({FINISHED, FAILED, ABORTED})
_LIST_STATUSES = frozenset({SUBMITTED, PICKED, STARTED, FINISHED, FAILED, ABORTED, "ALL"})
TRANSACTION, AUTO_COMMIT = "TRANSACTION", "AUTO_COMMIT"

# Limits of the real service (botocore model and the Redshift management guide).
MAX_SQLS = 40
MAX_SQL_BYTES = 100 * 1024
MAX_STATEMENT_NAME = 2048
MAX_CLIENT_TOKEN = 64
MAX_WAIT_SECONDS = 30
MAX_SESSION_KEEP_ALIVE = 86400
MAX_LIST_RESULTS = 100
CLIENT_TOKEN_TTL = 8 * 3600
RETENTION_SECONDS = 24 * 3600
MAX_BODY_BYTES = 8 * 1024 * 1024

_TARGET_FIELDS = ("ClusterIdentifier", "Database", "DbUser", "SecretArn", "WorkgroupName")
_ID_RE = re.compile(r"^([a-z0-9]{8}(?:-[a-z0-9]{4}){3}-[a-z0-9]{12})(?::(\d+))?$")
_PARAM_NAME_RE = re.compile(r"^[0-9a-zA-Z_]+$")
_ACCESS_KEY_RE = re.compile(r"Credential=([^/,\s]+)/")
_SESSION_OPTIONS = "-c TimeZone=UTC"


def _text_adapters() -> AdaptersMap:
    """Load results as Redshift's Data API types them: bool, long, double, else PostgreSQL text.

    Keeping PostgreSQL's own text for numeric, dates, timestamps, intervals … gives the
    same ``stringValue`` the service returns (DECIMAL included) without re-formatting.
    """
    adapters = AdaptersMap(psycopg.adapters)
    native = {"bool", "int2", "int4", "int8", "oid", "float4", "float8"}
    for info in psycopg.postgres.types:
        if info.name not in native:
            adapters.register_loader(info.oid, TextLoader)
        if info.array_oid:
            adapters.register_loader(info.array_oid, TextLoader)
    return adapters


_RESULT_ADAPTERS = _text_adapters()


class ApiError(Exception):
    """An AWS-shaped error: ``__type`` + message (+ modeled fields), HTTP 4xx/5xx."""

    def __init__(self, code: str, message: str, status: int = 400, **fields: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields

    def payload(self) -> dict[str, Any]:
        return {"__type": self.code, "message": self.message, "Message": self.message, **self.fields}


def _validation(member: str, constraint: str) -> ApiError:
    camel = member[:1].lower() + member[1:]
    return ApiError(
        "ValidationException",
        f"1 validation error detected: Value at '{camel}' failed to satisfy constraint: {constraint}",
    )


def _not_found(statement_id: str) -> ApiError:
    return ApiError("ResourceNotFoundException", "Query does not exist.", ResourceId=statement_id)


class _Request:
    """Typed access to a JSON request body, raising the service's errors."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def _get(self, name: str, kind: type, required: bool) -> Any:
        value = self.body.get(name)
        if value is None:
            if required:
                raise _validation(name, "Member must not be null")
            return None
        if isinstance(value, bool) and kind is not bool:
            value = None  # bool is an int in Python; JSON true is never a number here
        if value is None or not isinstance(value, kind):
            raise ApiError("SerializationException", f"Unexpected value type for member {name}")
        return value

    def string(
        self, name: str, *, required: bool = False, min_len: int = 0, max_len: int | None = None
    ) -> str | None:
        value: str | None = self._get(name, str, required)
        if value is not None:
            if len(value) < min_len:
                raise _validation(name, f"Member must have length greater than or equal to {min_len}")
            if max_len is not None and len(value) > max_len:
                raise _validation(name, f"Member must have length less than or equal to {max_len}")
        return value

    def enum(self, name: str, allowed: Sequence[str]) -> str | None:
        value = self.string(name)
        if value is not None and value not in allowed:
            raise _validation(name, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
        return value

    def boolean(self, name: str) -> bool:
        return bool(self._get(name, bool, False))

    def integer(self, name: str, low: int, high: int) -> int | None:
        value: int | None = self._get(name, int, False)
        if value is not None and not low <= value <= high:
            raise _validation(name, f"Member must have value between {low} and {high}")
        return value

    def strings(self, name: str) -> list[str]:
        value: list[Any] = self._get(name, list, True)
        if not all(isinstance(item, str) for item in value):
            raise ApiError("SerializationException", f"Unexpected value type in member {name}")
        return value

    def parameters(self) -> list[dict[str, str]]:
        value: list[Any] | None = self._get("Parameters", list, False)
        if value is None:
            return []
        if not value:
            raise _validation("Parameters", "Member must have length greater than or equal to 1")
        params: list[dict[str, str]] = []
        for item in value:
            if not isinstance(item, dict):
                raise ApiError("SerializationException", "Unexpected value type in Parameters")
            name, val = item.get("name"), item.get("value")
            if not isinstance(name, str) or not isinstance(val, str):
                raise _validation("Parameters", "Member must have a string name and value")
            if not _PARAM_NAME_RE.match(name):
                raise _validation(
                    "Parameters.name", "Member must satisfy regular expression pattern: [0-9a-zA-Z_]+"
                )
            if not val:
                raise _validation("Parameters.value", "Member must have length greater than or equal to 1")
            params.append({"name": name, "value": val})
        return params


# -- statements ------------------------------------------------------------------------------


def _progress(stmt: _Sub | _Statement) -> dict[str, Any]:
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
class _Sub:
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
class _Session:
    """A connection kept for one principal between statements (SessionKeepAliveSeconds)."""

    id: str
    principal: str
    database: str
    target: dict[str, str]
    keep_alive: int
    conn: Connection | None = None
    busy: bool = False
    expires_at: float = 0.0


@dataclass(eq=False)
class _Statement:
    id: str
    seq: int
    is_batch: bool
    subs: list[_Sub]
    name: str | None
    target: dict[str, str]
    database: str
    parameters: list[dict[str, str]]
    mode: str
    with_event: bool
    principal: str
    created_at: float
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
    session: _Session | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def set_status(self, status: str, now: float) -> None:
        self.status = status
        self.updated_at = now

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

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **_progress(self),
            "RedshiftPid": self.redshift_pid,
            "ResultFormat": "JSON",
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

    def summary(self) -> dict[str, Any]:
        """The ListStatements view (StatementData)."""
        out: dict[str, Any] = {
            "Id": self.id,
            "Status": self.status,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "IsBatchStatement": self.is_batch,
            "ResultFormat": "JSON",
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
        return out


class _Cancelled(Exception):
    """The statement was cancelled while (or before) running a sub-statement."""


# -- resources -------------------------------------------------------------------------------


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
            context=_RESULT_ADAPTERS,
            options=_SESSION_OPTIONS,
            application_name="rsbatch-redshift-data",
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


# -- HTTP ------------------------------------------------------------------------------------


class _HttpServer(ThreadingHTTPServer):
    """Tracks open connections and handler threads so that stop() leaves nothing behind."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # socketserver's 5 drops SYNs when 50 clients connect at once (1 s retry)

    def __init__(self, address: tuple[str, int], emulator: RedshiftDataEmulator) -> None:
        self.emulator = emulator
        self._open: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        self._track = threading.Lock()
        super().__init__(address, _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._track:
            self._open.add(request)
            self._handlers.add(threading.current_thread())
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._track:
                self._open.discard(request)
                self._handlers.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-reply (e.g. during a long poll) is not worth a traceback."""
        log.debug("HTTP connection from %s failed", client_address, exc_info=True)

    def close_connections(self, timeout: float) -> None:
        with self._track:
            sockets, handlers = list(self._open), list(self._handlers)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in handlers:
            thread.join(max(0.0, deadline - time.monotonic()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its connections
    disable_nagle_algorithm = True  # else headers + body wait on delayed ACKs (~40 ms)
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_POST(self) -> None:
        body = self._read_body()
        if body is None:
            return
        status, payload = self.server.emulator.handle(
            self.headers.get("X-Amz-Target", ""), body, self.headers.get("Authorization", "")
        )
        self._reply(status, payload)

    def _not_an_operation(self) -> None:
        if self._read_body() is not None:
            error = ApiError("UnknownOperationException", "Only POST / is served", status=404)
            self._reply(error.status, error.payload())

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _not_an_operation

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._refuse("Chunked request bodies are not supported")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._refuse("Invalid Content-Length")
            return None
        return self.rfile.read(length)

    def _refuse(self, message: str) -> None:
        self.close_connection = True
        error = ApiError("SerializationException", message)
        self._reply(error.status, error.payload())

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


# -- the emulator ----------------------------------------------------------------------------


def _field(value: Any) -> dict[str, Any]:
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value if isinstance(value, str) else str(value)}


def _column(column: psycopg.Column) -> dict[str, Any]:
    info = psycopg.postgres.types.get(column.type_code)
    type_name = info.name if info is not None else str(column.type_code)
    numeric = type_name in {"int2", "int4", "int8", "float4", "float8", "numeric", "money"}
    return {
        "name": column.name,
        "label": column.name,
        "typeName": type_name,
        "isCaseSensitive": type_name in {"text", "varchar", "bpchar", "name", '"char"'},
        "isCurrency": type_name == "money",
        "isSigned": numeric,
        "nullable": 1,
        "precision": column.precision or column.display_size or column.internal_size or 0,
        "scale": column.scale or 0,
        "length": 0,
        "schemaName": "",
        "tableName": "",
    }


def _error_text(exc: BaseException) -> str:
    """PostgreSQL's primary message, shaped like Redshift's ``ERROR: …``."""
    diag = getattr(exc, "diag", None)
    message = getattr(diag, "message_primary", None) or str(exc) or type(exc).__name__
    return f"ERROR: {message}"


def _encode_token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _decode_token(token: str, key: str, **expected: Any) -> int:
    """The integer ``key`` of a token we issued, if it matches ``expected``; else invalid."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        data = None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get(key), int)
        or any(data.get(k) != v for k, v in expected.items())
    ):
        raise ApiError("ValidationException", "The NextToken is invalid.")
    return int(data[key])


class RedshiftDataEmulator:
    """The Redshift Data API on 127.0.0.1, running statements on the local warehouse."""

    def __init__(
        self,
        warehouse: Warehouse,
        host: str = "127.0.0.1",
        port: int = 0,
        account: str = "123456789012",
        region: str = "us-east-1",
        max_workers: int = 64,
        *,
        enforce_owner: bool = False,
        result_page_rows: int = 1000,
        max_active_statements: int = 500,
        max_idle_connections: int = 16,
    ) -> None:
        self.warehouse = warehouse
        self.host = host
        self.port = port
        self.account = account
        self.region = region
        self.max_workers = max_workers
        self.enforce_owner = enforce_owner
        self.result_page_rows = result_page_rows
        self.max_active_statements = max_active_statements
        self.max_idle_connections = max_idle_connections
        self._cond = threading.Condition()
        self._statements: dict[str, _Statement] = {}
        self._sessions: dict[str, _Session] = {}
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._seq = itertools.count(1)
        self._active = 0  # statements not yet terminal
        self._query_ids = itertools.count(100001)
        self._subscribers: list[Callable[[RedshiftEvent], None]] = []
        self._lifecycle = threading.Lock()
        self._httpd: _HttpServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._workers: _Workers | None = None
        self._pool: _ConnectionPool | None = None
        self._stopping = False
        self._operations: dict[str, Callable[[_Request, str], dict[str, Any]]] = {
            "ExecuteStatement": self._execute_statement,
            "BatchExecuteStatement": self._batch_execute_statement,
            "DescribeStatement": self._describe_statement,
            "CancelStatement": self._cancel_statement,
            "GetStatementResult": self._get_statement_result,
            "ListStatements": self._list_statements,
        }

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the warehouse if needed, then serve HTTP. Idempotent."""
        with self._lifecycle:
            if self._httpd is not None:
                return
            self.warehouse.start()
            self._stopping = False
            self._pool = _ConnectionPool(self.warehouse, self.max_idle_connections)
            self._workers = _Workers(self.max_workers)
            self._httpd = _HttpServer((self.host, self.port), self)
            self._serve_thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="redshift-data-http",
                daemon=True,
            )
            self._serve_thread.start()
            log.info("Redshift Data API emulator on %s", self.endpoint_url)

    def stop(self) -> None:
        """Refuse new work, cancel running statements (ABORTED), join threads, close all.

        The warehouse is left running: it belongs to the caller.
        """
        with self._lifecycle:
            httpd, self._httpd = self._httpd, None
            if httpd is None:
                return
            with self._cond:
                self._stopping = True
                live = [s for s in self._statements.values() if not s.terminal]
                for stmt in live:
                    stmt.cancel_requested = True
                self._cond.notify_all()  # long polls return now
            httpd.shutdown()
            httpd.close_connections(timeout=5)
            httpd.server_close()
            if self._serve_thread is not None:
                self._serve_thread.join(5)
            for stmt in live:
                self._abort_or_interrupt(stmt)
            if self._workers is not None:
                self._workers.shutdown(timeout=10)
            for stmt in live:  # a worker that did not come back in time
                self._finish(stmt, ABORTED)
            with self._cond:
                for session in list(self._sessions.values()):
                    self._end_session(session)
            if self._pool is not None:
                self._pool.close()

    def __enter__(self) -> RedshiftDataEmulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        httpd = self._httpd
        if httpd is None:
            raise RuntimeError("the emulator is not started")
        host, port = httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- events and introspection ----------------------------------------------------------

    def subscribe(self, fn: Callable[[RedshiftEvent], None]) -> None:
        """Call ``fn(event)`` once per terminal statement submitted with ``WithEvent=True``.

        It runs on the thread that finished the statement (a statement worker; for a
        statement cancelled before it started, the CancelStatement request's thread), after
        the terminal status is visible to DescribeStatement. Exceptions are logged.
        """
        with self._cond:
            self._subscribers.append(fn)

    def unsubscribe(self, fn: Callable[[RedshiftEvent], None]) -> None:
        with self._cond:
            if fn in self._subscribers:
                self._subscribers.remove(fn)

    def statements_named(self, prefix: str) -> int:
        """How many statements were submitted with a StatementName starting with ``prefix``.

        ClientToken replays create no statement, so they are not counted.
        """
        with self._cond:
            return sum(
                1 for s in self._statements.values() if s.name is not None and s.name.startswith(prefix)
            )

    # -- request dispatch ------------------------------------------------------------------

    def handle(self, target: str, body: bytes, authorization: str) -> tuple[int, dict[str, Any]]:
        """One JSON 1.1 request → (HTTP status, response body); never raises."""
        try:
            service, _, operation = target.partition(".")
            handler = self._operations.get(operation) if service == "RedshiftData" else None
            if handler is None:
                raise ApiError("UnknownOperationException", f"Unknown operation: {target!r}")
            try:
                data = json.loads(body) if body.strip() else {}
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError("SerializationException", f"Malformed JSON body: {exc}") from exc
            if not isinstance(data, dict):
                raise ApiError("SerializationException", "The request body must be a JSON object")
            if self._stopping:
                raise ApiError("InternalServerException", "The service is shutting down", 500)
            return 200, handler(_Request(data), self._principal(authorization))
        except ApiError as exc:
            return exc.status, exc.payload()
        except Exception:
            log.exception("Redshift Data API emulator: request %s failed", target)
            error = ApiError("InternalServerException", "Internal server error", 500)
            return error.status, error.payload()

    def _principal(self, authorization: str) -> str:
        match = _ACCESS_KEY_RE.search(authorization)
        caller = match.group(1) if match else "anonymous"
        return f"arn:aws:sts::{self.account}:assumed-role/{caller}"

    # -- submit ----------------------------------------------------------------------------

    def _execute_statement(self, req: _Request, principal: str) -> dict[str, Any]:
        sql = req.string("Sql", required=True)
        assert sql is not None
        return self._submit(req, principal, [sql], is_batch=False)

    def _batch_execute_statement(self, req: _Request, principal: str) -> dict[str, Any]:
        sqls = req.strings("Sqls")
        if not 1 <= len(sqls) <= MAX_SQLS:
            raise _validation("Sqls", f"Member must have length between 1 and {MAX_SQLS} (got {len(sqls)})")
        return self._submit(req, principal, sqls, is_batch=True)

    def _submit(self, req: _Request, principal: str, sqls: list[str], *, is_batch: bool) -> dict[str, Any]:
        if sum(len(sql.encode()) for sql in sqls) > MAX_SQL_BYTES:
            raise ApiError(
                "ValidationException",
                f"The SQL text is larger than the {MAX_SQL_BYTES // 1024} KB limit",
            )
        if any(not sql.strip() for sql in sqls):
            raise ApiError("ValidationException", "SQL statement cannot be empty")
        name = req.string("StatementName", max_len=MAX_STATEMENT_NAME)
        token = req.string("ClientToken", min_len=1, max_len=MAX_CLIENT_TOKEN)
        with_event = req.boolean("WithEvent")
        mode = TRANSACTION
        if is_batch:
            mode = req.enum("ExecutionMode", (TRANSACTION, AUTO_COMMIT)) or TRANSACTION
        wait = req.integer("WaitTimeSeconds", 1, MAX_WAIT_SECONDS)
        if req.enum("ResultFormat", ("JSON", "CSV")) == "CSV":
            raise ApiError("ValidationException", "ResultFormat CSV is not supported locally")
        session_id = req.string("SessionId")
        keep_alive = req.integer("SessionKeepAliveSeconds", 0, MAX_SESSION_KEEP_ALIVE)
        target = {k: v for k in _TARGET_FIELDS if (v := req.string(k)) is not None}
        if session_id and target:
            raise ApiError(
                "ValidationException", "SessionId cannot be combined with a cluster, workgroup or database"
            )
        if "ClusterIdentifier" in target and "WorkgroupName" in target:
            raise ApiError(
                "ValidationException", "ClusterIdentifier and WorkgroupName are mutually exclusive"
            )
        parameters = req.parameters()
        self._check_parameters(sqls, parameters)

        now = time.time()
        with self._cond:
            if self._stopping:
                raise ApiError("InternalServerException", "The service is shutting down", 500)
            self._expire(now)
            stmt = self._replay(principal, token, now)
            if stmt is None:
                session = self._session_for(session_id, principal, now)
                if session is not None:
                    target = dict(session.target)
                stmt = self._create(
                    sqls, is_batch, name, target, parameters, mode, with_event, principal, now
                )
                if session is None and keep_alive:
                    session = _Session(
                        id=str(uuid.uuid4()),
                        principal=principal,
                        database=stmt.database,
                        target=dict(stmt.target),
                        keep_alive=keep_alive,
                    )
                    self._sessions[session.id] = session
                if session is not None:
                    session.busy = True
                    if keep_alive:
                        session.keep_alive = keep_alive
                    stmt.session = session
                if token is not None:
                    self._tokens[(principal, token)] = (stmt.id, now)
                new = True
            else:
                new = False
        if new:
            assert self._workers is not None
            self._workers.submit(lambda: self._run(stmt))
        out: dict[str, Any] = {"Id": stmt.id, "CreatedAt": stmt.created_at, **stmt.target}
        if stmt.session is not None:
            out["SessionId"] = stmt.session.id
        if wait is not None:
            with self._cond:
                self._cond.wait_for(lambda: stmt.terminal or self._stopping, timeout=wait)
                out.update(
                    Status=stmt.status,
                    HasResultSet=stmt.has_result_set,
                    RedshiftPid=stmt.redshift_pid,
                )
        return out

    def _session_for(self, session_id: str | None, principal: str, now: float) -> _Session | None:
        """The caller's live, idle session, or a ValidationException saying why not (lock held)."""
        if session_id is None:
            return None
        session = self._sessions.get(session_id)
        if (
            session is None
            or session.principal != principal
            or (not session.busy and session.expires_at <= now)
        ):
            raise ApiError("ValidationException", f"Session {session_id} is not available (ended or expired)")
        if session.busy:
            raise ApiError("ValidationException", f"Session {session_id} is busy with another statement")
        return session

    @staticmethod
    def _check_parameters(sqls: list[str], parameters: list[dict[str, str]]) -> None:
        if not parameters:
            return
        given = [p["name"] for p in parameters]
        if len(set(given)) != len(given):
            raise ApiError("ValidationException", "Parameter names must be unique")
        used = {name for sql in sqls for name in parameter_names(sql)}
        if missing := sorted(used - set(given)):
            raise ApiError("ValidationException", f"No value given for parameter(s): {', '.join(missing)}")
        if unused := sorted(set(given) - used):
            raise ApiError(
                "ValidationException",
                f"Parameter(s) not referenced by any SQL statement: {', '.join(unused)}",
            )

    def _replay(self, principal: str, token: str | None, now: float) -> _Statement | None:
        if token is None:
            return None
        known = self._tokens.get((principal, token))
        if known is None or now - known[1] > CLIENT_TOKEN_TTL:
            return None
        return self._statements.get(known[0])

    def _create(
        self,
        sqls: list[str],
        is_batch: bool,
        name: str | None,
        target: dict[str, str],
        parameters: list[dict[str, str]],
        mode: str,
        with_event: bool,
        principal: str,
        now: float,
    ) -> _Statement:
        if self._active >= self.max_active_statements:
            raise ApiError(
                "ActiveStatementsExceededException",
                f"The number of active statements exceeds the limit ({self.max_active_statements})",
            )
        statement_id = str(uuid.uuid4())
        subs = [
            _Sub(id=f"{statement_id}:{n}" if is_batch else statement_id, sql=sql, created_at=now)
            for n, sql in enumerate(sqls, start=1)
        ]
        for sub in subs:
            sub.updated_at = now
        stmt = _Statement(
            id=statement_id,
            seq=next(self._seq),
            is_batch=is_batch,
            subs=subs,
            name=name,
            target=target,
            database=target.get("Database") or DEFAULT_DATABASE,
            parameters=parameters,
            mode=mode,
            with_event=with_event,
            principal=principal,
            created_at=now,
            updated_at=now,
        )
        self._statements[statement_id] = stmt
        self._active += 1
        return stmt

    def _expire(self, now: float) -> None:
        """Forget tokens and statements past the service's retention (8 h / 24 h), end idle sessions.

        Both dicts are in creation order, so only the expired head is ever visited.
        """
        for session in [x for x in self._sessions.values() if not x.busy and x.expires_at <= now]:
            self._end_session(session)
        old_tokens = list(
            itertools.takewhile(lambda item: now - item[1][1] > CLIENT_TOKEN_TTL, self._tokens.items())
        )
        for key, _ in old_tokens:
            del self._tokens[key]
        old_statements = list(
            itertools.takewhile(
                lambda item: now - item[1].created_at > RETENTION_SECONDS and item[1].terminal,
                self._statements.items(),
            )
        )
        for statement_id, _ in old_statements:
            del self._statements[statement_id]

    # -- running ---------------------------------------------------------------------------

    def _run(self, stmt: _Statement) -> None:
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
            self._release_session(stmt, None, reusable=False)
            self._finish(stmt, FAILED, _error_text(exc))
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
            status, error = FAILED, _error_text(exc)
        finally:
            with self._cond:
                stmt.conn = None
                reusable = not stmt.cancel_sent  # a late cancel must not hit the next user
            if session is None:
                self._pool.release(stmt.database, conn, reusable)
            else:
                self._release_session(stmt, conn, reusable)
        self._finish(stmt, status, error)

    def _release_session(self, stmt: _Statement, conn: Connection | None, reusable: bool) -> None:
        """Keep the connection for the session's next statement, or end the session."""
        session = stmt.session
        if session is None:
            return
        with self._cond:
            session.busy = False
            session.expires_at = time.time() + session.keep_alive
            keep = (
                reusable
                and conn is not None
                and not conn.closed
                and conn.info.transaction_status == TransactionStatus.IDLE
            )
            if keep:
                session.conn = conn
            else:
                session.conn = conn  # closed below with the session
                self._end_session(session)

    def _end_session(self, session: _Session) -> None:
        """Forget a session and close its connection (lock held)."""
        self._sessions.pop(session.id, None)
        if session.conn is not None and not session.conn.closed:
            session.conn.close()
        session.conn = None

    def _run_all(self, stmt: _Statement, conn: Connection) -> tuple[str, str | None]:
        transactional = stmt.is_batch and stmt.mode == TRANSACTION
        values = {p["name"]: p["value"] for p in stmt.parameters}
        first_failure: tuple[int, str] | None = None
        cancelled = False
        if transactional:
            conn.execute("BEGIN")
        for index, sub in enumerate(stmt.subs, start=1):
            try:
                self._run_one(stmt, sub, conn, values)
            except _Cancelled:
                cancelled = True
                break
            except (UnsupportedSql, psycopg.Error) as exc:
                self._end_sub(sub, FAILED, _error_text(exc))
                first_failure = first_failure or (index, sub.error or "")
                if transactional:
                    break
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
                return FAILED, f"COMMIT failed with {_error_text(exc)}"
        return FINISHED, None

    def _run_one(self, stmt: _Statement, sub: _Sub, conn: Connection, values: dict[str, str]) -> None:
        with self._cond:
            if stmt.cancel_requested:
                raise _Cancelled
            sub.query_id = stmt.query_id = next(self._query_ids)
            sub.set_status(STARTED, time.time())
        started = time.monotonic_ns()
        try:
            sql = to_postgres(sub.sql)
            names = parameter_names(sql) if values else []
            with conn.cursor() as cur:
                if names:
                    cur.execute(to_pyformat(sql), {name: values[name] for name in names})
                else:
                    cur.execute(sql)
                if cur.description is not None:
                    rows = cur.fetchall()
                    sub.columns = [_column(c) for c in cur.description]
                    sub.rows = rows
                    sub.has_result_set = True
                    sub.result_rows = len(rows)
                    sub.result_size = sum(len(str(v)) for row in rows for v in row if v is not None)
                else:
                    sub.result_rows = max(cur.rowcount, 0)
                    sub.result_size = 0
        except psycopg.errors.QueryCanceled:
            with self._cond:
                cancelled = stmt.cancel_requested
            if not cancelled:
                raise  # statement_timeout and the like: a failure, not a cancel
            self._end_sub(sub, ABORTED, "ERROR: Query (cancelled on user's request)", started)
            raise _Cancelled from None
        except BaseException:
            sub.duration_ns = time.monotonic_ns() - started
            raise
        self._end_sub(sub, FINISHED, None, started)

    def _end_sub(self, sub: _Sub, status: str, error: str | None, started: int = 0) -> None:
        with self._cond:
            if started:
                sub.duration_ns = time.monotonic_ns() - started
            sub.set_status(status, time.time(), error)
            self._cond.notify_all()

    @staticmethod
    def _rollback(conn: Connection) -> None:
        with contextlib.suppress(psycopg.Error):
            conn.execute("ROLLBACK")

    def _finish(self, stmt: _Statement, status: str, error: str | None = None) -> None:
        """Make ``stmt`` terminal (once) and publish its event after it is visible."""
        with self._cond:
            if stmt.terminal:
                return
            now = time.time()
            for sub in stmt.subs:
                if sub.status not in TERMINAL:
                    sub.set_status(ABORTED if status != FINISHED else FINISHED, now)
            stmt.error = error
            if stmt.started_ns:
                stmt.duration_ns = time.monotonic_ns() - stmt.started_ns
            stmt.set_status(status, now)
            stmt.finishing = False
            self._active -= 1
            self._cond.notify_all()
            event = self._event(stmt, now) if stmt.with_event else None
            subscribers = list(self._subscribers)
        if event is not None:
            for fn in subscribers:
                try:
                    fn(event)
                except Exception:
                    log.exception("event subscriber %r failed", fn)

    def _event(self, stmt: _Statement, now: float) -> RedshiftEvent:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Redshift Data Statement Status Change",
            "source": "aws.redshift-data",
            "account": self.account,
            "time": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [],
            "detail": {
                "principal": stmt.principal,
                "statementName": stmt.name or "",
                "statementId": stmt.id,
                "redshiftQueryId": stmt.query_id,
                "state": stmt.status,
                "rows": stmt.result_rows,
                "expireAt": int(now) + RETENTION_SECONDS,
            },
        }

    # -- read operations -------------------------------------------------------------------

    def _lookup(self, req: _Request, principal: str) -> tuple[_Statement, _Sub | None]:
        statement_id = req.string("Id", required=True)
        assert statement_id is not None
        match = _ID_RE.match(statement_id)
        if match is None:
            raise _validation(
                "Id",
                "Member must satisfy regular expression pattern: "
                "[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\\d{0,2})?",
            )
        stmt = self._statements.get(match.group(1))
        if stmt is None:
            raise _not_found(statement_id)
        if self.enforce_owner and stmt.principal != principal:
            raise ApiError(
                "ValidationException",
                f"Statement {statement_id} was submitted by another principal",
            )
        if match.group(2) is None:
            return stmt, None
        number = int(match.group(2))
        if not stmt.is_batch or not 1 <= number <= len(stmt.subs):
            raise _not_found(statement_id)
        return stmt, stmt.subs[number - 1]

    def _wait(self, stmt: _Statement, seconds: int | None) -> None:
        if seconds:
            self._cond.wait_for(lambda: stmt.terminal or self._stopping, timeout=seconds)

    def _describe_statement(self, req: _Request, principal: str) -> dict[str, Any]:
        wait = req.integer("WaitTimeSeconds", 1, MAX_WAIT_SECONDS)
        with self._cond:
            stmt, sub = self._lookup(req, principal)
            self._wait(stmt, wait)
            if sub is None:
                return stmt.describe()
            return {
                **sub.describe(),
                "RedshiftPid": stmt.redshift_pid,
                "ResultFormat": "JSON",
                **stmt.target,
            }

    def _cancel_statement(self, req: _Request, principal: str) -> dict[str, Any]:
        with self._cond:
            stmt, _ = self._lookup(req, principal)
            # A worker past its last cancel check is committing: report its real outcome.
            self._cond.wait_for(lambda: not stmt.finishing, timeout=MAX_WAIT_SECONDS)
            if stmt.terminal:
                raise ApiError(
                    "ValidationException",
                    f"Could not cancel a query that is already in {stmt.status} state.",
                )
            stmt.cancel_requested = True
        self._abort_or_interrupt(stmt)
        return {"Status": True}

    def _abort_or_interrupt(self, stmt: _Statement) -> None:
        """A cancelled statement: ABORTED at once if not running, else cancel its query."""
        with self._cond:
            conn = stmt.conn
            not_started = stmt.status in (SUBMITTED, PICKED) and conn is None
            if conn is not None:
                stmt.cancel_sent = True
        if not_started:
            self._finish(stmt, ABORTED)
        elif conn is not None:
            try:
                conn.cancel_safe(timeout=5)
            except psycopg.Error as exc:
                log.warning("cancel of statement %s failed: %s", stmt.id, exc)

    def _get_statement_result(self, req: _Request, principal: str) -> dict[str, Any]:
        next_token = req.string("NextToken")
        wait = req.integer("WaitTimeSeconds", 1, MAX_WAIT_SECONDS)
        with self._cond:
            stmt, sub = self._lookup(req, principal)
            if sub is None and stmt.is_batch:
                raise ApiError(
                    "ValidationException",
                    f"Query {stmt.id} is a batch statement: read each result with its "
                    f"sub-statement id, e.g. {stmt.id}:1",
                )
            self._wait(stmt, wait)
            result = sub or stmt.subs[0]
            if result.status != FINISHED or not result.has_result_set:
                raise ApiError(
                    "ResourceNotFoundException",
                    "Query does not have result. Please check query status with DescribeStatement.",
                    ResourceId=result.id,
                )
        offset = 0
        if next_token:
            offset = _decode_token(next_token, "offset", id=result.id)
        end = offset + max(1, self.result_page_rows)
        out: dict[str, Any] = {
            "Records": [[_field(v) for v in row] for row in result.rows[offset:end]],
            "ColumnMetadata": result.columns,
            "TotalNumRows": len(result.rows),
        }
        if end < len(result.rows):
            out["NextToken"] = _encode_token({"id": result.id, "offset": end})
        return out

    def _list_statements(self, req: _Request, principal: str) -> dict[str, Any]:
        prefix = req.string("StatementName", max_len=MAX_STATEMENT_NAME)
        status = req.enum("Status", sorted(_LIST_STATUSES)) or FINISHED
        limit = req.integer("MaxResults", 0, MAX_LIST_RESULTS) or MAX_LIST_RESULTS
        next_token = req.string("NextToken")
        req.boolean("RoleLevel")
        wanted = {
            k: v
            for k in ("ClusterIdentifier", "Database", "WorkgroupName")
            if (v := req.string(k)) is not None
        }
        before = _decode_token(next_token, "before") if next_token else None
        with self._cond:
            matches = (
                s
                for s in reversed(self._statements.values())
                if (before is None or s.seq < before)
                and (status == "ALL" or s.status == status)
                and (prefix is None or (s.name or "").startswith(prefix))
                and (not self.enforce_owner or s.principal == principal)
                and all(s.target.get(k) == v for k, v in wanted.items())
            )
            page = list(itertools.islice(matches, limit + 1))
            out: dict[str, Any] = {"Statements": [s.summary() for s in page[:limit]]}
        if len(page) > limit:
            out["NextToken"] = _encode_token({"before": page[limit - 1].seq})
        return out
