"""The registry's read cost: items read and wall time of the operator's reads at two table sizes.

A moto DynamoDB server (a child process, real boto3 over HTTP) gets the table exactly as
template.yaml declares it, then N synthetic runs shaped like real items (the registry's own
item builder): spread over 30 days, ``RECENT`` started in the last 2 h and ``WAITING`` still
waiting (started 1 h ago). Each operation is measured by what DynamoDB says it read
(``ScannedCount`` of Query/Scan, 1 per GetItem that found an item; ``ConsumedCapacity`` when
asked with ``ReturnConsumedCapacity``; moto reports a fixed stand-in for capacity, so items read
is the figure to trust) and by wall time, which on moto grows with the table because moto
evaluates every query against every item; DynamoDB reads only the index's matching keys.

The Scan the registry used before the indexes is measured alongside, for comparison.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from rsbatch.local.dynamodb import DynamoDBServer
from rsbatch.local.stack import REPO_ROOT
from rsbatch.local.template import load_template, runs_table_definition
from rsbatch_core.actions import reconcile_page
from rsbatch_core.callbacks import Delivery
from rsbatch_core.models import CallbackPayload, ResultRows, ResumedBy, RunRecord, RunStatus, RunSummary
from rsbatch_core.ports import Submission
from rsbatch_core.registry import RunRegistry, item_for
from rsbatch_core.runkey import run_key
from rsbatch_core.verdict import CallbackDecision

#: 100,000 runs take moto ~6 min to load and ~1 min a query (it evaluates each query against
#: every item), so the default second size is the largest that loads in about a minute.
SIZES = (1_000, 10_000)
SCAN_UP_TO = 1_000
RECENT = 2  # runs started in the last 2 hours
WAITING = 5  # runs still WAITING
TABLE = "rsbatch-runs-bench"


@dataclass
class Reads:
    """What DynamoDB said it read, summed over the calls of one operation."""

    items: int = 0
    capacity: float = 0.0
    calls: int = 0

    def count(self, operation: str, parsed: dict[str, Any]) -> None:
        self.calls += 1
        if operation in ("Query", "Scan"):
            self.items += int(parsed.get("ScannedCount", 0))
        elif operation == "GetItem" and parsed.get("Item"):
            self.items += 1
        self.capacity += float((parsed.get("ConsumedCapacity") or {}).get("CapacityUnits", 0))


@dataclass
class Meter:
    """Counts the reads of the registry's client (botocore's after-call event)."""

    current: Reads = field(default_factory=Reads)

    def attach(self, client: Any) -> None:
        client.meta.events.register("after-call.dynamodb", self._after_call)

    def _after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.current.count(model.name, parsed)

    @contextmanager
    def measure(self) -> Iterator[Reads]:
        self.current = Reads()
        yield self.current


class _RunningStatements:
    """Reconcile's Data API during a dry run: every statement still running (nothing to send)."""

    def submit(self, submission: Submission) -> str:
        raise AssertionError("reconcile never submits")

    def describe(self, statement_id: str, wait_seconds: int = 0) -> dict[str, Any]:
        return {"Id": statement_id, "Status": "STARTED", "SubStatements": []}

    def wait_terminal(self, statement_id: str, seconds: int = 30) -> dict[str, Any]:
        raise AssertionError("reconcile never waits")

    def cancel(self, statement_id: str) -> bool:
        raise AssertionError("a dry run cancels nothing")

    def result_rows(
        self, sub_statement_id: str, max_rows: int, max_bytes: int = 64 * 1024, *, csv: bool = False
    ) -> ResultRows:
        raise AssertionError("reconcile reads no rows")


class _RunningExecutions:
    def status(self, execution_arn: str) -> str | None:
        return "RUNNING"


class _NoCallbacks:
    def succeed(self, callback_id: str, payload: CallbackPayload) -> Delivery:
        raise AssertionError("a dry run sends nothing")

    def fail(self, callback_id: str, error_type: str, payload: CallbackPayload) -> Delivery:
        raise AssertionError("a dry run sends nothing")

    def send(self, callback_id: str, decision: CallbackDecision) -> Delivery:
        raise AssertionError("a dry run sends nothing")


