"""Tests of rsbatch_core.registry on moto, with the table template.yaml declares (tests/unit/conftest.py).

Every read is a Query of an index or a GetItem, and what it reads is what it returns.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rsbatch_core.errors import BadInputError
from rsbatch_core.models import ResumedBy, RunRecord, RunStatus, RunSummary
from rsbatch_core.registry import RunNotFoundError, RunRegistry, item_for
from rsbatch_core.runkey import run_key

NOW = datetime.now(UTC)


def arn(i: int) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:1/durable-execution/n/{i}"


def put(registry: RunRegistry, i: int, *, age: timedelta, status: RunStatus = RunStatus.WAITING) -> str:
    """A run started `age` ago, stored as the registry stores one (the registry's own item builder)."""
    record = RunRecord(
        run_key=run_key(arn(i)),
        callback_id=f"cb-{i}",
        execution_arn=arn(i),
        sql_file="q.sql",
        status=status,
        statement_id=f"{i:08d}-1111-4222-8333-444444444444",
        created_at=NOW - age,
    )
    registry._table.put_item(Item=item_for(record))
    return record.run_key


def finish(registry: RunRegistry, key: str, status: RunStatus) -> None:
    record = registry.get(key)
    assert record is not None
    summary = RunSummary(
        run=key,
        status=status,
        execution_arn=record.execution_arn,
        statement_id=record.statement_id,
        sql_file="q.sql",
        resumed_by=ResumedBy.EVENT,
    )
    registry.finish(summary)


def test_runs_are_listed_newest_first_in_pages_that_read_only_what_they_return(registry: RunRegistry) -> None:
    keys = [put(registry, i, age=timedelta(minutes=i)) for i in range(7)]  # keys[0] is the newest
    first = registry.runs(limit=3)
    assert [r.run_key for r in first.records] == keys[:3]
    assert first.items_read == 3 and first.next_token is not None
    second = registry.runs(limit=3, token=first.next_token)
    third = registry.runs(limit=3, token=second.next_token)
    assert [r.run_key for r in second.records + third.records] == keys[3:]
    assert third.next_token is None


def test_since_reads_only_the_window(registry: RunRegistry) -> None:
    recent = [put(registry, i, age=timedelta(minutes=10 * (i + 1))) for i in range(2)]
    for i in range(2, 40):
        put(registry, i, age=timedelta(days=1, minutes=i), status=RunStatus.SUCCEEDED)
    page = registry.runs(since=NOW - timedelta(hours=2))
    assert [r.run_key for r in page.records] == recent
    assert page.items_read == 2 and page.next_token is None


def test_waiting_is_sparse_a_run_leaves_it_when_it_ends(registry: RunRegistry) -> None:
    done, failed, waiting = (put(registry, i, age=timedelta(hours=1, minutes=i)) for i in range(3))
    assert {r.run_key for r in registry.runs(status=RunStatus.WAITING).records} == {done, failed, waiting}
    finish(registry, done, RunStatus.SUCCEEDED)
    registry.abandon(failed, "orphaned")
    page = registry.runs(status=RunStatus.WAITING)
    assert [r.run_key for r in page.records] == [waiting] and page.items_read == 1
    assert [r.run_key for r in registry.runs(status=RunStatus.SUCCEEDED).records] == [done]
    assert [r.run_key for r in registry.runs(status=RunStatus.FAILED).records] == [failed]
    assert {r.run_key for r in registry.runs().records} == {done, failed, waiting}  # every run listed
    item = registry._table.get_item(Key={"run_key": done})["Item"]
    assert "waiting" not in item and item["ended"] == "run#SUCCEEDED"


def test_reconcile_walks_waiting_runs_oldest_first_before_a_moment(registry: RunRegistry) -> None:
    old = [put(registry, i, age=timedelta(hours=5 - i)) for i in range(3)]
    put(registry, 9, age=timedelta(seconds=5))  # too young
    page = registry.waiting(started_before=NOW - timedelta(minutes=10), limit=2)
    assert [r.run_key for r in page.records] == old[:2] and page.items_read == 2
    rest = registry.waiting(started_before=NOW - timedelta(minutes=10), limit=2, token=page.next_token)
    assert [r.run_key for r in rest.records] == old[2:]
    assert [r.run_key for r in registry.iter_waiting()] == [*old, run_key(arn(9))]


def test_find_by_key_execution_arn_statement_and_sub_statement(registry: RunRegistry) -> None:
    key = put(registry, 4, age=timedelta(minutes=1))
    put(registry, 5, age=timedelta(minutes=1))
    statement = "00000004-1111-4222-8333-444444444444"
    assert registry.find(key).run_key == key
    assert registry.find(arn(4)).run_key == key  # the run key is the ARN's hash: one GetItem
    assert registry.find(statement).run_key == key  # the keys-only statement index
    assert registry.find(f"{statement}:2").run_key == key
    with pytest.raises(RunNotFoundError):
        registry.find("00000009-1111-4222-8333-444444444444")
    with pytest.raises(RunNotFoundError, match="1-2048 bytes"):
        registry.find("x" * 3000)


def test_a_new_attempt_drops_the_old_statement_from_lookups(registry: RunRegistry) -> None:
    key = put(registry, 6, age=timedelta(minutes=1))
    registry.next_attempt(key, "cb-2")
    with pytest.raises(RunNotFoundError):
        registry.find("00000006-1111-4222-8333-444444444444")


@pytest.mark.parametrize("token", ["not-a-token", "", "e30", "x" * 5000])
def test_a_bad_token_is_bad_input(registry: RunRegistry, token: str) -> None:
    with pytest.raises(BadInputError, match="next-page token"):
        registry.runs(token=token)


def test_a_token_of_another_listing_is_refused(registry: RunRegistry) -> None:
    for i in range(3):
        put(registry, i, age=timedelta(minutes=i))
    token = registry.runs(limit=1).next_token
    assert token is not None
    with pytest.raises(BadInputError, match="another listing"):
        registry.runs(status=RunStatus.WAITING, token=token)


@pytest.mark.parametrize("limit", [0, 1001])
def test_a_page_is_1_to_1000_runs(registry: RunRegistry, limit: int) -> None:
    with pytest.raises(BadInputError, match="1-1000"):
        registry.runs(limit=limit)


def test_backfill_puts_items_from_before_the_indexes_in_them(registry: RunRegistry) -> None:
    """Old items (no index attributes) are found by key only until `rsbatch registry-backfill`."""
    old: dict[str, Any] = {
        "run_key": "rsbatch-000000000000000000000old",
        "callback_id": "cb",
        "execution_arn": arn(1),
        "sql_file": "q.sql",
        "status": "WAITING",
        "statement_id": "00000001-1111-4222-8333-444444444444",
        "created_at": (NOW - timedelta(hours=1)).isoformat(),
        "updated_at": (NOW - timedelta(hours=1)).isoformat(),
    }
    registry._table.put_item(Item=old)
    ended = {**old, "run_key": "rsbatch-0000000000000000000ended", "status": "FAILED", "statement_id": "s2"}
    registry._table.put_item(Item=ended)
    assert registry.runs().records == [] and registry.runs(status=RunStatus.WAITING).records == []
    assert registry.find(old["run_key"]).status is RunStatus.WAITING  # by key it always worked

    assert registry.backfill() == 2
    assert [r.run_key for r in registry.runs(status=RunStatus.WAITING).records] == [old["run_key"]]
    assert [r.run_key for r in registry.runs(status=RunStatus.FAILED).records] == [ended["run_key"]]
    assert registry.find("00000001-1111-4222-8333-444444444444").run_key == old["run_key"]
    assert registry.backfill() == 0  # done once
