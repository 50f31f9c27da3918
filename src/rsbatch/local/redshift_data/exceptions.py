"""The wire errors: what the Data API answers instead of a result.

Every failure a client can see is an :class:`ApiError`; botocore turns its ``__type`` into
the exception class the caller catches (``client.exceptions.ValidationException`` …), so the
codes below are the service's own, and the constructors word the messages as AWS does.
"""

from __future__ import annotations

import uuid
from typing import Any

# The error codes of the redshift-data botocore model (plus the JSON 1.1 protocol's own).
VALIDATION = "ValidationException"
RESOURCE_NOT_FOUND = "ResourceNotFoundException"
ACTIVE_STATEMENTS_EXCEEDED = "ActiveStatementsExceededException"
INTERNAL_SERVER = "InternalServerException"
SERIALIZATION = "SerializationException"
UNKNOWN_OPERATION = "UnknownOperationException"
THROTTLING = "ThrottlingException"  # not in the model: AWS's common error, retried by botocore
DATABASE_CONNECTION = "DatabaseConnectionException"  # the catalog operations' fault


class ApiError(Exception):
    """An AWS-shaped error: ``__type`` + message (+ modeled fields), HTTP 4xx/5xx."""

    def __init__(self, code: str, message: str, status: int = 400, **fields: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields

    def payload(self) -> dict[str, Any]:
        return {"__type": self.code, "message": self.message, "Message": self.message, **self.fields}


def validation(member: str, constraint: str) -> ApiError:
    """A member that breaks its model constraint, worded like the service's input validation."""
    camel = member[:1].lower() + member[1:]
    return ApiError(
        VALIDATION,
        f"1 validation error detected: Value at '{camel}' failed to satisfy constraint: {constraint}",
    )


def invalid(message: str) -> ApiError:
    """A ValidationException whose message is free text (the service's semantic checks)."""
    return ApiError(VALIDATION, message)


def serialization(message: str) -> ApiError:
    """A body (or member) that is not what the protocol or the model's types allow."""
    return ApiError(SERIALIZATION, message)


def not_found(statement_id: str) -> ApiError:
    return ApiError(RESOURCE_NOT_FOUND, "Query does not exist.", ResourceId=statement_id)


def no_result(result_id: str) -> ApiError:
    return ApiError(
        RESOURCE_NOT_FOUND,
        "Query does not have result. Please check query status with DescribeStatement.",
        ResourceId=result_id,
    )


def result_expired(expired_at: float) -> ApiError:
    """A result the service no longer keeps. The code and wording are the service's, as a
    caller saw them (pulumi/pulumi-aws#2055: "ValidationException: Could not retrieve the
    query result as it has expired after 1658071606."); ValidationException is one of the
    errors botocore's model lists for GetStatementResult(V2)."""
    return ApiError(
        VALIDATION, f"Could not retrieve the query result as it has expired after {int(expired_at)}."
    )


def wrong_result_format(result_id: str, stored: str) -> ApiError:
    """GetStatementResult of a CSV statement, or GetStatementResultV2 of a JSON one.

    The model says the statement "must have specified ResultFormat as CSV" (V2) / "as JSON,
    or let the format default to JSON" (GetStatementResult) and lists ValidationException for
    both; AWS documents no message, so this one names the operation that reads it.
    """
    reader = "GetStatementResultV2" if stored == "CSV" else "GetStatementResult"
    return ApiError(
        VALIDATION,
        f"Query {result_id} was submitted with ResultFormat {stored}: read its result with {reader}.",
    )


def database_connection(message: str) -> ApiError:
    """A catalog operation that could not connect to its database (the model's fault, 500)."""
    return ApiError(DATABASE_CONNECTION, message, 500)


def unknown_operation(message: str, status: int = 400) -> ApiError:
    return ApiError(UNKNOWN_OPERATION, message, status)


def active_statements_exceeded(limit: int) -> ApiError:
    return ApiError(
        ACTIVE_STATEMENTS_EXCEEDED,
        f"The number of active statements exceeds the limit ({limit})",
    )


def throttling() -> ApiError:
    return ApiError(THROTTLING, "Rate exceeded")


def environmental_error(operation: str) -> ApiError:
    """``ExecuteStatementException`` / ``BatchExecuteStatementException``: the model's faults
    (``"fault": true``, "an environmental error"), answered before any statement exists.

    The model requires a ``StatementId``; this one names no statement (nothing was created).
    """
    return ApiError(
        f"{operation}Exception",
        "The statement could not be run because of an environmental error",
        500,
        StatementId=str(uuid.uuid4()),
    )


def shutting_down() -> ApiError:
    return ApiError(INTERNAL_SERVER, "The service is shutting down", 500)


def internal_error() -> ApiError:
    return ApiError(INTERNAL_SERVER, "Internal server error", 500)
