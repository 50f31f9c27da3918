"""The polling design, as the article writes it: the baseline the benchmark measures us against.

A faithful copy of ``redshift_batch_executor.py`` from
``../shared/seeds/polling-durable-function-article.ja.txt`` (never deployed): load the SQL file
and split it with sqlparse, ``step(execute_batch_query)`` (``BatchExecuteStatement`` without
``WithEvent``), then up to 360 times ``step(check_query_status)`` (``DescribeStatement``,
raising on FAILED/ABORTED) + ``context.wait(10 s)``.

Differences from the article, none of which changes what it checkpoints:

- the Data API client and the target are read when first used, not at import, so the bench can
  import this module before the local stack sets ``AWS_ENDPOINT_URL_REDSHIFT_DATA``;
- the poll interval can be changed with ``poll_interval_seconds`` in the event (default 10 s,
  the article's);
- type hints.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import sqlparse
from aws_durable_execution_sdk_python import (
    DurableContext,
    StepContext,
    durable_execution,
    durable_step,
)
from aws_durable_execution_sdk_python.config import Duration

POLL_INTERVAL_SECONDS = 10
MAX_ATTEMPTS = 360


@cache
def redshift_data() -> Any:
    return boto3.client("redshift-data")


def target() -> dict[str, str]:
    return {
        "WorkgroupName": os.environ.get("WORKGROUP_NAME") or os.environ.get("RSBATCH_WORKGROUP") or "local",
        "Database": os.environ.get("DATABASE_NAME") or os.environ.get("RSBATCH_DATABASE") or "dev",
    }


def load_sql_statements(sql_file_path: str) -> list[str]:
    """Read the SQL file and split it into statements (empty ones dropped)."""
    with open(sql_file_path, encoding="utf-8") as f:
        sql_content = f.read()
    statements = sqlparse.split(sql_content)
    return [stmt.strip() for stmt in statements if stmt.strip()]


@durable_step
def execute_batch_query(step_context: StepContext, statements: list[str]) -> str:
    """Submit the batch; return the statement id."""
    step_context.logger.info(f"Executing batch query with {len(statements)} statements")
    response = redshift_data().batch_execute_statement(**target(), Sqls=statements)
    query_id: str = response["Id"]
    step_context.logger.info(f"Batch query started with ID: {query_id}")
    return query_id


@durable_step
def check_query_status(step_context: StepContext, query_id: str) -> dict[str, Any]:
    """Describe the statement; raise if it failed."""
    step_context.logger.info(f"Checking query status for ID: {query_id}")
    response = redshift_data().describe_statement(Id=query_id)
    status = response["Status"]
    step_context.logger.info(f"Query status: {status}")
    if status in ("FAILED", "ABORTED"):
        error_message = response.get("Error", "Unknown error")
        raise Exception(f"Query failed with status {status}: {error_message}")
    return {"status": status, "completed": status == "FINISHED"}


def run(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Run every statement of the SQL file as one batch; poll until it ends."""
    sql_file_path = event.get("sql_file_path", str(Path(__file__).parent / "query.sql"))
    interval = int(event.get("poll_interval_seconds", POLL_INTERVAL_SECONDS))
    statements = load_sql_statements(sql_file_path)
    context.logger.info(f"Loaded {len(statements)} statements from {sql_file_path}")

    query_id = context.step(execute_batch_query(statements))
    context.logger.info(f"Batch query submitted with ID: {query_id}")

    # Poll until the batch ends (every `interval` seconds, at most 360 times = 1 h at 10 s).
    status_result: dict[str, Any] = {}
    for _attempt in range(MAX_ATTEMPTS):
        status_result = context.step(check_query_status(query_id))
        if status_result["completed"]:
            context.logger.info("Batch query completed successfully")
            break
        context.wait(Duration.from_seconds(interval))
    else:
        raise Exception(f"Query timed out after {MAX_ATTEMPTS * interval} seconds")

    return {
        "statusCode": 200,
        "body": {
            "message": "All queries executed successfully",
            "query_id": query_id,
            "statement_count": len(statements),
            "status": status_result["status"],
        },
    }


lambda_handler = durable_execution(run)
