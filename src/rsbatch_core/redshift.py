"""Redshift Data API adapter: submit, describe, cancel — and turn a description into stats."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from rsbatch_core.models import TERMINAL_STATES, StatementStats
from rsbatch_core.settings import RedshiftTarget
from rsbatch_core.sqlfile import SqlBatch

#: Long polls take up to 30 s; give the socket room beyond that.
_CLIENT_CONFIG = Config(read_timeout=60, retries={"mode": "standard", "max_attempts": 5})
LONG_POLL_SECONDS = 20


class RedshiftData:
    """The Data API calls rsbatch makes, with their arguments in one place."""

    def __init__(self, client: Any = None) -> None:
        self._client = client or boto3.client("redshift-data", config=_CLIENT_CONFIG)

    def submit(self, batch: SqlBatch, target: RedshiftTarget, run: str, token: str) -> str:
        """BatchExecuteStatement in one transaction, with an event at the end; returns its id."""
        response = self._client.batch_execute_statement(
            Sqls=list(batch.statements),
            StatementName=run,
            ClientToken=token,
            WithEvent=True,
            **target.api_kwargs(),
        )
        return str(response["Id"])

    def describe(self, statement_id: str, wait_seconds: int = 0) -> dict[str, Any]:
        """DescribeStatement; with `wait_seconds`, a long poll that returns early when terminal."""
        kwargs: dict[str, Any] = {"Id": statement_id}
        if wait_seconds > 0:
            kwargs["WaitTimeSeconds"] = min(wait_seconds, 30)
        response: dict[str, Any] = self._client.describe_statement(**kwargs)
        return response

    def cancel(self, statement_id: str) -> bool:
        """CancelStatement; False when the statement had already ended."""
        try:
            return bool(self._client.cancel_statement(Id=statement_id).get("Status"))
        except self._client.exceptions.ValidationException:
            return False


def is_terminal(description: dict[str, Any]) -> bool:
    return description.get("Status") in TERMINAL_STATES


def statement_stats(description: dict[str, Any]) -> list[StatementStats]:
    """Per sub-statement status, rows, duration and error, 1-based like Redshift's `<id>:N`."""
    subs = description.get("SubStatements") or [description]
    stats = []
    for position, sub in enumerate(subs, start=1):
        sub_id = str(sub.get("Id", ""))
        index = int(sub_id.rsplit(":", 1)[1]) if ":" in sub_id else position
        duration = sub.get("Duration")
        rows = sub.get("ResultRows")
        stats.append(
            StatementStats(
                index=index,
                status=str(sub.get("Status", "UNKNOWN")),
                rows=int(rows) if rows is not None and rows >= 0 else None,
                duration_ms=round(duration / 1e6, 3) if duration and duration > 0 else None,
                error=sub.get("Error") or None,
            )
        )
    return stats


def failing_statement(stats: list[StatementStats]) -> StatementStats | None:
    """The sub-statement that failed (first FAILED, else first ABORTED)."""
    for status in ("FAILED", "ABORTED"):
        for stat in stats:
            if stat.status == status:
                return stat
    return None
