"""`rsbatch local up` after one killed with SIGKILL mid-batch: it says so, and is not blocked.

The killed stack's batch holds a table lock (LOCK TABLE, then a 10-minute query); the next
stack on the same home stops the server it left and runs a batch on that table at once.
(Backends on a server a live process still shares: tests/integration/test_restart.py.)
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import boto3

from tests.e2e.conftest import start_local_up, stop_local_up


def _data_api(env: dict[str, str]) -> Any:
    return boto3.client(
        "redshift-data",
        endpoint_url=env["AWS_ENDPOINT_URL_REDSHIFT_DATA"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def _status(client: Any, statement_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status: str = client.describe_statement(Id=statement_id, WaitTimeSeconds=2)["Status"]
        if status in {"FINISHED", "FAILED", "ABORTED"} or time.monotonic() > deadline:
            return status


def test_local_up_after_a_killed_one_says_what_was_lost_and_runs_on_the_locked_table(tmp_path: Path) -> None:
    killed, env = start_local_up(tmp_path)
    try:
        client = _data_api(env)
        assert (
            _status(
                client,
                client.execute_statement(Sql="CREATE TABLE held (n int)", WorkgroupName="local")["Id"],
                10,
            )
            == "FINISHED"
        )
        batch = client.batch_execute_statement(
            Sqls=["LOCK TABLE held", "SELECT pg_sleep(600)"], WorkgroupName="local"
        )["Id"]
        while client.describe_statement(Id=f"{batch}:2")["Status"] != "STARTED":
            time.sleep(0.05)
    finally:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(10)

    proc, env = start_local_up(tmp_path)
    try:
        client = _data_api(env)
        started = time.monotonic()
        batch = client.batch_execute_statement(
            Sqls=["LOCK TABLE held", "INSERT INTO held VALUES (1)"], WorkgroupName="local"
        )["Id"]
        assert _status(client, batch, 20) == "FINISHED"
        assert time.monotonic() - started < 10
    finally:
        assert stop_local_up(proc) == 0
    assert proc.stderr is not None
    said = proc.stderr.read()
    assert "are not kept" in said  # runs, executions and statements of earlier stacks
    assert f"(pid {killed.pid}," in said and "was not stopped cleanly" in said
    assert "Stopped the PostgreSQL server" in said  # the one it left running, started afresh
