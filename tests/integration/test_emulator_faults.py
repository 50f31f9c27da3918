"""The local warehouse misbehaving on purpose, and running transactions as Redshift does.

Every test drives the real emulator on real PostgreSQL through plain boto3 clients: the
warehouse fault knobs (``conflict``, ``throttle``, ``server-error``, ``active-limit``,
``sub-events``, ``describe-lag``), SERIALIZABLE TRANSACTION batches, ``SET query_group`` and
``SET statement_timeout``, and the stack handing its faults to the emulator.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from rsbatch.local.faults import Faults
from rsbatch.local.redshift_data import RedshiftDataEmulator, RedshiftEvent
from rsbatch.local.stack import LocalStack, StackOptions
from rsbatch.local.warehouse import Warehouse

DB = "emu_faults"  # this module's own database
WG = "local"  # the warehouse every statement names (AWS refuses one that names none)
TERMINAL = {"FINISHED", "FAILED", "ABORTED"}
VIOLATION = (
    "ERROR: 1023 DETAIL: Serializable isolation violation on table - 156128, "
    "transactions forming the cycle are: 1522790, 1522762 (pid:{pid})"
)


# -- helpers ---------------------------------------------------------------------------------


def client_for(endpoint_url: str, access_key: str = "testing") -> Any:
    """A plain boto3 client that never retries: every answer the emulator gives is seen."""
    return boto3.client(
        "redshift-data",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=16, retries={"total_max_attempts": 1}),
    )


def wait(client: Any, statement_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        desc: dict[str, Any] = client.describe_statement(Id=statement_id, WaitTimeSeconds=5)
        if desc["Status"] in TERMINAL or time.monotonic() > deadline:
            return desc


def wait_started(client: Any, statement_id: str, sub: int | None = None) -> None:
    for _ in range(1000):
        desc = client.describe_statement(Id=statement_id)
        if (desc["SubStatements"][sub - 1] if sub else desc)["Status"] == "STARTED":
            return
        time.sleep(0.01)
    raise AssertionError("statement never started")


def run(client: Any, *sqls: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("Database", DB)
    kwargs.setdefault("WorkgroupName", WG)
    return wait(client, client.batch_execute_statement(Sqls=list(sqls), **kwargs)["Id"])


def query(warehouse: Warehouse, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(warehouse.dsn(DB), autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response: Any = exc.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


@pytest.fixture(scope="module")
def emulator(warehouse: Warehouse) -> Iterator[RedshiftDataEmulator]:
    with RedshiftDataEmulator(warehouse, seed=1023) as emu:
        yield emu


@pytest.fixture
def rsd(emulator: RedshiftDataEmulator) -> Iterator[Any]:
    """A no-retry client; every test starts and ends without faults."""
    emulator.set_faults(Faults())
    yield client_for(emulator.endpoint_url)
    emulator.set_faults(Faults())


@pytest.fixture
def events(emulator: RedshiftDataEmulator) -> Iterator[list[RedshiftEvent]]:
    received: list[RedshiftEvent] = []
    emulator.subscribe(received.append)
    yield received
    emulator.unsubscribe(received.append)


def table(client: Any, name: str, *rows: int) -> None:
    values = [f"INSERT INTO {name} VALUES ({v})" for v in rows]
    result = run(client, f"DROP TABLE IF EXISTS {name}", f"CREATE TABLE {name} (v INT)", *values)
    assert result["Status"] == "FINISHED", result


# -- SERIALIZABLE, as Redshift ---------------------------------------------------------------


def test_overlapping_read_then_write_batches_one_fails_to_serialize(rsd: Any, warehouse: Warehouse) -> None:
    table(rsd, "skew_t", 1)
    read, write = "SELECT COUNT(*) FROM skew_t", "INSERT INTO skew_t SELECT COUNT(*) FROM skew_t"
    first = rsd.batch_execute_statement(
        Database=DB, WorkgroupName=WG, Sqls=[read, "SELECT pg_sleep(2)", write]
    )["Id"]
    wait_started(rsd, first, sub=2)  # it has read, and sleeps before it writes
    second = rsd.batch_execute_statement(Database=DB, WorkgroupName=WG, Sqls=[read, write])[
        "Id"
    ]  # reads, writes, commits

    results = {r["Status"]: r for r in (wait(rsd, first), wait(rsd, second))}

    assert sorted(results) == ["FAILED", "FINISHED"]
    failed = results["FAILED"]
    assert failed["Id"] == first  # the second committed first: the first's write closes the cycle
    assert "could not serialize access" in failed["Error"]
    failing = [s for s in failed["SubStatements"] if s["Status"] == "FAILED"]
    assert len(failing) == 1 and failing[0]["Error"].startswith("ERROR: could not serialize access")
    assert query(warehouse, "SELECT v FROM skew_t ORDER BY v") == [(1,), (1,)]  # one INSERT only


def test_auto_commit_statements_keep_the_default_isolation(rsd: Any, warehouse: Warehouse) -> None:
    table(rsd, "skew_auto_t", 1)
    batch = ["SELECT COUNT(*) FROM skew_auto_t", "SELECT pg_sleep(1)", "INSERT INTO skew_auto_t VALUES (2)"]
    first = rsd.batch_execute_statement(
        Database=DB, WorkgroupName=WG, Sqls=batch, ExecutionMode="AUTO_COMMIT"
    )["Id"]
    wait_started(rsd, first, sub=2)
    second = rsd.batch_execute_statement(
        Database=DB, WorkgroupName=WG, Sqls=batch, ExecutionMode="AUTO_COMMIT"
    )["Id"]

    assert [wait(rsd, i)["Status"] for i in (first, second)] == ["FINISHED", "FINISHED"]
    assert query(warehouse, "SELECT COUNT(*) FROM skew_auto_t") == [(3,)]


def test_a_deadlock_fails_one_batch_with_postgres_message(rsd: Any, warehouse: Warehouse) -> None:
    table(rsd, "dead_a", 0)
    table(rsd, "dead_b", 0)
    one = rsd.batch_execute_statement(
        Database=DB,
        WorkgroupName=WG,
        Sqls=["UPDATE dead_a SET v = 1", "SELECT pg_sleep(1)", "UPDATE dead_b SET v = 1"],
    )["Id"]
    wait_started(rsd, one, sub=2)  # dead_a is locked
    two = rsd.batch_execute_statement(
        Database=DB,
        WorkgroupName=WG,
        Sqls=["UPDATE dead_b SET v = 2", "SELECT pg_sleep(0.2)", "UPDATE dead_a SET v = 2"],
    )["Id"]

    results = [wait(rsd, i) for i in (one, two)]

    assert sorted(r["Status"] for r in results) == ["FAILED", "FINISHED"]
    failed = next(r for r in results if r["Status"] == "FAILED")
    assert failed["Error"] == "Query #3 failed with ERROR: deadlock detected"
    winner = 1 if results[0]["Status"] == "FINISHED" else 2
    assert query(warehouse, "SELECT (SELECT v FROM dead_a), (SELECT v FROM dead_b)") == [(winner, winner)]


# -- conflict=K ------------------------------------------------------------------------------


def test_conflict_fails_the_first_k_statements_of_a_name_and_commits_nothing(
    rsd: Any, emulator: RedshiftDataEmulator, warehouse: Warehouse
) -> None:
    table(rsd, "conflict_t")
    emulator.set_faults(Faults.parse("conflict=2"))
    name = f"rsbatch-{uuid.uuid4()}"
    sqls = ["INSERT INTO conflict_t VALUES (1)", "INSERT INTO conflict_t VALUES (2)", "SELECT 3"]

    attempts = [run(rsd, *sqls, StatementName=name) for _ in range(3)]

    for failed in attempts[:2]:
        assert failed["Status"] == "FAILED"
        violation = VIOLATION.format(pid=failed["RedshiftPid"])
        assert failed["Error"] == f"Query #2 failed with {violation}"
        assert [s["Status"] for s in failed["SubStatements"]] == ["FINISHED", "FAILED", "ABORTED"]
        assert failed["SubStatements"][1]["Error"] == violation
    assert attempts[2]["Status"] == "FINISHED", attempts[2]
    assert len({a["Id"] for a in attempts}) == 3
    assert query(warehouse, "SELECT v FROM conflict_t ORDER BY v") == [(1,), (2,)]  # the third's only

    other = run(rsd, "SELECT 1", StatementName=f"{name}-other")  # each name has its own K
    single = rsd.execute_statement(
        Database=DB, WorkgroupName=WG, Sql="SELECT 1", StatementName=f"{name}-one"
    )["Id"]
    assert other["Status"] == "FAILED" and "1023" in other["Error"]
    described = wait(rsd, single)
    assert described["Error"] == VIOLATION.format(pid=described["RedshiftPid"])
    assert run(rsd, "SELECT 1")["Status"] == "FINISHED"  # no name: nothing to count by


def test_conflict_in_auto_commit_fails_only_its_sub_statement(
    rsd: Any, emulator: RedshiftDataEmulator, warehouse: Warehouse
) -> None:
    table(rsd, "conflict_auto_t")
    emulator.set_faults(Faults(conflict=1))

    result = run(
        rsd,
        "INSERT INTO conflict_auto_t VALUES (1)",
        "INSERT INTO conflict_auto_t VALUES (2)",
        "INSERT INTO conflict_auto_t VALUES (3)",
        StatementName=f"auto-{uuid.uuid4()}",
        ExecutionMode="AUTO_COMMIT",
    )

    assert result["Status"] == "FAILED"
    assert [s["Status"] for s in result["SubStatements"]] == ["FINISHED", "FAILED", "FINISHED"]
    assert query(warehouse, "SELECT v FROM conflict_auto_t ORDER BY v") == [(1,), (3,)]


def test_client_token_replays_of_a_conflicting_statement_are_not_new_attempts(
    rsd: Any, emulator: RedshiftDataEmulator
) -> None:
    emulator.set_faults(Faults(conflict=1))
    name = f"tok-{uuid.uuid4()}"
    first = rsd.batch_execute_statement(
        Database=DB, WorkgroupName=WG, Sqls=["SELECT 1"], StatementName=name, ClientToken="t1"
    )
    replay = rsd.batch_execute_statement(
        Database=DB, WorkgroupName=WG, Sqls=["SELECT 1"], StatementName=name, ClientToken="t1"
    )
    assert first["Id"] == replay["Id"] and wait(rsd, first["Id"])["Status"] == "FAILED"
    assert run(rsd, "SELECT 1", StatementName=name, ClientToken="t2")["Status"] == "FINISHED"


# -- throttle, server-error, active-limit ----------------------------------------------------


def test_throttle_answers_throttling_exception_before_doing_anything(
    rsd: Any, emulator: RedshiftDataEmulator
) -> None:
    known = rsd.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT 1")["Id"]
    wait(rsd, known)
    emulator.set_faults(Faults.parse("throttle=1.0"))
    name = f"throttled-{uuid.uuid4()}"

    calls: list[tuple[str, dict[str, Any]]] = [
        ("batch_execute_statement", {"Database": DB, "Sqls": ["SELECT 1"], "StatementName": name}),
        ("execute_statement", {"Database": DB, "Sql": "SELECT 1", "StatementName": name}),
        ("describe_statement", {"Id": known}),
        ("get_statement_result", {"Id": known}),
        ("list_statements", {}),
        ("cancel_statement", {"Id": known}),
    ]
    for operation, kwargs in calls:
        with pytest.raises(ClientError) as exc:
            getattr(rsd, operation)(**kwargs)
        assert error_code(exc) == (400, "ThrottlingException", "Rate exceeded")

    emulator.set_faults(Faults())
    assert emulator.statements_named(name) == 0
    assert rsd.describe_statement(Id=known)["Status"] == "FINISHED"


def test_throttle_fraction_throttles_about_that_share_of_calls(
    rsd: Any, emulator: RedshiftDataEmulator
) -> None:
    known = rsd.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT 1")["Id"]
    wait(rsd, known)
    emulator.set_faults(Faults(throttle=0.5))
    throttled = 0
    for _ in range(200):
        try:
            rsd.describe_statement(Id=known)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ThrottlingException"
            throttled += 1
    assert 60 <= throttled <= 140


def test_server_error_fails_submits_with_the_modeled_fault_and_creates_nothing(
    rsd: Any, emulator: RedshiftDataEmulator
) -> None:
    known = rsd.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT 1")["Id"]
    emulator.set_faults(Faults.parse("server-error=1"))
    name = f"broken-{uuid.uuid4()}"

    with pytest.raises(rsd.exceptions.BatchExecuteStatementException) as batch:
        rsd.batch_execute_statement(
            Database=DB, WorkgroupName=WG, Sqls=["SELECT 1"], StatementName=name, ClientToken="x"
        )
    with pytest.raises(rsd.exceptions.ExecuteStatementException) as single:
        rsd.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT 1", StatementName=name)

    assert error_code(batch)[:2] == (500, "BatchExecuteStatementException")
    assert error_code(single)[:2] == (500, "ExecuteStatementException")
    response: Any = batch.value.response
    statement_id = response["StatementId"]  # the model's member: it names no statement
    assert wait(rsd, known)["Status"] == "FINISHED"  # other operations still answer
    emulator.set_faults(Faults())
    assert emulator.statements_named(name) == 0
    with pytest.raises(rsd.exceptions.ResourceNotFoundException):
        rsd.describe_statement(Id=statement_id)
    retried = rsd.batch_execute_statement(
        Database=DB, WorkgroupName=WG, Sqls=["SELECT 1"], StatementName=name, ClientToken="x"
    )
    assert wait(rsd, retried["Id"])["Status"] == "FINISHED"  # the token was not remembered
    assert emulator.statements_named(name) == 1


def test_active_limit_refuses_the_statement_over_it_and_the_peak_is_kept(
    rsd: Any, emulator: RedshiftDataEmulator
) -> None:
    emulator.set_faults(Faults.parse("active-limit=2"))
    emulator.reset_peak_active()
    running = [
        rsd.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT pg_sleep(30)")["Id"]
        for _ in range(2)
    ]
    try:
        with pytest.raises(rsd.exceptions.ActiveStatementsExceededException) as exc:
            rsd.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT pg_sleep(30)")
        assert error_code(exc)[0] == 400
        assert emulator.peak_active == 2
    finally:
        for statement_id in running:
            rsd.cancel_statement(Id=statement_id)
    assert [wait(rsd, i)["Status"] for i in running] == ["ABORTED", "ABORTED"]

    emulator.set_faults(Faults())  # the emulator's own limit again
    assert emulator.max_active_statements == 500
    # Long enough that the third submit lands while the first still runs, even on a loaded machine.
    more = [
        rsd.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT pg_sleep(2)")["Id"] for _ in range(3)
    ]
    assert [wait(rsd, i)["Status"] for i in more] == ["FINISHED"] * 3
    assert emulator.peak_active == 3
    emulator.reset_peak_active()
    assert emulator.peak_active == 0


# -- sub-events, describe-lag ----------------------------------------------------------------


def mine(events: list[RedshiftEvent], name: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in events if e["detail"]["statementName"] == name]


def test_sub_events_publish_one_event_per_sub_statement_then_the_batch(
    rsd: Any, emulator: RedshiftDataEmulator, events: list[RedshiftEvent]
) -> None:
    emulator.set_faults(Faults.parse("sub-events"))
    name, failing, single = (f"sub-{uuid.uuid4()}" for _ in range(3))

    ok = run(rsd, "SELECT 1", "SELECT 2 UNION SELECT 3", "SELECT 4", StatementName=name, WithEvent=True)
    ko = run(rsd, "SELECT 1", "SELECT 1/0", "SELECT 2", StatementName=failing, WithEvent=True)
    one = rsd.execute_statement(
        Database=DB, WorkgroupName=WG, Sql="SELECT 1", StatementName=single, WithEvent=True
    )["Id"]
    wait(rsd, one)
    time.sleep(0.2)

    got = mine(events, name)
    assert [(d["statementId"], d["state"], d["rows"]) for d in got] == [
        (f"{ok['Id']}:1", "FINISHED", 1),
        (f"{ok['Id']}:2", "FINISHED", 2),
        (f"{ok['Id']}:3", "FINISHED", 1),
        (ok["Id"], "FINISHED", 4),
    ]
    assert all(set(d) == set(got[-1]) for d in got)  # the same shape
    assert [d["redshiftQueryId"] for d in got[:3]] == [s["RedshiftQueryId"] for s in ok["SubStatements"]]
    assert [(d["statementId"], d["state"]) for d in mine(events, failing)] == [
        (f"{ko['Id']}:1", "FINISHED"),
        (f"{ko['Id']}:2", "FAILED"),
        (f"{ko['Id']}:3", "ABORTED"),
        (ko["Id"], "FAILED"),
    ]
    assert [d["statementId"] for d in mine(events, single)] == [one]  # no sub-statements to tell

    emulator.set_faults(Faults())
    plain = run(rsd, "SELECT 1", "SELECT 2", StatementName=f"{name}-off", WithEvent=True)
    time.sleep(0.2)
    assert [d["statementId"] for d in mine(events, f"{name}-off")] == [plain["Id"]]


def test_describe_lag_shows_the_state_before_the_end_for_a_while(
    rsd: Any, emulator: RedshiftDataEmulator
) -> None:
    emulator.set_faults(Faults.parse("describe-lag=1.5"))
    seen: list[dict[str, Any]] = []
    done = threading.Event()

    def describe_on_event(event: RedshiftEvent) -> None:
        statement_id = event["detail"]["statementId"]
        seen.append(rsd.describe_statement(Id=statement_id))
        seen.append(rsd.describe_statement(Id=f"{statement_id}:2"))
        done.set()

    emulator.subscribe(describe_on_event)
    try:
        submitted = rsd.batch_execute_statement(
            Database=DB,
            WorkgroupName=WG,
            Sqls=["SELECT 1", "SELECT 2"],
            WithEvent=True,
            StatementName="lagged",
        )
        assert done.wait(10)
    finally:
        emulator.unsubscribe(describe_on_event)
    lagging, lagging_sub = seen
    started = time.monotonic()
    final = rsd.describe_statement(Id=submitted["Id"], WaitTimeSeconds=10)  # returns once seen ended
    waited = time.monotonic() - started

    assert lagging["Status"] == "STARTED" and "Error" not in lagging and lagging["ResultRows"] == -1
    assert [s["Status"] for s in lagging["SubStatements"]] == ["FINISHED", "FINISHED"]
    assert lagging_sub["Id"] == f"{submitted['Id']}:2" and lagging_sub["Status"] == "FINISHED"
    assert final["Status"] == "FINISHED" and final["ResultRows"] == 2
    assert 0.5 < waited < 3
    assert rsd.describe_statement(Id=submitted["Id"])["Status"] == "FINISHED"


def test_describe_lag_of_a_failed_batch_hides_its_end(rsd: Any, emulator: RedshiftDataEmulator) -> None:
    emulator.set_faults(Faults(describe_lag=1))
    submitted = rsd.batch_execute_statement(
        Database=DB, WorkgroupName=WG, Sqls=["SELECT 1", "SELECT 1/0", "SELECT 3"]
    )
    wait_started(rsd, submitted["Id"])
    for _ in range(300):
        lagging = rsd.describe_statement(Id=submitted["Id"])
        if lagging["SubStatements"][1]["Status"] == "FAILED":
            break
        time.sleep(0.01)

    assert lagging["Status"] == "STARTED"
    assert [s["Status"] for s in lagging["SubStatements"]] == ["FINISHED", "FAILED", "SUBMITTED"]
    time.sleep(1.1)
    ended = rsd.describe_statement(Id=submitted["Id"])
    assert ended["Status"] == "FAILED" and "division by zero" in ended["Error"]
    assert [s["Status"] for s in ended["SubStatements"]] == ["FINISHED", "FAILED", "ABORTED"]


# -- query_group and statement_timeout --------------------------------------------------------


def test_query_group_is_accepted_and_recorded(rsd: Any, emulator: RedshiftDataEmulator) -> None:
    quoted = run(rsd, "SET query_group TO 'nightly-etl'", "SELECT current_setting('rsbatch.query_group')")
    unquoted = run(rsd, "SET query_group TO Reports", "SELECT 1")
    reset = run(rsd, "SET query_group TO 'a'", "RESET query_group")
    session = run(rsd, "SET SESSION query_group = 'etl'", ExecutionMode="AUTO_COMMIT")
    single = rsd.execute_statement(Database=DB, WorkgroupName=WG, Sql="SET query_group TO 'solo'")["Id"]
    none = run(rsd, "SELECT current_setting('rsbatch.query_group', true)")

    for result in (quoted, unquoted, reset, session, none, wait(rsd, single)):
        assert result["Status"] == "FINISHED", result
    assert rsd.get_statement_result(Id=f"{quoted['Id']}:2")["Records"] == [[{"stringValue": "nightly-etl"}]]
    assert emulator.query_group_of(quoted["Id"]) == "nightly-etl"
    assert emulator.query_group_of(unquoted["Id"]) == "reports"
    assert emulator.query_group_of(reset["Id"]) is None
    assert emulator.query_group_of(session["Id"]) == "etl"
    assert emulator.query_group_of(single) == "solo"
    assert emulator.query_group_of(none["Id"]) is None
    # A pooled connection's next statement starts without the last one's query group.
    assert rsd.get_statement_result(Id=f"{none['Id']}:1")["Records"] in (
        [[{"isNull": True}]],
        [[{"stringValue": ""}]],
    )
    with pytest.raises(KeyError):
        emulator.query_group_of(str(uuid.uuid4()))


def test_statement_timeout_in_milliseconds_cancels_the_statement(rsd: Any) -> None:
    started = time.monotonic()
    result = run(rsd, "SET statement_timeout TO 2000", "SELECT pg_sleep(10)")
    elapsed = time.monotonic() - started

    assert result["Status"] == "FAILED"
    assert result["Error"] == "Query #2 failed with ERROR: canceling statement due to statement timeout"
    assert [s["Status"] for s in result["SubStatements"]] == ["FINISHED", "FAILED"]
    assert 1.5 < elapsed < 6
    shown = rsd.execute_statement(Database=DB, WorkgroupName=WG, Sql="SHOW statement_timeout")["Id"]
    wait(rsd, shown)
    assert rsd.get_statement_result(Id=shown)["Records"] == [[{"stringValue": "0"}]]  # not kept


# -- the stack's faults reach the emulator ------------------------------------------------------


def test_the_stack_hands_its_faults_to_the_emulator(warehouse: Warehouse, tmp_path: Path) -> None:
    options = StackOptions(
        home=tmp_path,
        postgres_url=warehouse.dsn("postgres"),
        seed_demo=False,
        events=Faults.parse("conflict=1,active-limit=7"),
    )
    with LocalStack(options) as stack:
        assert stack.redshift is not None
        client = client_for(stack.redshift.endpoint_url)
        assert stack.redshift.max_active_statements == 7
        name = f"stack-{uuid.uuid4()}"
        first = run(client, "SELECT 1", "SELECT 2", StatementName=name, Database="dev")
        assert first["Status"] == "FAILED" and "Serializable isolation violation" in first["Error"]
        assert run(client, "SELECT 1", "SELECT 2", StatementName=name, Database="dev")["Status"] == "FINISHED"

        stack.set_faults(Faults(throttle=1.0))
        with pytest.raises(ClientError, match="ThrottlingException"):
            client.list_statements()
        stack.set_faults(Faults())
        assert stack.redshift.max_active_statements == 500
        assert client.list_statements()["Statements"]
