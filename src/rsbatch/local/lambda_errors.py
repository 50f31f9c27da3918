"""Lambda's errors as its REST-JSON protocol sends them, read from botocore's model.

Every error the local Lambda endpoint answers goes through `error_response`,
which takes the facts from botocore's `lambda/2015-03-31/service-2.json`:
the HTTP status (`error.httpStatusCode`), whether the caller is at fault
(`senderFault` → `"Type": "User"`, `fault` → `"Type": "Service"`, the
`Type` member AWS sends), the casing of the message member (`message` in
InvalidParameterValueException, `Message` in ResourceNotFoundException …),
and which errors an operation may raise at all. The code travels in the
`x-amzn-ErrorType` header, which is where botocore's rest-json parser (and
so boto3 and both AWS CLIs) reads it first; `__type` carries it in the body
too. An error that the model does not list for the operation is a bug in the
endpoint, answered as `ServiceException` so it cannot pass for AWS's answer.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from aws_durable_execution_sdk_python_testing.exceptions import AwsApiException
from aws_durable_execution_sdk_python_testing.web.models import HTTPResponse

SERVICE_EXCEPTION = "ServiceException"


class LambdaError(Exception):
    """An error the endpoint answers with: one of the model's error codes and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@functools.cache
def service_model() -> Any:
    """botocore's Lambda model (the same one the installed boto3 sends requests with)."""
    return botocore.session.get_session().get_service_model("lambda")


@functools.cache
def operation_errors(operation: str) -> frozenset[str]:
    """The error codes botocore's model lists for `operation`."""
    return frozenset(shape.name for shape in service_model().operation_model(operation).error_shapes)


def error_response(operation: str, error: LambdaError) -> HTTPResponse:
    """The HTTP answer AWS gives for `error` in `operation` (status, header, body as modelled)."""
    code, message = error.code, error.message
    if code not in operation_errors(operation):
        code, message = SERVICE_EXCEPTION, f"{operation} cannot raise {error.code}: {error.message}"
    shape = service_model().shape_for(code)
    metadata = shape.metadata.get("error", {})
    message_member = "message" if "message" in shape.members else "Message"
    body: dict[str, Any] = {
        "Type": "Service" if shape.metadata.get("fault") else "User",
        message_member: message,
        "__type": code,
    }
    return HTTPResponse(
        status_code=int(metadata.get("httpStatusCode", 500)),
        headers={"Content-Type": "application/json", "x-amzn-ErrorType": code},
        body=body,
    )


def from_sdk(exc: AwsApiException) -> LambdaError:
    """The SDK runner's exception (its `to_dict()` names the code in `Type`) as a LambdaError."""
    data = exc.to_dict()
    message = data.get("message") or data.get("Message") or ""
    return LambdaError(str(data.get("Type") or SERVICE_EXCEPTION), str(message))


def from_sdk_response(response: HTTPResponse) -> LambdaError | None:
    """An error answer of one of the SDK's own handlers as a LambdaError; None for a success."""
    if response.status_code < 400:
        return None
    body = response.body
    code = str(body.get("Type") or SERVICE_EXCEPTION)
    return LambdaError(code, str(body.get("message") or body.get("Message") or ""))
