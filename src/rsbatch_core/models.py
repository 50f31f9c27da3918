"""Pydantic models of what crosses a border: run input, registry item, callback payloads, summary."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from rsbatch_core.errors import BadInputError

TERMINAL_STATES = frozenset({"FINISHED", "FAILED", "ABORTED"})


class RunStatus(StrEnum):
    WAITING = "WAITING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class ResumedBy(StrEnum):
    """What woke the run up, as summaries, the registry and the `ResumedBy` metric dimension say it."""

    EVENT = "event"
    POLL = "poll"
    OPERATOR = "operator"


class DecidedBy(StrEnum):
    """Who decided a run's end, said explicitly in every callback payload rsbatch sends."""

    REDSHIFT_EVENT = "redshift-event"  # the listener relays Redshift's status event
    REDSHIFT_CHECK = "redshift-check"  # the function read the statement itself (a round timed out)
    RECONCILE = "reconcile"  # `rsbatch reconcile` relays Redshift's record
    PERSON = "person"  # `rsbatch succeed|fail`: a verdict that wins over Redshift's record

    @property
    def resumed_by(self) -> ResumedBy:
        return _RESUMED_BY[self]


_RESUMED_BY = {
    DecidedBy.REDSHIFT_EVENT: ResumedBy.EVENT,
    DecidedBy.REDSHIFT_CHECK: ResumedBy.POLL,
    DecidedBy.RECONCILE: ResumedBy.OPERATOR,
    DecidedBy.PERSON: ResumedBy.OPERATOR,
}


def utcnow() -> datetime:
    return datetime.now(UTC)


#: A WLM query group label for `SET query_group TO '…'`. Redshift takes any string and truncates
#: it to 30 characters in STL_QUERY / SVL_QLOG (Database Developer Guide, "query_group"); we keep
#: it to 30 safe characters so it can stand in the SQL text and reads the same in the logs.
QUERY_GROUP_PATTERN = r"^[A-Za-z0-9_.-]{1,30}$"


#: Batches in one chain (one durable execution).
MAX_CHAIN = 10


class RetryOptions(BaseModel):
    """How a run retries (input `retry`); each unset field takes the deployment's default."""

    model_config = ConfigDict(extra="forbid")

    #: Attempts of a batch that failed with a transient SQL conflict (1 = never rerun).
    max_attempts: int | None = Field(default=None, ge=1, le=10)
    #: Durable wait before the second attempt; it doubles for each further one.
    backoff_seconds: int | None = Field(default=None, ge=1, le=3600)
    #: Budget of waiting for transient API errors (throttling, 5xx) and for capacity (quotas).
    transient_seconds: int | None = Field(default=None, ge=0, le=86_400)
    capacity_seconds: int | None = Field(default=None, ge=0, le=86_400)
    #: More error texts (regular expressions) that mean "conflict: run the batch again".
    patterns: list[str] = Field(default_factory=list, max_length=20)
    #: AUTO_COMMIT runs are rerun only when asked, and then only from the statement that failed.
    auto_commit: bool = False

    @field_validator("patterns")
    @classmethod
    def _short_patterns(cls, v: list[str]) -> list[str]:
        if any(not p or len(p) > 200 for p in v):
            raise ValueError("each pattern is 1-200 characters")
        return v


def problems(exc: Any) -> str:
    """A pydantic ValidationError's problems on one line, each with the path to its field."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors())


class RunRequest(BaseModel):
    """The durable function's input event."""

    model_config = ConfigDict(extra="forbid")

    sql_file: str | None = Field(default=None, min_length=1, max_length=1100)
    batches: list[str] | None = Field(default=None, min_length=1, max_length=MAX_CHAIN)
    parameters: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=100)
    execution_mode: Literal["TRANSACTION", "AUTO_COMMIT"] = "TRANSACTION"
    max_rows: int | None = Field(default=None, ge=0, le=1000)
    #: Whose rows the summary keeps: the last statement's (`last`) or every statement's that
    #: returned rows (`all`), within the same bounds in total; read as JSON or as CSV
    #: (`ResultFormat=CSV`, read with GetStatementResultV2).
    results: Literal["last", "all"] = "last"
    result_format: Literal["JSON", "CSV"] = "JSON"
    #: Chains: keep one Redshift session along the batches, so temp tables carry over.
    session_keep_alive_seconds: int | None = Field(default=None, ge=1, le=86_400)
    callback_timeout_seconds: int | None = Field(default=None, ge=1, le=86_400)
    retry: RetryOptions = Field(default_factory=RetryOptions)
    #: Guards: Redshift's `SET statement_timeout` and WLM routing (`SET query_group`) for the batch.
    statement_timeout_seconds: int | None = Field(default=None, ge=1, le=86_400)
    query_group: str | None = Field(default=None, pattern=QUERY_GROUP_PATTERN)

    @model_validator(mode="after")
    def _one_source(self) -> RunRequest:
        if (self.sql_file is None) == (self.batches is None):
            raise ValueError('give either "sql_file" or a non-empty "batches" list')
        return self

    @property
    def files(self) -> list[str]:
        """The batches to run, in order (one for `sql_file`)."""
        return [self.sql_file] if self.sql_file is not None else list(self.batches or [])

    @property
    def parameter_values(self) -> dict[str, str]:
        """The Data API takes every value as a string."""
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.parameters.items()}

    @classmethod
    def parse(cls, event: Any) -> RunRequest:
        """Validate the raw event; raise BadInputError with every problem on one line."""
        from pydantic import ValidationError

        if not isinstance(event, dict):
            raise BadInputError('the input must be a JSON object like {"sql_file": "query.sql"}')
        try:
            return cls.model_validate(event)
        except ValidationError as exc:
            raise BadInputError(f"invalid run input: {problems(exc)}") from None


