"""Which failures pass on their own: Data API error codes and Redshift error texts → an error class.

A production Redshift fails in ways that fix themselves: a throttled call, a
full quota of active statements, a batch that lost a serializable-isolation
conflict to another job. Each class has its own answer (retry the call soon,
wait longer for capacity, run the batch again); only PERMANENT fails the run
at once. The pattern lists are data, in one table each, and a deployment
(`RSBATCH_RETRY_SQL_PATTERNS`) or a run (`retry.patterns`) can add to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from rsbatch_core.errors import BadInputError, RsbatchError


class ErrorClass(StrEnum):
    TRANSIENT = "transient"  # retry the call soon: throttling, a 5xx, the network
    CAPACITY = "capacity"  # a quota is full (active statements, sessions): wait longer
    CONFLICT = "conflict"  # the batch lost to a concurrent transaction: run it again
    PERMANENT = "permanent"  # the same call fails the same way: fail the run now
    UNKNOWN = "unknown"  # not an AWS or network error (a bug?): a few quick retries, then the error


#: Error codes, as `Error.Code` of a ClientError. Redshift Data API codes are from botocore's model
#: (`botocore/data/redshift-data/*/service-2.json`): the ones marked `"fault": true` are server-side
#: ("environmental error", "Connection to a database failed"); the *Exceeded ones are quotas.
#: The throttling codes are the ones botocore's standard retry mode treats as throttling
#: (`botocore/retries/standard.py`), which also covers DynamoDB and Lambda.
API_ERROR_CLASSES: dict[str, ErrorClass] = {
    # Redshift Data API, server faults
    "BatchExecuteStatementException": ErrorClass.TRANSIENT,
    "ExecuteStatementException": ErrorClass.TRANSIENT,
    "DatabaseConnectionException": ErrorClass.TRANSIENT,
    "InternalServerException": ErrorClass.TRANSIENT,
    "QueryTimeoutException": ErrorClass.TRANSIENT,  # CancelStatement timed out
    # Redshift Data API, quotas
    "ActiveStatementsExceededException": ErrorClass.CAPACITY,
    "ActiveSessionsExceededException": ErrorClass.CAPACITY,
    "ActiveWaitingRequestsExceededException": ErrorClass.CAPACITY,
    # throttling, any service
    "Throttling": ErrorClass.TRANSIENT,
    "ThrottlingException": ErrorClass.TRANSIENT,
    "ThrottledException": ErrorClass.TRANSIENT,
    "RequestThrottledException": ErrorClass.TRANSIENT,
    "TooManyRequestsException": ErrorClass.TRANSIENT,
    "ProvisionedThroughputExceededException": ErrorClass.TRANSIENT,
    "TransactionInProgressException": ErrorClass.TRANSIENT,
    "RequestLimitExceeded": ErrorClass.TRANSIENT,
    "BandwidthLimitExceeded": ErrorClass.TRANSIENT,
    "LimitExceededException": ErrorClass.TRANSIENT,
    "RequestThrottled": ErrorClass.TRANSIENT,
    "SlowDown": ErrorClass.TRANSIENT,
    "EC2ThrottledException": ErrorClass.TRANSIENT,
    "ServiceException": ErrorClass.TRANSIENT,  # Lambda's 500
    "ServiceUnavailable": ErrorClass.TRANSIENT,
    "InternalFailure": ErrorClass.TRANSIENT,
    "InternalServerError": ErrorClass.TRANSIENT,
    # wrong input, missing resources, no permission: a retry cannot fix them
    "ValidationException": ErrorClass.PERMANENT,
    "ResourceNotFoundException": ErrorClass.PERMANENT,
    "AccessDeniedException": ErrorClass.PERMANENT,
    "AccessDenied": ErrorClass.PERMANENT,
    "UnrecognizedClientException": ErrorClass.PERMANENT,
    "InvalidParameterValueException": ErrorClass.PERMANENT,
    "ConditionalCheckFailedException": ErrorClass.PERMANENT,
}

#: Redshift error texts of a batch that lost to a concurrent transaction; running it again is
#: AWS's own advice. Case-insensitive regular expressions, searched in the failing statement's error.
SQL_CONFLICT_PATTERNS: tuple[tuple[str, str], ...] = (
    # "ERROR:1023 DETAIL: Serializable isolation violation on table" — Redshift Database Developer
    # Guide, "Troubleshooting serializable isolation errors": "Retry the canceled transaction."
    (r"serializable isolation violation", "Redshift 1023"),
    # dbt-adapters PR #1873 (dbt-redshift retries it): DROP … CASCADE against background work.
    (r"conflict with concurrent transaction", "concurrent transaction"),
    # dbt-adapters PR #1014 (dbt-redshift retries it): concurrent DDL dropped a relation.
    (r"could not open relation with oid", "concurrent DDL"),
    # PostgreSQL SQLSTATE 40001 serialization_failure (the local warehouse runs SERIALIZABLE).
    (r"could not serialize access", "serialization failure"),
    # PostgreSQL SQLSTATE 40P01 deadlock_detected.
    (r"deadlock detected", "deadlock"),
)

#: Exceptions that mean the network or the endpoint failed, not the request.
_NETWORK_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    ConnectionError,
    TimeoutError,
)


def error_code(error: BaseException) -> str:
    """The AWS error code of a ClientError, else the exception's class name."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__


@dataclass(frozen=True)
class Classifier:
    """The tables above, plus a deployment's and a run's own conflict patterns."""

    extra_sql_patterns: tuple[str, ...] = ()

    @classmethod
    def with_patterns(cls, *pattern_lists: Iterable[str]) -> Classifier:
        """Add patterns (each must compile: a bad one is bad input, named)."""
        patterns: list[str] = []
        for pattern in (p for patterns_ in pattern_lists for p in patterns_):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise BadInputError(f"retry pattern {pattern!r} is not a regular expression: {exc}") from None
            patterns.append(pattern)
        return cls(tuple(patterns))

    def api_error(self, error: BaseException) -> ErrorClass:
        """The class of an exception raised by a call (boto3, the network, our own)."""
        if isinstance(error, (RsbatchError, ParamValidationError)):
            return ErrorClass.PERMANENT  # refused on purpose, or by botocore before sending
        if isinstance(error, ClientError):
            known = API_ERROR_CLASSES.get(error_code(error))
            if known is not None:
                return known
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            return ErrorClass.TRANSIENT if status >= 500 or status == 429 else ErrorClass.PERMANENT
        if isinstance(error, _NETWORK_ERRORS):
            return ErrorClass.TRANSIENT
        return ErrorClass.UNKNOWN

    def sql_error(self, text: str | None) -> ErrorClass:
        """CONFLICT when a failed batch's error says it lost to a concurrent transaction."""
        return ErrorClass.CONFLICT if text and self.conflict_reason(text) else ErrorClass.PERMANENT

    def conflict_reason(self, text: str) -> str | None:
        """Which conflict the error text shows (for messages), or None."""
        for pattern, reason in SQL_CONFLICT_PATTERNS:
            if re.search(pattern, text, re.IGNORECASE):
                return reason
        for pattern in self.extra_sql_patterns:
            if re.search(pattern, text, re.IGNORECASE):
                return f"pattern {pattern!r}"
        return None
