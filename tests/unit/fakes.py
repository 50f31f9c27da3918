"""An in-memory stand-in for the Redshift Data API adapter, for unit tests of the flow only.

It implements the core's `StatementApi` port, so mypy holds it to the same
contract as `RedshiftData`. The integration tests run the same flow against
the emulator and real PostgreSQL.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from rsbatch_core.models import ResultRows
from rsbatch_core.ports import StatementApi, Submission


class FakeRedshift(StatementApi):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_token: dict[str, str] = {}
        self.descriptions: dict[str, dict[str, Any]] = {}
        self.submits = 0
        self.cancelled: list[str] = []
        self.submit_error: Exception | None = None  # raised by every submit when set

    def submit(self, submission: Submission) -> str:
        if self.submit_error is not None:
            raise self.submit_error
        with self._lock:
            if submission.token in self.by_token:
                return self.by_token[submission.token]
            self.submits += 1
            statement_id = str(uuid.uuid4())
            self.by_token[submission.token] = statement_id
            self.descriptions[statement_id] = {
                "Id": statement_id,
                "Status": "STARTED",
                "SubStatements": [
                    {"Id": f"{statement_id}:{i}", "Status": "SUBMITTED"}
                    for i in range(1, len(submission.batch.statements) + 1)
                ],
            }
            return statement_id

    def statements(self) -> list[str]:
        """Every statement submitted, in order."""
        return list(self.descriptions)

    def only_statement(self) -> str:
        (statement_id,) = self.descriptions
        return statement_id

    def end(
        self,
        statement_id: str,
        status: str,
        failing_index: int | None = None,
        error: str = "ERROR: division by zero",
    ) -> None:
        """Put the statement in a terminal state, as Redshift would."""
        desc = self.descriptions[statement_id]
        desc["Status"] = status
        for sub in desc["SubStatements"]:
            index = int(sub["Id"].rsplit(":", 1)[1])
            if failing_index is None or index < failing_index:
                sub.update(
                    Status="FINISHED",
                    ResultRows=10 * index,
                    Duration=1_500_000,
                )
            elif index == failing_index:
                sub.update(Status="FAILED", Error=error)
                desc["Error"] = error
            else:
                sub.update(Status="ABORTED")
        if status == "ABORTED":
            for sub in desc["SubStatements"]:
                sub["Status"] = "ABORTED"

    def describe(self, statement_id: str, wait_seconds: int = 0) -> dict[str, Any]:
        return self.descriptions[statement_id]

    def wait_terminal(self, statement_id: str, seconds: int = 30) -> dict[str, Any]:
        return self.descriptions[statement_id]  # a cancel here ends the statement at once

    def cancel(self, statement_id: str) -> bool:
        self.cancelled.append(statement_id)
        self.end(statement_id, "ABORTED")
        return True

    def result_rows(
        self, sub_statement_id: str, max_rows: int, max_bytes: int = 64 * 1024, *, csv: bool = False
    ) -> ResultRows:
        raise AssertionError("the fake's statements return no rows (HasResultSet is never set)")
