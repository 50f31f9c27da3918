"""The run registry: one DynamoDB item per run, the listener's way from an event to a callback.

Writes are conditional so a replayed step, a retried listener and an operator
can all touch the same run without overwriting each other's decisions.

Every read an operator or reconcile makes is a GetItem or a Query on an index,
so what it reads follows the answer, not the table (template.yaml `RunsTable`
defines the indexes; the local stack and the tests create the table from it):

- the table, by `run_key`: the listener, `show RUN_KEY`, `show EXECUTION_ARN` (the key is its hash);
- `by-started` (`item_type`, `started_at`), every run: `runs`, `runs --since`;
- `waiting` (`waiting`, `started_at`), sparse, runs while WAITING: reconcile, `runs --status WAITING`;
- `ended` (`ended` = `run#SUCCEEDED`|`run#FAILED`, `started_at`), sparse: `runs --status …`;
- `by-statement` (`statement_id`), keys only: `show STATEMENT_ID`.

`item_type` is `run` or `pipeline`: a pipeline run has one `pipeline` item (its graph, parameters,
each step's state as a map of bounded JSON texts) and each of its steps' batches a `run` item of
its own, so the listener, reconcile and cancel treat a step's batch as any run. A pipeline item is
in the indexes under its own partition (`pipeline`), so reconcile's walk never sees it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from rsbatch_core.errors import BadInputError, RsbatchError
from rsbatch_core.models import (
    PIPELINE_ITEM,
    ResumedBy,
    RunRecord,
    RunStatus,
    RunSummary,
    StepState,
    utcnow,
)
from rsbatch_core.runkey import run_key as run_key_of

#: The `item_type` of a run; the listing indexes are partitioned by it.
RUN_ITEM = "run"

#: Fields of an item the listing indexes do not copy: a run's summary (up to 64 KB of rows) and
#: what only a pipeline item has (its graph and steps); `runs --pipelines` reads those items whole.
UNLISTED_FIELDS = frozenset({"summary", "item_type", "pipeline", "steps", "redriven_by"})

#: Index names (template.yaml, RunsTable.GlobalSecondaryIndexes).
BY_STARTED = "by-started"
WAITING = "waiting"
ENDED = "ended"
BY_STATEMENT = "by-statement"

#: A page is at most this many items (and DynamoDB stops at 1 MB of read data anyway).
MAX_PAGE = 1000

#: A next-page token is a DynamoDB LastEvaluatedKey (a few short strings), encoded.
MAX_TOKEN_CHARS = 4096


class RunNotFoundError(RsbatchError):
    """No run matches the key, statement id or execution ARN given."""


class RunConflictError(RsbatchError):
    """The conditional write lost: someone else already decided this run."""


@dataclass(frozen=True)
class RunPage:
    """One page of runs, the token of the next one (None: the last), and what DynamoDB read for it."""

    records: list[RunRecord]
    next_token: str | None
    items_read: int  # ScannedCount: items the Query evaluated (= returned: no filter is ever used)
    capacity: float  # ConsumedCapacity.CapacityUnits, as DynamoDB reports it


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds")


def sort_time(dt: datetime) -> str:
    """The indexes' sort key: fixed-width UTC, so string order is time order."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ended_key(status: RunStatus, item_type: str = RUN_ITEM) -> str:
    return f"{item_type}#{status.value}"


