"""The pipeline's scheduling under the SDK's own test runner: critical path, the shared callback,
on_failure, max_parallel (Redshift faked; the local-stack tests run the same flow for real)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python_testing import DurableFunctionTestRunner

from rsbatch_core.models import PipelineRequest, RunRecord, StepStatus
from rsbatch_core.pipeline_flow import run_pipeline
from rsbatch_core.ports import Services
from rsbatch_core.registry import RunRegistry
from rsbatch_core.runkey import run_key
from rsbatch_core.settings import Settings
from rsbatch_core.sqlsource import SqlSource
from tests.unit.fakes import FakeRedshift

SLEEP = "examples/sleep_one.sql"


@pytest.fixture
def fake() -> FakeRedshift:
    return FakeRedshift()


@pytest.fixture
def pipelines(tmp_path: Path) -> Path:
    def write(name: str, steps: dict[str, list[str]], **top: Any) -> None:
        body = {"name": name, "steps": {s: {"sql": SLEEP, "after": a} for s, a in steps.items()}, **top}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(body))

    write("fork", {"a": [], "b": [], "c": ["a"]})
    write("fork-ci", {"a": [], "b": [], "c": ["a"]}, on_failure="continue-independent")
    write("one-at-a-time", {"a": [], "b": [], "c": []}, max_parallel=1)
    body = {"steps": {"a": {"sql": SLEEP, "retry": {"max_attempts": 2, "backoff_seconds": 1}}}}
    (tmp_path / "retried.yaml").write_text(yaml.safe_dump(body))
    return tmp_path


@pytest.fixture
def runner(
    registry: RunRegistry,
    fake: FakeRedshift,
    sql_root: Path,
    pipelines: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[DurableFunctionTestRunner]:
    monkeypatch.setenv("RSBATCH_WORKGROUP", "wg")
    monkeypatch.setenv("RSBATCH_PIPELINE_ROOT", str(pipelines))
    extra: dict[str, Any] = {"pipeline_root": pipelines} if "pipeline_root" in Settings.model_fields else {}
    settings = Settings(table="runs", sql_root=sql_root, max_callback_timeout_seconds=2, **extra)
    services = Services(settings=settings, registry=registry, redshift=fake, sql=SqlSource(sql_root))

    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        return run_pipeline(event, context, services)

    with DurableFunctionTestRunner(handler, skip_time=True) as test_runner:
        yield test_runner


def item(registry: RunRegistry, key: str, timeout: float = 10) -> RunRecord:
    """A step's registry item once it has a statement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = registry.get(key)
        if record is not None and record.statement_id:
            return record
        time.sleep(0.02)
    raise TimeoutError(key)


def wake(runner: DurableFunctionTestRunner, callback_id: str) -> None:
    """What the listener sends for any step's event: a wake-up of the round."""
    runner.send_callback_success(callback_id, b'{"decided_by": "redshift-event"}')


