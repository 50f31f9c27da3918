"""Tests of rsbatch.operations: option parsing and the Operator against a stubbed Lambda API."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from rsbatch.config import Target
from rsbatch.operations import (
    Operator,
    OperatorError,
    RunOptions,
    Started,
    parse_duration,
    parse_params,
    unqualified,
)
from rsbatch_core.errors import BadInputError
from rsbatch_core.models import ResumedBy, RunRecord, RunStatus, RunSummary
from rsbatch_core.registry import RunRegistry
from rsbatch_core.runkey import run_key

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:live"
UNQUALIFIED = "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable"
ARN = f"{FUNCTION}/durable-execution/nightly/0b7c4f5e-1d2a-4b3c-9e8f-7a6b5c4d3e2f"
RUN = run_key(ARN)


# -- parse_params --------------------------------------------------------------------------------


def test_parse_params() -> None:
    assert parse_params(()) == {}
    assert parse_params(("day=2026-03-01", "region=eu")) == {"day": "2026-03-01", "region": "eu"}
    assert parse_params(["expr=a=b", "empty="]) == {"expr": "a=b", "empty": ""}


@pytest.mark.parametrize("pair", ["day", "=2026", ""])
def test_parse_params_needs_name_equals_value(pair: str) -> None:
    with pytest.raises(BadInputError, match="NAME=VALUE"):
        parse_params(("ok=1", pair))


def test_parse_params_refuses_a_repeated_name() -> None:
    with pytest.raises(BadInputError, match="day"):
        parse_params(("day=1", "day=2"))


# -- parse_duration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("45", timedelta(seconds=45)),
        (" 3H ", timedelta(hours=3)),
        ("0s", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "m", "ten minutes", "10x", "1.5h", "-5m", "10 m", "h2"])
def test_parse_duration_refuses_bad_text(text: str) -> None:
    with pytest.raises(BadInputError, match="duration"):
        parse_duration(text)


# -- RunOptions.payload --------------------------------------------------------------------------


def test_default_options_add_nothing() -> None:
    assert RunOptions().payload() == {}


def test_options_payload_names_only_what_differs_from_the_defaults() -> None:
    assert RunOptions(execution_mode="AUTO_COMMIT").payload() == {"execution_mode": "AUTO_COMMIT"}
    assert RunOptions(max_rows=0).payload() == {"max_rows": 0}  # zero rows is a choice, not a default
    assert RunOptions(results="all", result_format="CSV").payload() == {
        "results": "all",
        "result_format": "CSV",
    }
    assert RunOptions(parameters={"day": "1"}, session_keep_alive=300).payload() == {
        "parameters": {"day": "1"},
        "session_keep_alive_seconds": 300,
    }


# -- Operator against a stubbed Lambda -----------------------------------------------------------


@pytest.fixture
def operator(registry: RunRegistry) -> Iterator[tuple[Operator, Stubber]]:
    """An Operator built from a Target as the CLI builds it; its registry is moto's `runs` table."""
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    op = Operator(Target(session=session, table="runs", function=FUNCTION))
    op.invoker = op.lambda_  # one stubbed client answers the actions' Invokes too
    with Stubber(op.lambda_) as stubber:
        yield op, stubber
        stubber.assert_no_pending_responses()


def sent_payloads(op: Operator) -> list[dict[str, Any]]:
    """Every Invoke's Payload, decoded, in the order sent."""
    payloads: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        payloads.append(json.loads(params["Payload"]))

    op.lambda_.meta.events.register("provide-client-params.lambda.Invoke", capture)
    return payloads


def invoke_response(body: dict[str, Any]) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw)), "ExecutedVersion": "7"}


def waiting_run(registry: RunRegistry, statement_id: str | None = "st-1") -> RunRecord:
    record = RunRecord(run_key=RUN, callback_id="cb-1", execution_arn=ARN, sql_file="q.sql")
    registry.register(record)
    if statement_id:
        registry.set_statement(RUN, statement_id)
    return record


def finished_run(registry: RunRegistry) -> None:
    waiting_run(registry)
    registry.finish(
        RunSummary(
            run=RUN,
            status=RunStatus.SUCCEEDED,
            execution_arn=ARN,
            statement_id="st-1",
            sql_file="q.sql",
            resumed_by=ResumedBy.EVENT,
        )
    )


def test_start_invokes_async_with_the_run_input_and_name(operator: tuple[Operator, Stubber]) -> None:
    op, stubber = operator
    payloads = sent_payloads(op)
    stubber.add_response(
        "list_durable_executions_by_function",
        {"DurableExecutions": []},
        {"FunctionName": UNQUALIFIED, "DurableExecutionName": "nightly"},
    )
    stubber.add_response(
        "invoke",
        {"StatusCode": 202, "DurableExecutionArn": ARN},
        {
            "FunctionName": FUNCTION,
            "InvocationType": "Event",
            "Payload": ANY,
            "DurableExecutionName": "nightly",
        },
    )
    started = op.start(
        "daily/refresh.sql",
        "nightly",
        1800,
        RunOptions(parameters={"day": "1"}, execution_mode="AUTO_COMMIT"),
    )
    assert started == Started(run=RUN, execution_arn=ARN, new=True)
    assert started.run.startswith("rsbatch-")
    assert payloads == [
        {
            "sql_file": "daily/refresh.sql",
            "callback_timeout_seconds": 1800,
            "parameters": {"day": "1"},
            "execution_mode": "AUTO_COMMIT",
        }
    ]


