"""Tests of rsbatch_core.verdict: Redshift's DescribeStatement record → the run's outcome."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters

from rsbatch_core.models import CallbackPayload, DecidedBy, ResumedBy, StatementStats
from rsbatch_core.verdict import (
    STATEMENT_ABORTED,
    STATEMENT_FAILED,
    RedshiftRecord,
    committed_statements,
    deadline_verdict,
    decision,
    failing_statement,
    is_terminal,
    person_verdict,
    redshift_verdict,
    statement_stats,
)

# The fixtures below follow botocore's redshift-data model (DescribeStatementResponse and
# SubStatementData in botocore/data/redshift-data/2019-12-20/service-2.json): a batch's Id is a
# UUID, its sub-statements are `<id>:N`, Duration is in nanoseconds, and ResultRows is -1 for a
# statement that returns no rows. `test_fixtures_follow_the_botocore_model` checks them against it.

BATCH_ID = "d9b6c0c9-0747-4bf4-b142-e8883122f766"
SINGLE_ID = "3b4f1e2a-9c8d-4e7f-a6b5-0c1d2e3f4a5b"
AT = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def sub(
    index: int, status: str, *, rows: int = -1, duration_ns: int = 0, error: str | None = None
) -> dict[str, Any]:
    """One SubStatementData entry of a batch's DescribeStatement."""
    data: dict[str, Any] = {
        "Id": f"{BATCH_ID}:{index}",
        "Status": status,
        "Duration": duration_ns,
        "ResultRows": rows,
        "ResultSize": 0,
        "RedshiftQueryId": 1000 + index if status != "SUBMITTED" else 0,
        "HasResultSet": False,
        "QueryString": f"INSERT INTO t{index} SELECT 1",
        "CreatedAt": AT,
        "UpdatedAt": AT,
    }
    if error is not None:
        data["Error"] = error
    return data


def batch(status: str, subs: list[dict[str, Any]], error: str | None = None) -> dict[str, Any]:
    """A batch's DescribeStatement response, as boto3 returns it (ResponseMetadata included)."""
    data: dict[str, Any] = {
        "Id": BATCH_ID,
        "WorkgroupName": "analytics",
        "Database": "dev",
        "DbUser": "IAMR:rsbatch-durable",
        "Status": status,
        "CreatedAt": AT,
        "UpdatedAt": AT,
        "Duration": sum(int(s["Duration"]) for s in subs),
        "HasResultSet": False,
        "QueryString": "",
        "RedshiftPid": 1073815670,
        "RedshiftQueryId": 0,
        "ResultRows": -1,
        "ResultSize": -1,
        "SubStatements": subs,
        "ResponseMetadata": {"RequestId": "5f0c1d2e", "HTTPStatusCode": 200, "RetryAttempts": 0},
    }
    if error is not None:
        data["Error"] = error
    return data


def single(status: str, *, rows: int = -1, error: str | None = None) -> dict[str, Any]:
    """A single statement's DescribeStatement response (ExecuteStatement: no SubStatements)."""
    data: dict[str, Any] = {
        "Id": SINGLE_ID,
        "ClusterIdentifier": "warehouse",
        "Database": "dev",
        "Status": status,
        "CreatedAt": AT,
        "UpdatedAt": AT,
        "Duration": 42_000_000,
        "HasResultSet": rows >= 0,
        "QueryString": "SELECT count(*) FROM sales",
        "RedshiftPid": 1073815671,
        "RedshiftQueryId": 2001,
        "ResultRows": rows,
        "ResultSize": 12 if rows >= 0 else -1,
    }
    if error is not None:
        data["Error"] = error
    return data


def finished_batch() -> dict[str, Any]:
    return batch(
        "FINISHED",
        [
            sub(1, "FINISHED", rows=-1, duration_ns=1_500_000_000),
            sub(2, "FINISHED", rows=120, duration_ns=250_000),
            sub(3, "FINISHED", rows=0, duration_ns=3_000_000),
        ],
    )


