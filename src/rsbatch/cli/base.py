"""What every `rsbatch` command shares: the group, error → exit-code mapping, common options.

Exit codes: 0 success; 1 the run or command failed; 2 bad usage or input (mapped here only).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from rsbatch.local.faults import HELP as FAULTS_HELP
from rsbatch.local.faults import Faults
from rsbatch_core.errors import BadInputError, RsbatchError
from rsbatch_core.models import MAX_CHAIN, QUERY_GROUP_PATTERN
from rsbatch_core.registry import RunNotFoundError

F = TypeVar("F", bound=Callable[..., Any])


class Failed(click.ClickException):
    """The run or command failed: exit 1 with one clear line."""

    exit_code = 1


class BadInput(click.UsageError):
    """Bad usage or input: exit 2 with one clear line."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


def errors_handled(fn: F) -> F:
    """Map our errors to exit codes: bad input 2, anything else of ours 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(*args, **kwargs)
        except (BadInputError, RunNotFoundError) as exc:
            raise BadInput(str(exc)) from None
        except RsbatchError as exc:
            raise Failed(str(exc)) from None
        except (ClientError, BotoCoreError) as exc:
            raise Failed(f"AWS call failed: {exc}") from None
        except TimeoutError as exc:
            raise Failed(str(exc) or "timed out") from None
        except (OSError, RuntimeError) as exc:  # the local stack could not start, a port, a disk
            raise Failed(f"{type(exc).__name__}: {exc}") from None

    return wrapper  # type: ignore[return-value]


def target_options(fn: F) -> F:
    """Where to point: AWS by default (stack outputs or RSBATCH_* env), or the local stack."""
    for option in reversed(
        [
            click.option("--local", is_flag=True, help="Use the stack `rsbatch local up` is serving."),
            click.option("--stack", help="CloudFormation stack (default: samconfig.toml, else rsbatch)."),
            click.option("--region", help="AWS region."),
            click.option("--profile", help="AWS profile."),
            click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout."),
        ]
    ):
        fn = option(fn)
    return fn


def operator(local: bool, stack: str | None, region: str | None, profile: str | None) -> Any:
    from rsbatch.config import resolve_target
    from rsbatch.operations import Operator

    return Operator(resolve_target(local=local, stack=stack, region=region, profile=profile))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="rsbatch")
def main() -> None:
    """Run long Amazon Redshift SQL batches from a Lambda durable function.

    \b
    Try it locally (no AWS account, no Docker):
      rsbatch run query.sql --local
    """
    from rsbatch.logs import core_warnings_to_stderr

    core_warnings_to_stderr()


# -- options of the run commands ---------------------------------------------


#: The local stack's fault knobs (events and Lambdas): the same option on `run --local` and `local up`.
events_option = click.option(
    "--events",
    default="",
    metavar="SPEC",
    help=f"Local faults (events, Lambdas, the warehouse): {FAULTS_HELP}.",
)


#: How often live progress asks Redshift (as the function) how the statement is doing.
interval_option = click.option(
    "--interval",
    type=click.FloatRange(0.5, 300),
    default=None,
    metavar="S",
    help="Seconds between refreshes of Redshift's progress (default 2 locally, 5 on AWS: "
    "each is a describe run as the function).",
)


def parse_faults(spec: str) -> Faults:
    try:
        return Faults.parse(spec)
    except ValueError as exc:
        raise BadInputError(str(exc)) from None


#: The batch's own options, on `run` and `start` alike (in --help order).
BATCH_OPTIONS = [
    click.option(
        "--param",
        "params",
        multiple=True,
        metavar="NAME=VALUE",
        help="Bind :NAME in the SQL (repeatable); bound by Redshift, never pasted in.",
    ),
    click.option(
        "--auto-commit",
        is_flag=True,
        help="Commit each statement on its own (e.g. for VACUUM) instead of one transaction.",
    ),
    click.option(
        "--session-keep-alive",
        type=click.IntRange(1, 86_400),
        metavar="S",
        help="Chains: one Redshift session along the batches (temp tables carry over).",
    ),
    click.option(
        "--max-rows",
        type=click.IntRange(0, 1000),
        help="Rows of results to keep in the summary, in total (default 100).",
    ),
    click.option(
        "--results",
        type=click.Choice(["last", "all"]),
        default="last",
        show_default=True,
        help="Keep the rows of the last statement, or of every statement that returned rows.",
    ),
    click.option(
        "--csv",
        "csv_results",
        is_flag=True,
        help="Results as CSV (ResultFormat=CSV, read with GetStatementResultV2).",
    ),
    click.option(
        "--callback-timeout",
        type=click.IntRange(1, 86_400),
        help="Seconds per round of waiting before checking the statement directly.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(1, 10),
        metavar="N",
        help="Attempts of a batch that loses a serializable-isolation conflict (deployment "
        "default 3; 1 = never rerun).",
    ),
    click.option(
        "--retry-auto-commit",
        is_flag=True,
        help="With --auto-commit: rerun from the statement that lost a conflict.",
    ),
    click.option(
        "--retry-backoff",
        type=click.IntRange(1, 3600),
        metavar="S",
        help="Durable wait before rerunning a batch that lost a conflict; doubles each time "
        "(deployment default 30).",
    ),
    click.option(
        "--statement-timeout",
        type=click.IntRange(1, 86_400),
        metavar="S",
        help="Redshift's statement_timeout for the batch (SET statement_timeout).",
    ),
    click.option(
        "--query-group",
        metavar="NAME",
        help="WLM query group for the batch (SET query_group): letters, digits, _ . - (≤ 30).",
    ),
]


def batch_options(fn: F) -> F:
    """Options of the batch itself, shared by `run` and `start`: the command gets one `options`."""

    @functools.wraps(fn)
    def with_options(
        *args: Any,
        params: tuple[str, ...],
        auto_commit: bool,
        session_keep_alive: int | None,
        max_rows: int | None,
        results: str,
        csv_results: bool,
        retries: int | None,
        retry_auto_commit: bool,
        retry_backoff: int | None,
        statement_timeout: int | None,
        query_group: str | None,
        **kwargs: Any,
    ) -> Any:
        from rsbatch.operations import RunOptions, parse_params

        # This runs before the command's own error mapping: refuse with click's usage error.
        if retry_auto_commit and not auto_commit:
            raise BadInput("--retry-auto-commit goes with --auto-commit")
        if query_group is not None and not re.fullmatch(QUERY_GROUP_PATTERN, query_group):
            raise BadInput(f"--query-group {query_group!r}: use 1-30 letters, digits, _ . -")
        try:
            parameters = parse_params(params)
        except BadInputError as exc:
            raise BadInput(str(exc)) from None
        options = RunOptions(
            parameters=parameters,
            execution_mode="AUTO_COMMIT" if auto_commit else "TRANSACTION",
            max_rows=max_rows,
            results=results,
            result_format="CSV" if csv_results else "JSON",
            session_keep_alive=session_keep_alive,
            retries=retries,
            retry_auto_commit=retry_auto_commit,
            retry_backoff=retry_backoff,
            statement_timeout=statement_timeout,
            query_group=query_group,
        )
        return fn(*args, options=options, **kwargs)

    wrapped: Any = with_options
    for option in reversed(BATCH_OPTIONS):
        wrapped = option(wrapped)
    return cast(F, wrapped)


def check_chain(files: tuple[str, ...]) -> None:
    """What the function would refuse after `start` returned: refuse it here, before invoking."""
    if len(files) > MAX_CHAIN:
        raise BadInputError(f"{len(files)} SQL files: a chain takes at most {MAX_CHAIN}")


def default_sql_root() -> Path:
    return Path(os.environ.get("RSBATCH_SQL_ROOT") or Path(__file__).resolve().parents[3] / "sql")


def default_pipeline_root() -> Path:
    """`pipelines/` of the checkout (as `default_sql_root`), or RSBATCH_PIPELINE_ROOT."""
    return Path(os.environ.get("RSBATCH_PIPELINE_ROOT") or Path(__file__).resolve().parents[3] / "pipelines")


def check_pipeline_locally(name: str, parameters: dict[str, str]) -> None:
    """The manifest and every step's SQL and parameters, checked here: bad input exits 2, nothing starts."""
    from rsbatch_core.pipeline import load_pipeline
    from rsbatch_core.pipeline_flow import check_pipeline
    from rsbatch_core.sqlsource import SqlSource

    sql_root = default_sql_root()
    pipeline = load_pipeline(default_pipeline_root(), name, sql_root=sql_root)
    check_pipeline(pipeline, parameters, SqlSource(sql_root))
