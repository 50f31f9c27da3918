"""The local durable runtime answers the Lambda calls rsbatch makes as botocore's lambda model says.

A small durable function runs under ``DurableRuntime`` (the SDK's runner behind its web server,
plus rsbatch's Invoke route); plain boto3 calls it over HTTP the way the CLI and the listener
do, and each raw response (status, headers, body, before botocore parses it) is checked
against the operation's output shape, or its errors against the model's list.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration
from botocore.config import Config
from botocore.exceptions import ClientError

from rsbatch.local.durable_runtime import DurableRuntime
from tests.contract.conftest import service_model
from tests.contract.documented import COMMON_ERRORS
from tests.contract.recording import Exchange, Recorder
from tests.contract.shapes import error_code_of, error_violations, output_violations

#: Every Lambda operation rsbatch calls on the local runtime: the CLI (operations.py), the
#: listener and reconcile (callbacks.py, executions.py).
OPERATIONS = (
    "Invoke",
    "ListDurableExecutionsByFunction",
    "GetDurableExecution",
    "GetDurableExecutionHistory",
    "SendDurableExecutionCallbackSuccess",
    "SendDurableExecutionCallbackFailure",
)


NEVER_STARTED = "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:1/durable-execution/none/0"

#: A known deviation, tested on its own below: the SDK testing runner names executions
#: ``<uuid>/<uuid>``, not with Lambda's durable-execution ARN.
ARN_MEMBERS = ("DurableExecutionArn",)


def known_deviation(problem: str) -> bool:
    return any(f".{member}" in problem and "does not match" in problem for member in ARN_MEMBERS)


@durable_execution
def waits_for_callbacks(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Answers at once (``quick``), fails (``boom``), or waits for a callback (the run's shape)."""
    if event.get("quick"):
        return {"ok": True}
    if event.get("boom"):
        raise ValueError("boom")
    callback = context.create_callback("wait-1", CallbackConfig(timeout=Duration.from_seconds(60)))
    return {"result": callback.result()}


def callback_ids(lambda_: Any, arn: str) -> list[str]:
    """The callback ids of an execution, from its history (CallbackStarted events)."""
    for _ in range(200):
        events = lambda_.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
        ids = [e["Id"] for e in events if e.get("EventType") == "CallbackStarted"]
        found = [
            e["CallbackStartedDetails"]["CallbackId"]
            for e in events
            if e.get("EventType") == "CallbackStarted" and "CallbackStartedDetails" in e
        ]
        if ids:
            return found
        time.sleep(0.02)
    raise AssertionError("the execution never created its callback")


def wait_ended(lambda_: Any, arn: str) -> str:
    for _ in range(300):
        status = str(lambda_.get_durable_execution(DurableExecutionArn=arn)["Status"])
        if status != "RUNNING":
            return status
        time.sleep(0.02)
    raise AssertionError("the execution never ended")


def _scenario(lambda_: Any, function: str) -> None:
    # rsbatch start: an asynchronous, named Invoke; the name is then listed.
    started = lambda_.invoke(
        FunctionName=function, InvocationType="Event", Payload=b"{}", DurableExecutionName="contract-1"
    )
    arn = started["DurableExecutionArn"]
    lambda_.list_durable_executions_by_function(FunctionName=function, DurableExecutionName="contract-1")
    lambda_.get_durable_execution(DurableExecutionArn=arn)
    (callback,) = callback_ids(lambda_, arn)
    lambda_.send_durable_execution_callback_success(CallbackId=callback, Result=b'{"decided_by": "person"}')
    wait_ended(lambda_, arn)
    lambda_.get_durable_execution_history(DurableExecutionArn=arn)
    # A second run failed by hand, then both callbacks sent again: the run has resumed.
    second = lambda_.invoke(FunctionName=function, InvocationType="Event", Payload=b"{}")[
        "DurableExecutionArn"
    ]
    (other,) = callback_ids(lambda_, second)
    error = {"ErrorType": "Manual", "ErrorMessage": "failed by hand", "ErrorData": "{}"}
    lambda_.send_durable_execution_callback_failure(CallbackId=other, Error=error)
    wait_ended(lambda_, second)
    with contextlib.suppress(ClientError):
        lambda_.send_durable_execution_callback_success(CallbackId=callback, Result=b"{}")
    with contextlib.suppress(ClientError):
        lambda_.send_durable_execution_callback_failure(CallbackId=other, Error=error)
    # An operator action: a synchronous Invoke, answered and failed.
    lambda_.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=b'{"quick": true}')
    lambda_.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=b'{"boom": true}')
    # A function it does not serve, an execution it never had.
    with contextlib.suppress(ClientError):
        lambda_.invoke(FunctionName="someone-else", InvocationType="Event", Payload=b"{}")
    with contextlib.suppress(ClientError):
        lambda_.get_durable_execution(DurableExecutionArn=NEVER_STARTED)


