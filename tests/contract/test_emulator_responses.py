"""The Data API emulator answers as botocore's model says: every operation it declares, raw.

Each response body is captured before botocore parses it (a ``before-parse`` handler) and
walked against the operation's output shape, or its error shape (``shapes.py``). The
operations are the ones the emulator declares (``parsing.PARSERS``): a new one is checked
as soon as it is added, with the request ``_generic_call`` builds from the model if no
scenario below calls it yet.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import OperationModel

from rsbatch.local.faults import Faults
from rsbatch.local.redshift_data import RedshiftDataEmulator
from rsbatch.local.redshift_data.parsing import PARSERS
from rsbatch.local.warehouse import Warehouse
from tests.contract.conftest import service_model
from tests.contract.documented import COMMON_ERRORS, JSON_PROTOCOL_ERRORS
from tests.contract.recording import Exchange, Recorder
from tests.contract.shapes import error_code_of, error_violations, output_violations

#: What the Data API may answer besides an operation's own errors.
ALSO_ALLOWED = COMMON_ERRORS | JSON_PROTOCOL_ERRORS

TYPED_SELECT = (
    "select 7::int4 as i, 2.5::float8 as d, true as b, null::text as n, 'x'::text as s, "
    "1.25::numeric as m, date '2026-01-02' as day from generate_series(1, 3)"
)


def wait_terminal(client: Any, statement_id: str) -> dict[str, Any]:
    for _ in range(60):
        desc: dict[str, Any] = client.describe_statement(Id=statement_id, WaitTimeSeconds=1)
        if desc["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return desc
    raise AssertionError(f"statement {statement_id} never ended")


def expect_error(call: Callable[[], Any]) -> str:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    raise AssertionError("the call succeeded; an error was expected")


def _scenario(client: Any, emulator: RedshiftDataEmulator) -> None:
    """Every operation rsbatch and the local stack use, on their happy and their error paths."""
    target = {"Database": "dev", "WorkgroupName": "contract-wg"}
    # ExecuteStatement, a typed result over two pages.
    one = client.execute_statement(Sql=TYPED_SELECT, StatementName="contract-one", WithEvent=True, **target)
    wait_terminal(client, one["Id"])
    first = client.get_statement_result(Id=one["Id"])
    client.get_statement_result(Id=one["Id"], NextToken=first["NextToken"])
    csv = client.execute_statement(Sql="SELECT 1 AS a", ResultFormat="CSV", **target)
    wait_terminal(client, csv["Id"])
    client.get_statement_result_v2(Id=csv["Id"])
    # BatchExecuteStatement as rsbatch sends it (cluster, DbUser, ClientToken, a kept session),
    # its sub-statements, a parameterised batch in that session, a replay of the token.
    batch_kwargs: dict[str, Any] = {
        "Sqls": [
            "create temp table t (v int)",
            "insert into t values (1), (2)",
            "select v from t order by v",
        ],
        "ClusterIdentifier": "warehouse",
        "Database": "dev",
        "DbUser": "etl",
        "StatementName": "rsbatch-contract",
        "ClientToken": str(uuid.uuid4()),
        "WithEvent": True,
        "SessionKeepAliveSeconds": 60,
    }
    batch = client.batch_execute_statement(**batch_kwargs)
    client.batch_execute_statement(**batch_kwargs)  # the same ClientToken: the same statement
    wait_terminal(client, batch["Id"])
    client.describe_statement(Id=f"{batch['Id']}:3")
    client.get_statement_result(Id=f"{batch['Id']}:3")
    in_session = client.batch_execute_statement(
        Sqls=["select :v::int as v"],
        SessionId=batch["SessionId"],
        Parameters=[{"name": "v", "value": "5"}],
        ExecutionMode="AUTO_COMMIT",
    )
    wait_terminal(client, in_session["Id"])
    # A failing statement, and a cancelled one.
    failed = client.execute_statement(Sql="select * from no_such_table", **target)
    wait_terminal(client, failed["Id"])
    sleeping = client.execute_statement(Sql="select pg_sleep(3)", **target)
    client.cancel_statement(Id=sleeping["Id"])
    wait_terminal(client, sleeping["Id"])
    # ListStatements over two pages, and filtered.
    page = client.list_statements(MaxResults=1, Status="ALL")
    client.list_statements(MaxResults=1, Status="ALL", NextToken=page["NextToken"])
    client.list_statements(StatementName="contract-", Status="FINISHED", RoleLevel=False)
    # Error paths: each answer must be an error the operation lists (or a common error).
    missing = str(uuid.uuid4())
    expect_error(lambda: client.describe_statement(Id=missing))
    expect_error(lambda: client.describe_statement(Id="not-a-statement-id"))
    expect_error(lambda: client.cancel_statement(Id=one["Id"]))
    expect_error(lambda: client.cancel_statement(Id=missing))
    expect_error(lambda: client.get_statement_result(Id=failed["Id"]))
    expect_error(lambda: client.get_statement_result(Id=batch["Id"]))
    expect_error(lambda: client.list_statements(NextToken="bm90IG91cnM="))
    expect_error(lambda: client.execute_statement(Sql=" ", **target))
    expect_error(
        lambda: client.batch_execute_statement(
            Sqls=["select :x"], Parameters=[{"name": "y", "value": "1"}], **target
        )
    )
    # The warehouse fault knobs answer with AWS's errors too.
    for faults in (Faults(throttle=1.0), Faults(server_error=1.0), Faults(active_limit=0)):
        emulator.set_faults(faults)
        try:
            expect_error(lambda: client.batch_execute_statement(Sqls=["select 1"], **target))
            expect_error(lambda: client.execute_statement(Sql="select 1", **target))
        finally:
            emulator.set_faults(Faults())


#: Values for a request the model asks for, for operations no scenario calls yet.
SAMPLE: dict[str, Any] = {
    "Database": "dev",
    "WorkgroupName": "contract-wg",
    "Sql": "select 1",
    "Sqls": ["select 1"],
}


def _generic_call(client: Any, operation: OperationModel, finished_id: str) -> None:
    """Call ``operation`` with its required members (an ``Id`` is a finished SELECT's)."""
    shape = operation.input_shape
    members = shape.members if shape is not None else {}
    required = shape.required_members if shape is not None else []
    kwargs = {
        name: finished_id if name == "Id" else SAMPLE[name]
        for name in required
        if name in SAMPLE or name == "Id"
    }
    if "WorkgroupName" in members and "Database" in members:
        kwargs.setdefault("Database", SAMPLE["Database"])
        kwargs.setdefault("WorkgroupName", SAMPLE["WorkgroupName"])
    method = getattr(client, _method_name(client, operation.name))
    with contextlib.suppress(ClientError):  # recorded; its shape is checked like any other
        method(**kwargs)


def _method_name(client: Any, operation: str) -> str:
    return str(next(m for m, op in client.meta.method_to_api_mapping.items() if op == operation))


@pytest.fixture(scope="module")
def exchanges(warehouse: Warehouse) -> Iterator[dict[str, list[Exchange]]]:
    """Every raw response of the scenario (and of one generic call per other operation), by operation."""
    recorder = Recorder()
    with RedshiftDataEmulator(warehouse, result_page_rows=2) as emulator:
        client = boto3.client(
            "redshift-data",
            endpoint_url=emulator.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="contract",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )
        client.meta.events.register("before-parse.redshift-data", recorder)
        _scenario(client, emulator)
        covered = {e.operation for e in recorder.exchanges}
        finished = client.execute_statement(
            Sql="select 1 as one", Database="dev", WorkgroupName="contract-wg"
        )
        wait_terminal(client, finished["Id"])
        model = service_model("redshift-data")
        for operation in sorted(set(PARSERS) - covered):
            _generic_call(client, model.operation_model(operation), finished["Id"])
    yield recorder.by_operation()


@pytest.mark.parametrize("operation", sorted(PARSERS))
def test_every_emulated_operation_is_in_the_model(operation: str) -> None:
    assert operation in service_model("redshift-data").operation_names


@pytest.mark.parametrize("operation", sorted(PARSERS))
def test_successful_responses_have_the_output_shape(
    operation: str, exchanges: dict[str, list[Exchange]]
) -> None:
    model = service_model("redshift-data").operation_model(operation)
    answered = [e for e in exchanges.get(operation, []) if e.status == 200]
    assert answered, f"no successful {operation} was recorded: give it a call in _scenario"
    problems = [p for e in answered for p in output_violations(model, e.body)]
    assert problems == []


@pytest.mark.parametrize("operation", sorted(PARSERS))
def test_errors_are_the_operations_own(operation: str, exchanges: dict[str, list[Exchange]]) -> None:
    model = service_model("redshift-data").operation_model(operation)
    failed = [e for e in exchanges.get(operation, []) if e.status != 200]
    problems = [
        p for e in failed for p in error_violations(model, e.status, e.body, also_allowed=ALSO_ALLOWED)
    ]
    assert problems == []


def test_the_scenario_reaches_the_errors_rsbatch_handles(exchanges: dict[str, list[Exchange]]) -> None:
    """The codes the Lambda code tells apart (classify, RedshiftData.cancel) were all answered."""
    codes = {(e.operation, error_code_of(e.body)) for ex in exchanges.values() for e in ex if e.status != 200}
    assert {
        ("DescribeStatement", "ResourceNotFoundException"),
        ("DescribeStatement", "ValidationException"),
        ("CancelStatement", "ValidationException"),
        ("GetStatementResult", "ResourceNotFoundException"),
        ("BatchExecuteStatement", "ThrottlingException"),
        ("BatchExecuteStatement", "BatchExecuteStatementException"),
        ("ExecuteStatement", "ExecuteStatementException"),
        ("BatchExecuteStatement", "ActiveStatementsExceededException"),
    } <= codes