def test_a_step_starts_as_soon_as_its_after_succeeded_and_all_share_one_callback(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = runner.run_async(input=json.dumps({"pipeline": "fork"}), execution_timeout=60)
    run = run_key(arn)
    a, b = item(registry, f"{run}.a"), item(registry, f"{run}.b")
    assert a.callback_id == b.callback_id  # one callback for every running step of the round
    assert registry.get(f"{run}.c") is None

    fake.end(str(a.statement_id), "FINISHED")
    wake(runner, a.callback_id)
    c = item(registry, f"{run}.c")  # C starts while B still runs: critical path, not by level
    b_now = registry.get(f"{run}.b")
    assert b_now is not None and b_now.status.value == "WAITING"
    assert b_now.callback_id == c.callback_id != a.callback_id  # re-armed to the new round

    fake.end(str(b.statement_id), "FINISHED")
    fake.end(str(c.statement_id), "FINISHED")
    wake(runner, c.callback_id)
    result = runner.wait_for_result(arn, timeout=30)

    assert result.status.value == "SUCCEEDED", result.error
    assert fake.submits == 3
    pipeline = registry.get(run)
    assert pipeline is not None and pipeline.status.value == "SUCCEEDED"
    assert {s.state for s in pipeline.step_states().values()} == {StepStatus.SUCCEEDED}


def test_continue_independent_keeps_going_but_never_starts_a_failed_steps_downstream(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = runner.run_async(input=json.dumps({"pipeline": "fork-ci"}), execution_timeout=60)
    run = run_key(arn)
    a, b = item(registry, f"{run}.a"), item(registry, f"{run}.b")
    fake.end(str(a.statement_id), "FAILED", failing_index=1)
    wake(runner, a.callback_id)
    time.sleep(0.3)
    fake.end(str(b.statement_id), "FINISHED")
    wake(runner, str(registry.get(f"{run}.b").callback_id))  # type: ignore[union-attr]
    result = runner.wait_for_result(arn, timeout=30)

    assert result.status.value == "FAILED"
    assert result.error is not None and "step(s) a failed" in (result.error.message or "")
    pipeline = registry.get(run)
    assert pipeline is not None
    states = {n: s.state for n, s in pipeline.step_states().items()}
    assert states == {"a": StepStatus.FAILED, "b": StepStatus.SUCCEEDED, "c": StepStatus.NOT_STARTED}
    assert fake.submits == 2


def test_lost_events_are_survived_by_the_rounds_describe(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = runner.run_async(
        input=json.dumps({"pipeline": "one-at-a-time", "callback_timeout_seconds": 1}), execution_timeout=60
    )
    run = run_key(arn)
    for step in "abc":  # max_parallel 1: one at a time; no event is ever sent
        record = item(registry, f"{run}.{step}", timeout=30)
        assert sum(registry.get(f"{run}.{s}") is not None for s in "abc") == "abc".index(step) + 1
        fake.end(str(record.statement_id), "FINISHED")
    result = runner.wait_for_result(arn, timeout=60)

    assert result.status.value == "SUCCEEDED", result.error
    assert fake.submits == 3


def test_an_unknown_pipeline_is_refused_before_anything_is_submitted(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = runner.run_async(input=json.dumps({"pipeline": "nope"}), execution_timeout=60)
    result = runner.wait_for_result(arn, timeout=30)

    assert result.status.value == "FAILED"
    assert fake.submits == 0
    refused = registry.get(run_key(arn))
    assert refused is not None and refused.is_pipeline and refused.status.value == "FAILED"


@pytest.mark.parametrize(
    ("event", "run_date"),
    [
        ({"run_date": "2026-03-01"}, "2026-03-01"),
        ({"scheduled_time": "2026-03-01T23:30:00Z", "timezone": "Europe/Paris"}, "2026-03-02"),
        ({"scheduled_time": "2026-03-01T23:30:00Z"}, "2026-03-01"),
    ],
)
def test_run_date_is_the_scheduled_instants_date_in_the_schedules_zone(
    event: dict[str, Any], run_date: str
) -> None:
    from datetime import UTC, datetime

    request = PipelineRequest.parse({"pipeline": "x", **event})
    assert request.resolved_run_date(datetime(2030, 1, 1, tzinfo=UTC)) == run_date


def test_a_schedules_input_is_the_pipeline_input_the_function_reads(sql_root: Path) -> None:
    from datetime import UTC, datetime

    from rsbatch_core.pipeline import load_pipeline, schedule_input

    pipeline = load_pipeline(sql_root.parent / "pipelines", "mart_refresh", sql_root=sql_root)
    event = schedule_input(pipeline, pipeline.schedule[0])
    event["scheduled_time"] = "2026-03-01T23:30:00Z"  # what Scheduler puts for the placeholder

    request = PipelineRequest.parse(event)
    assert request.resolved_run_date(datetime(2030, 1, 1, tzinfo=UTC)) == "2026-03-02"  # Europe/Paris


def test_a_step_that_lost_a_conflict_runs_again_as_a_new_attempt(
    runner: DurableFunctionTestRunner, fake: FakeRedshift, registry: RunRegistry
) -> None:
    arn = runner.run_async(input=json.dumps({"pipeline": "retried"}), execution_timeout=60)
    run = run_key(arn)
    first = item(registry, f"{run}.a")
    conflict = "ERROR: 1023 DETAIL: Serializable isolation violation on table - 100, transactions 1, 2"
    fake.end(str(first.statement_id), "FAILED", failing_index=1, error=conflict)
    wake(runner, first.callback_id)
    deadline = time.monotonic() + 20
    while fake.submits < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    second = item(registry, f"{run}.a")
    assert fake.submits == 2 and second.statement_id != first.statement_id
    fake.end(str(second.statement_id), "FINISHED")
    wake(runner, second.callback_id)
    result = runner.wait_for_result(arn, timeout=30)

    assert result.status.value == "SUCCEEDED", result.error
    pipeline = registry.get(run)
    assert pipeline is not None and pipeline.step_states()["a"].attempts == 2
