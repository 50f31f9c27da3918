"""The local Lambda endpoint answers boto3 as AWS does: error codes, filters, names, ARNs.

One small durable function (a callback, then its result) behind a real
`DurableRuntime`, reached by plain boto3 over HTTP. The facts checked come
from botocore's lambda model: each operation's error codes, the
`DurableExecutionArn` pattern, the `Statuses` filter, Invoke's
`DurableExecutionName` (and AWS's idempotency page for a reused name).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration
from botocore.config import Config
from botocore.exceptions import ClientError

from rsbatch.local.durable_runtime import ACCOUNT_ID, REGION, DurableRuntime
from rsbatch.local.lambda_errors import operation_errors, service_model

FUNCTION = "probe-fn"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{FUNCTION}"


@durable_execution
def probe(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Wait on one callback (timeout from the input), then return what it carried."""
    callback = context.create_callback(
        "wait", CallbackConfig(timeout=Duration.from_seconds(int(event.get("timeout", 60))))
    )
    return {"result": callback.result()}


@pytest.fixture(scope="module")
def runtime() -> Iterator[DurableRuntime]:
    served = DurableRuntime(probe, function_name=FUNCTION, execution_timeout_seconds=120)
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def lambda_(runtime: DurableRuntime) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=runtime.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def start(lambda_: Any, payload: dict[str, Any] | None = None, name: str | None = None) -> str:
    extra = {"DurableExecutionName": name} if name else {}
    response = lambda_.invoke(
        FunctionName=FUNCTION, InvocationType="Event", Payload=json.dumps(payload or {}).encode(), **extra
    )
    assert response["StatusCode"] == 202
    return str(response["DurableExecutionArn"])


