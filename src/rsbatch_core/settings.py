"""Configuration from the environment, validated once at start-up.

Both Lambdas and the CLI read the same variables, so a misconfigured stack
fails on its first invocation with one clear message instead of deep inside
a boto3 call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from rsbatch_core.errors import SettingsError
from rsbatch_core.models import QUERY_GROUP_PATTERN

#: Every run key starts with this, and the EventBridge rule matches on it.
RUN_PREFIX = "rsbatch-"


def _default_sql_root() -> Path:
    """The `sql/` folder bundled next to the durable handler on Lambda."""
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        return Path(task_root) / "sql"
    return Path.cwd() / "sql"


def _default_pipeline_root() -> Path:
    """The `pipelines/` folder bundled next to `sql/` on Lambda (rsbatch_core.pipeline)."""
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        return Path(task_root) / "pipelines"
    return Path.cwd() / "pipelines"


class RedshiftTarget(BaseModel):
    """Where the batch runs: a workgroup or a cluster, with IAM, a DbUser or a secret."""

    workgroup: str | None = None
    cluster_id: str | None = None
    db_user: str | None = None
    secret_arn: str | None = None
    database: str = "dev"

    @model_validator(mode="after")
    def _one_target(self) -> RedshiftTarget:
        """The Data API needs a workgroup or a cluster; a secret or a DbUser only says how to log in."""
        if bool(self.workgroup) == bool(self.cluster_id):
            raise ValueError(
                "set exactly one of RSBATCH_WORKGROUP (serverless) or RSBATCH_CLUSTER_ID (provisioned); "
                "RSBATCH_SECRET_ARN is optional with either"
            )
        if self.db_user and (not self.cluster_id or self.secret_arn):
            raise ValueError("RSBATCH_DB_USER only applies with RSBATCH_CLUSTER_ID and no RSBATCH_SECRET_ARN")
        return self

    def api_kwargs(self) -> dict[str, str]:
        """The target arguments of every Data API submit call."""
        kwargs = {"Database": self.database}
        if self.workgroup:
            kwargs["WorkgroupName"] = self.workgroup
        if self.cluster_id:
            kwargs["ClusterIdentifier"] = self.cluster_id
        if self.db_user:
            kwargs["DbUser"] = self.db_user
        if self.secret_arn:
            kwargs["SecretArn"] = self.secret_arn
        return kwargs


class Settings(BaseModel):
    """Everything the Lambdas need from their environment."""

    table: str = Field(min_length=3, max_length=255)
    sql_root: Path = Field(default_factory=_default_sql_root)
    pipeline_root: Path = Field(default_factory=_default_pipeline_root)
    callback_timeout_seconds: int = Field(default=900, ge=1, le=86_400)
    #: Rounds of waiting double the callback timeout up to this cap.
    max_callback_timeout_seconds: int = Field(default=4 * 3600, ge=1, le=86_400)
    #: Give up (cancel, fail) once a statement has run this long; Redshift's own limit is 24 h.
    max_wait_seconds: int = Field(default=24 * 3600 + 600, ge=1)
    #: The durable execution's own timeout (DurableConfig); we must give up before it hits.
    #: (DurableConfig.ExecutionTimeout: 1 s to 366 days, AWS::Serverless::Function's SAM spec.)
    execution_timeout_seconds: int | None = Field(default=None, ge=1, le=31_622_400)
    #: How long run items stay in the registry (DynamoDB TTL).
    retention_days: int = Field(default=30, ge=1, le=3650)
    #: Rows of a final SELECT kept in the summary.
    max_result_rows: int = Field(default=100, ge=0, le=1000)
    #: SQL from S3 is allowed only under s3://sql_bucket/sql_prefix (matching the IAM policy).
    sql_bucket: str | None = None
    sql_prefix: str = ""
    #: Retries (a run's `retry` input overrides each): attempts of a batch that lost a conflict,
    #: the first backoff between attempts, and the budgets of waiting out transient / capacity errors.
    batch_max_attempts: int = Field(default=3, ge=1, le=10)
    batch_backoff_seconds: int = Field(default=30, ge=1, le=3600)
    transient_retry_seconds: int = Field(default=15 * 60, ge=0, le=86_400)
    capacity_retry_seconds: int = Field(default=60 * 60, ge=0, le=86_400)
    #: More conflict texts (regular expressions), as a JSON list: `["lock timeout"]`.
    retry_sql_patterns: list[str] = Field(default_factory=list, max_length=20)
    #: Guards every run gets unless it sets its own.
    statement_timeout_seconds: int | None = Field(default=None, ge=1, le=86_400)
    query_group: str | None = Field(default=None, pattern=QUERY_GROUP_PATTERN)

    @field_validator("statement_timeout_seconds", mode="before")
    @classmethod
    def _zero_is_none(cls, v: Any) -> Any:
        return None if v in (0, "0") else v

    @field_validator("retry_sql_patterns", mode="before")
    @classmethod
    def _json_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return json.loads(v) if v.strip() else []
            except ValueError:
                raise ValueError(
                    'must be a JSON list of regular expressions, like ["lock timeout"]'
                ) from None
        return v

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read `RSBATCH_*` variables; raise SettingsError naming every problem."""
        env = os.environ if env is None else env
        raw: dict[str, Any] = {"table": env.get("RSBATCH_TABLE", "")}
        for field, var in ENV_NAMES.items():
            if field != "table" and env.get(var):
                raw[field] = env[var]
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise SettingsError(_describe("settings", exc)) from None

    @property
    def deadline_seconds(self) -> int:
        """How long a batch may wait: the max wait, and 5 min inside the execution timeout
        (so the run can still cancel its statement and record FAILED before it is stopped)."""
        if self.execution_timeout_seconds is None:
            return self.max_wait_seconds
        return max(1, min(self.max_wait_seconds, self.execution_timeout_seconds - 300))

    @cached_property
    def target(self) -> RedshiftTarget:
        """The Redshift target, validated on first use (the listener never needs it)."""
        return target_from_env(os.environ)


