"""CallbackSender: only AWS's "already closed" error is a quiet no-op; every other error surfaces."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from rsbatch_core.callbacks import CallbackSender, Delivery
from rsbatch_core.models import CallbackPayload, DecidedBy

OPERATIONS = ["send_durable_execution_callback_success", "send_durable_execution_callback_failure"]


def send(sender: CallbackSender, operation: str) -> Delivery:
    payload = CallbackPayload(decided_by=DecidedBy.PERSON, message="late")
    if operation == OPERATIONS[0]:
        return sender.succeed("cb-1", payload)
    return sender.fail("cb-1", "SourceLate", payload)


def stubbed(operation: str, **error: Any) -> tuple[CallbackSender, Stubber]:
    client = boto3.client("lambda", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error(operation, **error)
    return CallbackSender(client), stub


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_callback_that_timed_out_or_closed_is_already_closed(operation: str) -> None:
    sender, stub = stubbed(operation, service_error_code="CallbackTimeoutException", http_status_code=400)
    with stub:
        assert send(sender, operation) is Delivery.ALREADY_CLOSED


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ResourceNotFoundException", 404),  # a wrong function, or the execution was deleted
        ("404", 404),  # a 404 without Lambda's error type (not AWS): never taken for "closed"
        ("InvalidParameterValueException", 400),  # a bogus callback id
        ("ServiceException", 500),
    ],
)
def test_any_other_error_surfaces(operation: str, code: str, status: int) -> None:
    sender, stub = stubbed(operation, service_error_code=code, http_status_code=status)
    with stub, pytest.raises(ClientError) as raised:
        send(sender, operation)
    assert raised.value.response["Error"]["Code"] == code
