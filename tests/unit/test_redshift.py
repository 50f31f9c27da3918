"""rsbatch_core.redshift: the Data API requests rsbatch sends, and what it makes of the answers.

Every call goes through a real boto3 ``redshift-data`` client with botocore's
``Stubber``: the stub checks the exact arguments, and botocore validates each
request (required members, types, minimums) and each canned response against
its service model, as it would before sending anything to AWS. Facts about the
API quoted here come from that model
(``botocore/data/redshift-data/2019-12-20/service-2.json``); note that botocore
checks a shape's ``min`` but not its ``max`` nor its ``pattern``, so the tests
state limits such as WaitTimeSeconds ≤ 30 themselves.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from botocore.stub import ANY, Stubber

from rsbatch_core.ports import Submission
from rsbatch_core.redshift import RedshiftData
from rsbatch_core.settings import RedshiftTarget
from rsbatch_core.sqlfile import SqlBatch

STATEMENT = "d9b6c0c9-0747-4bf4-b142-e8883122f766"  # the model's example of a statement id
SESSION = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
BATCH = SqlBatch("q.sql", ("CREATE TEMP TABLE t AS SELECT 1 AS n", "SELECT n FROM t"))
WORKGROUP = RedshiftTarget(workgroup="analytics")


def _submitted(**arguments: Any) -> dict[str, Any]:
    """The arguments every submit sends, plus these."""
    return {
        "Sqls": list(BATCH.statements),
        "StatementName": "rsbatch-q-1",
        "ClientToken": "token-1",
        "WithEvent": True,  # the status listener is resumed by this event
        **arguments,
    }


def _submit(redshift: RedshiftData, target: RedshiftTarget = WORKGROUP, **options: Any) -> str:
    return redshift.submit(Submission(BATCH, target, "rsbatch-q-1", "token-1", **options))


# ---------------------------------------------------------------- submit


@pytest.mark.parametrize(
    ("target", "target_arguments"),
    [
        (WORKGROUP, {"Database": "dev", "WorkgroupName": "analytics"}),
        (RedshiftTarget(cluster_id="warehouse"), {"Database": "dev", "ClusterIdentifier": "warehouse"}),
        (
            RedshiftTarget(cluster_id="warehouse", db_user="etl", database="mart"),
            {"Database": "mart", "ClusterIdentifier": "warehouse", "DbUser": "etl"},
        ),
        (
            RedshiftTarget(workgroup="analytics", secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:s"),
            {
                "Database": "dev",
                "WorkgroupName": "analytics",
                "SecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:s",
            },
        ),
    ],
)
def test_submit_sends_one_transaction_to_the_target(
    redshift: RedshiftData, stubber: Stubber, target: RedshiftTarget, target_arguments: dict[str, str]
) -> None:
    # No ExecutionMode: the model documents TRANSACTION as the default (all statements commit
    # or roll back together).
    stubber.add_response("batch_execute_statement", {"Id": STATEMENT}, _submitted(**target_arguments))
    assert _submit(redshift, target) == STATEMENT


def test_submit_auto_commit_asks_for_it(redshift: RedshiftData, stubber: Stubber) -> None:
    expected = _submitted(Database="dev", WorkgroupName="analytics", ExecutionMode="AUTO_COMMIT")
    stubber.add_response("batch_execute_statement", {"Id": STATEMENT}, expected)
    assert _submit(redshift, execution_mode="AUTO_COMMIT") == STATEMENT


def test_submit_csv_results_asks_for_them(redshift: RedshiftData, stubber: Stubber) -> None:
    expected = _submitted(Database="dev", WorkgroupName="analytics", ResultFormat="CSV")
    stubber.add_response("batch_execute_statement", {"Id": STATEMENT}, expected)
    assert _submit(redshift, result_format="CSV") == STATEMENT


def test_submit_passes_parameters_and_omits_an_empty_list(redshift: RedshiftData, stubber: Stubber) -> None:
    parameters = [{"name": "since", "value": "2024-01-01"}]
    stubber.add_response(
        "batch_execute_statement",
        {"Id": STATEMENT},
        _submitted(Database="dev", WorkgroupName="analytics", Parameters=parameters),
    )
    assert _submit(redshift, parameters=parameters) == STATEMENT
    # The model's SqlParametersList has min 1: sending Parameters=[] would be refused.
    stubber.add_response(
        "batch_execute_statement", {"Id": STATEMENT}, _submitted(Database="dev", WorkgroupName="analytics")
    )
    assert _submit(redshift, parameters=[]) == STATEMENT


def test_submit_with_keep_alive_opens_a_session(redshift: RedshiftData, stubber: Stubber) -> None:
    expected = _submitted(Database="dev", WorkgroupName="analytics", SessionKeepAliveSeconds=600)
    stubber.add_response("batch_execute_statement", {"Id": STATEMENT, "SessionId": SESSION}, expected)
    assert _submit(redshift, session_keep_alive=600) == STATEMENT


def test_submit_in_a_session_sends_no_target(redshift: RedshiftData, stubber: Stubber) -> None:
    # The session already knows its warehouse, database and user.
    stubber.add_response("batch_execute_statement", {"Id": STATEMENT}, _submitted(SessionId=SESSION))
    assert _submit(redshift, session_id=SESSION, session_keep_alive=600) == STATEMENT


def test_submit_requests_are_really_validated(client: Any) -> None:
    # What the tests above rely on: botocore refuses an invalid request before any answer is
    # used. A batch without statements breaks SqlList's min 1. (Its own stubber: the answer
    # queued for the call stays unused.)
    with Stubber(client) as stub:
        stub.add_response("batch_execute_statement", {"Id": STATEMENT})
        with pytest.raises(ParamValidationError, match="Sqls"):
            RedshiftData(client).submit(
                Submission(SqlBatch("empty.sql", ()), WORKGROUP, "rsbatch-q-1", "token-1")
            )


# ---------------------------------------------------------------- result_rows


def _record(*values: dict[str, Any]) -> list[dict[str, Any]]:
    return list(values)


def _text_rows(count: int, width: int = 1) -> list[list[dict[str, Any]]]:
    return [_record({"stringValue": f"{i}".rjust(width, "x")}) for i in range(count)]


def test_result_rows_converts_columns_and_fields(redshift: RedshiftData, stubber: Stubber) -> None:
    stubber.add_response(
        "get_statement_result",
        {
            "ColumnMetadata": [
                {"label": "n", "name": "ignored"},
                {"name": "s"},
                {"name": "f"},
                {"name": "b"},
            ],
            "Records": [
                _record({"longValue": 1}, {"stringValue": "a"}, {"doubleValue": 1.5}, {"booleanValue": True}),
                _record({"isNull": True}, {"blobValue": b"\x00"}, {"isNull": True}, {"booleanValue": False}),
            ],
            "TotalNumRows": 2,
        },
        {"Id": f"{STATEMENT}:2"},
    )
    result = redshift.result_rows(f"{STATEMENT}:2", max_rows=10)
    assert result.columns == ["n", "s", "f", "b"]  # the label when there is one, else the name
    assert result.rows == [[1, "a", 1.5, True], [None, "<blob>", None, False]]
    assert (result.total_rows, result.truncated) == (2, False)


def test_result_rows_stops_at_max_rows(redshift: RedshiftData, stubber: Stubber) -> None:
    # Only one page is read, although there is another.
    stubber.add_response(
        "get_statement_result",
        {
            "ColumnMetadata": [{"name": "v"}],
            "Records": _text_rows(3),
            "TotalNumRows": 5,
            "NextToken": "page-2",
        },
        {"Id": STATEMENT},
    )
    result = redshift.result_rows(STATEMENT, max_rows=2)
    assert result.rows == [["0"], ["1"]]
    assert (result.total_rows, result.truncated) == (5, True)


def test_result_rows_stops_at_max_rows_on_a_page_boundary(redshift: RedshiftData, stubber: Stubber) -> None:
    stubber.add_response(
        "get_statement_result",
        {"Records": _text_rows(2), "TotalNumRows": 3, "NextToken": "page-2"},
        {"Id": STATEMENT},
    )
    result = redshift.result_rows(STATEMENT, max_rows=2)
    assert result.rows == [["0"], ["1"]]
    assert result.truncated is True


def test_result_rows_stops_at_max_bytes(redshift: RedshiftData, stubber: Stubber) -> None:
    # Each row is ["xx…x0"] as JSON: 104 bytes; two fit in 250 bytes, the third does not.
    stubber.add_response(
        "get_statement_result",
        {"Records": _text_rows(3, width=100), "TotalNumRows": 3},
        {"Id": STATEMENT},
    )
    result = redshift.result_rows(STATEMENT, max_rows=10, max_bytes=250)
    assert len(result.rows) == 2
    assert (result.total_rows, result.truncated) == (3, True)


def test_result_rows_follows_next_token(redshift: RedshiftData, stubber: Stubber) -> None:
    stubber.add_response(
        "get_statement_result",
        {
            "ColumnMetadata": [{"name": "v"}],
            "Records": _text_rows(2),
            "TotalNumRows": 3,
            "NextToken": "page-2",
        },
        {"Id": STATEMENT},
    )
    stubber.add_response(
        "get_statement_result",
        {"Records": [_record({"stringValue": "2"})], "TotalNumRows": 3},
        {"Id": STATEMENT, "NextToken": "page-2"},
    )
    result = redshift.result_rows(STATEMENT, max_rows=10)
    assert result.columns == ["v"]
    assert result.rows == [["0"], ["1"], ["2"]]
    assert (result.total_rows, result.truncated) == (3, False)


def test_result_rows_of_an_empty_result(redshift: RedshiftData, stubber: Stubber) -> None:
    stubber.add_response("get_statement_result", {"Records": []}, {"Id": STATEMENT})
    result = redshift.result_rows(STATEMENT, max_rows=10)
    assert (result.columns, result.rows, result.total_rows, result.truncated) == ([], [], 0, False)


# ---------------------------------------------------------------- describe, wait, cancel


def test_describe_without_wait_sends_no_wait_time(redshift: RedshiftData, stubber: Stubber) -> None:
    # The model's WaitTimeSeconds has min 1, so 0 must not be sent.
    stubber.add_response("describe_statement", {"Id": STATEMENT, "Status": "STARTED"}, {"Id": STATEMENT})
    assert redshift.describe(STATEMENT)["Status"] == "STARTED"


@pytest.mark.parametrize(("asked", "sent"), [(1, 1), (10, 10), (30, 30), (31, 30), (900, 30)])
def test_describe_long_poll_is_clamped_to_30_seconds(
    redshift: RedshiftData, stubber: Stubber, asked: int, sent: int
) -> None:
    # "The maximum value is 30 seconds" (the model's WaitTimeSeconds, max 30; botocore does not check max).
    stubber.add_response(
        "describe_statement",
        {"Id": STATEMENT, "Status": "FINISHED"},
        {"Id": STATEMENT, "WaitTimeSeconds": sent},
    )
    assert redshift.describe(STATEMENT, wait_seconds=asked)["Status"] == "FINISHED"


def test_wait_terminal_returns_at_once_when_already_ended(redshift: RedshiftData, stubber: Stubber) -> None:
    stubber.add_response("describe_statement", {"Id": STATEMENT, "Status": "ABORTED"}, {"Id": STATEMENT})
    assert redshift.wait_terminal(STATEMENT)["Status"] == "ABORTED"


def test_wait_terminal_long_polls_until_the_statement_ends(redshift: RedshiftData, stubber: Stubber) -> None:
    stubber.add_response("describe_statement", {"Id": STATEMENT, "Status": "STARTED"}, {"Id": STATEMENT})
    for status in ("STARTED", "FINISHED"):
        stubber.add_response(
            "describe_statement",
            {"Id": STATEMENT, "Status": status},
            {"Id": STATEMENT, "WaitTimeSeconds": ANY},
        )
    assert redshift.wait_terminal(STATEMENT, seconds=30)["Status"] == "FINISHED"


def test_wait_terminal_gives_up_when_time_is_out(redshift: RedshiftData, stubber: Stubber) -> None:
    stubber.add_response("describe_statement", {"Id": STATEMENT, "Status": "STARTED"}, {"Id": STATEMENT})
    assert redshift.wait_terminal(STATEMENT, seconds=0)["Status"] == "STARTED"


@pytest.mark.parametrize("status", [True, False])
def test_cancel_reports_the_api_status(redshift: RedshiftData, stubber: Stubber, status: bool) -> None:
    stubber.add_response("cancel_statement", {"Status": status}, {"Id": STATEMENT})
    assert redshift.cancel(STATEMENT) is status


def test_cancel_of_an_ended_statement_is_false(redshift: RedshiftData, stubber: Stubber) -> None:
    # ValidationException is among CancelStatement's errors in the model ("a query must be running"
    # to be cancelled); rsbatch takes it as "already ended".
    stubber.add_client_error(
        "cancel_statement",
        "ValidationException",
        "Could not cancel a query that is already in FINISHED state",
    )
    assert redshift.cancel(STATEMENT) is False


@pytest.mark.parametrize(
    ("code", "http_status"), [("ResourceNotFoundException", 400), ("InternalServerException", 500)]
)
def test_cancel_raises_other_errors(
    redshift: RedshiftData, stubber: Stubber, code: str, http_status: int
) -> None:
    stubber.add_client_error("cancel_statement", code, "no", http_status_code=http_status)
    with pytest.raises(ClientError) as raised:
        redshift.cancel(STATEMENT)
    assert raised.value.response["Error"]["Code"] == code


# ---------------------------------------------------------------- descriptions → stats