def failed_batch() -> dict[str, Any]:
    """Statement 2 of 3 fails; Redshift marks the rest ABORTED and repeats the error at the top."""
    return batch(
        "FAILED",
        [
            sub(1, "FINISHED", rows=10, duration_ns=2_000_000),
            sub(2, "FAILED", duration_ns=1_000_000, error="ERROR: division by zero"),
            sub(3, "ABORTED"),
        ],
        error="ERROR: division by zero",
    )


def aborted_batch() -> dict[str, Any]:
    """A cancelled batch: the running statement and the ones after it are ABORTED, without error text."""
    return batch(
        "ABORTED",
        [sub(1, "FINISHED", rows=5, duration_ns=1_000_000), sub(2, "ABORTED"), sub(3, "ABORTED")],
    )


def record(description: dict[str, Any]) -> RedshiftRecord:
    return RedshiftRecord.from_description(description)


def test_fixtures_follow_the_botocore_model() -> None:
    model = botocore.session.get_session().get_service_model("redshift-data")
    shape = model.operation_model("DescribeStatement").output_shape
    for description in (finished_batch(), failed_batch(), aborted_batch(), single("FINISHED", rows=3)):
        response = copy.deepcopy(description)
        response.pop("ResponseMetadata", None)
        validate_parameters(response, shape)  # raises ParamValidationError on a wrong shape


# -- RedshiftRecord.from_description ------------------------------------------------------------


def test_batch_record_has_one_stat_per_sub_statement_numbered_like_redshift() -> None:
    got = record(finished_batch())
    assert got.statement_id == BATCH_ID
    assert got.state == "FINISHED"
    assert got.terminal
    assert got.error is None
    assert [s.index for s in got.statements] == [1, 2, 3]
    assert [s.status for s in got.statements] == ["FINISHED"] * 3


def test_batch_record_converts_rows_and_nanoseconds() -> None:
    first, second, third = record(finished_batch()).statements
    assert first.rows is None  # ResultRows -1: the statement returns no rows
    assert first.duration_ms == 1500.0
    assert second.rows == 120
    assert second.duration_ms == 0.25
    assert third.rows == 0  # zero rows is a count, not "no count"
    assert third.duration_ms == 3.0


def test_sub_statement_index_comes_from_its_id_not_its_position() -> None:
    description = batch("FINISHED", [sub(3, "FINISHED"), sub(1, "FINISHED")])
    assert [s.index for s in record(description).statements] == [3, 1]


def test_failed_batch_record_keeps_the_errors() -> None:
    got = record(failed_batch())
    assert got.state == "FAILED" and got.terminal
    assert got.error == "ERROR: division by zero"
    assert got.statements[1].error == "ERROR: division by zero"
    assert got.statements[0].error is None
    assert got.statements[2].status == "ABORTED"


def test_single_statement_record_is_statement_one() -> None:
    got = record(single("FINISHED", rows=7))
    assert got.statement_id == SINGLE_ID
    assert len(got.statements) == 1
    (only,) = got.statements
    assert only.index == 1
    assert only.status == "FINISHED"
    assert only.rows == 7
    assert only.duration_ms == 42.0


@pytest.mark.parametrize("status", ["SUBMITTED", "PICKED", "STARTED"])
def test_running_states_are_not_terminal(status: str) -> None:
    description = batch(status, [sub(1, "STARTED"), sub(2, "SUBMITTED")])
    assert not record(description).terminal
    assert not is_terminal(description)


@pytest.mark.parametrize("status", ["FINISHED", "FAILED", "ABORTED"])
def test_end_states_are_terminal(status: str) -> None:
    assert record(batch(status, [sub(1, status)])).terminal
    assert is_terminal(single(status))


