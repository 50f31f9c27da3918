"""The local Redshift Data API, driven only through a plain boto3 client, on real PostgreSQL."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import psycopg
import pytest

from rsbatch.local.redshift_data import RedshiftDataEmulator, RedshiftEvent
from rsbatch.local.warehouse import Warehouse
from rsbatch_core.sqlfile import split_statements

ROOT = Path(__file__).resolve().parents[2]
DB = "rsd_tests"  # this module's own database: created on first use, shared with nobody
WG = "local"  # the warehouse every statement names (AWS refuses one that names none)
TERMINAL = {"FINISHED", "FAILED", "ABORTED"}


# -- helpers ---------------------------------------------------------------------------------


def sql_file(name: str) -> list[str]:
    return split_statements((ROOT / "sql" / name).read_text("utf-8"))


def client_for(endpoint_url: str, access_key: str = "testing") -> Any:
    """A plain boto3 client for the emulator, as the principal `access_key` (owners are per key)."""
    return boto3.client(
        "redshift-data",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key="testing",
    )


def wait(client: Any, statement_id: str, timeout: float = 15) -> dict[str, Any]:
    """Describe with long polls until terminal."""
    deadline = time.monotonic() + timeout
    while True:
        desc: dict[str, Any] = client.describe_statement(Id=statement_id, WaitTimeSeconds=5)
        if desc["Status"] in TERMINAL or time.monotonic() > deadline:
            return desc
        time.sleep(0.01)


def wait_started(client: Any, statement_id: str, sub: int | None = None) -> None:
    """Until the statement (or its sub-statement number ``sub``) is running."""
    for _ in range(500):
        desc = client.describe_statement(Id=statement_id)
        if (desc["SubStatements"][sub - 1] if sub else desc)["Status"] == "STARTED":
            return
        time.sleep(0.01)
    raise AssertionError("statement never started")


def run(client: Any, *sqls: str, **kwargs: Any) -> dict[str, Any]:
    """Submit a batch in this module's database and wait for it."""
    kwargs.setdefault("Database", DB)
    kwargs.setdefault("WorkgroupName", WG)
    submitted = client.batch_execute_statement(Sqls=list(sqls), **kwargs)
    return wait(client, submitted["Id"])