@pytest.fixture(scope="module")
def exchanges() -> Iterator[dict[str, list[Exchange]]]:
    runtime = DurableRuntime(waits_for_callbacks, function_name="rsbatch-durable")
    recorder = Recorder()
    try:
        lambda_ = boto3.client(
            "lambda",
            endpoint_url=runtime.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="contract",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )
        lambda_.meta.events.register("before-parse.lambda", recorder)
        _scenario(lambda_, runtime.function_arn + ":$LATEST")  # the one version served
    finally:
        runtime.stop()
    yield recorder.by_operation()


@pytest.mark.parametrize("operation", OPERATIONS)
def test_successful_responses_have_the_output_shape(
    operation: str, exchanges: dict[str, list[Exchange]]
) -> None:
    model = service_model("lambda").operation_model(operation)
    answered = [e for e in exchanges.get(operation, []) if e.status < 300]
    assert answered, f"no successful {operation} was recorded"
    body_is_payload = operation == "Invoke"  # Invoke's body is the function's own result
    problems = [
        p for e in answered for p in output_violations(model, {} if body_is_payload else e.body, e.headers)
    ]
    assert [p for p in problems if not known_deviation(p)] == []


@pytest.mark.parametrize("operation", OPERATIONS)
def test_errors_are_the_operations_own(operation: str, exchanges: dict[str, list[Exchange]]) -> None:
    model = service_model("lambda").operation_model(operation)
    failed = [e for e in exchanges.get(operation, []) if e.status >= 400]
    problems = [
        p
        for e in failed
        for p in error_violations(model, e.status, e.body, e.headers, also_allowed=COMMON_ERRORS)
    ]
    assert problems == []


def test_the_scenario_reaches_the_errors_rsbatch_handles(exchanges: dict[str, list[Exchange]]) -> None:
    codes = {
        (e.operation, error_code_of(e.body, e.headers))
        for ex in exchanges.values()
        for e in ex
        if e.status >= 400
    }
    assert ("Invoke", "ResourceNotFoundException") in codes
    assert ("GetDurableExecution", "ResourceNotFoundException") in codes
    closed = {c for op, c in codes if op.startswith("SendDurableExecutionCallback")}
    assert closed, "a callback sent twice must be refused"


def test_a_failed_sync_invoke_says_so_in_its_header(exchanges: dict[str, list[Exchange]]) -> None:
    invokes = [e for e in exchanges["Invoke"] if e.status == 200]
    errors = [{k.lower(): v for k, v in e.headers.items()}.get("x-amz-function-error") for e in invokes]
    assert errors.count("Unhandled") == 1


def test_execution_arns_have_lambdas_format(exchanges: dict[str, list[Exchange]]) -> None:
    model = service_model("lambda").operation_model("GetDurableExecution")
    answered = [e for e in exchanges["GetDurableExecution"] if e.status == 200]
    assert [p for e in answered for p in output_violations(model, e.body) if known_deviation(p)] == []