class RunRegistry:
    """Data access for run items. The only module that knows the table's layout."""

    def __init__(self, table_name: str, retention_days: int = 30, dynamodb: Any = None) -> None:
        resource = dynamodb or boto3.resource("dynamodb")
        self._table = resource.Table(table_name)
        self._retention = timedelta(days=retention_days)

    def register(self, record: RunRecord) -> None:
        """Create the item before the batch is submitted; a retry of the same run is a no-op.

        The same key from another execution is a conflict: resuming someone else's callback
        would lose this run's resume.
        """
        if self._put_new(record):
            return
        existing = self.get(record.run_key)
        if existing is None or existing.execution_arn != record.execution_arn:
            raise RunConflictError(f"run key {record.run_key} belongs to another execution") from None

    def refuse(self, record: RunRecord) -> None:
        """Record a run whose input the function refused (it never submitted anything), FAILED.

        `rsbatch start` returns before the function reads its input; this item is how `show`
        and `runs` learn why the run failed. An existing item is left alone.
        """
        self._put_new(record.model_copy(update={"status": RunStatus.FAILED}))

    def _put_new(self, record: RunRecord) -> bool:
        """Create the item, timestamped, with its TTL; False when the key already exists."""
        now = utcnow()
        expires = int((now + self._retention).timestamp())
        item = record.model_copy(update={"created_at": now, "updated_at": now, "expires_at": expires})
        try:
            self._table.put_item(Item=item_for(item), ConditionExpression=Attr("run_key").not_exists())
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            return False
        return True

    def set_statement(self, run_key: str, statement_id: str) -> None:
        self._update(run_key, {"statement_id": statement_id})

    def rearm(self, run_key: str, callback_id: str) -> None:
        """Point the run at a new callback (a new round of waiting) while it is still waiting."""
        self._update(run_key, {"callback_id": callback_id}, only_if=RunStatus.WAITING)

    def next_attempt(self, run_key: str, callback_id: str) -> None:
        """A new attempt of a still-WAITING run: its callback, and no statement until it is submitted.

        With no statement the listener takes the new statement's event however early it comes;
        the old attempt's events no longer match anything.
        """
        self._update(
            run_key, {"callback_id": callback_id}, only_if=RunStatus.WAITING, remove=("statement_id",)
        )

    def finish(self, summary: RunSummary) -> None:
        """Record the terminal state; replays write the same values again. It leaves `waiting`."""
        fields: dict[str, Any] = {
            "status": summary.status.value,
            "ended": ended_key(summary.status),
            "resumed_by": summary.resumed_by.value,
            "summary": summary.model_dump_json(),
            "error": summary.error.message if summary.error else None,
            "statement_index": summary.error.statement_index if summary.error else None,
        }
        self._update(summary.run, fields, remove=("waiting",))

    def abandon(self, run_key: str, error: str) -> None:
        """Mark a run that could not finish normally FAILED, if it is still WAITING."""
        with contextlib.suppress(RunConflictError):  # already ended, or never registered
            self._update(
                run_key,
                {"status": RunStatus.FAILED.value, "ended": ended_key(RunStatus.FAILED), "error": error},
                only_if=RunStatus.WAITING,
                remove=("waiting",),
            )

    # -- pipelines -------------------------------------------------------

    def start_pipeline(self, record: RunRecord) -> None:
        """Create a pipeline run's item (graph, parameters, every step PENDING); a replay is a no-op."""
        self.register(record.model_copy(update={"item_type": PIPELINE_ITEM}))

    def pipeline_step(self, run_key: str, step: str, state: StepState) -> None:
        """One step's state in the pipeline's item (one map entry: no read-modify-write)."""
        self._table.update_item(
            Key={"run_key": run_key},
            UpdateExpression="SET #steps.#step = :state, #updated = :now",
            ExpressionAttributeNames={"#steps": "steps", "#step": step, "#updated": "updated_at"},
            ExpressionAttributeValues={":state": state.model_dump_json(), ":now": _iso(utcnow())},
            ConditionExpression=Attr("run_key").exists(),
        )

    def end_pipeline(self, run_key: str, status: RunStatus, error: str | None, pipeline: str) -> None:
        """The pipeline run's end (its `PipelineInfo` with the failed steps); it leaves `waiting`."""
        fields = {
            "status": status.value,
            "ended": ended_key(status, PIPELINE_ITEM),
            "error": error,
            "pipeline": pipeline,
        }
        self._update(run_key, fields, remove=("waiting",))

    def link_redrive(self, original: str, redrive: str) -> None:
        """Record on the redriven run which run redrove it (`show` links both ways)."""
        with contextlib.suppress(RunConflictError):
            self._update(original, {"redriven_by": redrive})

    def get(self, run_key: str) -> RunRecord | None:
        item = self._table.get_item(Key={"run_key": run_key}, ConsistentRead=True).get("Item")
        return _from_item(item) if item else None

    def find(self, ref: str) -> RunRecord:
        """A run by run key, execution ARN (a chain's: its first batch) or statement id
        (a sub-statement id `<id>:N` works too). Each is one GetItem, or one keys-only Query
        and a GetItem."""
        if not ref or len(ref.encode()) > MAX_REF_BYTES:  # DynamoDB refuses such a key value
            raise RunNotFoundError(f"no run matches {ref[:80]!r}…: a reference is 1-{MAX_REF_BYTES} bytes")
        if not _looks_like_uuid_ref(ref):  # run keys and ARNs never look like a statement id
            record = self.get(ref)
            if record:
                return record
            record = self.get(run_key_of(ref))  # an execution ARN: the run key is its hash
            if record and record.execution_arn == ref:
                return record
        statement_id = ref.split(":")[0] if _looks_like_uuid_ref(ref) else ref
        page = self._table.query(
            IndexName=BY_STATEMENT,
            KeyConditionExpression=Key("statement_id").eq(statement_id),
            Limit=MAX_CHAIN_MATCHES,
        )
        for key in sorted((str(i["run_key"]) for i in page.get("Items", [])), key=len):
            record = self.get(key)  # the index lags a write by a moment: the table decides
            if record and record.statement_id == statement_id:
                return record
        raise RunNotFoundError(f"no run matches {ref!r} (a run key, statement id or execution ARN)")

    def runs(
        self,
        *,
        status: RunStatus | None = None,
        since: datetime | None = None,
        limit: int = 50,
        token: str | None = None,
        item_type: str = RUN_ITEM,
    ) -> RunPage:
        """Runs (or pipeline runs) newest first, in pages: all, or one status, optionally since."""
        if status is RunStatus.WAITING:
            index, key = WAITING, Key("waiting").eq(item_type)
        elif status is not None:
            index, key = ENDED, Key("ended").eq(ended_key(status, item_type))
        else:
            index, key = BY_STARTED, Key("item_type").eq(item_type)
        if since is not None:
            key = key & Key("started_at").gte(sort_time(since))
        return self._query(index, key, newest_first=True, limit=limit, token=token)

    def waiting(self, *, started_before: datetime, limit: int = 50, token: str | None = None) -> RunPage:
        """WAITING runs started before a moment, oldest first: reconcile's walk, page by page."""
        key = Key("waiting").eq(RUN_ITEM) & Key("started_at").lte(sort_time(started_before))
        return self._query(WAITING, key, newest_first=False, limit=limit, token=token)

    def iter_waiting(self, *, started_before: datetime | None = None) -> Iterator[RunRecord]:
        """Every WAITING run (all pages)."""
        token: str | None = None
        while True:
            page = self.waiting(started_before=started_before or utcnow(), limit=MAX_PAGE, token=token)
            yield from page.records
            if page.next_token is None:
                return
            token = page.next_token

    def _query(self, index: str, key: Any, *, newest_first: bool, limit: int, token: str | None) -> RunPage:
        if not 1 <= limit <= MAX_PAGE:
            raise BadInputError(f"a page is 1-{MAX_PAGE} runs, not {limit}")
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": key,
            "ScanIndexForward": not newest_first,
            "Limit": limit,
            "ReturnConsumedCapacity": "TOTAL",
        }
        if token is not None:
            kwargs["ExclusiveStartKey"] = _decode_token(token, index)
        page = self._table.query(**kwargs)
        last = page.get("LastEvaluatedKey")
        return RunPage(
            records=[_from_item(item) for item in page.get("Items", [])],
            next_token=_encode_token(last, index) if last else None,
            items_read=int(page.get("ScannedCount", 0)),
            capacity=float(page.get("ConsumedCapacity", {}).get("CapacityUnits", 0)),
        )

    def backfill(self) -> int:
        """Give items written before the indexes existed their index attributes; how many changed.

        The one Scan left, for a one-off migration (`rsbatch registry-backfill`): such items are
        otherwise only found by run key or execution ARN, and reconcile does not see them.
        """
        changed = 0
        kwargs: dict[str, Any] = {"FilterExpression": Attr("item_type").not_exists()}
        while True:
            page = self._table.scan(**kwargs)
            for item in page.get("Items", []):
                record = _from_item(item)
                fields = {k: v for k, v in _index_attributes(record).items() if v is not None}
                with contextlib.suppress(RunConflictError):  # deleted meanwhile
                    self._update(record.run_key, fields, unless_exists="item_type")
                    changed += 1
            if "LastEvaluatedKey" not in page:
                return changed
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _update(
        self,
        run_key: str,
        fields: dict[str, Any],
        only_if: RunStatus | None = None,
        remove: tuple[str, ...] = (),
        unless_exists: str | None = None,
    ) -> None:
        fields = {**fields, "updated_at": _iso(utcnow())}
        # A None clears an attribute: an index key attribute may not be stored as NULL.
        remove = remove + tuple(k for k, v in fields.items() if v is None)
        fields = {k: v for k, v in fields.items() if v is not None}
        names = {f"#set{i}": k for i, k in enumerate(fields)} | {f"#rm{i}": k for i, k in enumerate(remove)}
        values = {f":set{i}": v for i, v in enumerate(fields.values())}
        sets = ", ".join(f"#set{i} = :set{i}" for i in range(len(fields)))
        if remove:
            sets += " REMOVE " + ", ".join(f"#rm{i}" for i in range(len(remove)))
        condition = Attr("run_key").exists()
        if only_if is not None:
            condition = condition & Attr("status").eq(only_if.value)
        if unless_exists is not None:
            condition = condition & Attr(unless_exists).not_exists()
        try:
            self._table.update_item(
                Key={"run_key": run_key},
                UpdateExpression=f"SET {sets}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ConditionExpression=condition,
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                raise RunConflictError(
                    f"run {run_key} is missing or no longer {only_if or 'present'}"
                ) from None
            raise


#: A partition key value is at most 2048 bytes (DynamoDB Developer Guide, "Service quotas").
MAX_REF_BYTES = 2048

#: Items sharing one statement id: one (a chain's batches each have their own statement).
MAX_CHAIN_MATCHES = 10


def _looks_like_uuid_ref(ref: str) -> bool:
    head = ref.split(":")[0]
    return len(head) == 36 and head.count("-") == 4


def _conditional_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def _index_attributes(record: RunRecord) -> dict[str, str | None]:
    """What puts an item in the indexes: its type, start, and `waiting` or `ended` by status."""
    waiting = record.status is RunStatus.WAITING
    return {
        "item_type": record.item_type,
        "started_at": sort_time(record.created_at),
        "waiting": record.item_type if waiting else None,
        "ended": None if waiting else ended_key(record.status, record.item_type),
    }


def item_for(record: RunRecord) -> dict[str, Any]:
    """The item a run is stored as, index attributes included (the bench loads synthetic ones)."""
    data = json.loads(record.model_dump_json()) | _index_attributes(record)
    return {k: v for k, v in data.items() if v is not None}


def _from_item(item: dict[str, Any]) -> RunRecord:
    return RunRecord.model_validate(item)


def _encode_token(last_key: dict[str, Any], index: str) -> str:
    raw = json.dumps({"index": index, "key": last_key}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(token: str, index: str) -> dict[str, Any]:
    """A token this registry printed for the same listing, or bad input (never a raw key)."""
    bad = BadInputError("bad next-page token: pass the one the previous page printed, unchanged")
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    key = data.get("key") if isinstance(data, dict) else None
    if (
        not isinstance(key, dict)
        or not key
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in key.items())
    ):
        raise bad
    if data.get("index") != index:
        raise BadInputError("this next-page token belongs to another listing (other --status?)")
    return key


__all__ = ["ResumedBy", "RunConflictError", "RunNotFoundError", "RunPage", "RunRegistry", "item_for"]
