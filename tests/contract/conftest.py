"""Contract fixtures: fake credentials (nothing reaches AWS), and AWS's own models to check against."""

from __future__ import annotations

import os
from functools import cache

import botocore.session
import pytest
from botocore.model import ServiceModel

# The contract tier checks the emulator on the same embedded PostgreSQL the integration tier uses.
from tests.integration.conftest import warehouse

__all__ = ["service_model", "warehouse"]


@pytest.fixture(autouse=True)
def _fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here reaches AWS: fake credentials, a fixed region, no endpoint overrides."""
    for key in list(os.environ):
        if key.startswith(("AWS_ENDPOINT_URL", "RSBATCH_")) and key != "RSBATCH_HOME":
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@cache
def service_model(service: str) -> ServiceModel:
    """botocore's model of ``service`` (botocore/data/<service>/<version>/service-2.json)."""
    return botocore.session.get_session().get_service_model(service)