def execute(client: Any, sql: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("Database", DB)
    kwargs.setdefault("WorkgroupName", WG)
    submitted = client.execute_statement(Sql=sql, **kwargs)
    return wait(client, submitted["Id"])


def query(warehouse: Warehouse, sql: str, database: str = DB) -> list[tuple[Any, ...]]:
    """Read PostgreSQL directly, independently of the emulator."""
    with psycopg.connect(warehouse.dsn(database), autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def post(endpoint: str, body: bytes, target: str | None, method: str = "POST") -> tuple[int, Any]:
    """A raw HTTP request: what boto3 would never send."""
    url = urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    conn.request(method, "/", body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, json.loads(payload) if payload else None


@pytest.fixture(scope="module")
def seeded(redshift_data: Any) -> None:
    """The demo schema (Redshift DDL) and data, loaded through the emulator itself."""
    result = run(redshift_data, *sql_file("local/schema.sql"), *sql_file("local/data.sql"))
    assert result["Status"] == "FINISHED", result


@pytest.fixture
def events(redshift_emulator: RedshiftDataEmulator) -> Iterator[list[RedshiftEvent]]:
    received: list[RedshiftEvent] = []
    redshift_emulator.subscribe(received.append)
    yield received
    redshift_emulator.unsubscribe(received.append)


# -- the seed batch --------------------------------------------------------------------------


def test_seed_mart_refresh_gives_the_right_mart_rows(
    redshift_data: Any, warehouse: Warehouse, seeded: None
) -> None:
    result = run(redshift_data, *sql_file("query.sql"), StatementName="rsbatch-seed-mart")

    assert result["Status"] == "FINISHED", result
    assert [s["Status"] for s in result["SubStatements"]] == ["FINISHED", "FINISHED"]
    assert result["SubStatements"][1]["ResultRows"] == 200
    assert result["ExecutionMode"] == "TRANSACTION"
    expected = query(
        warehouse,
        "SELECT customer_id, COUNT(DISTINCT order_id), SUM(quantity * unit_price), MAX(order_date)"
        " FROM public.orders GROUP BY customer_id ORDER BY customer_id",
    )
    mart = query(
        warehouse,
        "SELECT customer_id, total_orders, total_amount, last_order_date"
        " FROM public.mart_customer_summary ORDER BY customer_id",
    )
    assert len(expected) == 200
    assert mart == expected
    assert query(warehouse, "SELECT COUNT(*) FROM public.mart_customer_summary WHERE updated_at IS NULL") == [
        (0,)
    ]


def test_batch_failing_in_its_second_statement_commits_nothing(
    redshift_data: Any, warehouse: Warehouse, seeded: None
) -> None:
    run(redshift_data, *sql_file("query.sql"))
    before = query(warehouse, "SELECT * FROM public.mart_customer_summary ORDER BY customer_id")

    result = run(redshift_data, *sql_file("examples/fails_midway.sql"))

    assert result["Status"] == "FAILED"
    assert "Query #2" in result["Error"] and "division by zero" in result["Error"]
    subs = result["SubStatements"]
    assert [s["Status"] for s in subs] == ["FINISHED", "FAILED", "ABORTED"]
    assert subs[1]["Error"] == "ERROR: division by zero"
    assert [s["Id"] for s in subs] == [f"{result['Id']}:{n}" for n in (1, 2, 3)]
    assert query(warehouse, "SELECT * FROM public.mart_customer_summary ORDER BY customer_id") == before


def test_auto_commit_commits_each_statement(redshift_data: Any, warehouse: Warehouse) -> None:
    run(redshift_data, "DROP TABLE IF EXISTS auto_t", "CREATE TABLE auto_t (v INT)")

    result = run(
        redshift_data,
        "INSERT INTO auto_t VALUES (1)",
        "INSERT INTO auto_t VALUES (1/0)",
        "INSERT INTO auto_t VALUES (3)",
        ExecutionMode="AUTO_COMMIT",
    )

    assert result["Status"] == "FAILED"
    assert result["ExecutionMode"] == "AUTO_COMMIT"
    assert [s["Status"] for s in result["SubStatements"]] == ["FINISHED", "FAILED", "FINISHED"]
    assert query(warehouse, "SELECT v FROM auto_t ORDER BY v") == [(1,), (3,)]


def test_redshift_dialect_is_translated(redshift_data: Any) -> None:
    submitted = redshift_data.execute_statement(
        Database=DB,
        WorkgroupName=WG,
        Sql="SELECT DATEDIFF(month, '2026-01-31'::date, '2026-02-01'::date) AS months,"
        " DATEDIFF(day, '2026-01-01 23:00'::timestamp, '2026-01-02 01:00'::timestamp) AS days,"
        " NVL(NULL, 7 / 2) AS int_division,"
        " LISTAGG(x, ',') WITHIN GROUP (ORDER BY x) AS xs"
        " FROM (VALUES ('b'), ('a'), (''), (NULL)) AS v(x)",
    )
    assert wait(redshift_data, submitted["Id"])["Status"] == "FINISHED"
    records = redshift_data.get_statement_result(Id=submitted["Id"])["Records"]
    assert records == [[{"longValue": 1}, {"longValue": 1}, {"longValue": 3}, {"stringValue": "a,b"}]]

    unsupported = execute(redshift_data, "UNLOAD ('SELECT 1') TO 's3://bucket/x' IAM_ROLE 'arn'")
    assert unsupported["Status"] == "FAILED"
    assert "UNLOAD" in unsupported["Error"]
    assert execute(redshift_data, "SELECT 1 / 0")["Error"] == "ERROR: division by zero"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("DATEDIFF(year, '2025-12-31', '2026-01-01')", {"longValue": 1}),
        ("DATEDIFF(qtr, '2026-03-31', '2026-04-01')", {"longValue": 1}),
        ("DATEDIFF(month, '2026-02-01', '2026-01-31')", {"longValue": -1}),
        ("DATEDIFF(month, '2026-01-01', '2026-01-31')", {"longValue": 0}),
        ("DATEDIFF(week, '2026-11-29', '2026-11-30')", {"longValue": 1}),
        ("DATEDIFF(hour, '2026-01-01 10:59', '2026-01-01 11:00')", {"longValue": 1}),
        ("DATEDIFF(s, '2026-01-01 10:00:00.9', '2026-01-01 10:00:01.1')", {"longValue": 1}),
        ("DATEADD(month, 1, '2026-01-31')", {"stringValue": "2026-02-28 00:00:00"}),
        ("DATEADD(day, -1, '2026-03-01'::date)", {"stringValue": "2026-02-28 00:00:00"}),
        ("DECODE(2, 1, 'one', 2, 'two', 'other')", {"stringValue": "two"}),
        ("NVL2(NULL, 'a', 'b')", {"stringValue": "b"}),
        ("LEN('abc')", {"longValue": 3}),
        (
            "CONVERT_TIMEZONE('UTC', 'Asia/Tokyo', '2026-01-01 00:00:00')",
            {"stringValue": "2026-01-01 09:00:00"},
        ),
        (
            "DATE_TRUNC('day', GETDATE()) = CURRENT_DATE AND SYSDATE <= GETDATE() + INTERVAL '1 second'",
            {"booleanValue": True},
        ),
    ],
)
def test_translated_functions_give_redshift_results(
    redshift_data: Any, expression: str, expected: dict[str, Any]
) -> None:
    submitted = redshift_data.execute_statement(Database=DB, WorkgroupName=WG, Sql=f"SELECT {expression}")
    desc = wait(redshift_data, submitted["Id"])
    assert desc["Status"] == "FINISHED", desc.get("Error")
    assert redshift_data.get_statement_result(Id=submitted["Id"])["Records"] == [[expected]]


# -- cancel, idempotency, events ---------------------------------------------------------------


def test_cancel_really_stops_the_query(redshift_data: Any, warehouse: Warehouse) -> None:
    submitted = redshift_data.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT pg_sleep(30)")
    wait_started(redshift_data, submitted["Id"])
    started = time.monotonic()

    assert redshift_data.cancel_statement(Id=submitted["Id"])["Status"] is True
    desc = wait(redshift_data, submitted["Id"], timeout=5)

    assert desc["Status"] == "ABORTED"
    assert time.monotonic() - started < 2
    assert query(warehouse, "SELECT COUNT(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'") == [
        (0,)
    ]
    with pytest.raises(redshift_data.exceptions.ValidationException, match="ABORTED"):
        redshift_data.cancel_statement(Id=submitted["Id"])


def test_cancel_of_a_transaction_batch_rolls_it_back(redshift_data: Any, warehouse: Warehouse) -> None:
    run(redshift_data, "DROP TABLE IF EXISTS cancel_t", "CREATE TABLE cancel_t (v INT)")
    submitted = redshift_data.batch_execute_statement(
        Database=DB,
        WorkgroupName=WG,
        Sqls=["INSERT INTO cancel_t VALUES (1)", "SELECT pg_sleep(30)", "SELECT 2"],
    )
    wait_started(redshift_data, submitted["Id"], sub=2)  # the INSERT has run

    redshift_data.cancel_statement(Id=submitted["Id"])
    desc = wait(redshift_data, submitted["Id"], timeout=5)

    assert desc["Status"] == "ABORTED"
    assert [s["Status"] for s in desc["SubStatements"]] == ["FINISHED", "ABORTED", "ABORTED"]
    assert query(warehouse, "SELECT COUNT(*) FROM cancel_t") == [(0,)]


def test_repeated_client_token_runs_once(
    redshift_data: Any, redshift_emulator: RedshiftDataEmulator, warehouse: Warehouse
) -> None:
    run(redshift_data, "DROP TABLE IF EXISTS token_t", "CREATE TABLE token_t (v INT)")
    name = f"tok-{uuid.uuid4()}"
    ids = {
        redshift_data.batch_execute_statement(
            Database=DB,
            WorkgroupName=WG,
            Sqls=["INSERT INTO token_t VALUES (1)"],
            StatementName=name,
            ClientToken="a" * 64,
        )["Id"]
        for _ in range(3)
    }

    assert len(ids) == 1
    assert wait(redshift_data, ids.pop())["Status"] == "FINISHED"
    assert query(warehouse, "SELECT COUNT(*) FROM token_t") == [(1,)]
    assert redshift_emulator.statements_named(name) == 1


def test_exactly_one_event_per_terminal_statement(redshift_data: Any, events: list[RedshiftEvent]) -> None:
    prefix = f"evt-{uuid.uuid4()}"
    finished = redshift_data.execute_statement(
        Database=DB, WorkgroupName=WG, Sql="SELECT 1", WithEvent=True, StatementName=f"{prefix}-ok"
    )["Id"]
    failed = redshift_data.batch_execute_statement(
        Database=DB,
        WorkgroupName=WG,
        Sqls=["SELECT 1", "SELECT 1/0"],
        WithEvent=True,
        StatementName=f"{prefix}-ko",
    )["Id"]
    aborted = redshift_data.execute_statement(
        Database=DB, WorkgroupName=WG, Sql="SELECT pg_sleep(30)", WithEvent=True, StatementName=f"{prefix}-ab"
    )["Id"]
    silent = redshift_data.execute_statement(
        Database=DB, WorkgroupName=WG, Sql="SELECT 1", StatementName=prefix
    )["Id"]
    wait_started(redshift_data, aborted)
    redshift_data.cancel_statement(Id=aborted)
    for statement_id in (finished, failed, aborted, silent):
        wait(redshift_data, statement_id)
    time.sleep(0.2)  # a duplicate would arrive about now

    mine = [e for e in events if e["detail"]["statementName"].startswith(prefix)]
    states = {e["detail"]["statementId"]: e["detail"]["state"] for e in mine}
    assert len(mine) == 3
    assert states == {finished: "FINISHED", failed: "FAILED", aborted: "ABORTED"}
    event = next(e for e in mine if e["detail"]["statementId"] == finished)
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert event["source"] == "aws.redshift-data"
    assert event["detail-type"] == "Redshift Data Statement Status Change"
    assert (event["version"], event["account"], event["region"]) == ("0", "123456789012", "us-east-1")
    assert event["time"].endswith("Z")
    # The workgroup, by ARN (arn:aws:redshift-serverless:R:A:workgroup/ID, ID a UUID).
    (resource,) = event["resources"]
    assert resource.startswith("arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/")
    detail = event["detail"]
    assert detail["principal"] == "arn:aws:sts::123456789012:assumed-role/testing"
    assert detail["rows"] == 1
    assert isinstance(detail["redshiftQueryId"], int) and detail["redshiftQueryId"] > 0
    assert detail["expireAt"] - time.time() == pytest.approx(86400, abs=60)


def test_event_is_published_after_the_status_is_visible(
    redshift_data: Any, redshift_emulator: RedshiftDataEmulator
) -> None:
    seen: list[str] = []
    done = threading.Event()

    def describe_on_event(event: RedshiftEvent) -> None:
        seen.append(redshift_data.describe_statement(Id=event["detail"]["statementId"])["Status"])
        done.set()

    redshift_emulator.subscribe(describe_on_event)
    try:
        redshift_data.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT 1", WithEvent=True)
        assert done.wait(5)
    finally:
        redshift_emulator.unsubscribe(describe_on_event)
    assert seen == ["FINISHED"]


# -- parameters and results ------------------------------------------------------------------


def test_parameters_are_bound_by_the_driver(redshift_data: Any, warehouse: Warehouse) -> None:
    run(redshift_data, "DROP TABLE IF EXISTS param_t", "CREATE TABLE param_t (v TEXT)")
    evil = "'); DROP TABLE param_t; --"

    inserted = execute(
        redshift_data,
        "INSERT INTO param_t VALUES (:v)",
        Parameters=[{"name": "v", "value": evil}],
    )
    selected = redshift_data.execute_statement(
        Database=DB,
        WorkgroupName=WG,
        Sql="SELECT :n::int + 1 AS x, '100%' AS pct, ':n' AS lit /* :n */",
        Parameters=[{"name": "n", "value": "41"}],
    )

    assert inserted["Status"] == "FINISHED", inserted
    assert inserted["QueryParameters"] == [{"name": "v", "value": evil}]
    assert query(warehouse, "SELECT v FROM param_t") == [(evil,)]
    assert wait(redshift_data, selected["Id"])["Status"] == "FINISHED"
    records = redshift_data.get_statement_result(Id=selected["Id"])["Records"]
    assert records == [[{"longValue": 42}, {"stringValue": "100%"}, {"stringValue": ":n"}]]
    with pytest.raises(redshift_data.exceptions.ValidationException, match="No value given"):
        redshift_data.execute_statement(
            Database=DB, WorkgroupName=WG, Sql="SELECT :missing", Parameters=[{"name": "other", "value": "1"}]
        )
    with pytest.raises(redshift_data.exceptions.ValidationException, match="not referenced"):
        redshift_data.execute_statement(
            Database=DB, WorkgroupName=WG, Sql="SELECT 1", Parameters=[{"name": "unused", "value": "1"}]
        )


def test_results_are_typed_and_paged(redshift_data: Any, redshift_emulator: RedshiftDataEmulator) -> None:
    typed = redshift_data.execute_statement(
        Database=DB,
        WorkgroupName=WG,
        Sql="SELECT 7 AS i, 2.5::float8 AS f, 12.30::numeric(6,2) AS d, true AS b, NULL::int AS n,"
        " DATE '2026-03-01' AS day, 'x' AS s",
    )
    wait(redshift_data, typed["Id"])
    result = redshift_data.get_statement_result(Id=typed["Id"])
    assert result["Records"] == [
        [
            {"longValue": 7},
            {"doubleValue": 2.5},
            {"stringValue": "12.30"},
            {"booleanValue": True},
            {"isNull": True},
            {"stringValue": "2026-03-01"},
            {"stringValue": "x"},
        ]
    ]
    assert Decimal(result["Records"][0][2]["stringValue"]) == Decimal("12.30")
    columns = result["ColumnMetadata"]
    assert [c["name"] for c in columns] == ["i", "f", "d", "b", "n", "day", "s"]
    assert [c["typeName"] for c in columns] == [
        "int4",
        "float8",
        "numeric",
        "bool",
        "int4",
        "date",
        "text",
    ]

    batch = run(redshift_data, "SELECT 1", "SELECT g FROM generate_series(1, 20) AS g ORDER BY g")
    redshift_emulator.result_page_rows = 7
    try:
        pages = [redshift_data.get_statement_result(Id=f"{batch['Id']}:2")]
        while "NextToken" in pages[-1]:
            pages.append(
                redshift_data.get_statement_result(Id=f"{batch['Id']}:2", NextToken=pages[-1]["NextToken"])
            )
    finally:
        redshift_emulator.result_page_rows = 1000
    assert [len(p["Records"]) for p in pages] == [7, 7, 6]
    assert {p["TotalNumRows"] for p in pages} == {20}
    assert [r[0]["longValue"] for p in pages for r in p["Records"]] == list(range(1, 21))
    paginated = redshift_data.get_paginator("get_statement_result").paginate(Id=f"{batch['Id']}:2")
    assert sum(len(p["Records"]) for p in paginated) == 20

    with pytest.raises(redshift_data.exceptions.ValidationException, match="batch"):
        redshift_data.get_statement_result(Id=batch["Id"])
    ddl = run(redshift_data, "CREATE TEMP TABLE tmp_x (v INT)")
    with pytest.raises(redshift_data.exceptions.ResourceNotFoundException):
        redshift_data.get_statement_result(Id=f"{ddl['Id']}:1")
    with pytest.raises(redshift_data.exceptions.ResourceNotFoundException):
        redshift_data.get_statement_result(Id=f"{batch['Id']}:3")
    with pytest.raises(redshift_data.exceptions.ValidationException, match="NextToken"):
        redshift_data.get_statement_result(Id=f"{batch['Id']}:2", NextToken="bogus")


def test_describe_reports_sub_statements_and_echoes_the_target(redshift_data: Any) -> None:
    submitted = redshift_data.batch_execute_statement(
        Sqls=["SELECT current_database()", "SELECT 2 UNION SELECT 3"],
        Database="rsd_tests_other",
        ClusterIdentifier="local-cluster",
        DbUser="awsuser",
        StatementName="described",
    )
    assert submitted["ClusterIdentifier"] == "local-cluster"
    assert submitted["DbUser"] == "awsuser"
    desc = wait(redshift_data, submitted["Id"])

    assert desc["Status"] == "FINISHED"
    assert (desc["Database"], desc["ClusterIdentifier"], desc["DbUser"]) == (
        "rsd_tests_other",
        "local-cluster",
        "awsuser",
    )
    assert desc["HasResultSet"] is True and desc["ResultRows"] == 3
    assert desc["RedshiftPid"] > 0 and desc["Duration"] > 0
    assert desc["UpdatedAt"] >= desc["CreatedAt"]
    first, second = desc["SubStatements"]
    assert first["QueryString"] == "SELECT current_database()"
    assert (first["ResultRows"], second["ResultRows"]) == (1, 2)
    assert first["HasResultSet"] and first["Duration"] > 0 and first["RedshiftQueryId"] > 0
    records = redshift_data.get_statement_result(Id=first["Id"])["Records"]
    assert records == [[{"stringValue": "rsd_tests_other"}]]
    sub = redshift_data.describe_statement(Id=second["Id"])
    assert (sub["Id"], sub["Status"], sub["Database"]) == (second["Id"], "FINISHED", "rsd_tests_other")

    serverless = redshift_data.execute_statement(
        Sql="SELECT 1", WorkgroupName="local-wg", SecretArn="arn:secret", Database=DB
    )
    assert (serverless["WorkgroupName"], serverless["SecretArn"]) == ("local-wg", "arn:secret")
    assert "SubStatements" not in wait(redshift_data, serverless["Id"])


def test_long_poll_returns_as_soon_as_the_statement_ends(redshift_data: Any) -> None:
    submitted = redshift_data.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT pg_sleep(0.3)")
    started = time.monotonic()
    desc = redshift_data.describe_statement(Id=submitted["Id"], WaitTimeSeconds=10)
    assert desc["Status"] == "FINISHED"
    assert time.monotonic() - started < 2

    running = redshift_data.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT pg_sleep(5)")
    started = time.monotonic()
    desc = redshift_data.describe_statement(Id=running["Id"], WaitTimeSeconds=1)
    assert desc["Status"] in {"SUBMITTED", "PICKED", "STARTED"}
    assert 0.9 < time.monotonic() - started < 3
    redshift_data.cancel_statement(Id=running["Id"])

    with_wait = redshift_data.execute_statement(
        Database=DB, WorkgroupName=WG, Sql="SELECT 1", WaitTimeSeconds=5
    )
    assert with_wait["Status"] == "FINISHED" and with_wait["HasResultSet"] is True


def test_list_statements_filters_and_pages(redshift_data: Any) -> None:
    prefix = f"list-{uuid.uuid4()}"
    ids = [execute(redshift_data, "SELECT 1", StatementName=f"{prefix}-{n}")["Id"] for n in range(3)]
    failed = execute(redshift_data, "SELECT 1/0", StatementName=f"{prefix}-bad")["Id"]

    listed = redshift_data.list_statements(StatementName=prefix)["Statements"]
    assert [s["Id"] for s in listed] == ids[::-1]  # FINISHED only by default, newest first
    everything = redshift_data.list_statements(StatementName=prefix, Status="ALL")["Statements"]
    assert [s["Id"] for s in everything] == [failed, *ids[::-1]]
    assert everything[0]["StatementName"] == f"{prefix}-bad"
    assert everything[0]["QueryString"] == "SELECT 1/0"
    assert everything[0]["IsBatchStatement"] is False
    failures = redshift_data.list_statements(StatementName=prefix, Status="FAILED")["Statements"]
    assert [s["Id"] for s in failures] == [failed]

    first = redshift_data.list_statements(StatementName=prefix, Status="ALL", MaxResults=3)
    second = redshift_data.list_statements(
        StatementName=prefix, Status="ALL", MaxResults=3, NextToken=first["NextToken"]
    )
    assert [s["Id"] for s in first["Statements"] + second["Statements"]] == [failed, *ids[::-1]]
    assert "NextToken" not in second


# -- limits, bad input, concurrency, ownership -------------------------------------------------


def test_redshift_limits_are_validation_errors(redshift_data: Any) -> None:
    invalid = redshift_data.exceptions.ValidationException
    with pytest.raises(invalid, match="40"):
        redshift_data.batch_execute_statement(Database=DB, WorkgroupName=WG, Sqls=["SELECT 1"] * 41)
    with pytest.raises(invalid, match="100 KB"):
        redshift_data.batch_execute_statement(
            Database=DB, WorkgroupName=WG, Sqls=["SELECT 1 -- " + "x" * 60_000, "SELECT 2 -- " + "y" * 60_000]
        )
    with pytest.raises(invalid, match="2048"):
        redshift_data.execute_statement(
            Database=DB, WorkgroupName=WG, Sql="SELECT 1", StatementName="n" * 2049
        )
    with pytest.raises(invalid, match="64"):
        redshift_data.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT 1", ClientToken="t" * 65)
    with pytest.raises(invalid, match="30"):
        redshift_data.describe_statement(Id=str(uuid.uuid4()), WaitTimeSeconds=31)
    with pytest.raises(invalid, match="pattern"):
        redshift_data.describe_statement(Id="not-an-id")
    with pytest.raises(redshift_data.exceptions.ResourceNotFoundException):
        redshift_data.describe_statement(Id=str(uuid.uuid4()))
    with pytest.raises(redshift_data.exceptions.ResourceNotFoundException):
        redshift_data.cancel_statement(Id=str(uuid.uuid4()))
    assert execute(redshift_data, "SELECT 1", StatementName="n" * 2048)["Status"] == "FINISHED"
    forty = run(redshift_data, *["SELECT 1"] * 40)
    assert forty["Status"] == "FINISHED" and len(forty["SubStatements"]) == 40


@pytest.mark.parametrize(
    ("target", "body", "error"),
    [
        ("RedshiftData.ExecuteStatement", b"{not json", "SerializationException"),
        ("RedshiftData.ExecuteStatement", b"[1, 2]", "SerializationException"),
        ("RedshiftData.ExecuteStatement", b'{"Sql": 42}', "SerializationException"),
        ("RedshiftData.BatchExecuteStatement", b'{"Sqls": "SELECT 1"}', "SerializationException"),
        ("RedshiftData.ExecuteStatement", b"{}", "ValidationException"),
        ("RedshiftData.BatchExecuteStatement", b'{"Sqls": []}', "ValidationException"),
        ("RedshiftData.ExecuteStatement", b'{"Sql": "   "}', "ValidationException"),
        ("RedshiftData.DescribeStatement", b"{}", "ValidationException"),
        ("RedshiftData.DropEverything", b"{}", "UnknownOperationException"),
        (None, b"{}", "UnknownOperationException"),
        ("RedshiftData.ExecuteStatement", b"\xff\xfe", "SerializationException"),
    ],
)
def test_malformed_requests_get_aws_shaped_errors(
    redshift_data: Any,
    redshift_emulator: RedshiftDataEmulator,
    target: str | None,
    body: bytes,
    error: str,
) -> None:
    status, payload = post(redshift_emulator.endpoint_url, body, target)

    assert status == 400
    assert payload["__type"] == error and payload["message"]
    assert redshift_data.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT 1")[
        "Id"
    ]  # still serving


