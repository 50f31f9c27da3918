"""Redshift Data API adapter: submit, describe, cancel, read results — the calls and their arguments."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config

from rsbatch_core.models import ResultRows
from rsbatch_core.ports import Submission
from rsbatch_core.verdict import is_terminal

#: Long polls take up to 30 s; give the socket room beyond that.
_CLIENT_CONFIG = Config(read_timeout=60, retries={"mode": "standard", "max_attempts": 5})


class RedshiftData:
    """The Data API calls rsbatch makes, with their arguments in one place."""

    def __init__(self, client: Any = None) -> None:
        self._client = client or boto3.client("redshift-data", config=_CLIENT_CONFIG)

    def submit(self, submission: Submission) -> str:
        """BatchExecuteStatement (one transaction unless AUTO_COMMIT), with an event at the end.

        With a `session_id` the batch runs in that session (which already knows its target);
        with `session_keep_alive` it opens one for the next batches of a chain.
        """
        kwargs: dict[str, Any] = {}
        if submission.parameters:
            kwargs["Parameters"] = submission.parameters
        if submission.execution_mode != "TRANSACTION":
            kwargs["ExecutionMode"] = submission.execution_mode
        if submission.result_format != "JSON":
            kwargs["ResultFormat"] = submission.result_format
        if submission.session_id:
            kwargs["SessionId"] = submission.session_id
        else:
            kwargs.update(submission.target.api_kwargs())
            if submission.session_keep_alive:
                kwargs["SessionKeepAliveSeconds"] = submission.session_keep_alive
        response = self._client.batch_execute_statement(
            Sqls=[*submission.preamble, *submission.batch.statements],
            StatementName=submission.run,
            ClientToken=submission.token,
            WithEvent=True,
            **kwargs,
        )
        return str(response["Id"])

    def result_rows(
        self, sub_statement_id: str, max_rows: int, max_bytes: int = 64 * 1024, *, csv: bool = False
    ) -> ResultRows:
        """The first rows of a result, bounded by count and size so checkpoints stay small.

        The size is the JSON of the column names and the kept rows; column names alone over
        `max_bytes` keep neither. With `csv`, the result of a statement submitted with
        `ResultFormat=CSV`, read with GetStatementResultV2 (every value a string, NULL "").
        """
        read = self._client.get_statement_result_v2 if csv else self._client.get_statement_result
        response = read(Id=sub_statement_id)
        columns = [str(c.get("label") or c.get("name")) for c in response.get("ColumnMetadata", [])]
        total = int(response.get("TotalNumRows", 0))
        size = len(json.dumps(columns))
        if size > max_bytes:
            return ResultRows(columns=[], rows=[], total_rows=total, truncated=True)
        rows: list[list[Any]] = []
        truncated = False
        first_page = True
        while True:
            for row in _csv_rows(response, header=first_page) if csv else _json_rows(response):
                size += len(json.dumps(row, default=str))
                if len(rows) >= max_rows or size > max_bytes:
                    truncated = True
                    break
                rows.append(row)
            first_page = False
            token = response.get("NextToken")
            if truncated or not token or len(rows) >= max_rows:
                truncated = truncated or len(rows) < total
                break
            response = read(Id=sub_statement_id, NextToken=token)
        return ResultRows(columns=columns, rows=rows, total_rows=total, truncated=truncated)

    def describe(self, statement_id: str, wait_seconds: int = 0) -> dict[str, Any]:
        """DescribeStatement; with `wait_seconds`, a long poll that returns early when terminal."""
        kwargs: dict[str, Any] = {"Id": statement_id}
        if wait_seconds > 0:
            kwargs["WaitTimeSeconds"] = min(wait_seconds, 30)
        response: dict[str, Any] = self._client.describe_statement(**kwargs)
        return response

    def wait_terminal(self, statement_id: str, seconds: int = 30) -> dict[str, Any]:
        """Long-poll DescribeStatement until the statement ends or `seconds` pass."""
        deadline = time.monotonic() + seconds
        description = self.describe(statement_id)
        while not is_terminal(description) and (left := deadline - time.monotonic()) > 0:
            description = self.describe(statement_id, wait_seconds=max(1, min(int(left), 30)))
        return description

    def cancel(self, statement_id: str) -> bool:
        """CancelStatement; False when the statement had already ended."""
        try:
            return bool(self._client.cancel_statement(Id=statement_id).get("Status"))
        except self._client.exceptions.ValidationException:
            return False


def _json_rows(response: dict[str, Any]) -> Iterator[list[Any]]:
    """GetStatementResult's `Records`: lists of typed `Field`s."""
    for record in response.get("Records", []):
        yield [_field_value(f) for f in record]


def _csv_rows(response: dict[str, Any], *, header: bool) -> Iterator[list[Any]]:
    """GetStatementResultV2's `Records`: `CSVRecords` texts, the first page's first line the header."""
    text = "".join(str(r.get("CSVRecords", "")) for r in response.get("Records", []))
    reader = csv.reader(io.StringIO(text))
    if header:
        next(reader, None)
    yield from reader


def _field_value(field: dict[str, Any]) -> Any:
    """A Data API `Field` union → a JSON value."""
    if field.get("isNull"):
        return None
    for key in ("stringValue", "longValue", "doubleValue", "booleanValue"):
        if key in field:
            return field[key]
    if "blobValue" in field:
        return "<blob>"
    return None
