"""A local stack after a killed one, and the emulator's bounded memory (results, expiry)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest

from rsbatch.local.redshift_data import RedshiftDataEmulator, leftovers
from rsbatch.local.warehouse import Warehouse

WG = "local"
TERMINAL = {"FINISHED", "FAILED", "ABORTED"}


def client_for(endpoint_url: str) -> Any:
    return boto3.client(
        "redshift-data",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def wait(client: Any, statement_id: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        desc: dict[str, Any] = client.describe_statement(Id=statement_id, WaitTimeSeconds=2)
        if desc["Status"] in TERMINAL or time.monotonic() > deadline:
            return desc


def run(client: Any, sql: str) -> str:
    statement_id: str = client.execute_statement(Sql=sql, WorkgroupName=WG, Database="dev")["Id"]
    assert wait(client, statement_id)["Status"] == "FINISHED"
    return statement_id


# -- what a killed stack leaves (the whole `local up` case: tests/e2e/test_restart.py) ---------


def test_connections_of_a_dead_process_are_terminated_and_live_ones_kept(warehouse: Warehouse) -> None:
    """A backend named by a dead process loses its transaction (and its lock); this process's stays."""
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    dsn = warehouse.dsn()
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS leftover_locks (n int)")
    dead = psycopg.connect(dsn, application_name=leftovers.application_name(dead_pid))
    live = psycopg.connect(dsn, application_name=leftovers.application_name())
    try:
        dead.execute("LOCK TABLE leftover_locks")  # idle in transaction, holding the lock
        live.execute("SELECT 1")  # idle in transaction too, but its owner is alive

        ended = leftovers.terminate_leftovers(dsn)

        assert [(left.owner_pid, left.state) for left in ended] == [(dead_pid, "idle in transaction")]
        with pytest.raises(psycopg.OperationalError):
            dead.execute("SELECT 1")
        assert live.execute("SELECT 2").fetchone() == (2,)
        with psycopg.connect(dsn) as other:  # a transaction, rolled back on leaving
            other.execute("LOCK TABLE leftover_locks NOWAIT")  # the lock went with the backend
    finally:
        dead.close()
        live.close()


@pytest.mark.parametrize(
    ("mode", "sqls"),
    [
        ("TRANSACTION", ["LOCK TABLE failed_locks", "SELECT 1 / 0"]),
        ("AUTO_COMMIT", ["BEGIN", "LOCK TABLE failed_locks", "SELECT 1 / 0"]),  # a transaction it opened
    ],
)
def test_a_failed_batch_leaves_no_lock_behind(
    redshift_emulator: RedshiftDataEmulator, warehouse: Warehouse, mode: str, sqls: list[str]
) -> None:
    client = client_for(redshift_emulator.endpoint_url)
    run(client, "CREATE TABLE IF NOT EXISTS failed_locks (n int)")
    batch = client.batch_execute_statement(Sqls=sqls, WorkgroupName=WG, ExecutionMode=mode)["Id"]
    assert wait(client, batch)["Status"] == "FAILED"
    with psycopg.connect(warehouse.dsn()) as other:
        other.execute("LOCK TABLE failed_locks NOWAIT")


# -- bounded memory ----------------------------------------------------------------------------


@pytest.fixture
def emulator(redshift_emulator: RedshiftDataEmulator) -> Iterator[RedshiftDataEmulator]:
    """The module's emulator, its budget and retention put back afterwards."""
    budget, retention = redshift_emulator.result_memory_bytes, redshift_emulator.retention_seconds
    try:
        yield redshift_emulator
    finally:
        redshift_emulator.result_memory_bytes = budget
        redshift_emulator.retention_seconds = retention


def test_results_beyond_the_budget_are_dropped_oldest_first(emulator: RedshiftDataEmulator) -> None:
    """Three equal results in a budget of two and a half: the oldest is gone, AWS-shaped."""
    client = client_for(emulator.endpoint_url)
    sql = "SELECT g, 'row ' || g AS label FROM generate_series(1, 2000) AS g"
    first = run(client, sql)
    one = emulator.result_bytes
    emulator.result_memory_bytes = int(one * 2.5)  # older results of the module go first too
    second, third = run(client, sql), run(client, sql)

    with pytest.raises(client.exceptions.ValidationException, match="has expired after"):
        client.get_statement_result(Id=first)
    for kept in (second, third):
        assert client.get_statement_result(Id=kept)["TotalNumRows"] == 2000
    assert emulator.result_bytes <= emulator.result_memory_bytes
    described = client.describe_statement(Id=first)  # the statement itself is still known
    assert (described["HasResultSet"], described["ResultRows"]) == (True, 2000)


def test_a_long_statement_does_not_hold_back_the_expiry_of_a_short_one(
    emulator: RedshiftDataEmulator,
) -> None:
    """Retention counts from each statement's end: one still running keeps only itself."""
    client = client_for(emulator.endpoint_url)
    emulator.retention_seconds = 1
    long = client.execute_statement(Sql="SELECT pg_sleep(60)", WorkgroupName=WG)["Id"]
    try:
        short = run(client, "SELECT 1")
        time.sleep(1.2)
        run(client, "SELECT 2")  # a submit sweeps what expired

        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.describe_statement(Id=short)
        assert client.describe_statement(Id=long)["Status"] in {"PICKED", "STARTED"}
    finally:
        client.cancel_statement(Id=long)
