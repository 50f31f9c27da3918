"""Step retries: retry what can pass on a second try, never what will fail the same way again."""

from __future__ import annotations

from collections.abc import Callable

from aws_durable_execution_sdk_python.config import Duration, JitterStrategy
from aws_durable_execution_sdk_python.retries import (
    RetryDecision,
    RetryStrategyConfig,
    create_retry_strategy,
)
from botocore.exceptions import ClientError

from rsbatch_core.errors import BadInputError

#: Errors that a retry cannot fix: wrong input, missing resources, no permission.
PERMANENT_CODES = frozenset(
    {
        "ValidationException",
        "ResourceNotFoundException",
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidParameterValueException",
        "ExecuteStatementException",
        "BatchExecuteStatementException",
    }
)


def transient_retry(
    max_attempts: int = 5, initial_delay_seconds: int = 2
) -> Callable[[Exception, int], RetryDecision]:
    """Exponential backoff with jitter for throttling, 5xx and network errors; none for permanent ones."""
    backoff = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=max_attempts,
            initial_delay=Duration.from_seconds(initial_delay_seconds),
            max_delay=Duration.from_seconds(60),
            backoff_rate=2,
            jitter_strategy=JitterStrategy.HALF,
        )
    )

    def strategy(error: Exception, attempts_made: int) -> RetryDecision:
        if isinstance(error, BadInputError):
            return RetryDecision.no_retry()
        if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in PERMANENT_CODES:
            return RetryDecision.no_retry()
        return backoff(error, attempts_made)

    return strategy
