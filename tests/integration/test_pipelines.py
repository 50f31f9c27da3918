"""Pipelines on the local stack: one durable execution per run, steps overlapping, failures, redrive."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from rsbatch.cli import main as cli
from rsbatch.local.faults import Faults
from rsbatch.local.stack import LocalStack, StackOptions
from rsbatch.local_run import operator_for
from rsbatch.operations import Operator, Started
from rsbatch.report import durable_operations, invocations
from rsbatch_core.models import RunRecord, RunStatus, RunSummary, StepStatus

ROOT = Path(__file__).resolve().parents[2]
SLEEPS = {"a": 0.3, "b": 1.5, "c": 1.5, "d": 0.3}


def manifest(name: str, **top: Any) -> dict[str, Any]:
    steps = {
        "a": {"sql": "pipe/a.sql"},
        "b": {"sql": "pipe/b.sql", "after": ["a"]},
        "c": {"sql": "pipe/c.sql", "after": ["a"]},
        "d": {"sql": "pipe/d.sql", "after": ["b", "c"]},
    }
    return {"name": name, "steps": steps, **top}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    home = Path(tmp_path_factory.mktemp("pipeline-home"))
    sql_root = home / "sql"
    shutil.copytree(ROOT / "sql", sql_root)
    (sql_root / "pipe").mkdir()
    for step, seconds in SLEEPS.items():
        (sql_root / "pipe" / f"{step}.sql").write_text(f"SELECT pg_sleep({seconds});\n")
    (sql_root / "pipe" / "fail.sql").write_text("SELECT pg_sleep(0.3);\nSELECT 1 / 0;\n")
    (sql_root / "pipe" / "param.sql").write_text("SELECT :region;\n")
    pipelines = home / "pipelines"
    pipelines.mkdir()
    failing = manifest("x")
    failing["steps"]["b"]["sql"] = "pipe/fail.sql"
    for name, body in {
        "diamond": manifest("diamond", max_parallel=4),
        "serial": manifest("serial", max_parallel=1),
        **{f"fails-{p}": {**failing, "name": f"fails-{p}", "on_failure": p} for p in POLICIES},
        "bad-file": {"name": "bad-file", "steps": {"a": {"sql": "pipe/nope.sql"}}},
        "needs-param": {"name": "needs-param", "steps": {"a": {"sql": "pipe/param.sql"}}},
        "long": {
            "name": "long",
            "steps": {"x": {"sql": "examples/sleep.sql"}, "y": {"sql": "examples/sleep.sql"}},
        },
    }.items():
        (pipelines / f"{name}.yaml").write_text(yaml.safe_dump(body))
    with LocalStack(StackOptions(home=home, sql_root=sql_root, pipeline_root=pipelines)) as local_stack:
        yield local_stack


POLICIES = ("stop", "finish-running", "continue-independent")


@pytest.fixture
def operator(stack: LocalStack) -> Iterator[Operator]:
    stack.set_faults(Faults())
    yield operator_for(stack)
    stack.set_faults(Faults())


def wait_end(operator: Operator, started: Started, timeout: float = 30) -> RunRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if operator.execution(started.execution_arn)["Status"] not in ("RUNNING", "PENDING"):
            record = operator.registry.get(started.run)
            assert record is not None
            return record
        time.sleep(0.05)
    raise TimeoutError(started.run)


def window(operator: Operator, run: str, step: str) -> tuple[float, float]:
    """The step's statement as the emulator timed it (CreatedAt, UpdatedAt of its last attempt)."""
    record = operator.registry.get(f"{run}.{step}")
    assert record is not None and record.summary is not None
    attempt = RunSummary.model_validate_json(record.summary).attempts[-1]
    assert attempt.started_at is not None and attempt.ended_at is not None
    return attempt.started_at, attempt.ended_at


def states(record: RunRecord) -> dict[str, StepStatus]:
    return {name: s.state for name, s in record.step_states().items()}


def test_diamond_runs_b_and_c_side_by_side_and_d_after_both(operator: Operator) -> None:
    started = operator.start_pipeline("diamond")
    record = wait_end(operator, started)

    assert record.status is RunStatus.SUCCEEDED, record.error
    assert set(states(record).values()) == {StepStatus.SUCCEEDED}
    a, b, c, d = (window(operator, started.run, s) for s in "abcd")
    assert b[0] >= a[1] and c[0] >= a[1]  # after A
    assert b[0] < c[1] and c[0] < b[1]  # B and C overlap in time
    assert d[0] >= max(b[1], c[1])  # D only after both
    history = operator.history(started.execution_arn)
    assert invocations(history) <= 6 and durable_operations(history) <= 24


def test_max_parallel_one_serializes(operator: Operator) -> None:
    started = operator.start_pipeline("serial")
    record = wait_end(operator, started)

    assert record.status is RunStatus.SUCCEEDED, record.error
    b, c = window(operator, started.run, "b"), window(operator, started.run, "c")
    assert b[1] <= c[0] or c[1] <= b[0]


@pytest.mark.parametrize("policy", POLICIES)
def test_failure_in_b_follows_the_policy_and_d_never_starts(operator: Operator, policy: str) -> None:
    started = operator.start_pipeline(f"fails-{policy}")
    record = wait_end(operator, started)

    assert record.status is RunStatus.FAILED
    assert record.error is not None and "step(s) b failed" in record.error
    got = states(record)
    assert got["b"] is StepStatus.FAILED and got["d"] is StepStatus.NOT_STARTED
    assert operator.registry.get(f"{started.run}.d") is None  # never submitted
    assert got["c"] is (StepStatus.CANCELLED if policy == "stop" else StepStatus.SUCCEEDED)