def test_statement_stats_of_a_sub_statement_not_yet_run() -> None:
    (stat,) = statement_stats(batch("STARTED", [sub(1, "SUBMITTED")]))
    assert stat.rows is None and stat.duration_ms is None and stat.error is None


# -- redshift_verdict ---------------------------------------------------------------------------


def test_finished_batch_has_no_error() -> None:
    assert redshift_verdict(record(finished_batch())) is None
    assert redshift_verdict(record(single("FINISHED", rows=1))) is None


def test_failed_batch_names_the_failing_statement_and_redshifts_error() -> None:
    error = redshift_verdict(record(failed_batch()))
    assert error is not None
    assert error.type == STATEMENT_FAILED == "RedshiftStatementFailed"
    assert error.message == "statement 2 failed: ERROR: division by zero"
    assert error.statement_index == 2


def test_failed_single_statement_uses_its_error() -> None:
    error = redshift_verdict(record(single("FAILED", error='ERROR: relation "sales" does not exist')))
    assert error is not None
    assert error.type == STATEMENT_FAILED
    assert 'ERROR: relation "sales" does not exist' in error.message
    assert error.statement_index == 1


def test_failed_batch_without_sub_statement_error_falls_back_to_the_batch_error() -> None:
    description = batch(
        "FAILED",
        [sub(1, "FINISHED"), sub(2, "FAILED"), sub(3, "ABORTED")],
        error="ERROR: could not serialize access",
    )
    error = redshift_verdict(record(description))
    assert error is not None
    assert error.message == "statement 2 failed: ERROR: could not serialize access"
    assert error.statement_index == 2


def test_failed_batch_without_any_error_text_still_says_it_failed() -> None:
    error = redshift_verdict(record(batch("FAILED", [sub(1, "FAILED")])))
    assert error is not None
    assert error.type == STATEMENT_FAILED
    assert "failed" in error.message


def test_error_that_already_names_the_statement_is_not_prefixed_twice() -> None:
    description = batch("FAILED", [sub(1, "FINISHED"), sub(2, "FAILED", error="statement 2: bad cast")])
    error = redshift_verdict(record(description))
    assert error is not None
    assert error.message.count("statement 2") == 1


def test_aborted_batch_says_aborted() -> None:
    error = redshift_verdict(record(aborted_batch()))
    assert error is not None
    assert error.type == STATEMENT_ABORTED == "RedshiftStatementAborted"
    assert "aborted" in error.message
    assert "division" not in error.message
    assert error.statement_index == 2  # the statement that was running when it was cancelled


def test_aborted_single_statement_says_aborted() -> None:
    error = redshift_verdict(record(single("ABORTED")))
    assert error is not None
    assert error.type == STATEMENT_ABORTED
    assert "aborted" in error.message


@pytest.mark.parametrize("status", ["SUBMITTED", "PICKED", "STARTED"])
def test_verdict_on_a_running_batch_is_refused(status: str) -> None:
    with pytest.raises(ValueError, match=status):
        redshift_verdict(record(batch(status, [sub(1, "STARTED")])))


def test_failing_statement_prefers_failed_over_aborted() -> None:
    stats = [
        StatementStats(index=1, status="ABORTED"),
        StatementStats(index=2, status="FAILED", error="boom"),
    ]
    failed = failing_statement(stats)
    assert failed is not None and failed.index == 2
    assert failing_statement([StatementStats(index=1, status="FINISHED")]) is None


# -- decision (listener, reconcile) --------------------------------------------------------------


def test_decision_on_finished_is_success_with_who_decided() -> None:
    got = decision(record(finished_batch()), DecidedBy.RECONCILE)
    assert got.success
    assert got.error_type is None
    sent = json.loads(got.payload.model_dump_json(exclude_none=True))
    assert sent == {
        "decided_by": "reconcile",
        "resumed_by": "operator",
        "state": "FINISHED",
        "statement_id": BATCH_ID,
    }


