"""What every `rsbatch` command shares: the group, error → exit-code mapping, common options.

Exit codes: 0 success; 1 the run or command failed; 2 bad usage or input (mapped here only).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from rsbatch.local.faults import HELP as FAULTS_HELP
from rsbatch.local.faults import Faults
from rsbatch_core.errors import BadInputError, RsbatchError
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
    "--events", default="", metavar="SPEC", help=f"Local faults (events and Lambdas): {FAULTS_HELP}."
)


def parse_faults(spec: str) -> Faults:
    try:
        return Faults.parse(spec)
    except ValueError as exc:
        raise BadInputError(str(exc)) from None


def batch_options(fn: F) -> F:
    """Options of the batch itself, shared by `run` and `start`."""
    for option in reversed(
        [
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
                help="Rows of the last statement's result to keep in the summary (default 100).",
            ),
            click.option(
                "--callback-timeout",
                type=click.IntRange(1, 86_400),
                help="Seconds per round of waiting before checking the statement directly.",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def run_options(
    params: tuple[str, ...], auto_commit: bool, max_rows: int | None, session_keep_alive: int | None
) -> Any:
    from rsbatch.operations import RunOptions, parse_params

    return RunOptions(
        parameters=parse_params(params),
        execution_mode="AUTO_COMMIT" if auto_commit else "TRANSACTION",
        max_rows=max_rows,
        session_keep_alive=session_keep_alive,
    )


def check_sql(files: tuple[str, ...], parameters: dict[str, str], sql_root: Path) -> list[Any]:
    """Refuse bad files and parameters here, before anything is started (S3 files are checked by the run)."""
    from rsbatch_core.parameters import check_parameters
    from rsbatch_core.sqlfile import load_batch
    from rsbatch_core.sqlsource import is_s3_uri

    batches = [load_batch(f, sql_root) for f in files if not is_s3_uri(f)]
    if len(batches) == len(files):
        check_parameters(batches, parameters)
    return batches


def default_sql_root() -> Path:
    return Path(os.environ.get("RSBATCH_SQL_ROOT") or Path(__file__).resolve().parents[3] / "sql")
