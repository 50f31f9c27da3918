"""Redshift's record of a batch → the run's outcome: the one classification everything uses.

The listener (from the event), `rsbatch reconcile` (from DescribeStatement)
and the finish step (from DescribeStatement) all ask the same question —
did this batch succeed, and if not, why — so they all answer it here, with
the same error types and messages. Pure functions: no AWS calls, no state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rsbatch_core.models import (
    TERMINAL_STATES,
    CallbackPayload,
    DecidedBy,
    RunError,
    StatementStats,
)

#: The error types a run fails with when Redshift's record decides.
STATEMENT_FAILED = "RedshiftStatementFailed"
STATEMENT_ABORTED = "RedshiftStatementAborted"


@dataclass(frozen=True)
class RedshiftRecord:
    """What Redshift says about one batch: its state, its sub-statements, its error."""

    statement_id: str
    state: str
    statements: tuple[StatementStats, ...] = ()
    error: str | None = None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @classmethod
    def from_description(cls, description: dict[str, Any], shift: int = 0) -> RedshiftRecord:
        """From a DescribeStatement response (a batch's, or a single statement's).

        `shift` renumbers sub-statements as the user's file numbers them: the setup statements
        rsbatch put first (`SET statement_timeout`…) get 0 or less, and a resumed AUTO_COMMIT
        attempt that starts at statement k counts from k.
        """
        stats = statement_stats(description)
        for stat in stats:
            stat.index += shift
        return cls(
            statement_id=str(description.get("Id", "")),
            state=str(description.get("Status")),
            statements=tuple(stats),
            error=bounded(description.get("Error")),
        )

    @property
    def user_statements(self) -> list[StatementStats]:
        """The statements of the user's file (not the setup rsbatch put before them)."""
        return [s for s in self.statements if s.index >= 1]


#: Longest error text kept anywhere (summary, registry item, checkpoint). Redshift can return a
#: megabyte of error (`SELECT repeat('a', 1000000)::int`), while a DynamoDB item holds 400 KB and a
#: durable checkpoint 256 KB (AWS's DynamoDB and Lambda durable functions quotas).
MAX_ERROR_CHARS = 2000


def bounded(text: Any, limit: int = MAX_ERROR_CHARS) -> str | None:
    """An error text cut to `limit` characters, saying how long it was; None for none."""
    if not text:
        return None
    whole = str(text)
    if len(whole) <= limit:
        return whole
    note = f"… ({len(whole):,} characters in all)"
    return whole[: limit - len(note)] + note


def is_terminal(description: dict[str, Any]) -> bool:
    return description.get("Status") in TERMINAL_STATES


def statement_stats(description: dict[str, Any]) -> list[StatementStats]:
    """Per sub-statement status, rows, duration and error, 1-based like Redshift's `<id>:N`."""
    subs = description.get("SubStatements") or [description]
    stats = []
    for position, sub in enumerate(subs, start=1):
        sub_id = str(sub.get("Id", ""))
        index = int(sub_id.rsplit(":", 1)[1]) if ":" in sub_id else position
        duration = sub.get("Duration")
        rows = sub.get("ResultRows")
        stats.append(
            StatementStats(
                index=index,
                status=str(sub.get("Status", "UNKNOWN")),
                rows=int(rows) if rows is not None and rows >= 0 else None,
                duration_ms=round(duration / 1e6, 3) if duration and duration > 0 else None,
                error=bounded(sub.get("Error")),
            )
        )
    return stats


def failing_statement(stats: list[StatementStats] | tuple[StatementStats, ...]) -> StatementStats | None:
    """The sub-statement that failed (first FAILED, else first ABORTED)."""
    for status in ("FAILED", "ABORTED"):
        for stat in stats:
            if stat.status == status:
                return stat
    return None


def redshift_verdict(record: RedshiftRecord) -> RunError | None:
    """None when the batch FINISHED; else the error the run fails with.

    FAILED names the failing sub-statement and Redshift's error; ABORTED says "aborted"
    (a cancelled batch's sub-statements carry no error text).
    """
    if record.state == "FINISHED":
        return None
    if not record.terminal:
        raise ValueError(f"{record.state!r} is not a terminal Redshift state")
    failed = failing_statement(record.statements)
    if failed and failed.index < 1:  # one of the SET statements rsbatch runs first
        message = f"setting up the batch failed: {failed.error or record.error or record.state.lower()}"
        return RunError(type=STATEMENT_FAILED, message=message)
    index = failed.index if failed else None
    error = (failed.error if failed else None) or record.error
    if record.state == "ABORTED" or (failed and failed.status == "ABORTED" and not error):
        return RunError(
            type=STATEMENT_ABORTED if record.state == "ABORTED" else STATEMENT_FAILED,
            message="aborted",
            statement_index=index,
        )
    return RunError(
        type=STATEMENT_FAILED,
        message=_failure_message(error or "the batch failed", index),
        statement_index=index,
    )


def _failure_message(message: str, index: int | None) -> str:
    """Redshift's error, prefixed with the failing statement unless it already names it."""
    if index and not re.search(rf"\bstatement {index}\b", message):
        return f"statement {index} failed: {message}"
    return message


@dataclass(frozen=True)
class CallbackDecision:
    """Success, or failure with an error type; the payload says who decided and why."""

    success: bool
    payload: CallbackPayload
    error_type: str | None = None


def decision(record: RedshiftRecord, decided_by: DecidedBy) -> CallbackDecision:
    """The callback that relays Redshift's verdict on a terminal batch (listener, reconcile)."""
    error = redshift_verdict(record)
    payload = CallbackPayload(
        decided_by=decided_by,
        state=record.state,
        statement_id=record.statement_id,
        message=error.message if error else None,
    )
    if error is None:
        return CallbackDecision(success=True, payload=payload)
    return CallbackDecision(success=False, payload=payload, error_type=error.type)


def person_verdict(payload: CallbackPayload) -> RunError:
    """A person failed the run (`rsbatch fail`, or the AWS CLI): their type and message win."""
    return RunError(
        type=payload.error_type or "OperatorFailed", message=payload.message or "failed by an operator"
    )


def deadline_verdict(deadline_seconds: int) -> RunError:
    """Nothing ended the batch before the run's deadline: it was cancelled."""
    return RunError(
        type="DeadlineExceeded", message=f"no end after {deadline_seconds} s; statement cancelled"
    )


def committed_statements(
    statements: list[StatementStats] | tuple[StatementStats, ...], execution_mode: str, redshift_status: str
) -> list[int]:
    """What Redshift kept: all or nothing in a transaction, each finished statement in auto-commit."""
    finished = [s.index for s in statements if s.status == "FINISHED"]
    if execution_mode == "AUTO_COMMIT":
        return finished
    return finished if redshift_status == "FINISHED" else []
