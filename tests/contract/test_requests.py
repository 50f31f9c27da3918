"""Every call the Lambdas and the CLI make, held to botocore's model through the real adapters.

Each test drives an adapter (``RedshiftData``, ``CallbackSender``, ``RunRegistry``,
``DurableExecutions``, ``SqlSource``, ``Operator``) against a ``ModelStub``: the exact
parameters it sends are asserted, every request is checked against the input shape
(enums and patterns too), every stubbed response against the output shape, and every
error the code handles is one the model lists for that operation (or, for S3, one AWS's
error-code list documents), with the handling the code promises.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import ANY

from rsbatch.config import Target
from rsbatch.operations import Operator, RunOptions
from rsbatch_core.callbacks import CallbackSender, Delivery
from rsbatch_core.errors import SqlFileError
from rsbatch_core.executions import DurableExecutions
from rsbatch_core.models import CallbackPayload, DecidedBy, RunRecord
from rsbatch_core.ports import Submission
from rsbatch_core.redshift import RedshiftData
from rsbatch_core.registry import RunConflictError, RunRegistry
from rsbatch_core.settings import RedshiftTarget
from rsbatch_core.sqlfile import MAX_SQL_BYTES, parse_batch
from rsbatch_core.sqlsource import SqlSource
from tests.contract.documented import S3_ERRORS
from tests.contract.stubs import ModelStub

STATEMENT = "dd2e1ec9-2ee3-49a0-819f-905fa7d75a4a"
RUN = "rsbatch-0123456789abcdef01234567"
CALLBACK = "Y2FsbGJhY2stMQ=="  # the model's CallbackId pattern: base64
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:live"
EXECUTION = (
    "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:1/durable-execution/run-1/0f1e2d3c"
)


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")


def record(**changes: Any) -> RunRecord:
    base = RunRecord(run_key=RUN, callback_id=CALLBACK, execution_arn=EXECUTION, sql_file="query.sql")
    return base.model_copy(update=changes)


def item(run: RunRecord) -> dict[str, Any]:
    """A run as DynamoDB returns it (typed attribute values)."""
    data = json.loads(run.model_dump_json())
    return {
        k: {"N": str(v)} if isinstance(v, int) else {"S": str(v)} for k, v in data.items() if v is not None
    }


# ---------------------------------------------------------------- Redshift Data API


def submission(**changes: Any) -> Submission:
    base = Submission(
        batch=parse_batch("query.sql", "select 1;\nselect :day;"),
        target=RedshiftTarget(workgroup="analytics", database="dev"),
        run=RUN,
        token="rsbatch-token-1",
        preamble=("SET statement_timeout TO 60000",),
    )
    for key, value in changes.items():
        object.__setattr__(base, key, value)
    return base


@pytest.mark.parametrize(
    ("changes", "sent"),
    [
        ({}, {"WorkgroupName": "analytics", "Database": "dev"}),
        (
            {
                "target": RedshiftTarget(cluster_id="warehouse", db_user="etl", database="dev"),
                "parameters": [{"name": "day", "value": "2026-11-27"}],
                "execution_mode": "AUTO_COMMIT",
                "session_keep_alive": 600,
            },
            {
                "ClusterIdentifier": "warehouse",
                "DbUser": "etl",
                "Database": "dev",
                "Parameters": [{"name": "day", "value": "2026-11-27"}],
                "ExecutionMode": "AUTO_COMMIT",
                "SessionKeepAliveSeconds": 600,
            },
        ),
        (
            {"session_id": "0f1e2d3c-aaaa-bbbb-cccc-000000000000"},
            {"SessionId": "0f1e2d3c-aaaa-bbbb-cccc-000000000000"},
        ),
        (
            {
                "target": RedshiftTarget(
                    workgroup="analytics",
                    secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:rs-AbCdEf",
                )
            },
            {
                "WorkgroupName": "analytics",
                "Database": "dev",
                "SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rs-AbCdEf",
            },
        ),
    ],
)
def test_submit_sends_one_evented_batch_with_its_target(
    changes: dict[str, Any], sent: dict[str, Any]
) -> None:
    redshift = client("redshift-data")
    expected = {
        "Sqls": ["SET statement_timeout TO 60000", "select 1;", "select :day;"],
        "StatementName": RUN,
        "ClientToken": "rsbatch-token-1",
        "WithEvent": True,
        **sent,
    }
    with ModelStub(redshift) as stub:
        stub.ok("batch_execute_statement", {"Id": STATEMENT}, expected)
        assert RedshiftData(redshift).submit(submission(**changes)) == STATEMENT


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ActiveStatementsExceededException", 400),
        ("ActiveSessionsExceededException", 400),
        ("BatchExecuteStatementException", 500),
        ("ValidationException", 400),
    ],
)
def test_submit_errors_reach_the_flow_unchanged(code: str, status: int) -> None:
    """The flow classifies them (classify.py); the adapter must neither swallow nor rename them."""
    redshift = client("redshift-data")
    with ModelStub(redshift) as stub:
        stub.error("batch_execute_statement", code, status)
        with pytest.raises(ClientError) as raised:
            RedshiftData(redshift).submit(submission())
    assert raised.value.response["Error"]["Code"] == code


def test_describe_long_polls_at_most_30_seconds() -> None:
    redshift = client("redshift-data")
    described = {"Id": STATEMENT, "Status": "FINISHED"}
    with ModelStub(redshift) as stub:
        stub.ok("describe_statement", described, {"Id": STATEMENT})
        stub.ok("describe_statement", described, {"Id": STATEMENT, "WaitTimeSeconds": 30})
        data = RedshiftData(redshift)
        assert data.describe(STATEMENT)["Status"] == "FINISHED"
        assert data.describe(STATEMENT, wait_seconds=90)["Status"] == "FINISHED"


def test_describe_of_a_forgotten_statement_raises_resource_not_found() -> None:
    redshift = client("redshift-data")
    with ModelStub(redshift) as stub:
        stub.error("describe_statement", "ResourceNotFoundException", expected={"Id": STATEMENT})
        with pytest.raises(ClientError, match="ResourceNotFoundException"):
            RedshiftData(redshift).describe(STATEMENT)


def test_result_rows_follow_next_token_and_stop_at_max_rows() -> None:
    redshift = client("redshift-data")
    sub = f"{STATEMENT}:2"
    columns = [{"name": "n", "label": "n", "typeName": "int4"}]
    with ModelStub(redshift) as stub:
        stub.ok(
            "get_statement_result",
            {
                "Records": [[{"longValue": 1}], [{"isNull": True}]],
                "ColumnMetadata": columns,
                "TotalNumRows": 4,
                "NextToken": "p2",
            },
            {"Id": sub},
        )
        stub.ok(
            "get_statement_result",
            {"Records": [[{"stringValue": "x"}]], "TotalNumRows": 4},
            {"Id": sub, "NextToken": "p2"},
        )
        rows = RedshiftData(redshift).result_rows(sub, max_rows=3)
    assert (rows.columns, rows.rows, rows.total_rows, rows.truncated) == (
        ["n"],
        [[1], [None], ["x"]],
        4,
        True,
    )


def test_cancel_of_an_ended_statement_is_false_and_other_errors_raise() -> None:
    """CancelStatement answers ValidationException for a statement that already ended."""
    redshift = client("redshift-data")
    with ModelStub(redshift) as stub:
        stub.ok("cancel_statement", {"Status": True}, {"Id": STATEMENT})
        stub.error("cancel_statement", "ValidationException", expected={"Id": STATEMENT})
        stub.error("cancel_statement", "DatabaseConnectionException", 500, {"Id": STATEMENT})
        data = RedshiftData(redshift)
        assert data.cancel(STATEMENT) is True
        assert data.cancel(STATEMENT) is False
        with pytest.raises(ClientError, match="DatabaseConnectionException"):
            data.cancel(STATEMENT)


# ---------------------------------------------------------------- durable callbacks


def test_success_sends_the_payload_as_the_result() -> None:
    lambda_ = client("lambda")
    payload = CallbackPayload(decided_by=DecidedBy.REDSHIFT_EVENT, statement_id=STATEMENT)
    expected = {"CallbackId": CALLBACK, "Result": payload.model_dump_json(exclude_none=True).encode()}
    with ModelStub(lambda_) as stub:
        stub.ok("send_durable_execution_callback_success", {}, expected)
        assert CallbackSender(lambda_).succeed(CALLBACK, payload) is Delivery.SENT


def test_failure_sends_an_error_object_within_its_bounds() -> None:
    lambda_ = client("lambda")
    payload = CallbackPayload(decided_by=DecidedBy.PERSON, message="m" * 5000)
    expected = {
        "CallbackId": CALLBACK,
        "Error": {
            "ErrorType": "T" * 256,
            "ErrorMessage": "m" * 2048,
            "ErrorData": payload.model_dump_json(exclude_none=True),
        },
    }
    with ModelStub(lambda_) as stub:
        stub.ok("send_durable_execution_callback_failure", {}, expected)
        assert CallbackSender(lambda_).fail(CALLBACK, "T" * 300, payload) is Delivery.SENT


@pytest.mark.parametrize("code", ["CallbackTimeoutException"])  # a 404 now surfaces (callbacks.py)
@pytest.mark.parametrize(
    "method", ["send_durable_execution_callback_success", "send_durable_execution_callback_failure"]
)
def test_a_closed_callback_is_already_closed_not_an_error(method: str, code: str) -> None:
    lambda_ = client("lambda")
    sender = CallbackSender(lambda_)
    with ModelStub(lambda_) as stub:
        stub.error(method, code, 409 if code == "CallbackTimeoutException" else 404)
        if method.endswith("success"):
            delivery = sender.succeed(CALLBACK, CallbackPayload())
        else:
            delivery = sender.fail(CALLBACK, "Failed", CallbackPayload())
    assert delivery is Delivery.ALREADY_CLOSED


@pytest.mark.parametrize(
    ("code", "status"),
    [("TooManyRequestsException", 429), ("ServiceException", 500), ("InvalidParameterValueException", 400)],
)
def test_other_callback_errors_raise(code: str, status: int) -> None:
    lambda_ = client("lambda")
    with ModelStub(lambda_) as stub:
        stub.error("send_durable_execution_callback_success", code, status)
        with pytest.raises(ClientError, match=code):
            CallbackSender(lambda_).succeed(CALLBACK, CallbackPayload())


# ---------------------------------------------------------------- durable executions


def test_execution_status_and_a_forgotten_execution() -> None:
    lambda_ = client("lambda")
    execution = {
        "DurableExecutionArn": EXECUTION,
        "DurableExecutionName": "run-1",
        "FunctionArn": FUNCTION,
        "Status": "TIMED_OUT",
        "StartTimestamp": 1764000000,
    }
    with ModelStub(lambda_) as stub:
        stub.ok("get_durable_execution", execution, {"DurableExecutionArn": EXECUTION})
        stub.error(
            "get_durable_execution", "ResourceNotFoundException", 404, {"DurableExecutionArn": EXECUTION}
        )
        stub.error("get_durable_execution", "TooManyRequestsException", 429)
        executions = DurableExecutions(lambda_)
        assert executions.status(EXECUTION) == "TIMED_OUT"
        assert executions.status(EXECUTION) is None
        with pytest.raises(ClientError, match="TooManyRequestsException"):
            executions.status(EXECUTION)


# ---------------------------------------------------------------- the run registry


def registry() -> tuple[RunRegistry, Any]:
    dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
    return RunRegistry("runs", dynamodb=dynamodb), dynamodb.meta.client


def test_register_is_a_conditional_put_and_a_replay_is_a_no_op() -> None:
    runs, ddb = registry()
    with ModelStub(ddb) as stub:
        # Stubber compares the parameters before boto3 serializes them; the wire form is asserted below.
        put = {"TableName": "runs", "Item": ANY, "ConditionExpression": ANY}
        stub.ok("put_item", {}, put)
        stub.error("put_item", "ConditionalCheckFailedException", expected=put)
        stub.ok(
            "get_item",
            {"Item": item(record())},
            {"TableName": "runs", "Key": {"run_key": RUN}, "ConsistentRead": True},
        )
        runs.register(record())
        runs.register(record())  # the same execution again: no error
    (_, first), *_ = stub.requests
    assert first["ConditionExpression"] == "attribute_not_exists(#n0)"
    assert first["ExpressionAttributeNames"] == {"#n0": "run_key"}
    assert first["Item"]["run_key"] == {"S": RUN} and first["Item"]["status"] == {"S": "WAITING"}
    assert "N" in first["Item"]["expires_at"]  # the TTL attribute is a number, as DynamoDB's TTL needs


def test_register_of_another_executions_key_is_a_conflict() -> None:
    runs, ddb = registry()
    with ModelStub(ddb) as stub:
        stub.error("put_item", "ConditionalCheckFailedException")
        stub.ok("get_item", {"Item": item(record(execution_arn=EXECUTION.replace("run-1", "run-2")))})
        with pytest.raises(RunConflictError):
            runs.register(record())


def test_a_lost_conditional_update_is_a_conflict_and_throttling_raises() -> None:
    runs, ddb = registry()
    with ModelStub(ddb) as stub:
        stub.error("update_item", "ConditionalCheckFailedException")
        stub.error("update_item", "ProvisionedThroughputExceededException")
        with pytest.raises(RunConflictError):
            runs.rearm(RUN, CALLBACK)
        with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
            runs.set_statement(RUN, STATEMENT)
    (_, update), _ = stub.requests
    assert update["ConditionExpression"] == "(attribute_exists(#n0) AND #n1 = :v0)"
    assert update["ExpressionAttributeValues"][":v0"] == {"S": "WAITING"}


def test_iter_waiting_queries_the_waiting_index_page_by_page() -> None:
    runs, ddb = registry()
    last = {"run_key": {"S": RUN}, "waiting": {"S": "run"}, "started_at": {"S": "2026-01-01T00:00:00"}}
    sent = {k: dict(v) for k, v in last.items()}  # the resource layer rewrites the response in place
    with ModelStub(ddb) as stub:
        stub.ok("query", {"Items": [item(record())], "LastEvaluatedKey": last})
        stub.ok("query", {"Items": [item(record(run_key=RUN + "-2"))]})
        found = [r.run_key for r in runs.iter_waiting()]
    assert found == [RUN, RUN + "-2"]
    (_, first), (_, second) = stub.requests
    assert first["IndexName"] == second["IndexName"] == "waiting" and "ExclusiveStartKey" not in first
    assert second["ExclusiveStartKey"] == sent


# ---------------------------------------------------------------- SQL from S3


def s3_source() -> tuple[SqlSource, Any]:
    s3 = client("s3")
    return SqlSource(root=Path("."), bucket="my-sql", prefix="batches/", s3=s3), s3


def test_s3_sql_is_one_ranged_read_within_redshifts_limit() -> None:
    source, s3 = s3_source()
    body = b"select 1;"
    with ModelStub(s3) as stub:
        stub.ok(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(body), len(body))},
            {"Bucket": "my-sql", "Key": "batches/a.sql", "Range": f"bytes=0-{MAX_SQL_BYTES}"},
        )
        batch = source.load("s3://my-sql/batches/a.sql")
    assert batch.statements == ("select 1;",)


@pytest.mark.parametrize(("code", "status"), [("NoSuchKey", 404), ("NoSuchBucket", 404), ("404", 404)])
def test_a_missing_s3_object_is_bad_input(code: str, status: int) -> None:
    source, s3 = s3_source()
    with ModelStub(s3) as stub:
        stub.error("get_object", code, status, documented=S3_ERRORS)
        with pytest.raises(SqlFileError, match="no such object"):
            source.load("s3://my-sql/batches/a.sql")


def test_an_empty_s3_object_is_an_empty_batch() -> None:
    """A ranged GET of an empty object answers InvalidRange (416)."""
    source, s3 = s3_source()
    with ModelStub(s3) as stub:
        stub.error("get_object", "InvalidRange", 416, documented=S3_ERRORS)
        with pytest.raises(SqlFileError):  # an empty batch is refused by the batch rules, by name
            source.load("s3://my-sql/batches/a.sql").statements  # noqa: B018


# ---------------------------------------------------------------- the operator CLI


class Session:
    """What ``Target.session`` must provide: the clients the Operator builds."""

    def __init__(self) -> None:
        self.lambda_ = client("lambda")
        self.dynamodb = boto3.resource("dynamodb", region_name="us-east-1")

    def client(self, service: str, **_config: Any) -> Any:
        assert service == "lambda"
        return self.lambda_

    def resource(self, service: str) -> Any:
        assert service == "dynamodb"
        return self.dynamodb


def operator() -> tuple[Operator, Session]:
    session = Session()
    return Operator(Target(session=session, table="runs", function=FUNCTION)), session


def streamed(data: dict[str, Any]) -> StreamingBody:
    raw = json.dumps(data).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def test_start_is_an_async_invoke_named_once() -> None:
    op, session = operator()
    # Looked up without the qualifier: executions are recorded under versions, not the alias.
    listed = {"FunctionName": FUNCTION.rsplit(":", 1)[0], "DurableExecutionName": "nightly-1"}
    invoke = {
        "FunctionName": FUNCTION,
        "InvocationType": "Event",
        "Payload": json.dumps({"sql_file": "query.sql", "max_rows": 5}).encode(),
        "DurableExecutionName": "nightly-1",
    }
    with ModelStub(session.lambda_) as stub:
        stub.ok("list_durable_executions_by_function", {"DurableExecutions": []}, listed)
        stub.ok("invoke", {"StatusCode": 202, "DurableExecutionArn": EXECUTION}, invoke)
        started = op.start("query.sql", "nightly-1", None, RunOptions(max_rows=5))
    assert (started.execution_arn, started.new) == (EXECUTION, True)


def test_start_of_a_known_name_reports_the_existing_execution() -> None:
    op, session = operator()
    known = {
        "DurableExecutionArn": EXECUTION,
        "DurableExecutionName": "nightly-1",
        "FunctionArn": FUNCTION,
        "Status": "RUNNING",
        "StartTimestamp": 1764000000,
    }
    with ModelStub(session.lambda_) as stub:
        stub.ok("list_durable_executions_by_function", {"DurableExecutions": [known]})
        # Lambda answers a reused name with the same input by the existing execution.
        stub.ok("invoke", {"StatusCode": 202, "DurableExecutionArn": EXECUTION})
        started = op.start("query.sql", "nightly-1", None)
    assert (started.execution_arn, started.new) == (EXECUTION, False)


def test_an_action_is_a_synchronous_invoke_and_its_error_is_named() -> None:
    op, session = operator()
    expected = {
        "FunctionName": FUNCTION,
        "InvocationType": "RequestResponse",
        "Payload": json.dumps({"action": "cancel", "run": RUN}).encode(),
    }
    with ModelStub(session.lambda_) as stub:
        stub.ok("invoke", {"StatusCode": 200, "Payload": streamed({"ok": True})}, expected)
        stub.ok(
            "invoke",
            {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": streamed({"errorMessage": "boom"})},
        )
        assert op.action({"action": "cancel", "run": RUN}) == {"ok": True}
        with pytest.raises(Exception, match="action cancel failed: boom"):
            op.action({"action": "cancel", "run": RUN})


def test_show_reads_the_execution_and_every_page_of_its_history() -> None:
    op, session = operator()
    execution = {
        "DurableExecutionArn": EXECUTION,
        "DurableExecutionName": "run-1",
        "FunctionArn": FUNCTION,
        "Status": "RUNNING",
        "StartTimestamp": 1764000000,
    }
    event = {"EventType": "ExecutionStarted", "EventId": 1, "Id": "e1", "EventTimestamp": 1764000000}
    with ModelStub(session.lambda_) as stub:
        stub.ok("get_durable_execution", execution, {"DurableExecutionArn": EXECUTION})
        stub.ok(
            "get_durable_execution_history",
            {"Events": [event], "NextMarker": "m2"},
            {"DurableExecutionArn": EXECUTION},
        )
        stub.ok(
            "get_durable_execution_history",
            {"Events": [event]},
            {"DurableExecutionArn": EXECUTION, "Marker": "m2"},
        )
        assert op.execution(EXECUTION)["Status"] == "RUNNING"
        assert len(op.history(EXECUTION)) == 2


@pytest.mark.parametrize(
    ("code", "status"), [("ResourceNotFoundException", 404), ("InvalidParameterValueException", 400)]
)
def test_forced_fail_of_an_unreachable_callback_records_the_failure(code: str, status: int) -> None:
    op, session = operator()
    ddb = session.dynamodb.meta.client
    with ModelStub(session.lambda_) as lam, ModelStub(ddb) as table:
        table.ok("get_item", {"Item": item(record())})
        lam.error("send_durable_execution_callback_failure", code, status)
        table.ok("update_item", {})
        _, how = op.fail(RUN, "gave up", "Manual", force=True)
    assert how == "recorded"
    (_, update), *_ = [r for r in table.requests if r[0] == "UpdateItem"]
    assert update["ExpressionAttributeValues"][":set0"] == {"S": "FAILED"}
