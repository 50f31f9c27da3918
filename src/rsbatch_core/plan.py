"""What a run's input and the deployment's settings decide for every batch of it: retries and guards.

One place merges the two (a run's `retry`, `statement_timeout_seconds` and
`query_group` win over the deployment's `RSBATCH_*` defaults), so the steps
and the flow never look at both.
"""

from __future__ import annotations

from dataclasses import dataclass

from rsbatch_core.classify import Classifier, ErrorClass
from rsbatch_core.models import RunRequest, RunStatus, RunSummary
from rsbatch_core.retry import CAPACITY, TRANSIENT, Backoff, RetryPolicy
from rsbatch_core.settings import Settings
from rsbatch_core.verdict import STATEMENT_FAILED


@dataclass(frozen=True)
class RunPlan:
    policy: RetryPolicy
    max_attempts: int  # attempts of a batch that lost a conflict
    backoff_seconds: int  # durable wait before the second attempt; doubles after
    retry_auto_commit: bool  # AUTO_COMMIT batches are rerun only when the run asks
    statement_timeout_seconds: int | None
    query_group: str | None

    @classmethod
    def of(cls, request: RunRequest, settings: Settings) -> RunPlan:
        """Merge the run's input over the deployment's settings (bad patterns are bad input)."""
        retry = request.retry
        classifier = Classifier.with_patterns(settings.retry_sql_patterns, retry.patterns)
        transient = _budget(TRANSIENT, retry.transient_seconds, settings.transient_retry_seconds)
        capacity = _budget(CAPACITY, retry.capacity_seconds, settings.capacity_retry_seconds)
        return cls(
            policy=RetryPolicy(classifier=classifier, transient=transient, capacity=capacity),
            max_attempts=retry.max_attempts or settings.batch_max_attempts,
            backoff_seconds=retry.backoff_seconds or settings.batch_backoff_seconds,
            retry_auto_commit=retry.auto_commit,
            statement_timeout_seconds=request.statement_timeout_seconds or settings.statement_timeout_seconds,
            query_group=request.query_group or settings.query_group,
        )

    @property
    def preamble(self) -> tuple[str, ...]:
        """The SET statements a batch starts with (the values are validated: safe to put in SQL)."""
        sets = []
        if self.statement_timeout_seconds:
            sets.append(f"SET statement_timeout TO {self.statement_timeout_seconds * 1000}")  # ms
        if self.query_group:
            sets.append(f"SET query_group TO '{self.query_group}'")
        return tuple(sets)

    def reruns(self, summary: RunSummary, attempt: int) -> bool:
        """Run the batch again: it failed for a conflict, attempts are left, and its mode allows it."""
        if summary.status is not RunStatus.FAILED or attempt >= self.max_attempts:
            return False
        if summary.error is None or summary.error.type != STATEMENT_FAILED:
            return False  # aborted, failed by a person, past the deadline: never rerun
        if summary.execution_mode == "AUTO_COMMIT" and not self.retry_auto_commit:
            return False
        return self.policy.classifier.sql_error(summary.error.message) is ErrorClass.CONFLICT

    def backoff(self, attempt: int) -> int:
        """The durable wait after attempt `attempt` failed (30 s, 60 s, 120 s… capped at an hour)."""
        return int(min(self.backoff_seconds * 2 ** (attempt - 1), 3600))


def _budget(default: Backoff, run: int | None, deployment: int) -> Backoff:
    seconds = deployment if run is None else run
    return Backoff(default.initial_seconds, default.max_seconds, seconds)
