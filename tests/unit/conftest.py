from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from rsbatch.local.template import load_template, runs_table_definition
from rsbatch_core.redshift import RedshiftData
from rsbatch_core.registry import RunRegistry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach AWS: fake credentials and a fixed region."""
    for key in list(os.environ):
        if key.startswith(("AWS_ENDPOINT_URL", "RSBATCH_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def sql_root() -> Path:
    return ROOT / "sql"


@pytest.fixture
def registry() -> Iterator[RunRegistry]:
    """The real registry code on moto's in-process DynamoDB."""
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**runs_table_definition(load_template(ROOT / "template.yaml"), "runs"))
        yield RunRegistry("runs", dynamodb=dynamodb)


# -- the Redshift Data API on botocore's Stubber (test_redshift.py, test_results.py) -----------


@pytest.fixture
def client() -> Any:
    """A real ``redshift-data`` client: requests are built and validated, then answered by the stubber."""
    return boto3.client("redshift-data", region_name="us-east-1")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def redshift(client: Any, stubber: Stubber) -> RedshiftData:
    """The real adapter on the stubbed client (``stubber`` is active for the whole test)."""
    return RedshiftData(client)
