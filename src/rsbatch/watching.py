"""Gather a waiting run's `Snapshot` (rsbatch.progress) and follow a run to its end.

Where each part comes from, and who may read it:
- the registry item (status, statement id) and GetDurableExecution (status, StartTimestamp):
  the operator's own credentials;
- the round: the newest `CallbackStarted` event of the execution's history (its Name is the
  round's step name, `wait-2`, its `CallbackStartedDetails.Timeout` the round's timeout,
  botocore's lambda model), read newest first, a few events only;
- Redshift's progress: DescribeStatement's SubStatements. Only the identity that submitted a
  statement may describe it, so this is the `inspect` action run as the function
  (`Operator.show(live=True)`); it is asked at most once per `interval`, and only while the
  run waits on a submitted statement.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from rsbatch.operations import Operator, OperatorError
from rsbatch.progress import ProgressView, RoundInfo, Snapshot, StatementProgress, SubProgress
from rsbatch.report import TERMINAL_EXECUTION
from rsbatch_core.errors import RsbatchError
from rsbatch_core.models import RunRecord, RunStatus
from rsbatch_core.runkey import StepName, batch_key

#: Default seconds between two describes of Redshift's progress. Locally an inspect is a few
#: milliseconds; on AWS each one is a Lambda invocation (and a durable execution) of the function.
LOCAL_INTERVAL = 2.0
AWS_INTERVAL = 5.0
#: History events read (newest first) to find the round's CallbackStarted.
ROUND_EVENTS = 25


def default_interval(local: bool) -> float:
    return LOCAL_INTERVAL if local else AWS_INTERVAL


def _when(value: Any) -> datetime | None:
    """A timestamp as boto3 or the inspect action's JSON hands it over."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _rows(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and value >= 0 else None


def _elapsed(item: dict[str, Any], now: datetime) -> float | None:
    """Duration (ns) once Redshift reports it; while running, the time since it was last updated
    (UpdatedAt is when a sub-statement reached its current status)."""
    duration = item.get("Duration")
    if isinstance(duration, int) and duration > 0:
        return duration / 1e9
    if item.get("Status") in ("STARTED", "PICKED"):
        since = _when(item.get("UpdatedAt")) or _when(item.get("CreatedAt"))
        return max(0.0, (now - since).total_seconds()) if since else None
    return None


def statement_progress(description: dict[str, Any], now: datetime) -> StatementProgress:
    """DescribeStatement (as the inspect action returns it) → Redshift's progress."""
    subs = []
    for position, sub in enumerate(description.get("SubStatements") or [], start=1):
        suffix = str(sub.get("Id", "")).rsplit(":", 1)[-1]
        subs.append(
            SubProgress(
                index=int(suffix) if suffix.isdigit() else position,
                status=str(sub.get("Status", "?")),
                elapsed_s=_elapsed(sub, now),
                rows=_rows(sub.get("ResultRows")),
            )
        )
    return StatementProgress(
        statement_id=str(description.get("Id", "")),
        status=str(description.get("Status", "?")),
        subs=tuple(subs),
        elapsed_s=_elapsed(description, now),
        described_at=now,
    )


def current_round(events: list[dict[str, Any]]) -> RoundInfo | None:
    """The newest CallbackStarted among `events` (any order) whose name is a round's `wait-…`."""
    started = [e for e in events if e.get("EventType") == "CallbackStarted"]
    started.sort(key=lambda e: _when(e.get("EventTimestamp")) or datetime.min.replace(tzinfo=UTC))
    for event in reversed(started):
        name = StepName.parse(str(event.get("Name", "")))
        when = _when(event.get("EventTimestamp"))
        if name is None or name.kind != "wait" or when is None:
            continue
        timeout = (event.get("CallbackStartedDetails") or {}).get("Timeout")
        return RoundInfo(
            name=str(event["Name"]),
            batch=name.batch,
            attempt=name.attempt,
            number=name.round or 1,
            timeout_s=int(timeout) if isinstance(timeout, int) and timeout > 0 else None,
            started_at=when,
        )
    return None


def current_record(operator: Operator, run: str) -> tuple[RunRecord | None, int | None]:
    """The registry item of the batch being run, and for a chain (`run-2`, …) its number."""
    record = operator.registry.get(run)
    number = 1
    while record is not None and (later := operator.registry.get(batch_key(run, number + 1))) is not None:
        record, number = later, number + 1
    return record, (number if number > 1 else None)


@dataclass
class Gatherer:
    """Builds snapshots of one run; asks Redshift (as the function) at most once per interval."""

    operator: Operator
    run: str
    execution_arn: str
    interval: float
    redshift_live: bool = True
    _round: RoundInfo | None = None
    _redshift: StatementProgress | None = None
    _note: str | None = None
    _asked: float | None = None

    def snapshot(self, execution: dict[str, Any], record: RunRecord | None) -> Snapshot:
        now = datetime.now(UTC)
        waiting = record is not None and record.status is RunStatus.WAITING
        due = self._asked is None or time.monotonic() - self._asked >= self.interval
        if waiting and due:
            self._asked = time.monotonic()
            self._round = self._read_round()
            if self.redshift_live and record is not None and record.statement_id:
                self._ask_redshift(record)
            elif record is not None and not record.statement_id:
                self._note = "not submitted yet"
        return Snapshot(
            run=self.run,
            taken_at=now,
            execution_status=str(execution.get("Status", "?")),
            started_at=_when(execution.get("StartTimestamp")),
            registry_status=record.status.value if record else None,
            statement_id=record.statement_id if record else None,
            round=self._round if waiting else None,
            redshift=self._redshift if waiting else None,
            note=self._note if waiting else None,
        )

    def _read_round(self) -> RoundInfo | None:
        try:
            page = self.operator.lambda_.get_durable_execution_history(
                DurableExecutionArn=self.execution_arn, ReverseOrder=True, MaxItems=ROUND_EVENTS
            )
        except ClientError:
            return self._round
        return current_round(page.get("Events", []))

    def _ask_redshift(self, record: RunRecord) -> None:
        try:
            shown = self.operator.show(record.run_key, live=True)
        except (OperatorError, RsbatchError, ClientError) as exc:
            # Not allowed to invoke the function, or it is busy: keep watching without Redshift's view.
            self._redshift, self._note = None, f"cannot describe ({type(exc).__name__}: {exc})"[:200]
            return
        if shown.statement:
            self._redshift, self._note = statement_progress(shown.statement, datetime.now(UTC)), None
        else:
            self._redshift, self._note = None, shown.note


def watch(
    operator: Operator,
    run: str,
    execution_arn: str,
    view: ProgressView | None,
    *,
    interval: float,
    timeout: float | None = None,
    poll: float = 0.05,
    on_record: Callable[[RunRecord], None] | None = None,
) -> dict[str, Any]:
    """Poll until the execution ends (its last GetDurableExecution), showing snapshots on `view`."""
    gatherer = Gatherer(operator, run, execution_arn, interval, redshift_live=view is not None)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        record, chain = current_record(operator, run)
        if record is not None and on_record is not None:
            on_record(record)
        execution = operator.execution(execution_arn)
        if execution["Status"] in TERMINAL_EXECUTION:
            return execution
        if view is not None:
            snapshot = gatherer.snapshot(execution, record)
            view.show(snapshot if chain is None else replace(snapshot, batch=chain))
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"run {run} did not end within {timeout:.0f} s")
        time.sleep(poll)
