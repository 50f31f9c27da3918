"""Integration fixtures: real PostgreSQL and the local AWS stand-ins, stopped when done."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from rsbatch.local.redshift_data import RedshiftDataEmulator
from rsbatch.local.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """One embedded PostgreSQL for the session, its home (``RSBATCH_HOME``) in a tmp dir."""
    home = tmp_path_factory.mktemp("rsbatch-home")
    previous = os.environ.get("RSBATCH_HOME")
    os.environ["RSBATCH_HOME"] = str(home)
    wh = Warehouse(home)
    wh.start()
    try:
        yield wh
    finally:
        wh.stop()
        if previous is None:
            os.environ.pop("RSBATCH_HOME", None)
        else:
            os.environ["RSBATCH_HOME"] = previous


@pytest.fixture(scope="module")
def redshift_emulator(warehouse: Warehouse) -> Iterator[RedshiftDataEmulator]:
    """The Redshift Data API emulator on a free port of 127.0.0.1."""
    with RedshiftDataEmulator(warehouse) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def redshift_data(redshift_emulator: RedshiftDataEmulator) -> Any:
    """A plain boto3 ``redshift-data`` client pointed at the emulator (no retries)."""
    return boto3.client(
        "redshift-data",
        endpoint_url=redshift_emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=64, retries={"total_max_attempts": 1}),
    )