def test_decision_on_failed_is_failure_with_the_message() -> None:
    got = decision(record(failed_batch()), DecidedBy.REDSHIFT_EVENT)
    assert not got.success
    assert got.error_type == "RedshiftStatementFailed"
    sent = json.loads(got.payload.model_dump_json())
    assert sent["decided_by"] == "redshift-event"
    assert sent["resumed_by"] == "event"
    assert sent["state"] == "FAILED"
    assert sent["statement_id"] == BATCH_ID
    assert sent["message"] == "statement 2 failed: ERROR: division by zero"


def test_decision_on_aborted_is_failure_of_the_aborted_type() -> None:
    got = decision(record(aborted_batch()), DecidedBy.REDSHIFT_CHECK)
    assert not got.success
    assert got.error_type == "RedshiftStatementAborted"
    assert got.payload.resumed_by is ResumedBy.POLL
    assert got.payload.message is not None and "aborted" in got.payload.message


def test_decision_payload_reads_back_as_the_same_decider() -> None:
    """What the listener sends is what the durable function parses on resume."""
    got = decision(record(failed_batch()), DecidedBy.RECONCILE)
    back = CallbackPayload.model_validate_json(got.payload.model_dump_json())
    assert back.decided_by is DecidedBy.RECONCILE
    assert back.message == got.payload.message


def test_decision_on_a_running_batch_is_refused() -> None:
    with pytest.raises(ValueError):
        decision(record(batch("STARTED", [sub(1, "STARTED")])), DecidedBy.RECONCILE)


# -- person and deadline -------------------------------------------------------------------------


def test_person_verdict_keeps_their_type_and_message() -> None:
    error = person_verdict(CallbackPayload(message="bad data in feed", error_type="UpstreamBroken"))
    assert error.type == "UpstreamBroken"
    assert error.message == "bad data in feed"


def test_person_verdict_defaults_for_a_bare_aws_cli_failure() -> None:
    error = person_verdict(CallbackPayload())
    assert error.type == "OperatorFailed"
    assert error.message  # something a human can read, never empty


def test_deadline_verdict_says_how_long_and_that_it_cancelled() -> None:
    error = deadline_verdict(5400)
    assert error.type == "DeadlineExceeded"
    assert "5400" in error.message
    assert "cancel" in error.message
    assert deadline_verdict(60).message != error.message


# -- committed_statements ------------------------------------------------------------------------


def test_transaction_commits_everything_when_the_batch_finished() -> None:
    stats = record(finished_batch()).statements
    assert committed_statements(stats, "TRANSACTION", "FINISHED") == [1, 2, 3]


def test_transaction_commits_nothing_when_the_batch_failed() -> None:
    """Statement 1 FINISHED, but the transaction rolled back with statement 2."""
    stats = record(failed_batch()).statements
    assert committed_statements(stats, "TRANSACTION", "FAILED") == []
    assert committed_statements(record(aborted_batch()).statements, "TRANSACTION", "ABORTED") == []


def test_auto_commit_keeps_each_finished_statement() -> None:
    stats = record(failed_batch()).statements
    assert committed_statements(stats, "AUTO_COMMIT", "FAILED") == [1]
    assert committed_statements(record(aborted_batch()).statements, "AUTO_COMMIT", "ABORTED") == [1]
    assert committed_statements(record(finished_batch()).statements, "AUTO_COMMIT", "FINISHED") == [1, 2, 3]


def test_a_cancelled_batch_says_aborted_not_failed() -> None:
    record = RedshiftRecord.from_description(
        batch("ABORTED", [sub(1, "FINISHED"), sub(2, "ABORTED"), sub(3, "ABORTED")])
    )
    error = redshift_verdict(record)
    assert error is not None
    assert (error.type, error.message, error.statement_index) == ("RedshiftStatementAborted", "aborted", 2)


