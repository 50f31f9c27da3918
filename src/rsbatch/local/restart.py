"""What a new local stack says about the one before it: the stack starts clean, and says so.

Runs (the registry in moto), durable executions (the SDK runner) and the Data API's statements
live in the stack's memory, so they end with its process; the warehouse's tables (``<home>/pg``)
are kept. ``<home>/stack.json`` names the stack serving a home (pid, start time): a stack that
finds one whose process is gone was killed (SIGKILL, a crash) rather than stopped. What that
stack left running is cleaned up before anything runs: its PostgreSQL server, if nothing else
holds it (:meth:`~rsbatch.local.warehouse.Warehouse.start`), and its backends
(:func:`~rsbatch.local.redshift_data.leftovers.terminate_leftovers`). :func:`notes` words it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from rsbatch.local.redshift_data.leftovers import Leftover, is_dead, parse

RECORD = "stack.json"
GONE = (
    "Runs, executions and Data API statements of earlier stacks are not kept: they lived in "
    "the stack's memory. Tables in the warehouse are kept."
)


@dataclass(frozen=True)
class Previous:
    """The stack that served this home before, as its record names it."""

    pid: int
    started_at: float
    killed: bool  # its process is gone but it never removed its record


def take_over(home: Path, application_name: str) -> Previous | None:
    """Record this stack as the home's, returning the previous one if its record was left."""
    path = home / RECORD
    previous: Previous | None = None
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        data = json.loads(path.read_text())
        owner = parse(str(data["application_name"]))
        if owner is not None:
            previous = Previous(owner.pid, float(data["started_at"]), killed=is_dead(owner))
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"application_name": application_name, "started_at": time.time()}))
    return previous


def release(home: Path) -> None:
    """Remove this process's record (a clean stop)."""
    path = home / RECORD
    with contextlib.suppress(OSError, ValueError, KeyError):
        owner = parse(str(json.loads(path.read_text())["application_name"]))
        if owner is not None and owner.pid == os.getpid():
            path.unlink()


def notes(previous: Previous | None, server_stopped: int | None, backends: list[Leftover]) -> list[str]:
    """The lines `local up` prints about what came before it."""
    lines = [GONE]
    if previous is not None and previous.killed:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(previous.started_at))
        lines.append(f"The previous stack (pid {previous.pid}, up since {since}) was not stopped cleanly.")
    if server_stopped is not None:
        lines.append(f"Stopped the PostgreSQL server (pid {server_stopped}) it left running; started afresh.")
    for left in backends:
        lines.append(
            f"Terminated its connection {left.backend_pid} ({left.state or 'unknown'}, "
            f"database {left.database}): {left.query}"
        )
    return lines