def test_redrive_reruns_b_and_d_only(operator: Operator, stack: LocalStack) -> None:
    first = operator.start_pipeline("fails-finish-running")
    failed = wait_end(operator, first)
    assert failed.status is RunStatus.FAILED
    # fix B, then redrive: A and C succeeded, so only B and D run
    (stack.options.sql_root / "pipe" / "fail.sql").write_text("SELECT pg_sleep(0.2);\n")
    try:
        again = operator.redrive(first.run)
        record = wait_end(operator, again)
    finally:
        (stack.options.sql_root / "pipe" / "fail.sql").write_text("SELECT pg_sleep(0.3);\nSELECT 1 / 0;\n")

    assert record.status is RunStatus.SUCCEEDED, record.error
    got = states(record)
    assert got == {
        "a": StepStatus.SKIPPED,
        "b": StepStatus.SUCCEEDED,
        "c": StepStatus.SKIPPED,
        "d": StepStatus.SUCCEEDED,
    }
    assert operator.registry.get(f"{again.run}.a") is None and operator.registry.get(f"{again.run}.c") is None
    info = record.pipeline_info()
    assert info is not None and info.redrive_of == first.run
    original = operator.registry.get(first.run)
    assert original is not None and original.redriven_by == again.run
    # `show` draws both runs' DAGs with the links; `runs --pipelines` lists them with their steps
    shown = CliRunner().invoke(cli, ["show", first.run], env=stack.env())
    assert shown.exit_code == 0, shown.output
    assert f"redriven by  {again.run}" in shown.output
    assert "✗ FAILED" in shown.output and "- NOT_STARTED" in shown.output
    shown = CliRunner().invoke(cli, ["show", again.run], env=stack.env())
    assert f"redrive of   {first.run}" in shown.output and "↷ SKIPPED" in shown.output
    listed = CliRunner().invoke(cli, ["runs", "--pipelines"], env=stack.env())
    assert listed.exit_code == 0 and again.run in listed.output and "a↷ b✓ c↷ d✓" in listed.output
    listed = CliRunner().invoke(cli, ["runs", "--pipelines", "--json"], env=stack.env())
    newest = json.loads(listed.output)["runs"][0]
    assert newest["run"] == again.run and newest["steps"]["b"]["state"] == "SUCCEEDED"


def test_dropped_events_still_complete_through_the_fallback(operator: Operator, stack: LocalStack) -> None:
    stack.set_faults(Faults(drop=1.0))
    started = operator.start_pipeline("diamond", callback_timeout=1)
    record = wait_end(operator, started, timeout=45)

    assert record.status is RunStatus.SUCCEEDED, record.error
    assert set(states(record).values()) == {StepStatus.SUCCEEDED}


def test_duplicate_events_do_not_start_a_step_twice(operator: Operator, stack: LocalStack) -> None:
    stack.set_faults(Faults(duplicate=2))
    started = operator.start_pipeline("diamond")
    record = wait_end(operator, started)

    assert record.status is RunStatus.SUCCEEDED, record.error
    assert all(s.attempts == 1 for s in record.step_states().values())
    history = operator.history(started.execution_arn)
    submits = [e for e in history if str(e.get("Name", "")).startswith("submit@")]
    assert len({e["Name"] for e in submits}) == 4


def test_bad_manifest_fails_before_anything_is_submitted(operator: Operator) -> None:
    started = operator.start_pipeline("bad-file")
    record = wait_end(operator, started)

    assert record.status is RunStatus.FAILED
    assert record.error is not None and "nope.sql" in record.error
    assert operator.registry.get(f"{started.run}.a") is None


@pytest.mark.parametrize(("name", "says"), [("bad-file", "nope.sql"), ("needs-param", ":region")])
def test_cli_refuses_a_bad_manifest_with_exit_2_and_submits_nothing(
    operator: Operator, stack: LocalStack, name: str, says: str
) -> None:
    before = len(operator.runs(None, None, 1000, pipelines=True).records)
    env = stack.env() | {
        "RSBATCH_SQL_ROOT": str(stack.options.sql_root),
        "RSBATCH_PIPELINE_ROOT": str(stack.options.pipeline_root),
    }

    result = CliRunner().invoke(cli, ["start", "--pipeline", name], env=env)

    assert result.exit_code == 2, result.output
    assert says in result.output
    assert len(operator.runs(None, None, 1000, pipelines=True).records) == before


def running_steps(operator: Operator, run: str, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = operator.registry.get(run)
        if record and sum(s.state is StepStatus.RUNNING for s in record.step_states().values()) == count:
            return
        time.sleep(0.05)
    raise TimeoutError(run)


@pytest.mark.parametrize("how", ["fail", "cancel"])
def test_fail_and_cancel_act_on_every_running_step(operator: Operator, how: str) -> None:
    started = operator.start_pipeline("long")
    running_steps(operator, started.run, 2)

    if how == "fail":
        operator.fail(started.run, "source data late", "OperatorFailed", False)
    else:
        operator.cancel(started.run)
    record = wait_end(operator, started)

    assert record.status is RunStatus.FAILED
    got = states(record)
    if how == "fail":  # a person's verdict: every running step cancelled
        assert got == {"x": StepStatus.CANCELLED, "y": StepStatus.CANCELLED}
        assert record.error is not None and "source data late" in record.error
    else:  # both statements cancelled: the first end seen fails, on_failure stop cancels the other
        assert set(got.values()) <= {StepStatus.FAILED, StepStatus.CANCELLED}
        assert StepStatus.FAILED in got.values()
        assert record.error is not None and "aborted" in record.error
