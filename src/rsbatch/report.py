"""One typed report of a finished run: what `rsbatch run` prints, its `--json`, and what tests read.

A run's record travels as a `RunSummary` (the finish step's result, kept as
JSON in the registry item); the report adds what only the durable execution
knows — its status and error, how many durable operations and invocations
it took — and the chain's other batches. Everything that shows a finished
run builds this one model instead of picking keys out of dicts.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from rsbatch_core.models import Attempt, ResultRows, RunError, RunRecord, RunStatus, RunSummary

#: Durable execution statuses after which nothing more happens (GetDurableExecution).
TERMINAL_EXECUTION = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"})


class StatementRow(BaseModel):
    """One sub-statement as the report's table shows it."""

    index: int
    status: str
    rows: int | None = None
    duration_ms: float | None = None


class PendingBatch(BaseModel):
    """A batch of a chain that has no summary (yet): it never finished, or never started."""

    run: str
    sql_file: str
    status: RunStatus


class RunReport(BaseModel):
    """The `--json` document of `rsbatch run`: the last batch's summary, the chain under `batches`."""

    run: str
    status: RunStatus
    execution_arn: str
    statement_id: str | None = None
    resumed_by: str | None = None
    statements: list[StatementRow] = Field(default_factory=list)
    committed_statements: list[int] = Field(default_factory=list)
    result: ResultRows | None = None
    results: list[ResultRows] = Field(default_factory=list)  # `--results all`: each statement's rows
    durable_operations: int
    invocations: int
    resume_latency_ms: float | None = None
    error: RunError | None = None
    attempts: list[Attempt] = Field(default_factory=list)  # every submission of the (last) batch
    batches: list[RunSummary | PendingBatch] | None = None  # chains only

    @property
    def succeeded(self) -> bool:
        return self.status is RunStatus.SUCCEEDED

    def to_json(self) -> dict[str, Any]:
        """The document as scripts read it; `batches` only for a chain."""
        return self.model_dump(mode="json", exclude={"batches"} if self.batches is None else None)


def build_report(
    run: str,
    execution_arn: str,
    execution: dict[str, Any],
    events: list[dict[str, Any]],
    records: list[RunRecord],
) -> RunReport:
    """From the execution (GetDurableExecution), its history, and the registry items of its batches."""
    batches = [_summary(r) for r in records]
    summary = batches[-1] if batches and isinstance(batches[-1], RunSummary) else None
    error = summary.error if summary else None
    if error is None and execution.get("Error"):
        err = execution["Error"]
        kind = str(err.get("ErrorType") or "ExecutionFailed")
        error = RunError(type=kind, message=str(err.get("ErrorMessage")))
    report = RunReport(
        run=run,
        status=RunStatus.SUCCEEDED if execution.get("Status") == "SUCCEEDED" else RunStatus.FAILED,
        execution_arn=execution_arn,
        statement_id=records[-1].statement_id if records else None,
        durable_operations=durable_operations(events),
        invocations=invocations(events),
        error=error,
        batches=batches if len(records) > 1 else None,
    )
    if summary:
        report.resumed_by = summary.resumed_by.value
        report.statements = [StatementRow.model_validate(s.model_dump()) for s in summary.statements]
        report.committed_statements = summary.committed_statements
        report.result = summary.result
        report.results = summary.results
        report.resume_latency_ms = summary.resume_latency_ms
        report.attempts = summary.attempts
    return report


def _summary(record: RunRecord) -> RunSummary | PendingBatch:
    if record.summary:
        return RunSummary.model_validate_json(record.summary)
    return PendingBatch(run=record.run_key, sql_file=record.sql_file, status=record.status)


def durable_operations(events: list[dict[str, Any]]) -> int:
    """Distinct durable operations in an execution's history (the execution itself excluded)."""
    ids = {
        e.get("Id") for e in events if e.get("Id") and not str(e.get("EventType", "")).startswith("Execution")
    }
    return len(ids)


def invocations(events: list[dict[str, Any]]) -> int:
    """Handler invocations (replays included), counted from the history."""
    return sum(1 for e in events if e.get("EventType") == "InvocationCompleted")
