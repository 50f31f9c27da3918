"""Where the CLI points: the local stack's variables, explicit env, or a CloudFormation stack."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from rsbatch_core.errors import BadInputError, RsbatchError

DEFAULT_STACK = "rsbatch"
#: The stack outputs naming the two functions' log groups (`rsbatch logs`).
LOG_GROUP_OUTPUTS = ("DurableLogGroupName", "StatusListenerLogGroupName")
#: The stack output with the CloudWatch dashboard's console URL (`rsbatch dashboard`).
DASHBOARD_OUTPUT = "DashboardUrl"


@dataclass(frozen=True)
class Target:
    """The deployed (or local) pieces the operator commands talk to."""

    session: Any  # boto3.Session
    table: str
    function: str  # the durable function's qualified ARN or name (alias on AWS)
    #: Where `rsbatch start FILE` uploads a file from outside the SQL root (SqlBucket/SqlPrefix).
    sql_bucket: str | None = None
    sql_prefix: str = ""
    #: Where `rsbatch logs` reads: both functions' log groups, or the local stack's log file.
    log_groups: tuple[str, ...] = ()
    log_file: str | None = None
    #: The stack's CloudWatch dashboard (output DashboardUrl), when read from the stack.
    dashboard_url: str | None = None


def default_stack_name(samconfig: Path = Path("samconfig.toml")) -> str:
    """`stack_name` as `sam deploy` reads it: the deploy section, then the global one; else "rsbatch"."""
    try:
        default = tomllib.loads(samconfig.read_text("utf-8")).get("default", {})
    except (OSError, tomllib.TOMLDecodeError):
        return DEFAULT_STACK
    for section in ("deploy", "global"):
        parameters = default.get(section, {}).get("parameters", {}) if isinstance(default, dict) else {}
        name = parameters.get("stack_name") if isinstance(parameters, dict) else None
        if name:
            return str(name)
    return DEFAULT_STACK


def resolve_target(*, local: bool, stack: str | None, region: str | None, profile: str | None) -> Target:
    """Env first (`RSBATCH_TABLE`, `RSBATCH_FUNCTION`, what `rsbatch local up` prints), then the stack."""
    if local and not os.environ.get("AWS_ENDPOINT_URL_LAMBDA"):
        raise BadInputError(
            "--local needs a running local stack: run `rsbatch local up` in another terminal "
            "and export the lines it prints"
        )
    try:
        session = boto3.Session(region_name=region, profile_name=profile)
    except ProfileNotFound:
        raise BadInputError(f"no AWS profile {profile!r} (see `aws configure list-profiles`)") from None
    table = os.environ.get("RSBATCH_TABLE")
    function = os.environ.get("RSBATCH_FUNCTION")
    bucket, prefix = os.environ.get("RSBATCH_SQL_BUCKET"), os.environ.get("RSBATCH_SQL_PREFIX", "")
    groups = tuple(g for g in os.environ.get("RSBATCH_LOG_GROUPS", "").split(",") if g)
    log_file = os.environ.get("RSBATCH_LOG_FILE") or None
    if table and function:
        return Target(
            session=session,
            table=table,
            function=function,
            sql_bucket=bucket,
            sql_prefix=prefix,
            log_groups=groups,
            log_file=log_file,
        )
    outputs = _stack_outputs(session, stack or default_stack_name())
    return Target(
        session=session,
        table=table or outputs["RunsTableName"],
        function=function or outputs["DurableFunctionAliasArn"],
        sql_bucket=bucket or outputs.get("SqlBucketName") or None,
        sql_prefix=prefix if bucket else outputs.get("SqlPrefix", ""),
        log_groups=groups or tuple(outputs[k] for k in LOG_GROUP_OUTPUTS if k in outputs),
        log_file=log_file,
        dashboard_url=outputs.get(DASHBOARD_OUTPUT),
    )


def dashboard_url(*, stack: str | None, region: str | None, profile: str | None) -> str:
    """The stack's output DashboardUrl (template.yaml `Dashboard`); only a deployed stack has one."""
    try:
        session = boto3.Session(region_name=region, profile_name=profile)
    except ProfileNotFound:
        raise BadInputError(f"no AWS profile {profile!r} (see `aws configure list-profiles`)") from None
    name = stack or default_stack_name()
    url = _stack_outputs(session, name).get(DASHBOARD_OUTPUT)
    if not url:
        raise RsbatchError(
            f"stack {name!r} has no output {DASHBOARD_OUTPUT}: it was deployed before the dashboard; "
            "`make deploy` adds it"
        )
    return url


def _stack_outputs(session: Any, stack: str) -> dict[str, str]:
    try:
        described = session.client("cloudformation").describe_stacks(StackName=stack)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ValidationError":  # no such stack
            raise BadInputError(
                f"no stack {stack!r} ({exc}); deploy with `make deploy`, pass --stack, "
                "or set RSBATCH_TABLE and RSBATCH_FUNCTION"
            ) from None
        raise RsbatchError(f"cannot read stack {stack!r}: {exc}") from None
    except BotoCoreError as exc:  # no credentials, no network
        raise RsbatchError(f"cannot read stack {stack!r}: {exc}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}
    missing = {"RunsTableName", "DurableFunctionAliasArn"} - outputs.keys()
    if missing:
        raise BadInputError(f"stack {stack!r} has no output {', '.join(sorted(missing))}")
    return outputs