def synthetic(i: int, now: datetime, size: int) -> dict[str, Any]:
    """Run i as the registry stores it: the newest RECENT in the last 2 h, WAITING ones 1 h old."""
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:1/durable-execution/b/{i}"
    key = run_key(arn)
    if i < RECENT:
        started = now - timedelta(minutes=30 + i)
    elif i < RECENT + WAITING:
        started = now - timedelta(hours=3, minutes=i)
    else:
        started = now - timedelta(days=30) * ((i + 0.5) / size) - timedelta(hours=4)
    status = RunStatus.WAITING if RECENT <= i < RECENT + WAITING else RunStatus.SUCCEEDED
    record = RunRecord(
        run_key=key,
        callback_id=f"cb-{i:08d}-" + "x" * 120,  # callback ids are long opaque tokens
        execution_arn=arn,
        sql_file="query.sql",
        status=status,
        statement_id=f"{i:08d}-0000-4000-8000-000000000000",
        created_at=started,
        updated_at=started,
        expires_at=int((started + timedelta(days=30)).timestamp()),
    )
    if status is RunStatus.SUCCEEDED:
        summary = RunSummary(
            run=key,
            status=status,
            execution_arn=arn,
            statement_id=record.statement_id,
            sql_file="query.sql",
            resumed_by=ResumedBy.EVENT,
            redshift_status="FINISHED",
        )
        record = record.model_copy(
            update={"summary": summary.model_dump_json(), "resumed_by": ResumedBy.EVENT}
        )
    item: dict[str, Any] = item_for(record)
    return item


def load(table: Any, size: int, now: datetime) -> float:
    began = time.monotonic()
    with table.batch_writer() as batch:
        for i in range(size):
            batch.put_item(Item=synthetic(i, now, size))
    return time.monotonic() - began


def measure_size(endpoint: str, size: int) -> list[dict[str, Any]]:
    """Load `size` runs into a fresh table and measure each operation once."""
    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    definition = runs_table_definition(load_template(REPO_ROOT / "template.yaml"), f"{TABLE}-{size}")
    table = dynamodb.create_table(**definition)
    now = datetime.now(UTC)
    loaded_s = load(table, size, now)
    registry = RunRegistry(definition["TableName"], dynamodb=dynamodb)
    meter = Meter()
    meter.attach(dynamodb.meta.client)
    statement = str(synthetic(RECENT + WAITING + size // 2, now, size)["statement_id"])

    def reconcile_dry_run() -> int:
        cutoff, token, looked = now - timedelta(minutes=10), None, 0
        while True:
            page = reconcile_page(
                registry, _RunningStatements(), _NoCallbacks(), _RunningExecutions(), cutoff, token, True
            )
            looked += int(page["looked_at"])
            if page["next"] is None:
                return looked
            token = str(page["next"])

    def scan_since_2h() -> int:  # what `runs --since 2h` did before the indexes
        cutoff, found = (now - timedelta(hours=2)).isoformat(), 0
        kwargs: dict[str, Any] = {}
        while True:
            page = table.scan(ReturnConsumedCapacity="TOTAL", **kwargs)
            found += sum(1 for item in page["Items"] if str(item["created_at"]) >= cutoff)
            if "LastEvaluatedKey" not in page:
                return found
            kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    operations: list[tuple[str, Callable[[], int]]] = [
        ("runs --since 2h", lambda: len(registry.runs(since=now - timedelta(hours=2), limit=50).records)),
        ("runs --status WAITING", lambda: len(registry.runs(status=RunStatus.WAITING, limit=50).records)),
        ("reconcile --dry-run", reconcile_dry_run),
        ("show STATEMENT_ID", lambda: int(registry.find(statement) is not None)),
    ]
    if size <= SCAN_UP_TO:  # moto scans ~150 items/s: the "before" only where it ends in seconds
        operations.append(("before: Scan for --since 2h", scan_since_2h))
    rows = []
    for name, operation in operations:
        with meter.measure() as reads:
            began = time.monotonic()
            answer = operation()
            wall_ms = (time.monotonic() - began) * 1000
        rows.append(
            {
                "table_runs": size,
                "operation": name,
                "answer": answer,
                "items_read": reads.items,
                "calls": reads.calls,
                "capacity_units": round(reads.capacity, 1),
                "wall_ms": round(wall_ms, 1),
                "load_s": round(loaded_s, 1),
            }
        )
    table.delete()
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m bench.registry_bench", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="runs in the table")
    args = parser.parse_args(argv)
    server = DynamoDBServer().start()
    try:
        rows = []
        for size in args.sizes:
            print(f"registry: loading {size} runs into moto", file=sys.stderr, flush=True)
            rows += measure_size(server.endpoint_url, size)
            print(f"registry: {size} runs loaded in {rows[-1]['load_s']} s", file=sys.stderr, flush=True)
    finally:
        server.stop()
    print(text_table(rows))
    return rows


def text_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "Registry reads (moto over HTTP; items read = ScannedCount + items got)",
        f"  {'runs in table':>13}  {'operation':<28} {'answer':>6} {'items read':>10} "
        f"{'calls':>5} {'wall ms':>9}",
    ]
    lines += [
        f"  {r['table_runs']:>13}  {r['operation']:<28} {r['answer']:>6} {r['items_read']:>10} "
        f"{r['calls']:>5} {r['wall_ms']:>9}"
        for r in rows
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
