from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from rsbatch.local.template import load_template, runs_table_definition
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