def test_start_without_a_name_does_not_look_up_or_name_the_execution(
    operator: tuple[Operator, Stubber],
) -> None:
    op, stubber = operator
    payloads = sent_payloads(op)
    stubber.add_response(
        "invoke",
        {"StatusCode": 202, "DurableExecutionArn": ARN},
        {"FunctionName": FUNCTION, "InvocationType": "Event", "Payload": ANY},
    )
    assert op.start(["only.sql"], None, None).new
    assert payloads == [{"sql_file": "only.sql"}]


def test_start_of_several_files_is_a_chain(operator: tuple[Operator, Stubber]) -> None:
    op, stubber = operator
    payloads = sent_payloads(op)
    stubber.add_response(
        "invoke",
        {"StatusCode": 202, "DurableExecutionArn": ARN},
        {"FunctionName": FUNCTION, "InvocationType": "Event", "Payload": ANY},
    )
    op.start(["a.sql", "b.sql"], None, None, RunOptions(session_keep_alive=600))
    assert payloads == [{"batches": ["a.sql", "b.sql"], "session_keep_alive_seconds": 600}]


def existing_execution(stubber: Stubber) -> None:
    stubber.add_response(
        "list_durable_executions_by_function",
        {
            "DurableExecutions": [
                {
                    "DurableExecutionArn": ARN,
                    "DurableExecutionName": "nightly",
                    "FunctionArn": FUNCTION,
                    "Status": "RUNNING",
                    "StartTimestamp": 1772359200,
                }
            ]
        },
        {"FunctionName": UNQUALIFIED, "DurableExecutionName": "nightly"},
    )


def test_start_with_an_existing_name_and_the_same_input_reports_that_run(
    operator: tuple[Operator, Stubber],
) -> None:
    op, stubber = operator
    existing_execution(stubber)
    # Lambda answers an identical invoke with the execution it already started.
    stubber.add_response("invoke", {"StatusCode": 202, "DurableExecutionArn": ARN})
    assert op.start("q.sql", "nightly", None) == Started(run=RUN, execution_arn=ARN, new=False)


def test_start_with_an_existing_name_and_another_input_names_the_run_and_starts_nothing(
    operator: tuple[Operator, Stubber],
) -> None:
    op, stubber = operator
    existing_execution(stubber)
    stubber.add_client_error(
        "invoke", service_error_code="DurableExecutionAlreadyStartedException", http_status_code=409
    )
    with pytest.raises(OperatorError, match="already started") as raised:
        op.start("other.sql", "nightly", None)
    assert RUN in str(raised.value) and ARN in str(raised.value)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (FUNCTION, UNQUALIFIED),
        (UNQUALIFIED, UNQUALIFIED),
        ("rsbatch-durable:live", "rsbatch-durable"),
        ("rsbatch-durable", "rsbatch-durable"),
        ("123456789012:function:rsbatch-durable:7", "123456789012:function:rsbatch-durable"),
    ],
)
def test_the_name_is_looked_up_on_every_version_of_the_function(function: str, expected: str) -> None:
    assert unqualified(function) == expected


def test_start_of_a_function_that_is_not_durable(operator: tuple[Operator, Stubber]) -> None:
    op, stubber = operator
    stubber.add_response(
        "invoke", {"StatusCode": 202}, {"FunctionName": FUNCTION, "InvocationType": "Event", "Payload": ANY}
    )
    with pytest.raises(OperatorError, match="DurableExecutionArn"):
        op.start("q.sql", None, None)


def test_succeed_a_waiting_run_whose_statement_finished(
    operator: tuple[Operator, Stubber], registry: RunRegistry
) -> None:
    op, stubber = operator
    waiting_run(registry)
    payloads = sent_payloads(op)
    stubber.add_response(
        "invoke",
        invoke_response({"ok": True, "run": RUN, "statement": {"Id": "st-1", "Status": "FINISHED"}}),
        {"FunctionName": FUNCTION, "InvocationType": "RequestResponse", "Payload": ANY},
    )
    stubber.add_response("send_durable_execution_callback_success", {}, {"CallbackId": "cb-1", "Result": ANY})
    results: list[dict[str, Any]] = []
    op.lambda_.meta.events.register(
        "provide-client-params.lambda.SendDurableExecutionCallbackSuccess",
        lambda params, **_: results.append(json.loads(params["Result"])),
    )
    got = op.succeed(RUN, '{"rows": 3}', force=False)
    assert got.run_key == RUN
    assert payloads == [{"action": "inspect", "run": RUN}]
    assert results[0]["decided_by"] == "person"
    assert results[0]["result"] == '{"rows": 3}'