def callback_id(lambda_: Any, arn: str) -> str:
    """The callback id once the execution has created it (from its history, as AWS shows it)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for event in lambda_.get_durable_execution_history(DurableExecutionArn=arn)["Events"]:
            if event.get("CallbackStartedDetails"):
                return str(event["CallbackStartedDetails"]["CallbackId"])
        time.sleep(0.05)
    raise AssertionError("no callback started")


def ended(lambda_: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        execution: dict[str, Any] = lambda_.get_durable_execution(DurableExecutionArn=arn)
        if execution["Status"] != "RUNNING":
            return execution
        time.sleep(0.05)
    raise AssertionError("execution did not end")


def error_of(call: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value


def code_of(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def test_execution_arns_have_awss_shape_and_name(lambda_: Any) -> None:
    arn = start(lambda_, name="shape-check")
    assert re.fullmatch(service_model().shape_for("DurableExecutionArn").metadata["pattern"], arn)
    assert arn.startswith(f"{FUNCTION_ARN}:$LATEST/durable-execution/shape-check/")
    execution = lambda_.get_durable_execution(DurableExecutionArn=arn)
    assert execution["DurableExecutionName"] == "shape-check"
    assert execution["FunctionArn"] == f"{FUNCTION_ARN}:$LATEST"


@pytest.mark.parametrize(
    "function",
    [
        FUNCTION,
        f"{FUNCTION}:$LATEST",
        FUNCTION_ARN,
        f"{FUNCTION_ARN}:$LATEST",
        f"{ACCOUNT_ID}:function:{FUNCTION}",
    ],
)
def test_the_function_is_found_by_name_or_arn(lambda_: Any, function: str) -> None:
    response = lambda_.invoke(FunctionName=function, InvocationType="DryRun", Payload=b"{}")
    assert response["StatusCode"] == 204
    assert "DurableExecutions" in lambda_.list_durable_executions_by_function(FunctionName=function)


@pytest.mark.parametrize(
    "function",
    ["other-fn", f"{FUNCTION}:live", f"arn:aws:lambda:eu-west-1:{ACCOUNT_ID}:function:{FUNCTION}"],
)
def test_another_function_is_resource_not_found(lambda_: Any, function: str) -> None:
    invoke = error_of(lambda_.invoke, FunctionName=function, InvocationType="Event", Payload=b"{}")
    listing = error_of(lambda_.list_durable_executions_by_function, FunctionName=function)
    for error in (invoke, listing):
        assert code_of(error) == "ResourceNotFoundException"
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert error.response["Type"] == "User"  # the modelled member, as AWS fills it


def test_the_same_name_and_payload_return_the_existing_execution(lambda_: Any) -> None:
    first = start(lambda_, {"timeout": 60}, name="idempotent")
    assert start(lambda_, {"timeout": 60}, name="idempotent") == first
    listed = lambda_.list_durable_executions_by_function(
        FunctionName=FUNCTION, DurableExecutionName="idempotent"
    )
    assert [e["DurableExecutionArn"] for e in listed["DurableExecutions"]] == [first]


def test_the_same_name_with_another_payload_is_already_started(lambda_: Any) -> None:
    start(lambda_, {"timeout": 60}, name="taken")
    error = error_of(
        lambda_.invoke, FunctionName=FUNCTION, InvocationType="Event", Payload=b'{"timeout": 61}',
        DurableExecutionName="taken",
    )  # fmt: skip
    assert code_of(error) == "DurableExecutionAlreadyStartedException"
    assert code_of(error) in operation_errors("Invoke")
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 409


@pytest.mark.parametrize("name", ["bad name!", "x" * 65])
def test_a_bad_execution_name_is_refused(lambda_: Any, name: str) -> None:
    error = error_of(
        lambda_.invoke, FunctionName=FUNCTION, InvocationType="Event", Payload=b"{}",
        DurableExecutionName=name,
    )  # fmt: skip
    assert code_of(error) == "InvalidParameterValueException"


def test_a_payload_that_is_not_json_is_invalid_request_content(lambda_: Any) -> None:
    error = error_of(lambda_.invoke, FunctionName=FUNCTION, InvocationType="Event", Payload=b"not json")
    assert code_of(error) == "InvalidRequestContentException"


def test_statuses_filter_the_listing(lambda_: Any) -> None:
    running = start(lambda_, {"timeout": 60})
    done = start(lambda_, {"timeout": 60})
    lambda_.send_durable_execution_callback_success(CallbackId=callback_id(lambda_, done), Result=b'"ok"')
    assert ended(lambda_, done)["Status"] == "SUCCEEDED"

    def listed(**filters: Any) -> list[str]:
        page = lambda_.list_durable_executions_by_function(FunctionName=FUNCTION, **filters)
        return [e["DurableExecutionArn"] for e in page["DurableExecutions"]]

    succeeded = listed(Statuses=["SUCCEEDED"])
    assert done in succeeded and running not in succeeded
    both = listed(Statuses=["SUCCEEDED", "RUNNING"], MaxItems=1000)
    assert {done, running} <= set(both)
    assert both.index(done) < both.index(running)  # newest first unless ReverseOrder
    oldest_first = listed(Statuses=["SUCCEEDED", "RUNNING"], ReverseOrder=True, MaxItems=1000)
    assert oldest_first.index(running) < oldest_first.index(done)
    error = error_of(lambda_.list_durable_executions_by_function, FunctionName=FUNCTION, Statuses=["WAITING"])
    assert code_of(error) == "InvalidParameterValueException"


def test_the_listing_pages_with_markers(lambda_: Any) -> None:
    arns = {start(lambda_, {"timeout": 60}) for _ in range(3)}
    seen: list[str] = []
    kwargs: dict[str, Any] = {"FunctionName": FUNCTION, "MaxItems": 2}
    while True:
        page = lambda_.list_durable_executions_by_function(**kwargs)
        assert len(page["DurableExecutions"]) <= 2
        seen += [e["DurableExecutionArn"] for e in page["DurableExecutions"]]
        if "NextMarker" not in page:
            break
        kwargs["Marker"] = page["NextMarker"]
    assert arns <= set(seen) and len(seen) == len(set(seen))


@pytest.mark.parametrize("operation", ["success", "failure"])
def test_a_bogus_callback_id_is_invalid_parameter_value(lambda_: Any, operation: str) -> None:
    for bogus in ("bm90LWEtdG9rZW4=", "not a callback id!"):  # base64 of "not-a-token", and not base64
        if operation == "success":
            error = error_of(lambda_.send_durable_execution_callback_success, CallbackId=bogus, Result=b"{}")
        else:
            error = error_of(lambda_.send_durable_execution_callback_failure, CallbackId=bogus, Error={})
        assert code_of(error) == "InvalidParameterValueException"
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_callback_of_an_unknown_execution_is_resource_not_found(lambda_: Any) -> None:
    arn = start(lambda_, {"timeout": 60})
    real = callback_id(lambda_, arn)
    token = json.loads(base64.b64decode(real))  # the runner's token names its execution
    token["arn"] = arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    foreign = base64.b64encode(json.dumps(token, separators=(",", ":")).encode()).decode()
    error = error_of(lambda_.send_durable_execution_callback_success, CallbackId=foreign, Result=b"{}")
    assert code_of(error) == "ResourceNotFoundException"


def test_a_closed_or_timed_out_callback_is_callback_timeout(lambda_: Any) -> None:
    arn = start(lambda_, {"timeout": 60})
    cb = callback_id(lambda_, arn)
    lambda_.send_durable_execution_callback_success(CallbackId=cb, Result=b'"first"')
    again = error_of(lambda_.send_durable_execution_callback_success, CallbackId=cb, Result=b'"second"')
    assert code_of(again) == "CallbackTimeoutException"
    assert json.loads(ended(lambda_, arn)["Result"]) == {"result": '"first"'}  # the first send won

    timed_out = start(lambda_, {"timeout": 1})
    late = callback_id(lambda_, timed_out)
    ended(lambda_, timed_out)
    error = error_of(lambda_.send_durable_execution_callback_failure, CallbackId=late, Error={})
    assert code_of(error) == "CallbackTimeoutException"
    assert code_of(error) in operation_errors("SendDurableExecutionCallbackFailure")


def test_a_failure_callback_keeps_its_error_type_and_data(lambda_: Any) -> None:
    arn = start(lambda_, {"timeout": 60})
    lambda_.send_durable_execution_callback_failure(
        CallbackId=callback_id(lambda_, arn),
        Error={"ErrorType": "SourceLate", "ErrorMessage": "source data late", "ErrorData": '{"by": "ana"}'},
    )
    execution = ended(lambda_, arn)
    assert execution["Status"] == "FAILED"
    history = lambda_.get_durable_execution_history(DurableExecutionArn=arn, IncludeExecutionData=True)
    failed = [e["CallbackFailedDetails"] for e in history["Events"] if e.get("CallbackFailedDetails")]
    assert failed[0]["Error"]["Payload"] == {
        "ErrorType": "SourceLate",
        "ErrorMessage": "source data late",
        "ErrorData": '{"by": "ana"}',
    }
    assert execution["Error"]["ErrorMessage"] == "source data late"


@pytest.mark.parametrize(
    "call",
    ["get_durable_execution", "get_durable_execution_history", "stop_durable_execution"],
)
def test_execution_routes_refuse_a_bad_arn_and_miss_an_unknown_one(lambda_: Any, call: str) -> None:
    bad = error_of(getattr(lambda_, call), DurableExecutionArn="not-an-arn")
    assert code_of(bad) == "InvalidParameterValueException"
    unknown = f"{FUNCTION_ARN}:$LATEST/durable-execution/nobody/00000000-0000-0000-0000-000000000000"
    missing = error_of(getattr(lambda_, call), DurableExecutionArn=unknown)
    assert code_of(missing) == "ResourceNotFoundException"