def test_the_failing_index_is_kept_when_the_error_names_another_statement() -> None:
    text = 'ERROR: relation "statement 12" does not exist'
    record = RedshiftRecord.from_description(batch("FAILED", [sub(1, "FAILED", error=text)], error=text))
    error = redshift_verdict(record)
    assert error is not None and error.message == f"statement 1 failed: {text}"


# -- moved from the adapter tests: describing a statement is the verdict's job


def test_is_terminal() -> None:
    # The model's StatementStatusString: SUBMITTED, PICKED, STARTED, FINISHED, ABORTED, FAILED.
    statuses = ("SUBMITTED", "PICKED", "STARTED", "FINISHED", "ABORTED", "FAILED")
    assert [s for s in statuses if is_terminal({"Status": s})] == ["FINISHED", "ABORTED", "FAILED"]
    assert not is_terminal({})


def test_statement_stats_per_sub_statement() -> None:
    description = {
        "Id": BATCH_ID,
        "Status": "FAILED",
        "SubStatements": [
            # Duration is in nanoseconds; ResultRows -1 means "null" (both per the model).
            {"Id": f"{BATCH_ID}:1", "Status": "FINISHED", "ResultRows": 10, "Duration": 1_500_000},
            {"Id": f"{BATCH_ID}:2", "Status": "FINISHED", "ResultRows": -1, "Duration": 0},
            {"Id": f"{BATCH_ID}:3", "Status": "FAILED", "Error": "ERROR: division by zero"},
            {"Id": f"{BATCH_ID}:4", "Status": "ABORTED", "Error": ""},
        ],
    }
    assert statement_stats(description) == [
        StatementStats(index=1, status="FINISHED", rows=10, duration_ms=1.5),
        StatementStats(index=2, status="FINISHED", rows=None, duration_ms=None),
        StatementStats(index=3, status="FAILED", error="ERROR: division by zero"),
        StatementStats(index=4, status="ABORTED", error=None),
    ]


def test_statement_stats_index_comes_from_the_id_suffix() -> None:
    subs = [{"Id": f"{BATCH_ID}:3", "Status": "FINISHED"}, {"Id": f"{BATCH_ID}:7", "Status": "STARTED"}]
    assert [s.index for s in statement_stats({"SubStatements": subs})] == [3, 7]


def test_statement_stats_of_a_single_statement() -> None:
    description = {"Id": BATCH_ID, "Status": "FINISHED", "ResultRows": 4, "Duration": 2_000_000_000}
    assert statement_stats(description) == [
        StatementStats(index=1, status="FINISHED", rows=4, duration_ms=2000.0)
    ]


def test_failing_statement_prefers_the_failed_one() -> None:
    stats = [
        StatementStats(index=1, status="FINISHED"),
        StatementStats(index=2, status="ABORTED"),
        StatementStats(index=3, status="FAILED", error="boom"),
        StatementStats(index=4, status="FAILED", error="later"),
    ]
    failing = failing_statement(stats)
    assert failing is not None and failing.index == 3
    aborted = failing_statement([StatementStats(index=1, status="FINISHED"), *stats[1:2]])
    assert aborted is not None and aborted.index == 2
    assert failing_statement([StatementStats(index=1, status="FINISHED")]) is None


def test_error_texts_are_bounded_and_say_how_long_they_were() -> None:
    from rsbatch_core.verdict import MAX_ERROR_CHARS, bounded

    huge = 'ERROR: invalid input syntax for type integer: "' + "a" * 1_000_000 + '"'
    cut = bounded(huge)
    assert cut is not None and len(cut) == MAX_ERROR_CHARS
    assert cut.startswith("ERROR: invalid input syntax") and cut.endswith("characters in all)")
    assert bounded("short") == "short" and bounded(None) is None and bounded("") is None
    record = RedshiftRecord.from_description(batch("FAILED", [sub(1, "FAILED", error=huge)], error=huge))
    error = redshift_verdict(record)
    assert error is not None and len(error.message) <= MAX_ERROR_CHARS + 30