def test_non_post_requests_are_refused(redshift_emulator: RedshiftDataEmulator) -> None:
    status, payload = post(redshift_emulator.endpoint_url, b"", None, method="GET")
    assert status == 404 and payload["__type"] == "UnknownOperationException"


def test_fifty_concurrent_statements_run_in_parallel(redshift_data: Any) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        ids = list(
            pool.map(
                lambda _: redshift_data.execute_statement(
                    Database=DB, WorkgroupName=WG, Sql="SELECT pg_sleep(1)"
                )["Id"],
                range(50),
            )
        )
        # The HTTP server still answers at once while all fifty sleep.
        quick = redshift_data.execute_statement(
            Database=DB, WorkgroupName=WG, Sql="SELECT 1", WaitTimeSeconds=5
        )
        assert quick["Status"] == "FINISHED"
        statuses = list(pool.map(lambda i: wait(redshift_data, i)["Status"], ids))

    assert statuses == ["FINISHED"] * 50
    assert time.monotonic() - started < 5


def test_statements_belong_to_their_principal(warehouse: Warehouse) -> None:
    with RedshiftDataEmulator(warehouse, enforce_owner=True) as emulator:
        owner, other = (client_for(emulator.endpoint_url, key) for key in ("OWNERKEY", "OTHERKEY"))
        statement_id = owner.execute_statement(Database=DB, WorkgroupName=WG, Sql="SELECT 1")["Id"]
        assert wait(owner, statement_id)["Status"] == "FINISHED"

        for call in (other.describe_statement, other.get_statement_result, other.cancel_statement):
            with pytest.raises(other.exceptions.ValidationException, match="another principal"):
                call(Id=statement_id)
        assert owner.get_statement_result(Id=statement_id)["Records"] == [[{"longValue": 1}]]
        assert other.list_statements(Status="ALL")["Statements"] == []


