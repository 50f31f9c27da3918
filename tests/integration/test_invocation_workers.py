"""The durable runtime runs as many handler invocations at once as it is given workers.

The SDK runner's own pool has ``min(32, cpu_count + 4)`` threads (6 on a 2-core machine), so a
burst of runs queued for a thread (bench: resume p50 3.4-5 s for 200 runs). Each execution
here blocks in its handler until ``PARTIES`` invocations are in flight together: with the
runtime's workers all reach the barrier, and with fewer workers than parties none could.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_durable_execution_sdk_python import DurableContext, durable_execution

from rsbatch.local.durable_runtime import (
    DEFAULT_INVOCATION_SLOTS,
    DEFAULT_INVOCATION_WORKERS,
    INVOCATION_SLOTS_ENV,
    INVOCATION_WORKERS_ENV,
    REGION,
    DurableRuntime,
)
from rsbatch_core.errors import BadInputError

#: More than the SDK's default pool on any machine with fewer than 8 cores.
PARTIES = 12
FUNCTION = "barrier-fn"
_barrier = threading.Barrier(PARTIES, timeout=10)


@durable_execution
def meet(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Wait inside the handler until PARTIES invocations are running at once."""
    try:
        _barrier.wait()
    except threading.BrokenBarrierError:
        return {"met": False}
    return {"met": True}


@pytest.fixture
def runtime() -> Iterator[DurableRuntime]:
    # No gate: this test is about the pool's threads (the gate's own rules: unit tests).
    served = DurableRuntime(meet, function_name=FUNCTION, invocation_workers=PARTIES, invocation_slots=0)
    try:
        yield served
    finally:
        served.stop()


def test_as_many_invocations_at_once_as_workers(runtime: DurableRuntime) -> None:
    client = boto3.client(
        "lambda",
        endpoint_url=runtime.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    arns = [
        client.invoke(FunctionName=FUNCTION, InvocationType="Event", Payload=b"{}")["DurableExecutionArn"]
        for _ in range(PARTIES)
    ]
    results = []
    for arn in arns:
        assert runtime.wait(arn, timeout=30)
        results.append(json.loads(client.get_durable_execution(DurableExecutionArn=arn)["Result"]))
    assert results == [{"met": True}] * PARTIES


def test_default_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(INVOCATION_WORKERS_ENV, raising=False)
    served = DurableRuntime(meet, function_name=FUNCTION)
    try:
        assert served.invocation_workers == DEFAULT_INVOCATION_WORKERS
    finally:
        served.stop()
    monkeypatch.setenv(INVOCATION_WORKERS_ENV, "7")
    served = DurableRuntime(meet, function_name=FUNCTION)
    try:
        assert served.invocation_workers == 7
    finally:
        served.stop()


@pytest.mark.parametrize(("env", "given"), [("many", None), ("", 0), ("-3", None)])
def test_bad_worker_counts_are_refused(monkeypatch: pytest.MonkeyPatch, env: str, given: int | None) -> None:
    monkeypatch.setenv(INVOCATION_WORKERS_ENV, env)
    with pytest.raises(BadInputError, match=r"whole number|at least 1"):
        DurableRuntime(meet, function_name=FUNCTION, invocation_workers=given)


def test_the_gate_is_on_by_default_and_the_environment_sizes_or_removes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(INVOCATION_SLOTS_ENV, raising=False)
    for env, slots in [(None, DEFAULT_INVOCATION_SLOTS), ("32", 32), ("0", None)]:
        if env is not None:
            monkeypatch.setenv(INVOCATION_SLOTS_ENV, env)
        served = DurableRuntime(meet, function_name=FUNCTION)
        try:
            gate = served.invocation_gate
            assert (gate.slots if gate else None) == slots
        finally:
            served.stop()


@pytest.mark.parametrize("env", ["some", "-1", "2.5"])
def test_bad_slot_counts_are_refused(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv(INVOCATION_SLOTS_ENV, env)
    with pytest.raises(BadInputError, match=rf"{INVOCATION_SLOTS_ENV}|at least 0"):
        DurableRuntime(meet, function_name=FUNCTION)
