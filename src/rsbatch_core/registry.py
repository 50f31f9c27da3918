"""The run registry: one DynamoDB item per run, the listener's way from an event to a callback.

Writes are conditional so a replayed step, a retried listener and an operator
can all touch the same run without overwriting each other's decisions.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from rsbatch_core.errors import RsbatchError
from rsbatch_core.models import ResumedBy, RunRecord, RunStatus, RunSummary, utcnow


class RunNotFoundError(RsbatchError):
    """No run matches the key, statement id or execution ARN given."""


class RunConflictError(RsbatchError):
    """The conditional write lost: someone else already decided this run."""


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds")


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
            self._table.put_item(Item=_to_item(item), ConditionExpression=Attr("run_key").not_exists())
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
        """Record the terminal state; replays write the same values again."""
        fields: dict[str, Any] = {
            "status": summary.status.value,
            "resumed_by": summary.resumed_by.value,
            "summary": summary.model_dump_json(),
            "error": summary.error.message if summary.error else None,
            "statement_index": summary.error.statement_index if summary.error else None,
        }
        self._update(summary.run, fields)

    def abandon(self, run_key: str, error: str) -> None:
        """Mark a run that could not finish normally FAILED, if it is still WAITING."""
        with contextlib.suppress(RunConflictError):  # already ended, or never registered
            self._update(
                run_key, {"status": RunStatus.FAILED.value, "error": error}, only_if=RunStatus.WAITING
            )

    def get(self, run_key: str) -> RunRecord | None:
        item = self._table.get_item(Key={"run_key": run_key}, ConsistentRead=True).get("Item")
        return _from_item(item) if item else None

    def find(self, ref: str) -> RunRecord:
        """A run by run key, statement id (a sub-statement id works too) or execution ARN."""
        record = self.get(ref)
        if record:
            return record
        statement_id = ref.split(":")[0] if _looks_like_uuid_ref(ref) else ref
        matches = [c for c in self.scan() if ref == c.execution_arn or c.statement_id == statement_id]
        if matches:  # an execution ARN of a chain matches every batch: the run is its first
            return min(matches, key=lambda c: len(c.run_key))
        raise RunNotFoundError(f"no run matches {ref!r} (a run key, statement id or execution ARN)")

    def scan(self, status: RunStatus | None = None) -> Iterator[RunRecord]:
        kwargs: dict[str, Any] = {"ConsistentRead": True}
        if status:
            kwargs["FilterExpression"] = Attr("status").eq(status.value)
        while True:
            page = self._table.scan(**kwargs)
            for item in page.get("Items", []):
                yield _from_item(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _update(
        self,
        run_key: str,
        fields: dict[str, Any],
        only_if: RunStatus | None = None,
        remove: tuple[str, ...] = (),
    ) -> None:
        fields = {**fields, "updated_at": _iso(utcnow())}
        names = {f"#set{i}": k for i, k in enumerate(fields)} | {f"#rm{i}": k for i, k in enumerate(remove)}
        values = {f":set{i}": v for i, v in enumerate(fields.values())}
        sets = ", ".join(f"#set{i} = :set{i}" for i in range(len(fields)))
        if remove:
            sets += " REMOVE " + ", ".join(f"#rm{i}" for i in range(len(remove)))
        condition = Attr("run_key").exists()
        if only_if is not None:
            condition = condition & Attr("status").eq(only_if.value)
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


def _looks_like_uuid_ref(ref: str) -> bool:
    head = ref.split(":")[0]
    return len(head) == 36 and head.count("-") == 4


def _conditional_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


def _to_item(record: RunRecord) -> dict[str, Any]:
    data = json.loads(record.model_dump_json())
    return {k: v for k, v in data.items() if v is not None}


def _from_item(item: dict[str, Any]) -> RunRecord:
    return RunRecord.model_validate(item)


__all__ = ["ResumedBy", "RunConflictError", "RunNotFoundError", "RunRegistry"]
