"""rsbatch_core.retry: which step failures the durable function retries, how long it waits, how it stops.

Error codes and HTTP statuses are the ones botocore's service models give
(``botocore/data/<service>/<version>/service-2.json``); the throttling and 5xx
classes are those botocore itself retries (``botocore/data/_retry.json``).
"""

from __future__ import annotations

import math

import pytest
from aws_durable_execution_sdk_python.retries import RetryDecision
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError, ReadTimeoutError

from rsbatch_core.errors import BadInputError, SettingsError, SqlFileError
from rsbatch_core.retry import CAPACITY, TRANSIENT, UNKNOWN, Backoff, RetriesExhaustedError, RetryPolicy


def _client_error(code: str, http_status: int, operation: str = "BatchExecuteStatement") -> ClientError:
    """A ClientError as botocore raises it for a service's error answer."""
    response = {
        "Error": {"Code": code, "Message": f"{code} from the service"},
        "ResponseMetadata": {"HTTPStatusCode": http_status},
    }
    return ClientError(response, operation)


def _delay_bounds(base_seconds: float) -> tuple[int, int]:
    """Half jitter: the delay is between half the backoff and the backoff, in whole seconds."""
    return max(1, math.floor(base_seconds / 2)), math.ceil(base_seconds)


POLICY = RetryPolicy()


# ---------------------------------------------------------------- never retried


@pytest.mark.parametrize(
    "error",
    [
        BadInputError("sql_file is required"),
        SettingsError("set exactly one of RSBATCH_WORKGROUP or RSBATCH_CLUSTER_ID"),
        SqlFileError("sql_file 'a.txt' must end in .sql"),
        # botocore refuses it before sending (e.g. an empty parameter value): it cannot pass later.
        ParamValidationError(report="Invalid length for parameter Parameters[0].value, value: 0"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_bad_input_is_never_retried(error: Exception) -> None:
    assert POLICY.decide(error, 1) == RetryDecision.no_retry()


@pytest.mark.parametrize(
    ("code", "http_status", "source"),
    [
        ("ValidationException", 400, "redshift-data: the operation failed due to invalid input"),
        ("ResourceNotFoundException", 400, "redshift-data, dynamodb, lambda: a missing resource"),
        ("InvalidParameterValueException", 400, "lambda: 400, senderFault"),
        ("AccessDeniedException", 400, "redshift-serverless, events, logs"),
        ("AccessDenied", 403, "s3: 403"),
        ("UnrecognizedClientException", 400, "logs: the security token is not valid"),
        ("SomethingNewException", 400, "an unknown client error is not retried"),
    ],
)
def test_permanent_service_errors_are_not_retried(code: str, http_status: int, source: str) -> None:
    decision = POLICY.decide(_client_error(code, http_status), 1)
    assert decision.should_retry is False, source


# ---------------------------------------------------------------- retried


@pytest.mark.parametrize(
    ("code", "http_status", "source"),
    [
        ("ThrottlingException", 400, "dynamodb; _retry.json throttling_exception"),
        ("ProvisionedThroughputExceededException", 400, "dynamodb; _retry.json throughput_exceeded"),
        ("TooManyRequestsException", 429, "lambda: 429; _retry.json too_many_requests"),
        ("InternalServerException", 500, "redshift-data: a fault; _retry.json general_server_error"),
        ("BatchExecuteStatementException", 500, "redshift-data: fault, 'an environmental error'"),
        ("ExecuteStatementException", 500, "redshift-data: fault, 'an environmental error'"),
        ("DatabaseConnectionException", 500, "redshift-data: fault, 'Connection to a database failed'"),
        ("ServiceException", 500, "lambda: 500"),
        ("ServiceUnavailable", 503, "_retry.json service_unavailable"),
        ("SomethingNewException", 502, "an unknown 5xx is transient"),
    ],
)
def test_throttling_and_server_errors_are_retried_soon(code: str, http_status: int, source: str) -> None:
    decision = POLICY.decide(_client_error(code, http_status), 1)
    assert decision.should_retry is True, source
    assert 1 <= decision.delay_seconds <= 2


@pytest.mark.parametrize(
    "code",
    ["ActiveStatementsExceededException", "ActiveSessionsExceededException"],  # redshift-data quotas
)
def test_a_full_quota_waits_longer(code: str) -> None:
    decision = POLICY.decide(_client_error(code, 400), 1)
    assert decision.should_retry is True
    assert 5 <= decision.delay_seconds <= 10


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
    assert POLICY.decide(error, 1).should_retry is True


def test_backoff_doubles_from_two_seconds_up_to_a_minute() -> None:
    error = _client_error("ThrottlingException", 400)
    for attempts_made, base in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (9, 60)]:
        low, high = _delay_bounds(base)
        delays = {POLICY.decide(error, attempts_made).delay_seconds for _ in range(50)}
        assert all(low <= d <= high for d in delays), (attempts_made, delays)


def test_transient_errors_are_retried_for_fifteen_minutes_capacity_for_an_hour() -> None:
    for backoff, budget in ((TRANSIENT, 15 * 60), (CAPACITY, 60 * 60)):
        attempts = 1
        while backoff.nominal(attempts) is not None:
            attempts += 1
        assert backoff.waited(attempts) <= budget < backoff.waited(attempts) + backoff.max_seconds


def test_unknown_errors_get_a_few_quick_tries() -> None:
    error = KeyError("a bug, not the network")
    assert [POLICY.decide(error, n).should_retry for n in range(1, 7)] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert UNKNOWN.waited(5) == 2 + 4 + 8 + 16


def test_budgets_are_configurable() -> None:
    short = RetryPolicy(transient=Backoff(initial_seconds=10, max_seconds=60, budget_seconds=10))
    error = _client_error("ThrottlingException", 400)
    decision = short.decide(error, 1)
    assert decision.should_retry is True and 5 <= decision.delay_seconds <= 10
    assert short.decide(error, 2) == RetryDecision.no_retry()


# ---------------------------------------------------------------- the last attempt says why


def test_the_last_attempt_names_the_error_the_attempts_and_the_time_waited() -> None:
    policy = RetryPolicy(transient=Backoff(initial_seconds=2, max_seconds=60, budget_seconds=6))
    error = _client_error("ThrottlingException", 400)
    with pytest.raises(ClientError), policy.attempt(2):  # 2 s + 4 s fit: attempt 2 is retried
        raise error
    with pytest.raises(RetriesExhaustedError) as raised, policy.attempt(3):
        raise error
    message = str(raised.value)
    assert "ThrottlingException" in message and "3 attempts" in message and "6 s" in message
    assert policy.decide(raised.value, 3) == RetryDecision.no_retry()


def test_a_permanent_error_passes_through_unchanged() -> None:
    error = _client_error("ValidationException", 400)
    with pytest.raises(ClientError) as raised, POLICY.attempt(1):
        raise error
    assert raised.value is error
