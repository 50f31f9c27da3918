"""`rsbatch run --local`: boot the stack, start one run, follow it, report it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import boto3

from rsbatch.config import Target
from rsbatch.local.stack import LocalStack
from rsbatch.operations import Operator, Started, durable_operations
from rsbatch.output import progress
from rsbatch_core.models import RunRecord

TERMINAL_EXECUTION = {"SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"}


@dataclass
class RunReport:
    """The `--json` document of `rsbatch run`."""

    data: dict[str, Any]

    @property
    def succeeded(self) -> bool:
        return bool(self.data.get("status") == "SUCCEEDED")


def operator_for(stack: LocalStack) -> Operator:
    env = stack.env()
    return Operator(
        Target(session=boto3.Session(), table=env["RSBATCH_TABLE"], function=env["RSBATCH_FUNCTION"])
    )


def follow(operator: Operator, started: Started, timeout: float, quiet: bool = False) -> RunReport:
    """Poll the registry and the execution until the run ends; print each change once."""
    say = (lambda _msg: None) if quiet else progress
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while True:
        record = operator.registry.get(started.run)
        if record and record.statement_id and "submitted" not in seen:
            seen.add("submitted")
            say(f"submitted batch {record.statement_id}; waiting for Redshift (no compute while waiting)")
        execution = operator.execution(started.execution_arn)
        if execution["Status"] in TERMINAL_EXECUTION:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {started.run} did not end within {timeout:.0f} s")
        time.sleep(0.05)
    report = build_report(operator, started, execution)
    if report.data.get("resumed_by"):
        say(f"resumed by {report.data['resumed_by']}")
    say(f"run {report.data['status'].lower()}")
    return report


def chain_records(operator: Operator, run: str) -> list[RunRecord]:
    """The registry items of a run: `run`, then `run-2`, `run-3`… for a chain."""
    records = []
    first = operator.registry.get(run)
    while first is not None:
        records.append(first)
        first = operator.registry.get(f"{run}-{len(records) + 1}")
    return records


def build_report(operator: Operator, started: Started, execution: dict[str, Any]) -> RunReport:
    """The `--json` document: the last batch's summary (the whole chain under `batches`)."""
    events = operator.history(started.execution_arn)
    records = chain_records(operator, started.run)
    record = records[-1] if records else None
    summary: dict[str, Any] = json.loads(record.summary) if record and record.summary else {}
    error = summary.get("error")
    if not error and execution.get("Error"):
        err = execution["Error"]
        error = {"type": err.get("ErrorType"), "message": err.get("ErrorMessage"), "statement_index": None}
    data = {
        "run": started.run,
        "status": "SUCCEEDED" if execution["Status"] == "SUCCEEDED" else "FAILED",
        "execution_arn": started.execution_arn,
        "statement_id": record.statement_id if record else None,
        "resumed_by": summary.get("resumed_by"),
        "statements": [
            {k: s.get(k) for k in ("index", "status", "rows", "duration_ms")}
            for s in summary.get("statements", [])
        ],
        "committed_statements": summary.get("committed_statements", []),
        "result": summary.get("result"),
        "durable_operations": durable_operations(events),
        "invocations": invocations(events),
        "resume_latency_ms": summary.get("resume_latency_ms"),
        "error": error,
    }
    if len(records) > 1:
        data["batches"] = [
            json.loads(r.summary)
            if r.summary
            else {"run": r.run_key, "sql_file": r.sql_file, "status": r.status.value}
            for r in records
        ]
    return RunReport(data)


def invocations(events: list[dict[str, Any]]) -> int:
    """Handler invocations (replays included), counted from the history."""
    return sum(1 for e in events if e.get("EventType") == "InvocationCompleted")
