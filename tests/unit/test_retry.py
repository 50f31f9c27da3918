"""rsbatch_core.retry: which step failures the durable function retries, and how long it waits.

Error codes and HTTP statuses are the ones botocore's service models give
(``botocore/data/<service>/<version>/service-2.json``); the throttling and 5xx
classes are those botocore itself retries (``botocore/data/_retry.json``).
"""

from __future__ import annotations

import math

import pytest
from aws_durable_execution_sdk_python.retries import RetryDecision
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from rsbatch_core.errors import BadInputError, SettingsError, SqlFileError
from rsbatch_core.retry import transient_retry


def _client_error(code: str, http_status: int, operation: str = "BatchExecuteStatement") -> ClientError:
    """A ClientError as botocore raises it for a service's error answer."""
    response = {
        "Error": {"Code": code, "Message": f"{code} from the service"},
        "ResponseMetadata": {"HTTPStatusCode": http_status},
    }
    return ClientError(response, operation)


def _delay_bounds(base_seconds: float) -> tuple[int, int]:
    """Half jitter: the delay is between half the backoff and the backoff, in whole seconds."""
    return math.ceil(base_seconds / 2), math.ceil(base_seconds)


# ---------------------------------------------------------------- never retried


@pytest.mark.parametrize(
    "error",
    [
        BadInputError("sql_file is required"),
        SettingsError("set exactly one of RSBATCH_WORKGROUP or RSBATCH_CLUSTER_ID"),
        SqlFileError("sql_file 'a.txt' must end in .sql"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_bad_input_is_never_retried(error: Exception) -> None:
    assert transient_retry()(error, 1) == RetryDecision.no_retry()


@pytest.mark.parametrize(
    ("code", "http_status", "source"),
    [
        ("ValidationException", 400, "redshift-data: the operation failed due to invalid input"),
        ("ResourceNotFoundException", 400, "redshift-data, dynamodb, lambda: a missing resource"),
        ("InvalidParameterValueException", 400, "lambda: 400, senderFault"),
        ("AccessDeniedException", 400, "redshift-serverless, events, logs"),
        ("AccessDenied", 403, "s3: 403"),
        ("UnrecognizedClientException", 400, "logs: the security token is not valid"),
    ],
)
def test_permanent_service_errors_are_not_retried(code: str, http_status: int, source: str) -> None:
    decision = transient_retry()(_client_error(code, http_status), 1)
    assert decision.should_retry is False, source


# ---------------------------------------------------------------- retried


@pytest.mark.parametrize(
    ("code", "http_status", "source"),
    [
        ("ThrottlingException", 400, "dynamodb; _retry.json throttling_exception"),
        ("ProvisionedThroughputExceededException", 400, "dynamodb; _retry.json throughput_exceeded"),
        ("TooManyRequestsException", 429, "lambda: 429; _retry.json too_many_requests"),
        ("ActiveStatementsExceededException", 400, "redshift-data: too many active statements"),
        ("InternalServerException", 500, "redshift-data: a fault; _retry.json general_server_error"),
        ("ServiceException", 500, "lambda: 500"),
        ("ServiceUnavailable", 503, "_retry.json service_unavailable"),
    ],
)
def test_throttling_and_server_errors_are_retried(code: str, http_status: int, source: str) -> None:
    decision = transient_retry()(_client_error(code, http_status), 1)
    assert decision.should_retry is True, source
    assert 1 <= decision.delay_seconds <= 2


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://redshift-data.us-east-1.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/"),
        ConnectionResetError("connection reset by peer"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_network_errors_are_retried(error: Exception) -> None:
    assert transient_retry()(error, 1).should_retry is True


def test_backoff_doubles_from_two_seconds_up_to_a_minute() -> None:
    strategy = transient_retry(max_attempts=10)
    error = _client_error("ThrottlingException", 400)
    for attempts_made, base in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (9, 60)]:
        low, high = _delay_bounds(base)
        delays = {strategy(error, attempts_made).delay_seconds for _ in range(50)}
        assert all(low <= d <= high for d in delays), (attempts_made, delays)


def test_initial_delay_is_configurable() -> None:
    decision = transient_retry(initial_delay_seconds=10)(_client_error("ThrottlingException", 400), 1)
    assert decision.should_retry is True
    assert 5 <= decision.delay_seconds <= 10


def test_gives_up_after_max_attempts() -> None:
    error = _client_error("ThrottlingException", 400)
    strategy = transient_retry()  # five attempts in all
    assert [strategy(error, n).should_retry for n in range(1, 7)] == [True, True, True, True, False, False]
    assert transient_retry(max_attempts=2)(error, 2) == RetryDecision.no_retry()