def test_stop_aborts_running_statements(warehouse: Warehouse) -> None:
    received: list[RedshiftEvent] = []
    emulator = RedshiftDataEmulator(warehouse)
    emulator.subscribe(received.append)
    emulator.start()
    client = client_for(emulator.endpoint_url)
    statement_id = client.execute_statement(
        Database=DB, WorkgroupName=WG, Sql="SELECT pg_sleep(29)", WithEvent=True
    )["Id"]
    wait_started(client, statement_id)
    started = time.monotonic()

    emulator.stop()

    assert time.monotonic() - started < 5
    assert [e["detail"]["state"] for e in received] == ["ABORTED"]
    assert query(warehouse, "SELECT COUNT(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(29)'") == [
        (0,)
    ]
    emulator.stop()  # idempotent


# -- the warehouse ---------------------------------------------------------------------------


def _dead(pid: int) -> bool:
    """Gone, or a zombie waiting for a reaper (containers whose init does not reap)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_sigterm_stops_the_embedded_server(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from rsbatch.local.warehouse import Warehouse;"
        "w = Warehouse(Path(sys.argv[1])); w.start(); print(w.pid, flush=True); time.sleep(60)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "home")], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    postmaster = int(child.stdout.readline())
    assert not _dead(postmaster)

    child.send_signal(signal.SIGTERM)

    assert child.wait(20) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 5
    while not _dead(postmaster) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(postmaster)


def test_an_existing_postgres_is_used_through_its_url(warehouse: Warehouse, tmp_path: Path) -> None:
    with Warehouse(tmp_path, url=warehouse.dsn("postgres")) as external:
        assert external.pid is None and not (tmp_path / "pg").exists()
        with psycopg.connect(external.dsn("rsd_url_mode")) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("rsd_url_mode",)
    assert query(warehouse, "SELECT 1", database="rsd_url_mode") == [(1,)]  # still running


# -- sessions ----------------------------------------------------------------------------------


def test_a_session_keeps_temp_tables_for_the_next_statements(redshift_data: Any) -> None:
    first = redshift_data.batch_execute_statement(
        Sqls=["CREATE TEMP TABLE scratch AS SELECT 41 AS n", "UPDATE scratch SET n = n + 1"],
        Database="dev",
        WorkgroupName="local",
        SessionKeepAliveSeconds=60,
    )
    assert first["SessionId"]
    assert wait(redshift_data, first["Id"])["Status"] == "FINISHED"

    second = redshift_data.execute_statement(Sql="SELECT n FROM scratch", SessionId=first["SessionId"])
    described = wait(redshift_data, second["Id"])
    assert described["Status"] == "FINISHED" and described["SessionId"] == first["SessionId"]
    assert redshift_data.get_statement_result(Id=second["Id"])["Records"] == [[{"longValue": 42}]]

    without = redshift_data.execute_statement(
        Sql="SELECT n FROM scratch", Database="dev", WorkgroupName="local"
    )
    assert wait(redshift_data, without["Id"])["Status"] == "FAILED"  # no session, no temp table


def test_session_misuse_is_refused(redshift_data: Any, redshift_emulator: RedshiftDataEmulator) -> None:
    busy = redshift_data.execute_statement(
        Sql="SELECT pg_sleep(2)", Database="dev", WorkgroupName="local", SessionKeepAliveSeconds=1
    )
    session = busy["SessionId"]
    with pytest.raises(redshift_data.exceptions.ValidationException, match="busy"):
        redshift_data.execute_statement(Sql="SELECT 1", SessionId=session)
    with pytest.raises(redshift_data.exceptions.ValidationException, match="cannot be combined"):
        redshift_data.execute_statement(Sql="SELECT 1", SessionId=session, Database="dev")
    other = client_for(redshift_emulator.endpoint_url, "someone-else")
    wait(redshift_data, busy["Id"])
    with pytest.raises(other.exceptions.ValidationException, match="not available"):
        other.execute_statement(Sql="SELECT 1", SessionId=session)
    time.sleep(1.5)  # idle longer than its keep-alive
    with pytest.raises(redshift_data.exceptions.ValidationException, match="not available"):
        redshift_data.execute_statement(Sql="SELECT 1", SessionId=session)