def test_succeed_refuses_while_the_statement_has_not_finished(
    operator: tuple[Operator, Stubber], registry: RunRegistry
) -> None:
    op, stubber = operator
    waiting_run(registry)
    stubber.add_response(
        "invoke",
        invoke_response({"ok": True, "run": RUN, "statement": {"Id": "st-1", "Status": "STARTED"}}),
        {"FunctionName": FUNCTION, "InvocationType": "RequestResponse", "Payload": ANY},
    )
    with pytest.raises(OperatorError, match="STARTED"):
        op.succeed(RUN, None, force=False)
    # No callback was stubbed: had it been sent, the Stubber would have raised instead.


def test_succeed_without_a_statement_sends_at_once(
    operator: tuple[Operator, Stubber], registry: RunRegistry
) -> None:
    op, stubber = operator
    waiting_run(registry, statement_id=None)
    stubber.add_response("send_durable_execution_callback_success", {}, {"CallbackId": "cb-1", "Result": ANY})
    op.succeed(RUN, None, force=False)


def test_succeed_refuses_a_run_that_is_not_waiting(
    operator: tuple[Operator, Stubber], registry: RunRegistry
) -> None:
    op, _ = operator
    finished_run(registry)
    with pytest.raises(OperatorError, match="SUCCEEDED, not WAITING"):
        op.succeed(RUN, None, force=False)


def test_forced_succeed_sends_without_asking_redshift(
    operator: tuple[Operator, Stubber], registry: RunRegistry
) -> None:
    op, stubber = operator
    finished_run(registry)
    stubber.add_response("send_durable_execution_callback_success", {}, {"CallbackId": "cb-1", "Result": ANY})
    assert op.succeed(RUN, None, force=True).status is RunStatus.SUCCEEDED


def test_succeed_on_a_closed_callback_says_so(
    operator: tuple[Operator, Stubber], registry: RunRegistry
) -> None:
    op, stubber = operator
    waiting_run(registry, statement_id=None)
    stubber.add_client_error(
        "send_durable_execution_callback_success",
        service_error_code="CallbackTimeoutException",
        http_status_code=400,
    )
    with pytest.raises(OperatorError, match="already closed"):
        op.succeed(RUN, None, force=False)


def test_fail_sends_the_persons_type_and_message(
    operator: tuple[Operator, Stubber], registry: RunRegistry
) -> None:
    op, stubber = operator
    waiting_run(registry)
    errors: list[dict[str, Any]] = []
    op.lambda_.meta.events.register(
        "provide-client-params.lambda.SendDurableExecutionCallbackFailure",
        lambda params, **_: errors.append(params["Error"]),
    )
    stubber.add_response(
        "send_durable_execution_callback_failure",
        {},
        {
            "CallbackId": "cb-1",
            "Error": {"ErrorType": "UpstreamBroken", "ErrorMessage": "feed is late", "ErrorData": ANY},
        },
    )
    op.fail(RUN, "feed is late", "UpstreamBroken", force=False)
    data = json.loads(errors[0]["ErrorData"])
    assert data["decided_by"] == "person"
    assert data["error_type"] == "UpstreamBroken"


def test_fail_refuses_a_run_that_is_not_waiting_unless_forced(
    operator: tuple[Operator, Stubber], registry: RunRegistry
) -> None:
    op, stubber = operator
    finished_run(registry)
    with pytest.raises(OperatorError, match="not WAITING"):
        op.fail(RUN, "no", "OperatorFailed", force=False)
    stubber.add_response("send_durable_execution_callback_failure", {}, {"CallbackId": "cb-1", "Error": ANY})
    op.fail(RUN, "no", "OperatorFailed", force=True)


def test_operator_action_errors(operator: tuple[Operator, Stubber], registry: RunRegistry) -> None:
    """An action's own `ok: false` becomes BadInputError (for BadInput) or OperatorError."""
    op, stubber = operator
    waiting_run(registry)
    params = {"FunctionName": FUNCTION, "InvocationType": "RequestResponse", "Payload": ANY}
    stubber.add_response(
        "invoke",
        invoke_response({"ok": False, "error": {"type": "RsbatchError", "message": "st-1 is not running"}}),
        params,
    )
    stubber.add_response(
        "invoke",
        invoke_response({"ok": False, "error": {"type": "BadInput", "message": "no run matches 'x'"}}),
        params,
    )
    with pytest.raises(OperatorError, match="not running"):
        op.cancel(RUN)
    with pytest.raises(BadInputError, match="no run matches"):
        op.action({"action": "inspect", "run": "x"})


@pytest.mark.parametrize("text", ["²", "1.5h", "-1m", "9999999999d", "3651d"])
def test_parse_duration_refuses_odd_digits_and_huge_values(text: str) -> None:
    with pytest.raises(BadInputError):
        parse_duration(text)


def test_start_without_files_is_bad_input(operator: tuple[Operator, Stubber]) -> None:
    op, _ = operator
    with pytest.raises(BadInputError, match="at least one SQL file"):
        op.start([], None, None)
