"""Tests of rsbatch.report: a finished run's report from its registry items, execution and history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rsbatch.report import PendingBatch, RunReport, build_report, durable_operations, invocations
from rsbatch_core.models import (
    ResultRows,
    ResumedBy,
    RunError,
    RunRecord,
    RunStatus,
    RunSummary,
    StatementStats,
)

RUN = "rsbatch-0123456789abcdef01234567"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:live/durable-execution/nightly/6f1c"
AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def summary(
    run: str = RUN,
    status: RunStatus = RunStatus.SUCCEEDED,
    statement_id: str = "st-1",
    sql_file: str = "q.sql",
    error: RunError | None = None,
) -> RunSummary:
    failed = status is RunStatus.FAILED
    return RunSummary(
        run=run,
        status=status,
        execution_arn=ARN,
        statement_id=statement_id,
        sql_file=sql_file,
        resumed_by=ResumedBy.EVENT,
        redshift_status="FAILED" if failed else "FINISHED",
        statements=[
            StatementStats(index=1, status="FINISHED", rows=10, duration_ms=12.5),
            StatementStats(
                index=2,
                status="FAILED" if failed else "FINISHED",
                rows=None if failed else 3,
                duration_ms=1.0,
                error="ERROR: division by zero" if failed else None,
            ),
        ],
        committed_statements=[] if failed else [1, 2],
        result=None if failed else ResultRows(columns=["n"], rows=[[3]], total_rows=1, truncated=False),
        resume_latency_ms=850.0,
        error=error,
    )


def record(
    run: str = RUN,
    statement_id: str | None = "st-1",
    done: RunSummary | None = None,
    status: RunStatus = RunStatus.WAITING,
    sql_file: str = "q.sql",
) -> RunRecord:
    """A registry item: a finished batch carries its summary as JSON, as RunRegistry.finish stores it."""
    return RunRecord(
        run_key=run,
        callback_id="cb-1",
        execution_arn=ARN,
        sql_file=sql_file,
        status=done.status if done else status,
        statement_id=statement_id,
        summary=done.model_dump_json() if done else None,
    )


def execution(status: str = "SUCCEEDED", error: dict[str, Any] | None = None) -> dict[str, Any]:
    """GetDurableExecution's response (botocore's lambda model), without ResponseMetadata."""
    data: dict[str, Any] = {
        "DurableExecutionArn": ARN,
        "DurableExecutionName": "nightly",
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:live",
        "Status": status,
        "StartTimestamp": AT,
        "EndTimestamp": AT,
    }
    if error is not None:
        data["Error"] = error
    return data


def history() -> list[dict[str, Any]]:
    """GetDurableExecutionHistory's events for a run: 3 operations (one retried) over 2 invocations."""

    def event(n: int, kind: str, op_id: str | None = None, name: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"EventType": kind, "EventId": n, "EventTimestamp": AT}
        if op_id is not None:
            data["Id"] = op_id
        if name is not None:
            data["Name"] = name
        return data

    return [
        event(1, "ExecutionStarted", "exec-0"),
        event(2, "StepStarted", "op-1", "submit"),
        event(3, "StepFailed", "op-1", "submit"),
        event(4, "StepStarted", "op-1", "submit"),
        event(5, "StepSucceeded", "op-1", "submit"),
        event(6, "CallbackStarted", "op-2", "wait-1"),
        event(7, "InvocationCompleted"),
        event(8, "CallbackSucceeded", "op-2", "wait-1"),
        event(9, "StepStarted", "op-3", "finish"),
        event(10, "StepSucceeded", "op-3", "finish"),
        event(11, "ExecutionSucceeded", "exec-0"),
        event(12, "InvocationCompleted"),
    ]


# -- one batch -----------------------------------------------------------------------------------


def test_single_batch_report_takes_the_summarys_details() -> None:
    done = summary()
    report = build_report(RUN, ARN, execution(), history(), [record(done=done)])
    assert report.run == RUN
    assert report.execution_arn == ARN
    assert report.status is RunStatus.SUCCEEDED and report.succeeded
    assert report.statement_id == "st-1"
    assert report.resumed_by == "event"
    assert [(s.index, s.status, s.rows, s.duration_ms) for s in report.statements] == [
        (1, "FINISHED", 10, 12.5),
        (2, "FINISHED", 3, 1.0),
    ]
    assert report.committed_statements == [1, 2]
    assert report.result == done.result
    assert report.resume_latency_ms == 850.0
    assert report.error is None
    assert report.batches is None


def test_status_comes_from_the_execution_not_the_summary() -> None:
    """The finish step recorded success, but the execution itself failed afterwards."""
    report = build_report(
        RUN,
        ARN,
        execution("FAILED", {"ErrorType": "Sandbox.Timedout", "ErrorMessage": "Task timed out"}),
        history(),
        [record(done=summary())],
    )
    assert report.status is RunStatus.FAILED
    assert not report.succeeded
    assert report.error == RunError(type="Sandbox.Timedout", message="Task timed out")


