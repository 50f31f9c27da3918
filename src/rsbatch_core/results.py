"""Which statements' rows a run keeps, and within what bounds.

A run keeps the rows of its last statement (`results: last`, the default), or of every
statement that returned rows (`results: all`, as Airflow's `RedshiftDataOperator` returns one
result per sub-statement with `return_sql_result`). Either way the rows go into the summary,
which is a durable step's result and a DynamoDB item (checkpoints ≤ 256 KB, items ≤ 400 KB:
the Lambda durable functions and DynamoDB quotas), so the caps apply to the *total*: at most
`max_rows` rows and `MAX_RESULT_BYTES` of JSON, column names included, over all statements.
A statement past the budget is still listed, with its row count and no rows.

The statement's own `ResultFormat` (DescribeStatement) says how its rows are read: JSON with
GetStatementResult, CSV with GetStatementResultV2 (botocore's model: the operation must match
the format the statement was submitted with).
"""

from __future__ import annotations

import json
from typing import Any

from rsbatch_core.models import ResultRows
from rsbatch_core.observability import logger
from rsbatch_core.ports import StatementApi

#: The JSON size of all kept rows and column names together.
MAX_RESULT_BYTES = 64 * 1024


def result_size(result: ResultRows) -> int:
    """What a kept result costs of the budget: its column names and rows as JSON."""
    return len(json.dumps(result.columns)) + sum(len(json.dumps(row, default=str)) for row in result.rows)


def kept_results(
    api: StatementApi, description: dict[str, Any], *, shift: int, every: bool, max_rows: int
) -> list[ResultRows]:
    """The results to keep of a finished batch, numbered as the SQL file numbers its statements.

    `shift` maps sub-statement N to the file's statement N + shift (rsbatch's own setup
    statements get 0 or less and are never kept). Best effort: a result that cannot be read
    is logged and left out (the batch already committed).
    """
    subs = description.get("SubStatements") or [description]
    numbered = [(n + shift, sub) for n, sub in enumerate(subs, start=1) if n + shift >= 1]
    if not every:
        numbered = numbered[-1:]
    csv = description.get("ResultFormat") == "CSV"
    kept: list[ResultRows] = []
    rows_left, bytes_left = max_rows, MAX_RESULT_BYTES
    for index, sub in numbered:
        if not sub.get("HasResultSet"):
            continue
        if rows_left <= 0 or bytes_left <= 0:
            total = int(sub.get("ResultRows") or 0)
            kept.append(ResultRows(columns=[], rows=[], total_rows=total, truncated=total > 0, index=index))
            continue
        try:
            result = api.result_rows(str(sub.get("Id")), rows_left, bytes_left, csv=csv)
        except Exception:
            logger.warning("could not read the result rows", extra={"statement": index}, exc_info=True)
            continue
        result.index = index
        kept.append(result)
        rows_left -= len(result.rows)
        bytes_left -= result_size(result)
    return kept
