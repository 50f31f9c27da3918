"""What a new local stack says about the one before it (rsbatch.local.restart)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rsbatch.local import restart
from rsbatch.local.redshift_data import leftovers


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_a_killed_stack_is_named_with_what_was_cleaned_up(tmp_path: Path) -> None:
    dead = _dead_pid()
    assert restart.take_over(tmp_path, leftovers.application_name(dead)) is None  # the first stack
    previous = restart.take_over(tmp_path, leftovers.application_name())  # it never released

    assert previous is not None and (previous.pid, previous.killed) == (dead, True)
    left = leftovers.Leftover(4242, dead, "dev", "active", "SELECT pg_sleep(600)")
    notes = restart.notes(previous, 777, [left])
    assert notes[0] == restart.GONE
    assert f"pid {dead}" in notes[1] and "not stopped cleanly" in notes[1]
    assert "pid 777" in notes[2]
    assert "4242" in notes[3] and "SELECT pg_sleep(600)" in notes[3]


def test_a_stack_stopped_cleanly_leaves_no_record(tmp_path: Path) -> None:
    restart.take_over(tmp_path, leftovers.application_name())
    restart.release(tmp_path)
    assert restart.take_over(tmp_path, leftovers.application_name()) is None
    assert restart.notes(None, None, []) == [restart.GONE]


def test_an_application_name_names_its_owner() -> None:
    name = leftovers.application_name()
    owner = leftovers.parse(name)
    assert len(name.encode()) <= 63  # PostgreSQL truncates longer names (NAMEDATALEN - 1)
    assert owner is not None and not leftovers.is_dead(owner)
    assert leftovers.parse("rsbatch-redshift-data") is None  # an older stack's: owner unknown
    dead = leftovers.parse(leftovers.application_name(_dead_pid()))
    assert dead is not None and leftovers.is_dead(dead)
