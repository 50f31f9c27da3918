"""The shape validator itself: it accepts what the model allows and names every way a body breaks it.

Each bad example breaks one rule of botocore's redshift-data or lambda model, so a
validator that stopped checking that rule would let the emulator drift unnoticed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.conftest import service_model
from tests.contract.shapes import error_violations, output_violations

STATEMENT_ID = "dd2e1ec9-2ee3-49a0-819f-905fa7d75a4a"


def describe(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Id": STATEMENT_ID,
        "Status": "FINISHED",
        "CreatedAt": 1601673265.123,
        "UpdatedAt": 1601673266,
        "Duration": 1200,
        "HasResultSet": True,
        "ResultRows": 1,
        "SubStatements": [{"Id": f"{STATEMENT_ID}:1", "Status": "FINISHED", "CreatedAt": 1601673265}],
        "WorkgroupName": "analytics",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def redshift(operation: str) -> Any:
    return service_model("redshift-data").operation_model(operation)


def test_a_body_that_keeps_the_contract_passes() -> None:
    assert output_violations(redshift("DescribeStatement"), describe()) == []
    records = {"Records": [[{"longValue": 1}, {"isNull": True}, {"stringValue": "x"}]], "TotalNumRows": 1}
    assert output_violations(redshift("GetStatementResult"), records) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (describe(Status="DONE"), "DescribeStatement.Status: 'DONE' is not one of StatusString's values"),
        (describe(Id=None), "DescribeStatement.Id: required by DescribeStatementResponse, missing"),
        (describe(Rows=3), "DescribeStatement.Rows: not a member of DescribeStatementResponse"),
        (describe(CreatedAt="2020-10-01T21:14:26Z"), "DescribeStatement.CreatedAt: expected epoch seconds"),
        (describe(Duration="1200"), "DescribeStatement.Duration: expected a long"),
        (describe(HasResultSet="true"), "DescribeStatement.HasResultSet: expected a boolean"),
        (describe(Id="st-1"), "DescribeStatement.Id: 'st-1' does not match"),
        (describe(WorkgroupName="ab"), "DescribeStatement.WorkgroupName: 2 characters, fewer than"),
        (describe(QueryParameters=[]), "DescribeStatement.QueryParameters: 0 items, fewer than"),
        (describe(SubStatements=[{"Id": STATEMENT_ID, "Status": "ALL", "Foo": 1}]), "SubStatements[0].Foo"),
        (describe(SubStatements={"Id": STATEMENT_ID}), "DescribeStatement.SubStatements: expected a list"),
    ],
)
def test_a_broken_describe_is_named(body: dict[str, Any], problem: str) -> None:
    problems = output_violations(redshift("DescribeStatement"), body)
    assert any(problem in p for p in problems), problems


def test_a_field_must_be_exactly_one_of_its_union() -> None:
    body = {"Records": [[{"longValue": 1, "isNull": False}]]}
    (problem,) = output_violations(redshift("GetStatementResult"), body)
    assert "Field is a union: exactly one member must be set" in problem


@pytest.mark.parametrize(
    ("operation", "status", "body", "problem"),
    [
        # DescribeStatement cannot answer a quota error of submits.
        (
            "DescribeStatement",
            400,
            {"__type": "ActiveStatementsExceededException", "Message": "x"},
            "not an error the model lists",
        ),
        # ResourceNotFoundException must name the resource.
        (
            "DescribeStatement",
            400,
            {"__type": "ResourceNotFoundException", "Message": "x"},
            "ResourceId: required",
        ),
        # ExecuteStatementException is a fault ("fault": true): a 4xx would tell botocore it is the caller's.
        (
            "ExecuteStatement",
            400,
            {"__type": "ExecuteStatementException", "Message": "x", "StatementId": "s"},
            "a server fault answered with HTTP 400",
        ),
        (
            "CancelStatement",
            200,
            {"__type": "ValidationException", "Message": "x"},
            "an error with HTTP status 200",
        ),
        ("CancelStatement", 400, {"__type": "ValidationException", "Detail": "x"}, "Detail: not a member"),
    ],
)
def test_a_broken_error_is_named(operation: str, status: int, body: dict[str, Any], problem: str) -> None:
    problems = error_violations(redshift(operation), status, body)
    assert any(problem in p for p in problems), problems


def test_an_error_code_with_a_namespace_is_read_as_botocore_reads_it() -> None:
    body = {"__type": "com.amazon.redshift#ResourceNotFoundException", "message": "gone", "ResourceId": "x"}
    assert error_violations(redshift("DescribeStatement"), 400, body) == []


def test_rest_json_headers_and_bodies_are_checked() -> None:
    """Lambda's rest-json: header members checked as headers, timestamps as epoch seconds in the body."""
    lambda_ = service_model("lambda")
    invoke = lambda_.operation_model("Invoke")
    assert output_violations(invoke, {}, {"X-Amz-Executed-Version": "$LATEST"}) == []
    (problem,) = output_violations(invoke, {}, {"X-Amz-Executed-Version": "latest"})
    assert "ExecutedVersion (header): 'latest' does not match" in problem
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    execution = {
        "DurableExecutionArn": f"{arn}:$LATEST/durable-execution/n/i",
        "DurableExecutionName": "n",
        "FunctionArn": arn,
        "StartTimestamp": 1764000000.5,
        "Status": "RUNNING",
    }
    get = lambda_.operation_model("GetDurableExecution")
    assert output_violations(get, execution) == []
    problems = output_violations(get, {**execution, "Status": "DONE", "StartTimestamp": "yesterday"})
    assert len(problems) == 2, problems