class StatementStats(BaseModel):
    """One sub-statement of the batch, as the summary reports it."""

    index: int
    status: str
    rows: int | None = None
    duration_ms: float | None = None
    error: str | None = None


class RunError(BaseModel):
    type: str
    message: str
    statement_index: int | None = None


class ResultRows(BaseModel):
    """The first rows of one statement's result (the batch's last, or each with `results: all`)."""

    columns: list[str]
    rows: list[list[Any]]
    total_rows: int
    truncated: bool
    index: int | None = None  # the statement's number in the SQL file


class Attempt(BaseModel):
    """One submission of a batch: a retried batch has several, each its own statement."""

    number: int
    statement_id: str
    status: str  # Redshift's status of that statement
    error: str | None = None
    started_at: float | None = None  # epoch seconds
    ended_at: float | None = None


class RunSummary(BaseModel):
    """What one batch ended with: returned by the durable function, stored in the registry."""

    run: str
    status: RunStatus
    execution_arn: str
    statement_id: str | None
    sql_file: str
    resumed_by: ResumedBy
    execution_mode: str = "TRANSACTION"
    redshift_status: str | None = None
    statements: list[StatementStats] = Field(default_factory=list)
    committed_statements: list[int] = Field(default_factory=list)
    result: ResultRows | None = None  # `results: last` (the default)
    results: list[ResultRows] = Field(default_factory=list)  # `results: all`, in statement order
    resume_latency_ms: float | None = None  # statement end → this finish step
    operator_result: str | None = None  # what `rsbatch succeed --result` recorded
    error: RunError | None = None
    attempts: list[Attempt] = Field(default_factory=list)  # every submission, the last one last


class CallbackPayload(BaseModel):
    """What the listener (or an operator) sends with SendDurableExecutionCallbackSuccess/Failure.

    Only `decided_by: person` is a verdict. Anything else — the listener relaying an event,
    reconcile, or a raw callback from the AWS CLI with no rsbatch payload — only wakes the run
    up; then Redshift's own record of the statement decides.
    """

    model_config = ConfigDict(extra="ignore")

    decided_by: DecidedBy | None = None
    state: str | None = None  # Redshift's state, when the sender relays it (listener, reconcile)
    statement_id: str | None = None
    message: str | None = None
    error_type: str | None = None  # `rsbatch fail --type`
    result: str | None = None  # `rsbatch succeed --result` (JSON text)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def resumed_by(self) -> ResumedBy:
        """Sent along for people reading the payload; derived, never read back."""
        return self.decided_by.resumed_by if self.decided_by else ResumedBy.OPERATOR


class RunRecord(BaseModel):
    """One item of the run registry (DynamoDB), one per run."""

    model_config = ConfigDict(extra="ignore")

    run_key: str
    callback_id: str
    execution_arn: str
    sql_file: str
    status: RunStatus = RunStatus.WAITING
    statement_id: str | None = None
    resumed_by: ResumedBy | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    error: str | None = None
    statement_index: int | None = None
    summary: str | None = None  # RunSummary as JSON: keeps floats out of DynamoDB numbers
    expires_at: int | None = None
    #: `run` (a batch, or one step's batch of a pipeline) or `pipeline` (a pipeline run).
    item_type: str = "run"
    #: A pipeline run only: `PipelineInfo` as JSON, each step's `StepState` as JSON by step name,
    #: and the run that redrove it (its own `redrive_of` is in `pipeline`).
    pipeline: str | None = None
    steps: dict[str, str] | None = None
    redriven_by: str | None = None

    @property
    def is_pipeline(self) -> bool:
        return self.item_type == PIPELINE_ITEM

    def pipeline_info(self) -> PipelineInfo | None:
        return PipelineInfo.model_validate_json(self.pipeline) if self.pipeline else None

    def step_states(self) -> dict[str, StepState]:
        return {k: StepState.model_validate_json(v) for k, v in (self.steps or {}).items()}

    @field_validator("statement_index", "expires_at", mode="before")
    @classmethod
    def _from_decimal(cls, v: Any) -> Any:
        return int(v) if v is not None else None


