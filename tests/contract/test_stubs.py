"""ModelStub catches what botocore's Stubber and client let through: enums, patterns, unmodeled errors."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from rsbatch_core.callbacks import CallbackSender
from rsbatch_core.models import CallbackPayload
from tests.contract.stubs import ModelStub


def test_botocore_alone_sends_a_value_outside_an_enum_and_model_stub_refuses_it() -> None:
    redshift = boto3.client("redshift-data", region_name="us-east-1")
    kwargs = {
        "Sqls": ["select 1"],
        "WorkgroupName": "analytics",
        "Database": "dev",
        "ExecutionMode": "SERIAL",
    }
    with Stubber(redshift) as plain:  # botocore's own checks pass
        plain.add_response("batch_execute_statement", {"Id": "x"})
        redshift.batch_execute_statement(**kwargs)
    refused = pytest.raises(AssertionError, match="'SERIAL' is not one of ExecutionMode's values")
    with refused, ModelStub(redshift) as stub:
        stub.ok("batch_execute_statement", {"Id": "x"})
        redshift.batch_execute_statement(**kwargs)


def test_a_request_that_breaks_a_pattern_is_refused() -> None:
    """The unit tests' callback id "cb-1" is not one AWS issues (CallbackId is base64)."""
    lambda_ = boto3.client("lambda", region_name="us-east-1")
    refused = pytest.raises(AssertionError, match=r"CallbackId: 'cb-1' does not match")
    with refused, ModelStub(lambda_) as stub:
        stub.ok("send_durable_execution_callback_success", {})
        CallbackSender(lambda_).succeed("cb-1", CallbackPayload())


def test_an_error_the_operation_never_answers_cannot_be_stubbed() -> None:
    lambda_ = boto3.client("lambda", region_name="us-east-1")
    stub = ModelStub(lambda_)
    with pytest.raises(AssertionError, match="CallbackAlreadyClosedException is not an error"):
        stub.error("send_durable_execution_callback_success", "CallbackAlreadyClosedException")
