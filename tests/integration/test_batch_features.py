"""Batch features on the local stack: parameters, result rows, auto-commit, SQL from S3, chains."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rsbatch.local.stack import SQL_BUCKET, LocalStack, StackOptions
from rsbatch.local_run import follow, operator_for
from rsbatch.operations import Operator, RunOptions, Started
from rsbatch_core.runkey import run_key


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(StackOptions(home=Path(tmp_path_factory.mktemp("features-home")))) as local_stack:
        yield local_stack


@pytest.fixture(scope="module")
def operator(stack: LocalStack) -> Operator:
    return operator_for(stack)


def run(operator: Operator, files: str | list[str], **options: Any) -> dict[str, Any]:
    started = operator.start(files, None, None, RunOptions(**options))
    return follow(operator, started, timeout=60, quiet=True).to_json()


def query(stack: LocalStack, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack.warehouse.dsn("dev")) as conn:
        return conn.execute(sql, args).fetchall()


def test_parameters_are_bound_and_the_last_rows_come_back(stack: LocalStack, operator: Operator) -> None:
    report = run(operator, "examples/orders_since.sql", parameters={"since": "2026-11-01"}, max_rows=5)

    assert report["status"] == "SUCCEEDED", report
    result = report["result"]
    assert result["columns"] == ["customer_id", "amount", "orders"]
    assert len(result["rows"]) == 5 and result["total_rows"] == 20 and result["truncated"]
    top = query(
        stack,
        "SELECT customer_id FROM orders WHERE order_date >= '2026-11-01' GROUP BY customer_id "
        "ORDER BY SUM(quantity * unit_price) DESC, customer_id LIMIT 5",
    )
    assert [row[0] for row in result["rows"]] == [t[0] for t in top]


TOP_3 = (
    "SELECT customer_id, SUM(quantity * unit_price) AS amount FROM public.orders "
    "GROUP BY customer_id ORDER BY amount DESC, customer_id LIMIT 3"
)


def test_results_all_keeps_every_statements_rows_by_its_number(stack: LocalStack, operator: Operator) -> None:
    report = run(operator, "examples/orders_report.sql", results="all")

    assert report["status"] == "SUCCEEDED", report
    assert report["result"] is None
    kept = {r["index"]: r for r in report["results"]}
    assert list(kept) == [1, 3, 4]  # statement 2 (CREATE TEMP TABLE) returned no rows
    assert kept[1]["columns"] == ["orders", "customers"]
    assert kept[1]["rows"] == [
        list(query(stack, "SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM orders")[0])
    ]
    assert kept[3]["rows"] == [[c, str(a)] for c, a in query(stack, TOP_3)]
    assert kept[4]["rows"] == [["top 3, by amount", None]]

    bounded = run(operator, "examples/orders_report.sql", results="all", max_rows=2)
    assert sum(len(r["rows"]) for r in bounded["results"]) == 2  # the cap is on the total
    assert [(r["index"], len(r["rows"]), r["total_rows"], r["truncated"]) for r in bounded["results"]] == [
        (1, 1, 1, False),
        (3, 1, 3, True),
        (4, 0, 1, True),
    ]
    last = run(operator, "examples/orders_report.sql")  # the default: the last statement's rows
    assert last["results"] == [] and last["result"]["index"] == 4


def test_csv_results_are_read_with_get_statement_result_v2(stack: LocalStack, operator: Operator) -> None:
    report = run(operator, "examples/orders_report.sql", results="all", result_format="CSV")

    assert report["status"] == "SUCCEEDED", report
    statement = operator.show(report["run"], live=True).statement  # Redshift's own view
    assert statement is not None and statement["ResultFormat"] == "CSV"  # as submitted
    kept = {r["index"]: r for r in report["results"]}
    assert kept[3]["columns"] == ["customer_id", "amount"]
    assert kept[3]["rows"] == [[str(c), str(a)] for c, a in query(stack, TOP_3)]  # CSV: text
    assert kept[4]["rows"] == [["top 3, by amount", ""]]  # the comma quoted, NULL an empty cell


def test_a_parameter_value_carrying_sql_is_data_not_code(stack: LocalStack, operator: Operator) -> None:
    hostile = "1'; DROP TABLE public.orders; --"
    report = run(operator, "examples/customer_orders.sql", parameters={"customer": hostile})

    assert report["status"] == "SUCCEEDED"
    assert report["result"]["rows"] == [[0]]
    assert query(stack, "SELECT COUNT(*) FROM public.orders")[0][0] == 5000


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({}, "no value was given"),
        ({"since": "2026-01-01", "until": "x"}, "not used"),
        ({"1x": "y"}, "bad parameter"),
    ],
)
def test_bad_parameters_fail_before_anything_is_submitted(
    stack: LocalStack, operator: Operator, parameters: dict[str, str], message: str
) -> None:
    report = run(operator, "examples/orders_since.sql", parameters=parameters)

    assert report["status"] == "FAILED"
    assert message in report["error"]["message"]
    assert report["statement_id"] is None
    assert stack.redshift is not None and stack.redshift.statements_named(report["run"]) == 0


def test_auto_commit_runs_what_a_transaction_cannot(operator: Operator) -> None:
    in_transaction = run(operator, "examples/vacuum.sql")
    assert in_transaction["status"] == "FAILED"
    assert in_transaction["committed_statements"] == []

    auto = run(operator, "examples/vacuum.sql", execution_mode="AUTO_COMMIT")
    assert auto["status"] == "SUCCEEDED", auto
    assert auto["committed_statements"] == [1, 2]


def test_sql_from_the_s3_folder(stack: LocalStack, operator: Operator) -> None:
    (stack.s3_root / SQL_BUCKET / "reports").mkdir(parents=True, exist_ok=True)
    (stack.s3_root / SQL_BUCKET / "reports" / "count.sql").write_text(
        "SELECT COUNT(*) AS n FROM public.orders;"
    )

    report = run(operator, f"s3://{SQL_BUCKET}/reports/count.sql")
    assert report["status"] == "SUCCEEDED", report
    assert report["result"]["rows"] == [[5000]]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        (f"s3://{SQL_BUCKET}/reports/missing.sql", "no such object"),
        ("s3://someone-elses-bucket/x.sql", "outside"),
        (f"s3://{SQL_BUCKET}/../x.sql", "'..'"),
        (f"s3://{SQL_BUCKET}/reports/empty.sql", "no SQL statements"),
    ],
)
def test_bad_s3_sql_fails_with_nothing_submitted(
    stack: LocalStack, operator: Operator, uri: str, message: str
) -> None:
    (stack.s3_root / SQL_BUCKET / "reports").mkdir(parents=True, exist_ok=True)
    (stack.s3_root / SQL_BUCKET / "reports" / "empty.sql").write_bytes(b"")
    report = run(operator, uri)
    assert report["status"] == "FAILED"
    assert message in report["error"]["message"]
    assert report["statement_id"] is None


def test_chained_batches_run_in_order(stack: LocalStack, operator: Operator) -> None:
    report = run(operator, ["examples/stage_orders.sql", "examples/mart_from_stage.sql"])

    assert report["status"] == "SUCCEEDED", report
    assert [b["sql_file"] for b in report["batches"]] == [
        "examples/stage_orders.sql",
        "examples/mart_from_stage.sql",
    ]
    assert all(b["status"] == "SUCCEEDED" for b in report["batches"])
    assert report["durable_operations"] == 6  # three per batch
    assert query(stack, "SELECT COUNT(*) FROM public.mart_customer_summary")[0][0] == 200


def test_a_session_carries_temp_tables_along_a_chain(stack: LocalStack, operator: Operator) -> None:
    chain = ["examples/temp_stage.sql", "examples/temp_report.sql"]
    report = run(operator, chain, session_keep_alive=60)

    assert report["status"] == "SUCCEEDED", report
    expected = query(
        stack,
        "SELECT COUNT(*) FROM (SELECT customer_id FROM orders GROUP BY customer_id "
        "HAVING SUM(quantity * unit_price) > 2500) AS s",
    )[0][0]
    assert report["result"]["rows"][0][0] == expected > 0

    without = run(operator, chain)  # each batch in its own session: the temp table is gone
    assert without["status"] == "FAILED" and "big_spenders" in without["error"]["message"]


def test_a_chain_stops_at_the_first_failure(stack: LocalStack, operator: Operator) -> None:
    report = run(operator, ["examples/fails_midway.sql", "examples/mart_from_stage.sql"])

    assert report["status"] == "FAILED"
    assert [b["sql_file"] for b in report.get("batches", [])] in ([], ["examples/fails_midway.sql"])
    assert "statement 2 failed" in report["error"]["message"]
    assert operator.registry.get(report["run"] + "-2") is None  # the second batch never started


def test_an_empty_chain_is_refused(operator: Operator) -> None:
    started = operator.lambda_.invoke(
        FunctionName=operator.target.function, InvocationType="Event", Payload=b'{"batches": []}'
    )
    arn = started["DurableExecutionArn"]
    report = follow(
        operator, Started(run=run_key(arn), execution_arn=arn, new=True), timeout=30, quiet=True
    ).to_json()
    assert report["status"] == "FAILED" and "batches" in report["error"]["message"]
