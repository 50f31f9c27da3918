"""The callback flow end to end on the local stack: real PostgreSQL, emulator, SDK runner, bus."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rsbatch.local.faults import Faults
from rsbatch.local.stack import LocalStack, StackAlreadyRunning, StackOptions
from rsbatch.local_run import follow, operator_for
from rsbatch.operations import Operator

MART = "SELECT customer_id, total_orders, total_amount, last_order_date FROM public.mart_customer_summary"
EXPECTED = """
    SELECT customer_id, COUNT(DISTINCT order_id), SUM(quantity * unit_price), MAX(order_date)
    FROM public.orders GROUP BY customer_id
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    home = tmp_path_factory.mktemp("flow-home")
    with LocalStack(StackOptions(home=Path(home))) as local_stack:
        yield local_stack


@pytest.fixture
def operator(stack: LocalStack) -> Iterator[Operator]:
    stack.set_faults(Faults())
    yield operator_for(stack)
    stack.set_faults(Faults())


def run(operator: Operator, sql_file: str, callback_timeout: int | None = None) -> dict[str, Any]:
    started = operator.start(sql_file, None, callback_timeout)
    return follow(operator, started, timeout=60, quiet=True).to_json()


def rows(stack: LocalStack, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack.warehouse.dsn("dev")) as conn:
        return sorted(conn.execute(query).fetchall())


def test_event_resumes_the_run_and_the_mart_is_right(stack: LocalStack, operator: Operator) -> None:
    report = run(operator, "query.sql")

    assert report["status"] == "SUCCEEDED", report
    assert report["resumed_by"] == "event"
    assert report["durable_operations"] <= 8 and report["invocations"] == 2
    mart = rows(stack, MART)
    assert len(mart) == 200
    assert mart == rows(stack, EXPECTED)
    assert all(isinstance(r[2], Decimal) for r in mart)
    record = operator.registry.get(report["run"])
    assert record is not None and record.status.value == "SUCCEEDED"


def test_a_second_stack_in_the_same_process_is_refused_and_the_first_keeps_working(
    stack: LocalStack, operator: Operator, tmp_path: Path
) -> None:
    # The Lambda code caches its clients per process; a second stack would rebind the first's.
    with pytest.raises(StackAlreadyRunning, match="already running in this process"):
        LocalStack(StackOptions(home=tmp_path)).start()

    assert run(operator, "query.sql")["status"] == "SUCCEEDED"


def test_failed_batch_commits_nothing_and_names_the_statement(stack: LocalStack, operator: Operator) -> None:
    run(operator, "query.sql")
    before = rows(stack, MART)

    report = run(operator, "examples/fails_midway.sql")

    assert report["status"] == "FAILED"
    assert report["error"]["statement_index"] == 2
    assert "division by zero" in report["error"]["message"]
    assert [s["status"] for s in report["statements"]][:2] == ["FINISHED", "FAILED"]
    assert rows(stack, MART) == before  # the DELETE of statement 1 was rolled back


def test_lost_event_is_survived_by_the_poll(stack: LocalStack, operator: Operator) -> None:
    stack.set_faults(Faults(drop=1.0))

    report = run(operator, "query.sql", callback_timeout=1)

    assert report["status"] == "SUCCEEDED"
    assert report["resumed_by"] == "poll"


def test_duplicate_events_resume_once_and_submit_one_batch(stack: LocalStack, operator: Operator) -> None:
    assert stack.bus is not None and stack.redshift is not None
    stack.set_faults(Faults(duplicate=3))

    report = run(operator, "query.sql")
    stack.bus.drain(10)

    assert report["status"] == "SUCCEEDED" and report["resumed_by"] == "event"
    assert stack.redshift.statements_named(report["run"]) == 1
    assert not stack.bus.stats.dead_letters
