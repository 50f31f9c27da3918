"""The emulator as callers see it: one object that wires server, backend and runner.

:class:`RedshiftDataEmulator` owns the lifecycle (start the warehouse, the runner and the
HTTP server; stop them in the order that aborts running statements cleanly) and the path
of one request (:meth:`RedshiftDataEmulator.handle`: the envelope, then the members, then
the backend). Its public attributes are the :class:`~.settings.Settings` the parts read;
:meth:`RedshiftDataEmulator.set_faults` makes the warehouse misbehave on purpose
(:mod:`.injected`).
"""

from __future__ import annotations

import logging
import os
import threading
from types import TracebackType
from typing import Any

from rsbatch.local.faults import Faults
from rsbatch.local.redshift_data.backend import Backend
from rsbatch.local.redshift_data.events import Events, Subscriber
from rsbatch.local.redshift_data.exceptions import (
    ApiError,
    environmental_error,
    internal_error,
    shutting_down,
    throttling,
)
from rsbatch.local.redshift_data.injected import InjectedFaults
from rsbatch.local.redshift_data.leftovers import Leftover, terminate_leftovers
from rsbatch.local.redshift_data.models import ABORTED, RETENTION_SECONDS
from rsbatch.local.redshift_data.parsing import principal, read_envelope
from rsbatch.local.redshift_data.runner import Runner
from rsbatch.local.redshift_data.server import HttpServer
from rsbatch.local.redshift_data.sessions import Sessions
from rsbatch.local.redshift_data.store import StatementStore
from rsbatch.local.warehouse import Warehouse
from rsbatch_core.errors import BadInputError

log = logging.getLogger(__name__)

_SUBMITS = frozenset({"ExecuteStatement", "BatchExecuteStatement"})
RESULT_MEMORY_ENV = "RSBATCH_LOCAL_RESULT_MEMORY_MB"
DEFAULT_RESULT_MEMORY_MB = 128


