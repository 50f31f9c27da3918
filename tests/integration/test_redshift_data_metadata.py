"""The local Data API beyond running statements: CSV results, the catalog, sessions, refusals.

Driven only through plain boto3 clients (the model's paginators included), on real PostgreSQL;
what the catalog operations list is checked against PostgreSQL read directly.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from typing import Any

import psycopg
import pytest

from rsbatch.local.redshift_data import RedshiftDataEmulator
from rsbatch.local.warehouse import Warehouse
from tests.integration.test_redshift_data import client_for, wait

DB = "rsd_meta"  # this module's own database
WG = "local"
NO_TARGET = "Either ClusterIdentifier or WorkgroupName needs to be specified."


def run(client: Any, *sqls: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("Database", DB)
    kwargs.setdefault("WorkgroupName", WG)
    return wait(client, client.batch_execute_statement(Sqls=list(sqls), **kwargs)["Id"])


def query(warehouse: Warehouse, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(warehouse.dsn(DB), autocommit=True) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def catalog(redshift_data: Any) -> None:
    """Two schemas of this module, with tables and a view, created through the emulator."""
    done = run(
        redshift_data,
        "DROP SCHEMA IF EXISTS meta_a CASCADE",
        "DROP SCHEMA IF EXISTS meta_b CASCADE",
        "DROP SCHEMA IF EXISTS metaxc CASCADE",
        "CREATE SCHEMA meta_a",
        "CREATE SCHEMA meta_b",
        "CREATE SCHEMA metaxc",
        "CREATE TABLE meta_a.items (id INT NOT NULL, name VARCHAR(40), price DECIMAL(10,2) DEFAULT 0,"
        " sold BOOLEAN)",
        "CREATE TABLE meta_a.item_log (id INT)",
        "CREATE VIEW meta_a.items_v AS SELECT id, name FROM meta_a.items",
        "CREATE TABLE meta_b.items (code CHAR(3))",
    )
    assert done["Status"] == "FINISHED", done


# -- CSV results -------------------------------------------------------------------------------


def test_csv_results_are_read_with_v2_page_by_page(
    redshift_data: Any, redshift_emulator: RedshiftDataEmulator
) -> None:
    batch = run(
        redshift_data,
        "SELECT 1 AS one",
        "SELECT g AS n, CASE WHEN g % 3 = 0 THEN NULL ELSE 'a, \"b\" ' || g END AS label, g % 2 = 0 AS even"
        " FROM generate_series(1, 9) AS g ORDER BY g",
        ResultFormat="CSV",
    )
    assert batch["Status"] == "FINISHED" and batch["ResultFormat"] == "CSV"
    listed = redshift_data.list_statements(Status="ALL", MaxResults=1)["Statements"][0]
    assert listed["Id"] == batch["Id"] and listed["ResultFormat"] == "CSV"

    redshift_emulator.result_page_rows = 4
    try:
        pages = list(redshift_data.get_paginator("get_statement_result_v2").paginate(Id=f"{batch['Id']}:2"))
    finally:
        redshift_emulator.result_page_rows = 1000
    assert len(pages) == 3 and {p["TotalNumRows"] for p in pages} == {9}
    assert {p["ResultFormat"] for p in pages} == {"CSV"}
    assert [c["name"] for c in pages[0]["ColumnMetadata"]] == ["n", "label", "even"]
    texts = [record["CSVRecords"] for page in pages for record in page["Records"]]
    assert texts[0].startswith("n,label,even\n") and not texts[1].startswith("n,")  # one header
    rows = list(csv.reader(io.StringIO("".join(texts))))
    expected = [
        [str(g), "" if g % 3 == 0 else f'a, "b" {g}', "true" if g % 2 == 0 else "false"] for g in range(1, 10)
    ]
    assert rows == [["n", "label", "even"], *expected]


def test_each_result_is_read_in_the_format_it_was_submitted_with(redshift_data: Any) -> None:
    as_csv = run(redshift_data, "SELECT 1 AS n", ResultFormat="CSV")
    as_json = run(redshift_data, "SELECT 1 AS n")
    invalid = redshift_data.exceptions.ValidationException

    with pytest.raises(invalid, match="GetStatementResultV2"):
        redshift_data.get_statement_result(Id=f"{as_csv['Id']}:1")
    with pytest.raises(invalid, match="with GetStatementResult\\."):
        redshift_data.get_statement_result_v2(Id=f"{as_json['Id']}:1")
    assert redshift_data.get_statement_result(Id=f"{as_json['Id']}:1")["Records"] == [[{"longValue": 1}]]
    assert redshift_data.get_statement_result_v2(Id=f"{as_csv['Id']}:1")["Records"] == [
        {"CSVRecords": "n\n1\n"}
    ]


# -- refusals ----------------------------------------------------------------------------------


def test_a_statement_or_catalog_call_must_name_one_warehouse(
    redshift_data: Any, redshift_emulator: RedshiftDataEmulator
) -> None:
    invalid = redshift_data.exceptions.ValidationException
    name = f"nowhere-{uuid.uuid4()}"
    with pytest.raises(invalid) as single:
        redshift_data.execute_statement(Sql="SELECT 1", Database=DB, StatementName=name)
    with pytest.raises(invalid) as batch:
        redshift_data.batch_execute_statement(Sqls=["SELECT 1"], Database=DB, StatementName=name)
    with pytest.raises(invalid) as listing:
        redshift_data.list_schemas(Database=DB)
    messages = {e.value.response["Error"]["Message"] for e in (single, batch, listing)}
    assert messages == {NO_TARGET}
    with pytest.raises(invalid, match="mutually exclusive"):
        redshift_data.execute_statement(Sql="SELECT 1", Database=DB, WorkgroupName=WG, ClusterIdentifier="c")
    assert redshift_emulator.statements_named(name) == 0


def test_a_client_token_names_one_request(
    redshift_data: Any, redshift_emulator: RedshiftDataEmulator, warehouse: Warehouse
) -> None:
    run(redshift_data, "DROP TABLE IF EXISTS token_meta", "CREATE TABLE token_meta (v INT)")
    name, token = f"token-{uuid.uuid4()}", f"t-{uuid.uuid4()}"
    request: dict[str, Any] = {
        "Sqls": ["INSERT INTO token_meta VALUES (:v)"],
        "Parameters": [{"name": "v", "value": "1"}],
        "StatementName": name,
        "ClientToken": token,
        "Database": DB,
        "WorkgroupName": WG,
    }
    first = redshift_data.batch_execute_statement(**request)["Id"]
    changed: list[dict[str, Any]] = [
        {"Sqls": ["INSERT INTO token_meta VALUES (:v)", "SELECT 1"]},
        {"Parameters": [{"name": "v", "value": "2"}]},
        {"WorkgroupName": "other-wg"},
        {"Database": "dev"},
        {"ExecutionMode": "AUTO_COMMIT"},
        {"ResultFormat": "CSV"},
    ]
    for change in changed:
        with pytest.raises(redshift_data.exceptions.ValidationException, match="different request") as exc:
            redshift_data.batch_execute_statement(**{**request, **change})
        assert first in exc.value.response["Error"]["Message"], change

    assert redshift_data.batch_execute_statement(**request)["Id"] == first  # the same request: replayed
    assert wait(redshift_data, first)["Status"] == "FINISHED"
    assert query(warehouse, "SELECT v FROM token_meta") == [(1,)]
    assert redshift_emulator.statements_named(name) == 1


# -- the catalog ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("catalog")
def test_list_databases_and_schemas_answer_from_postgres(redshift_data: Any, warehouse: Warehouse) -> None:
    databases = redshift_data.list_databases(Database=DB, WorkgroupName=WG)["Databases"]
    assert DB in databases and databases == sorted(databases)

    # LIKE: "_" is any one character, so meta_a, meta_b and metaxc; "\_" only the underscore.
    assert redshift_data.list_schemas(Database=DB, WorkgroupName=WG, SchemaPattern="meta_%")["Schemas"] == [
        "meta_a",
        "meta_b",
        "metaxc",
    ]
    assert redshift_data.list_schemas(Database=DB, WorkgroupName=WG, SchemaPattern="meta\\_%")["Schemas"] == [
        "meta_a",
        "meta_b",
    ]
    everything = redshift_data.list_schemas(Database=DB, WorkgroupName=WG)["Schemas"]
    direct = query(warehouse, "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_t%' ORDER BY 1")
    assert everything == [row[0] for row in direct]

    pages = redshift_data.get_paginator("list_schemas").paginate(
        Database=DB, WorkgroupName=WG, SchemaPattern="meta%", PaginationConfig={"PageSize": 2}
    )
    assert [p["Schemas"] for p in pages] == [["meta_a", "meta_b"], ["metaxc"]]


@pytest.mark.usefixtures("catalog")
def test_list_tables_filters_by_schema_and_table_patterns(redshift_data: Any) -> None:
    tables = redshift_data.list_tables(Database=DB, WorkgroupName=WG, SchemaPattern="meta\\_%")["Tables"]
    assert tables == [
        {"name": "item_log", "schema": "meta_a", "type": "TABLE"},
        {"name": "items", "schema": "meta_a", "type": "TABLE"},
        {"name": "items_v", "schema": "meta_a", "type": "VIEW"},
        {"name": "items", "schema": "meta_b", "type": "TABLE"},
    ]
    named = redshift_data.list_tables(Database=DB, WorkgroupName=WG, TablePattern="items")["Tables"]
    assert [(t["schema"], t["name"]) for t in named] == [("meta_a", "items"), ("meta_b", "items")]
    system = redshift_data.list_tables(
        Database=DB, WorkgroupName=WG, SchemaPattern="pg_catalog", TablePattern="pg_class"
    )["Tables"]
    assert system == [{"name": "pg_class", "schema": "pg_catalog", "type": "SYSTEM TABLE"}]

    first = redshift_data.list_tables(Database=DB, WorkgroupName=WG, SchemaPattern="meta\\_%", MaxResults=3)
    rest = redshift_data.list_tables(
        Database=DB, WorkgroupName=WG, SchemaPattern="meta\\_%", MaxResults=3, NextToken=first["NextToken"]
    )
    assert first["Tables"] + rest["Tables"] == tables and "NextToken" not in rest
    with pytest.raises(redshift_data.exceptions.ValidationException, match="NextToken"):
        redshift_data.list_tables(
            Database=DB, WorkgroupName=WG, SchemaPattern="other", NextToken=first["NextToken"]
        )


@pytest.mark.usefixtures("catalog")
def test_describe_table_shows_each_column_and_pages(redshift_data: Any) -> None:
    described = redshift_data.describe_table(Database=DB, WorkgroupName=WG, Schema="meta_a", Table="items")
    assert described["TableName"] == "items"
    columns = {c["name"]: c for c in described["ColumnList"]}
    assert list(columns) == ["id", "name", "price", "sold"]
    assert {c["schemaName"] for c in columns.values()} == {"meta_a"}
    assert {c["tableName"] for c in columns.values()} == {"items"}
    assert (columns["id"]["typeName"], columns["id"]["nullable"], columns["id"]["isSigned"]) == (
        "int4",
        0,
        True,
    )
    assert (columns["name"]["typeName"], columns["name"]["length"], columns["name"]["nullable"]) == (
        "varchar",
        40,
        1,
    )
    assert columns["name"]["isCaseSensitive"] is True
    assert (columns["price"]["precision"], columns["price"]["scale"]) == (10, 2)
    assert columns["price"]["columnDefault"] == "0"
    assert "columnDefault" not in columns["sold"]

    pages = list(
        redshift_data.get_paginator("describe_table").paginate(
            Database=DB, WorkgroupName=WG, Schema="meta_a", Table="items", PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(p["ColumnList"]) for p in pages] == [3, 1]
    whole_schema = redshift_data.describe_table(Database=DB, WorkgroupName=WG, Schema="meta_b")
    assert [(c["tableName"], c["name"]) for c in whole_schema["ColumnList"]] == [("items", "code")]
    assert "TableName" not in whole_schema
    with pytest.raises(redshift_data.exceptions.ValidationException, match="1000"):
        redshift_data.describe_table(Database=DB, WorkgroupName=WG, Table="items", MaxResults=1001)


# -- sessions ------------------------------------------------------------------------------------


def test_list_sessions_shows_the_callers_sessions_as_they_change(
    redshift_emulator: RedshiftDataEmulator,
) -> None:
    mine = client_for(redshift_emulator.endpoint_url, access_key="sessions-owner")
    other = client_for(redshift_emulator.endpoint_url, access_key="sessions-other")
    opened = mine.execute_statement(
        Sql="SELECT 1", Database=DB, WorkgroupName=WG, SessionKeepAliveSeconds=2, WaitTimeSeconds=5
    )
    session = opened["SessionId"]

    listed = mine.list_sessions()["Sessions"]
    assert [(s["SessionId"], s["Status"]) for s in listed] == [(session, "AVAILABLE")]
    assert (listed[0]["Database"], listed[0]["WorkgroupName"], listed[0]["SessionAliveSeconds"]) == (
        DB,
        WG,
        2,
    )
    assert listed[0]["CurrentStatementId"] == opened["Id"]
    assert other.list_sessions()["Sessions"] == []  # only the caller's own

    busy = mine.execute_statement(Sql="SELECT pg_sleep(1)", SessionId=session)["Id"]
    now = mine.list_sessions(SessionId=session)["Sessions"]
    assert (now[0]["Status"], now[0]["CurrentStatementId"]) == ("BUSY", busy)
    assert wait(mine, busy)["Status"] == "FINISHED"

    time.sleep(2.2)  # idle past its keep-alive: closed
    assert mine.list_sessions()["Sessions"] == []
    closed = mine.list_sessions(Status="CLOSED")["Sessions"]
    assert [(s["SessionId"], s["Status"]) for s in closed] == [(session, "CLOSED")]
    assert mine.list_sessions(Status="CLOSED", WorkgroupName="elsewhere")["Sessions"] == []