def target_from_env(env: Mapping[str, str]) -> RedshiftTarget:
    """Read the Redshift target variables; raise SettingsError if they are unusable."""
    try:
        return RedshiftTarget(
            workgroup=env.get("RSBATCH_WORKGROUP") or None,
            cluster_id=env.get("RSBATCH_CLUSTER_ID") or None,
            db_user=env.get("RSBATCH_DB_USER") or None,
            secret_arn=env.get("RSBATCH_SECRET_ARN") or None,
            database=env.get("RSBATCH_DATABASE") or "dev",
        )
    except ValidationError as exc:
        raise SettingsError(_describe("Redshift target", exc)) from None


#: The one list of Settings fields and the variables they come from.
ENV_NAMES = {
    "table": "RSBATCH_TABLE",
    "sql_root": "RSBATCH_SQL_ROOT",
    "pipeline_root": "RSBATCH_PIPELINE_ROOT",
    "callback_timeout_seconds": "RSBATCH_CALLBACK_TIMEOUT_SECONDS",
    "max_callback_timeout_seconds": "RSBATCH_MAX_CALLBACK_TIMEOUT_SECONDS",
    "max_wait_seconds": "RSBATCH_MAX_WAIT_SECONDS",
    "execution_timeout_seconds": "RSBATCH_EXECUTION_TIMEOUT_SECONDS",
    "retention_days": "RSBATCH_RETENTION_DAYS",
    "max_result_rows": "RSBATCH_MAX_RESULT_ROWS",
    "sql_bucket": "RSBATCH_SQL_BUCKET",
    "sql_prefix": "RSBATCH_SQL_PREFIX",
    "batch_max_attempts": "RSBATCH_BATCH_MAX_ATTEMPTS",
    "batch_backoff_seconds": "RSBATCH_BATCH_BACKOFF_SECONDS",
    "transient_retry_seconds": "RSBATCH_TRANSIENT_RETRY_SECONDS",
    "capacity_retry_seconds": "RSBATCH_CAPACITY_RETRY_SECONDS",
    "retry_sql_patterns": "RSBATCH_RETRY_SQL_PATTERNS",
    "statement_timeout_seconds": "RSBATCH_STATEMENT_TIMEOUT_SECONDS",
    "query_group": "RSBATCH_QUERY_GROUP",
}


def _describe(what: str, exc: ValidationError) -> str:
    """One line per problem, naming the environment variable, never the value."""
    problems = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        name = ENV_NAMES.get(field, field)
        problems.append(f"{name}: {err['msg']}" if name else err["msg"])
    return f"invalid {what}: " + "; ".join(problems)