def default_result_memory_bytes() -> int:
    """``$RSBATCH_LOCAL_RESULT_MEMORY_MB`` (default 128) in bytes: the emulator's result budget."""
    raw = os.environ.get(RESULT_MEMORY_ENV, "")
    try:
        megabytes = int(raw) if raw else DEFAULT_RESULT_MEMORY_MB
    except ValueError:
        raise BadInputError(f"{RESULT_MEMORY_ENV} must be a whole number of megabytes, got {raw!r}") from None
    if megabytes < 1:
        raise BadInputError(f"{RESULT_MEMORY_ENV} must be at least 1, got {megabytes}")
    return megabytes * 1024 * 1024


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
        result_memory_bytes: int | None = None,
        seed: int | None = None,
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
        #: How long an ended statement is kept (the service: 24 h); tests shorten it to expire one.
        self.retention_seconds: float = RETENTION_SECONDS
        #: The result rows kept over all ended statements (an estimate of their memory); past it
        #: the oldest ended results are dropped and reading one is AWS's "has expired" error.
        self.result_memory_bytes: int = (
            result_memory_bytes if result_memory_bytes is not None else default_result_memory_bytes()
        )
        self._max_active_default = max_active_statements
        self._faults = InjectedFaults(seed)  # the dice: ``seed`` makes the rolls repeatable
        cond = threading.Condition()  # one lock (re-entrant) for all statement and session state
        self._events = Events(self)
        self._store = StatementStore(cond, self._events, self, self._faults)
        self._sessions = Sessions(cond)
        self._runner = Runner(
            warehouse, cond, self._sessions, on_end=self._store.end, on_sub_end=self._store.sub_ended
        )
        self._backend = Backend(cond, self._store, self._sessions, self._runner, self)
        self._lifecycle = threading.Lock()
        self._server: HttpServer | None = None
        #: What :meth:`start` found and terminated of a dead stack's connections (for ``local up``).
        self.leftovers: list[Leftover] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the warehouse if needed, then serve HTTP. Idempotent."""
        with self._lifecycle:
            if self._server is not None:
                return
            self.warehouse.start()
            self.leftovers = terminate_leftovers(self.warehouse.dsn())
            self._backend.resume()
            self._runner.start(self.max_workers, self.max_idle_connections)
            self._server = HttpServer(self.host, self.port, self.handle)
            self._server.start()
            log.info("Redshift Data API emulator on %s", self.endpoint_url)

    def stop(self) -> None:
        """Refuse new work, cancel running statements (ABORTED), join threads, close all.

        The warehouse is left running: it belongs to the caller.
        """
        with self._lifecycle:
            server, self._server = self._server, None
            if server is None:
                return
            live = self._backend.stop_accepting()
            server.stop()
            for stmt in live:
                self._runner.cancel(stmt)
            self._runner.stop(timeout=10)
            for stmt in live:  # a worker that did not come back in time
                self._store.end(stmt, ABORTED)
            self._sessions.close_all()
            self._runner.close()

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
        server = self._server
        if server is None:
            raise RuntimeError("the emulator is not started")
        return server.url

    # -- events and introspection ----------------------------------------------------------

    def subscribe(self, fn: Subscriber) -> None:
        """Call ``fn(event)`` once per terminal statement submitted with ``WithEvent=True``.

        It runs on the thread that finished the statement (a statement worker; for a
        statement cancelled before it started, the CancelStatement request's thread), after
        the terminal status is visible to DescribeStatement. Exceptions are logged.
        """
        self._events.subscribe(fn)

    def unsubscribe(self, fn: Subscriber) -> None:
        self._events.unsubscribe(fn)

    def set_faults(self, faults: Faults) -> None:
        """Misbehave from now on as the warehouse knobs of ``faults`` say (the others are ignored).

        ``conflict``: the first K statements created with a StatementName (counted from now)
        fail with Redshift's error 1023 in their second sub-statement (the only one, for a
        single SQL), after the first ran; a TRANSACTION batch commits nothing and its later
        sub-statements are ABORTED. ``throttle`` / ``server-error``: that fraction of calls
        (of submits) is answered ``ThrottlingException`` (400) / ``ExecuteStatementException``
        or ``BatchExecuteStatementException`` (500) before anything is done. ``active-limit``:
        ``max_active_statements`` (back to the constructor's value when unset). ``sub-events``:
        a batch's sub-statements publish their own events (``<id>:N``) as each ends.
        ``describe-lag``: for that many seconds after a statement ended (its event published),
        DescribeStatement shows it as it was just before.
        """
        self._faults.set(faults)
        limit = faults.active_limit
        self.max_active_statements = self._max_active_default if limit is None else limit

    @property
    def result_bytes(self) -> int:
        """The memory the kept result rows hold now (the estimate the budget counts)."""
        return self._store.result_bytes

    @property
    def peak_active(self) -> int:
        """The most statements ever active (SUBMITTED, PICKED or STARTED) at once, since the
        emulator was created or :meth:`reset_peak_active` was called."""
        return self._store.peak_active

    def reset_peak_active(self) -> None:
        """Count :attr:`peak_active` afresh, from the statements active now."""
        self._store.reset_peak_active()

    def query_group_of(self, statement_id: str) -> str | None:
        """The label of the last ``SET query_group`` the statement ran (None: none, or reset).

        KeyError for an unknown statement id (a batch's own id, not ``<id>:N``).
        """
        return self._store.get(statement_id).query_group

    def statements_named(self, prefix: str) -> int:
        """How many statements were submitted with a StatementName starting with ``prefix``.

        ClientToken replays create no statement, so they are not counted.
        """
        return self._store.count_named(prefix)

    # -- one request -----------------------------------------------------------------------

    def handle(self, target: str, body: bytes, authorization: str) -> tuple[int, dict[str, Any]]:
        """One JSON 1.1 request → (HTTP status, response body); never raises."""
        try:
            parse, fields = read_envelope(target, body)
            if self._backend.stopping:
                raise shutting_down()
            operation = target.partition(".")[2]
            if self._faults.throttled():
                raise throttling()
            if operation in _SUBMITS and self._faults.server_error():
                raise environmental_error(operation)
            return 200, self._backend.apply(parse(fields), principal(authorization, self.account))
        except ApiError as exc:
            return exc.status, exc.payload()
        except Exception:
            log.exception("Redshift Data API emulator: request %s failed", target)
            error = internal_error()
            return error.status, error.payload()
