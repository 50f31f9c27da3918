"""The durable handler in worker processes: runs complete, invocations spread, bad settings refused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rsbatch.local.faults import Faults
from rsbatch.local.invocation_processes import INVOCATION_PROCESSES_ENV
from rsbatch.local.stack import LocalStack, StackOptions
from rsbatch.local_run import follow, operator_for
from rsbatch_core.errors import BadInputError

RUNS = 6


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    home = tmp_path_factory.mktemp("processes-home")
    with LocalStack(StackOptions(home=Path(home), invocation_processes=2)) as local_stack:
        yield local_stack


def test_runs_complete_with_invocations_in_two_worker_processes(stack: LocalStack) -> None:
    operator = operator_for(stack)
    started = [operator.start("query.sql", None, None) for _ in range(RUNS)]
    reports = [follow(operator, s, timeout=60, quiet=True).to_json() for s in started]

    assert [r["status"] for r in reports] == ["SUCCEEDED"] * RUNS, reports
    assert all(r["resumed_by"] == "event" for r in reports)
    assert stack.invocations is not None
    pids = set(stack.invocations.pids)
    assert len(pids) == 2 and os.getpid() not in pids
    served = stack.invocations.served_by()
    assert set(served) == pids and all(count > 0 for count in served.values()), served
    assert sum(served.values()) >= 2 * RUNS  # the start and the resume of every run


def test_crash_after_submit_is_refused_in_process_mode(stack: LocalStack) -> None:
    with pytest.raises(BadInputError, match="crash-after-submit"):
        stack.set_faults(Faults(crash_after_submit=1))
    stack.set_faults(Faults())


@pytest.mark.parametrize("value", ["two", "-1"])
def test_a_bad_process_count_is_refused_before_anything_starts(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(INVOCATION_PROCESSES_ENV, value)
    with pytest.raises(BadInputError, match=r"invocation processes|whole number"):
        LocalStack(StackOptions(home=tmp_path))
    assert not (tmp_path / "pg").exists()
