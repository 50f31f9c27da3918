"""Connections a dead stack left in PostgreSQL, found by their name and terminated.

A stack killed with SIGKILL (or a crashed one) cannot roll back what its statements were
doing: PostgreSQL keeps a backend running ``pg_sleep`` or a long ``INSERT`` until the query
ends, holding its transaction's locks, so the next stack's batch on the same table waits
behind it, possibly for a day. Two defences:

- every emulator connection names its owner in ``application_name``
  (``rsbatch-redshift-data/<pid>/<process start time>/<host>``) and asks PostgreSQL to check
  the client is still there while a query runs (``client_connection_check_interval``,
  PostgreSQL 14+): a backend whose client died ends its query within seconds;
- :func:`terminate_leftovers`, run when an emulator starts, ends (``pg_terminate_backend``,
  which rolls back the transaction and frees its locks) every backend named by a process of
  this host that is gone (its pid is dead, or now another process's: the start time differs).
  A backend of a live process (another stack sharing the warehouse, or this one) is never
  touched, nor one named on another host (its owner cannot be checked from here).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from dataclasses import dataclass

import psutil
import psycopg

log = logging.getLogger(__name__)

PREFIX = "rsbatch-redshift-data"
#: How often (ms) PostgreSQL checks that the client of a running query is still connected.
CLIENT_CHECK_INTERVAL_MS = 2000
TERMINATE_WAIT_MS = 5000  # pg_terminate_backend(pid, timeout): wait until it is gone


@dataclass(frozen=True)
class Owner:
    """The process an ``application_name`` names."""

    pid: int
    started: int  # the process's start time, whole seconds since the epoch
    host: str


@dataclass(frozen=True)
class Leftover:
    """A backend of a dead stack that was terminated: what it was doing."""

    backend_pid: int
    owner_pid: int
    database: str
    state: str
    query: str  # cut to 200 characters


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _started(pid: int) -> int | None:
    try:
        return int(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.Error:
        return -1  # exists, but cannot be inspected: treat as alive


def application_name(pid: int | None = None) -> str:
    """The ``application_name`` of this process's emulator connections (≤ 63 bytes)."""
    pid = os.getpid() if pid is None else pid
    return f"{PREFIX}/{pid}/{_started(pid) or 0}/{_host()}"


def parse(name: str) -> Owner | None:
    """The owner an ``application_name`` names; None if not an emulator connection's."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != PREFIX or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    return Owner(pid=int(parts[1]), started=int(parts[2]), host=parts[3])


def is_dead(owner: Owner) -> bool:
    """True when ``owner`` is surely gone: on this host, its pid dead or reused."""
    if owner.host != _host():
        return False
    started = _started(owner.pid)
    return started is None or (started != -1 and started != owner.started)


def session_options() -> str:
    """libpq ``options`` every emulator connection gets (UTC, and the client check)."""
    return f"-c TimeZone=UTC -c client_connection_check_interval={CLIENT_CHECK_INTERVAL_MS}"


def terminate_leftovers(conninfo: str) -> list[Leftover]:
    """End the backends of dead emulators on the server ``conninfo`` points at (all databases).

    A role that may not signal them (not a superuser, not their role, no pg_signal_backend)
    gets a warning, not an error: the warehouse still works, the locks stay.
    """
    ended: list[Leftover] = []
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid, application_name, coalesce(datname, ''), coalesce(state, ''),"
                " left(coalesce(query, ''), 200) FROM pg_stat_activity"
                " WHERE application_name LIKE %s AND pid <> pg_backend_pid()",
                (PREFIX + "/%",),
            ).fetchall()
            for backend_pid, name, database, state, query in rows:
                owner = parse(name)
                if owner is None or not is_dead(owner):
                    continue
                try:
                    row = conn.execute(
                        "SELECT pg_terminate_backend(%s, %s)", (backend_pid, TERMINATE_WAIT_MS)
                    ).fetchone()
                except psycopg.Error as exc:
                    log.warning("cannot terminate backend %s of dead pid %s: %s", backend_pid, owner.pid, exc)
                    continue
                if row is not None and row[0]:
                    ended.append(Leftover(backend_pid, owner.pid, database, state, query))
    except psycopg.Error as exc:
        log.warning("cannot look for connections left by a previous stack: %s", exc)
    for left in ended:
        log.warning(
            "terminated backend %s left by stack pid %s (dead) in %s, %s: %s",
            left.backend_pid,
            left.owner_pid,
            left.database,
            left.state,
            left.query,
        )
    return ended
