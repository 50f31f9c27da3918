"""The adapters the core talks to, as Protocols (ports).

The flow, the listener logic and the operator actions are written against
these, so a test's in-memory fake is type-checked against the same contract
as the boto3-backed adapter (`RunRegistry`, `RedshiftData`, `SqlSource`,
`CallbackSender`) that runs on Lambda.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from rsbatch_core.callbacks import Delivery
from rsbatch_core.models import CallbackPayload, ResultRows, RunRecord, RunStatus, RunSummary, StepState
from rsbatch_core.registry import RunPage
from rsbatch_core.settings import RedshiftTarget, Settings
from rsbatch_core.sqlfile import SqlBatch
from rsbatch_core.verdict import CallbackDecision


@dataclass(frozen=True)
class Submission:
    """One BatchExecuteStatement as the flow asks for it; the adapter turns it into arguments."""

    batch: SqlBatch
    target: RedshiftTarget
    run: str  # the StatementName: the EventBridge rule and the listener find the run by it
    token: str  # the ClientToken: a retried submit returns the same statement
    parameters: list[dict[str, str]] = field(default_factory=list)
    execution_mode: str = "TRANSACTION"
    session_keep_alive: int | None = None  # open a session for the next batches of a chain
    session_id: str | None = None  # run in the chain's session (which already knows its target)
    preamble: tuple[str, ...] = ()  # rsbatch's own setup before the file (`SET statement_timeout`…)
    result_format: str = "JSON"  # ResultFormat: JSON (GetStatementResult) or CSV (…V2)


class RunStore(Protocol):
    """The run registry (DynamoDB): one item per batch, written conditionally."""

    def register(self, record: RunRecord) -> None: ...
    def refuse(self, record: RunRecord) -> None: ...
    def set_statement(self, run_key: str, statement_id: str) -> None: ...
    def rearm(self, run_key: str, callback_id: str) -> None: ...
    def next_attempt(self, run_key: str, callback_id: str) -> None: ...
    def finish(self, summary: RunSummary) -> None: ...
    def abandon(self, run_key: str, error: str) -> None: ...
    def get(self, run_key: str) -> RunRecord | None: ...
    def find(self, ref: str) -> RunRecord: ...
    def waiting(self, *, started_before: datetime, limit: int = 50, token: str | None = None) -> RunPage: ...
    # a pipeline run's own item (its steps' batches are run items like any other)
    def start_pipeline(self, record: RunRecord) -> None: ...
    def pipeline_step(self, run_key: str, step: str, state: StepState) -> None: ...
    def end_pipeline(self, run_key: str, status: RunStatus, error: str | None, pipeline: str) -> None: ...
    def link_redrive(self, original: str, redrive: str) -> None: ...


class StatementApi(Protocol):
    """The Redshift Data API calls the function makes."""

    def submit(self, submission: Submission) -> str: ...
    def describe(self, statement_id: str, wait_seconds: int = 0) -> dict[str, Any]: ...
    def wait_terminal(self, statement_id: str, seconds: int = 30) -> dict[str, Any]: ...
    def cancel(self, statement_id: str) -> bool: ...
    def result_rows(
        self, sub_statement_id: str, max_rows: int, max_bytes: int = 64 * 1024, *, csv: bool = False
    ) -> ResultRows: ...


class SqlStore(Protocol):
    """Where SQL files come from: the bundled folder, or S3 under the allowed prefix."""

    def load(self, name: str) -> SqlBatch: ...
    def check_s3_uri(self, uri: str) -> tuple[str, str]: ...


class ExecutionStatus(Protocol):
    """What Lambda says of a durable execution (GetDurableExecution)."""

    def status(self, execution_arn: str) -> str | None: ...


class CallbackSink(Protocol):
    """SendDurableExecutionCallbackSuccess/Failure."""

    def succeed(self, callback_id: str, payload: CallbackPayload) -> Delivery: ...
    def fail(self, callback_id: str, error_type: str, payload: CallbackPayload) -> Delivery: ...
    def send(self, callback_id: str, decision: CallbackDecision) -> Delivery: ...


@dataclass
class Services:
    """What a run talks to; the durable handler builds it once per container."""

    settings: Settings
    registry: RunStore
    redshift: StatementApi
    sql: SqlStore
