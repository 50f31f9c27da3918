"""How long a step keeps trying, by error class — and a clear error when it stops.

A step that fails with a transient or capacity error is retried by the
durable SDK after a delay; the delay is a durable wait (the SDK checkpoints
the retry and the invocation ends), so a full quota can be waited out for an
hour without compute. Each class has a budget of waiting: once the nominal
waits reach it, the last attempt raises `RetriesExhaustedError`, whose
message names the error, the attempts and the time waited.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aws_durable_execution_sdk_python.config import Duration, StepConfig
from aws_durable_execution_sdk_python.retries import RetryDecision

from rsbatch_core.classify import Classifier, ErrorClass, error_code
from rsbatch_core.errors import RsbatchError


class RetriesExhaustedError(RsbatchError):
    """A retried error kept coming back for the whole budget of its class."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff (doubling, capped), with half jitter, within a budget of waiting."""

    initial_seconds: int
    max_seconds: int
    budget_seconds: int

    def nominal(self, attempts_made: int) -> int | None:
        """The wait before attempt `attempts_made + 1`, or None once the budget is spent."""
        waited = sum(self._step(n) for n in range(1, attempts_made))
        step = self._step(attempts_made)
        return step if waited + step <= self.budget_seconds else None

    def waited(self, attempts_made: int) -> int:
        """The nominal waiting before attempt `attempts_made` (so after `attempts_made - 1` retries)."""
        return sum(self._step(n) for n in range(1, attempts_made))

    def _step(self, n: int) -> int:
        return int(min(self.initial_seconds * 2 ** (n - 1), self.max_seconds))


#: Defaults (settings and run input can change the budgets): throttling and 5xx pass within
#: minutes; a quota of active statements can stay full for as long as a burst of jobs runs.
TRANSIENT = Backoff(initial_seconds=2, max_seconds=60, budget_seconds=15 * 60)
CAPACITY = Backoff(initial_seconds=10, max_seconds=300, budget_seconds=60 * 60)
#: Not an AWS error: a few quick tries (2 + 4 + 8 + 16 s), as before classes existed.
UNKNOWN = Backoff(initial_seconds=2, max_seconds=60, budget_seconds=30)


@dataclass(frozen=True)
class RetryPolicy:
    """The classifier and a backoff per class; one per run (deployment defaults + the run's own)."""

    classifier: Classifier = field(default_factory=Classifier)
    transient: Backoff = TRANSIENT
    capacity: Backoff = CAPACITY
    unknown: Backoff = UNKNOWN
    rng: Callable[[], float] = random.random

    def backoff_for(self, error: BaseException) -> Backoff | None:
        """None: never retried (permanent, or a conflict, which retries the batch instead)."""
        kind = self.classifier.api_error(error)
        return {
            ErrorClass.TRANSIENT: self.transient,
            ErrorClass.CAPACITY: self.capacity,
            ErrorClass.UNKNOWN: self.unknown,
        }.get(kind)

    def decide(self, error: Exception, attempts_made: int) -> RetryDecision:
        """The SDK's retry strategy: retry after a jittered delay while the class's budget lasts."""
        backoff = self.backoff_for(error)
        nominal = backoff.nominal(attempts_made) if backoff else None
        if nominal is None:
            return RetryDecision.no_retry()
        jittered = max(1, round(nominal * (0.5 + 0.5 * self.rng())))
        return RetryDecision.retry(Duration.from_seconds(jittered))

    def step_config(self) -> StepConfig:
        return StepConfig(retry_strategy=self.decide)

    @contextmanager
    def attempt(self, attempt: int) -> Iterator[None]:
        """Around a step's body: on the attempt the policy will not retry, say why it stopped."""
        try:
            yield
        except Exception as exc:
            backoff = self.backoff_for(exc)
            if backoff is None or attempt == 1 or backoff.nominal(attempt) is not None:
                raise  # not retried at all, or retried again
            kind = self.classifier.api_error(exc)
            raise RetriesExhaustedError(
                f"{error_code(exc)}: {exc} — gave up after {attempt} attempts and about "
                f"{backoff.waited(attempt)} s of waiting ({kind.value} errors are retried for up to "
                f"{backoff.budget_seconds} s)"
            ) from exc