class RedshiftEventDetail(BaseModel):
    """The `detail` of Redshift's "Redshift Data Statement Status Change" event."""

    model_config = ConfigDict(extra="ignore")

    statement_name: str | None = Field(default=None, alias="statementName")
    statement_id: str = Field(alias="statementId", min_length=1, max_length=200)
    state: Literal["FINISHED", "FAILED", "ABORTED"]
    principal: str | None = None
    rows: int | None = None
    redshift_query_id: int | None = Field(default=None, alias="redshiftQueryId")


#: The registry's `item_type` of a pipeline run (its steps' batches are `run` items).
PIPELINE_ITEM = "pipeline"

#: Bounds of what a pipeline's registry item and checkpoints hold.
MAX_PIPELINE_STEPS = 100
MAX_STEP_ERROR = 500


class PipelineRequest(BaseModel):
    """The durable function's input for a pipeline run (a schedule, `rsbatch start --pipeline`, redrive)."""

    model_config = ConfigDict(extra="forbid")

    pipeline: str = Field(min_length=1, max_length=128)
    parameters: dict[str, str | int | float | bool] = Field(default_factory=dict, max_length=100)
    run_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    #: A schedule's `<aws.scheduler.scheduled-time>` and the schedule's time zone: `:run_date` is
    #: that instant's date in that zone.
    scheduled_time: datetime | None = None
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    #: Steps that count as succeeded without running (a redrive skips what succeeded before).
    skip_steps: list[str] = Field(default_factory=list, max_length=MAX_PIPELINE_STEPS)
    redrive_of: str | None = Field(default=None, min_length=1, max_length=200)
    callback_timeout_seconds: int | None = Field(default=None, ge=1, le=86_400)

    @property
    def parameter_values(self) -> dict[str, str]:
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.parameters.items()}

    def resolved_run_date(self, now: datetime) -> str:
        """`:run_date`: as given, else the scheduled instant's date in its zone, else today (UTC)."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        if self.run_date:
            return self.run_date
        try:
            zone = ZoneInfo(self.timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise BadInputError(f"timezone: unknown time zone {self.timezone!r}") from None
        instant = self.scheduled_time or now
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        return instant.astimezone(zone).date().isoformat()

    @classmethod
    def parse(cls, event: Any) -> PipelineRequest:
        from pydantic import ValidationError

        try:
            return cls.model_validate(event)
        except ValidationError as exc:
            raise BadInputError(f"invalid pipeline input: {problems(exc)}") from None


class StepStatus(StrEnum):
    PENDING = "PENDING"  # not started yet
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"  # stopped by the pipeline (on_failure: stop, a person, the deadline)
    SKIPPED = "SKIPPED"  # succeeded in the run this one redrives
    NOT_STARTED = "NOT_STARTED"  # the run ended without starting it


class StepState(BaseModel):
    """One step of a pipeline run, as its registry item records it (JSON text, bounded)."""

    state: StepStatus = StepStatus.PENDING
    run_key: str | None = None  # the run key of its (current) batch: `RUN.step`, `RUN.step.2`…
    statement_id: str | None = None
    batch: int = 1  # which file of the step's chain
    started_at: float | None = None  # epoch seconds: the first batch's submit
    ended_at: float | None = None
    rows: int | None = None  # rows of its statements, summed
    attempts: int = 0  # submissions, over the chain
    error: str | None = Field(default=None, max_length=MAX_STEP_ERROR)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return round(self.ended_at - self.started_at, 3)


class PipelineInfo(BaseModel):
    """What a pipeline run is: the graph, its parameters, and the run it redrives."""

    name: str
    parameters: dict[str, str] = Field(default_factory=dict)
    run_date: str
    graph: dict[str, list[str]]  # step → its `after`, in manifest order
    skip_steps: list[str] = Field(default_factory=list)
    redrive_of: str | None = None
    failed_steps: list[str] = Field(default_factory=list)