def test_summary_error_wins_over_the_executions() -> None:
    batch_error = RunError(
        type="RedshiftStatementFailed",
        message="statement 2 failed: ERROR: division by zero",
        statement_index=2,
    )
    report = build_report(
        RUN,
        ARN,
        execution("FAILED", {"ErrorType": "BatchFailedError", "ErrorMessage": "the batch failed"}),
        history(),
        [record(done=summary(status=RunStatus.FAILED, error=batch_error))],
    )
    assert report.status is RunStatus.FAILED
    assert report.error == batch_error
    assert report.committed_statements == []
    assert report.result is None


def test_without_summary_the_error_is_the_executions() -> None:
    report = build_report(
        RUN,
        ARN,
        execution("FAILED", {"ErrorType": "SqlFileError", "ErrorMessage": "q.sql: no SQL statements"}),
        history(),
        [record(statement_id=None, status=RunStatus.FAILED)],
    )
    assert report.status is RunStatus.FAILED
    assert report.error == RunError(type="SqlFileError", message="q.sql: no SQL statements")
    assert report.statements == []
    assert report.resumed_by is None
    assert report.statement_id is None


def test_execution_error_without_a_type_gets_a_generic_one() -> None:
    report = build_report(RUN, ARN, execution("TIMED_OUT", {"ErrorMessage": "timed out"}), [], [])
    assert report.status is RunStatus.FAILED
    assert report.error is not None
    assert report.error.type == "ExecutionFailed"
    assert report.error.message == "timed out"


def test_failed_execution_without_any_error_reports_none() -> None:
    report = build_report(RUN, ARN, execution("STOPPED"), [], [record(status=RunStatus.FAILED)])
    assert report.status is RunStatus.FAILED
    assert report.error is None


def test_single_batch_json_has_no_batches_key() -> None:
    document = build_report(RUN, ARN, execution(), history(), [record(done=summary())]).to_json()
    assert "batches" not in document
    assert document["status"] == "SUCCEEDED"
    assert document["statements"][1] == {"index": 2, "status": "FINISHED", "rows": 3, "duration_ms": 1.0}
    assert document["result"] == {
        "columns": ["n"],
        "rows": [[3]],
        "total_rows": 1,
        "truncated": False,
        "index": None,
    }
    assert document["durable_operations"] == 3
    assert document["invocations"] == 2


def test_report_json_reads_back_as_the_same_report() -> None:
    report = build_report(RUN, ARN, execution(), history(), [record(done=summary())])
    assert RunReport.model_validate(report.to_json()) == report


# -- chains --------------------------------------------------------------------------------------


def test_chain_lists_every_batch_and_reports_the_last() -> None:
    first = summary(run=RUN, statement_id="st-1", sql_file="a.sql")
    second = summary(run=f"{RUN}-2", statement_id="st-2", sql_file="b.sql")
    records = [record(RUN, "st-1", first), record(f"{RUN}-2", "st-2", second)]
    report = build_report(RUN, ARN, execution(), history(), records)
    assert report.batches == [first, second]
    assert report.statement_id == "st-2"
    assert report.to_json()["batches"][1]["sql_file"] == "b.sql"


def test_chain_batch_without_summary_is_pending() -> None:
    failed = summary(
        run=RUN,
        status=RunStatus.FAILED,
        sql_file="a.sql",
        error=RunError(type="RedshiftStatementFailed", message="statement 2 failed: boom", statement_index=2),
    )
    records = [
        record(RUN, "st-1", failed),
        record(f"{RUN}-2", None, status=RunStatus.WAITING, sql_file="b.sql"),
    ]
    report = build_report(
        RUN, ARN, execution("FAILED", {"ErrorType": "BatchFailedError", "ErrorMessage": "boom"}), [], records
    )
    assert report.batches is not None
    assert report.batches[0] == failed
    assert report.batches[1] == PendingBatch(run=f"{RUN}-2", sql_file="b.sql", status=RunStatus.WAITING)
    assert report.statements == []  # the last batch never ran
    assert report.error == RunError(type="BatchFailedError", message="boom")
    document = report.to_json()
    assert document["batches"][1] == {"run": f"{RUN}-2", "sql_file": "b.sql", "status": "WAITING"}


# -- history counts ------------------------------------------------------------------------------


def test_durable_operations_counts_distinct_operations_without_the_execution() -> None:
    assert durable_operations(history()) == 3
    assert durable_operations([]) == 0
    only_execution = [e for e in history() if str(e["EventType"]).startswith("Execution")]
    assert durable_operations(only_execution) == 0


def test_invocations_counts_completed_invocations() -> None:
    assert invocations(history()) == 2
    assert invocations([]) == 0
    assert invocations([e for e in history() if e["EventType"] != "InvocationCompleted"]) == 0


def test_report_carries_the_history_counts() -> None:
    events = history()
    report = build_report(RUN, ARN, execution(), events, [record(done=summary())])
    assert report.durable_operations == 3
    assert report.invocations == 2
