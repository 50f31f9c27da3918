"""`rsbatch run`: start one run, follow it to its end, report it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import boto3

from rsbatch.config import Target
from rsbatch.operations import Operator, Started
from rsbatch.output import progress
from rsbatch.progress import ProgressView
from rsbatch.report import TERMINAL_EXECUTION, RunReport, build_report
from rsbatch.watching import LOCAL_INTERVAL, watch
from rsbatch_core.models import RunRecord
from rsbatch_core.runkey import batch_key

if TYPE_CHECKING:
    from rsbatch.local.stack import LocalStack


def operator_for(stack: LocalStack) -> Operator:
    env = stack.env()
    return Operator(
        Target(session=boto3.Session(), table=env["RSBATCH_TABLE"], function=env["RSBATCH_FUNCTION"])
    )


def follow(
    operator: Operator,
    started: Started,
    timeout: float,
    quiet: bool = False,
    view: ProgressView | None = None,
    interval: float = LOCAL_INTERVAL,
) -> RunReport:
    """Poll the registry and the execution until the run ends; print each change once, and with a
    `view` the run's live progress (elapsed, round, Redshift's statement k of n)."""
    say = (lambda _msg: None) if quiet else (view.note if view is not None else progress)
    seen: set[str] = set()

    def on_record(record: RunRecord) -> None:
        if record.statement_id and record.statement_id not in seen:
            seen.add(record.statement_id)
            say(f"submitted batch {record.statement_id}; waiting for Redshift (no compute while waiting)")

    execution = watch(
        operator,
        started.run,
        started.execution_arn,
        None if quiet else view,
        interval=interval,
        timeout=timeout,
        on_record=on_record,
    )
    report = build_report(
        started.run,
        started.execution_arn,
        execution,
        operator.history(started.execution_arn),
        chain_records(operator, started.run),
    )
    if report.resumed_by:
        say(f"resumed by {report.resumed_by}")
    say(f"run {report.status.value.lower()}")
    return report


def follow_pipeline(operator: Operator, started: Started, timeout: float) -> tuple[RunRecord, int, int]:
    """Poll a pipeline run's execution until it ends: its registry item, durable operations, invocations."""
    from rsbatch.report import durable_operations, invocations

    deadline = time.monotonic() + timeout
    while operator.execution(started.execution_arn)["Status"] not in TERMINAL_EXECUTION:
        if time.monotonic() > deadline:
            raise TimeoutError(f"pipeline run {started.run} did not end within {timeout:.0f} s")
        time.sleep(0.1)
    record = operator.registry.get(started.run)
    if record is None:
        raise TimeoutError(f"pipeline run {started.run} left no registry item")
    history = operator.history(started.execution_arn)
    return record, durable_operations(history), invocations(history)


def chain_records(operator: Operator, run: str) -> list[RunRecord]:
    """The registry items of a run's batches, in order (one for a single file)."""
    records: list[RunRecord] = []
    while (record := operator.registry.get(batch_key(run, len(records) + 1))) is not None:
        records.append(record)
    return records
