"""One local stack for the fault scenarios, and the four checks every scenario ends with."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rsbatch.local.faults import Faults
from rsbatch.local.stack import LocalStack, StackOptions
from rsbatch.local_run import follow, operator_for
from rsbatch.operations import Operator, RunOptions, Started

MART = "SELECT customer_id, total_orders, total_amount, last_order_date FROM public.mart_customer_summary"
EXPECTED_MART = """
    SELECT customer_id, COUNT(DISTINCT order_id), SUM(quantity * unit_price), MAX(order_date)
    FROM public.orders GROUP BY customer_id
"""


@dataclass
class Harness:
    stack: LocalStack
    operator: Operator

    def faults(self, faults: Faults) -> None:
        self.stack.set_faults(faults)

    def start(
        self,
        sql_file: str | list[str],
        callback_timeout: int | None = None,
        options: RunOptions | None = None,
    ) -> Started:
        return self.operator.start(sql_file, None, callback_timeout, options)

    def follow(self, started: Started, timeout: float = 60) -> dict[str, Any]:
        return follow(self.operator, started, timeout=timeout, quiet=True).to_json()

    def run(self, sql_file: str, callback_timeout: int | None = None) -> dict[str, Any]:
        return self.follow(self.start(sql_file, callback_timeout))

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.stack.warehouse.dsn("dev")) as conn:
            return sorted(conn.execute(query).fetchall())

    def mart(self) -> list[tuple[Any, ...]]:
        return self.rows(MART)

    def reset_mart(self) -> None:
        """A sentinel row only: a refresh replaces it, a failed batch must leave it."""
        with psycopg.connect(self.stack.warehouse.dsn("dev")) as conn:
            conn.execute("DELETE FROM public.mart_customer_summary")
            conn.execute("INSERT INTO public.mart_customer_summary VALUES (-1, 0, 0, NULL, NULL)")

    def check(
        self,
        report: dict[str, Any],
        status: str,
        mart: list[tuple[Any, ...]] | None = None,
        resumed_by: str | None = None,
        statements: int = 1,
    ) -> None:
        """The four checks: final status, mart data, one batch per attempt, nothing left WAITING."""
        assert report["status"] == status, report
        if resumed_by:
            assert report["resumed_by"] == resumed_by, report
        expected_mart = self.rows(EXPECTED_MART) if mart is None else mart
        assert self.mart() == expected_mart
        assert self.stack.redshift is not None
        assert self.stack.redshift.statements_named(report["run"]) == statements, report
        assert len(report["attempts"]) == statements
        self.nothing_waiting()

    def nothing_waiting(self) -> None:
        assert [r.run_key for r in self.operator.registry.iter_waiting()] == []


@pytest.fixture(scope="module")
def _stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """One stack per scenario file: a process hosts one stack at a time (LocalStack's docstring),
    and other files in the same pytest worker start their own."""
    with LocalStack(StackOptions(home=Path(tmp_path_factory.mktemp("faults-home")))) as stack:
        yield stack


@pytest.fixture
def harness(_stack: LocalStack) -> Iterator[Harness]:
    harness = Harness(_stack, operator_for(_stack))
    harness.faults(Faults())
    harness.reset_mart()
    yield harness
    harness.faults(Faults())
    assert _stack.bus is not None and _stack.bus.drain(30)
