"""`rsbatch`: run long Redshift SQL batches on a Lambda durable function, and operate them.

Exit codes: 0 success; 1 the run or command failed; 2 bad usage or input.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from rsbatch import output
from rsbatch_core.errors import BadInputError, RsbatchError
from rsbatch_core.models import RunStatus
from rsbatch_core.registry import RunNotFoundError

if TYPE_CHECKING:
    from rsbatch.report import RunReport

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


# -- run ------------------------------------------------------------------


#: The local stack's fault knobs (events and Lambdas): the same option on `run --local` and `local up`.
events_option = click.option(
    "--events",
    default="",
    metavar="SPEC",
    help="Local faults: drop[=F], duplicate=N[@F], delay=S, reorder=S, fail=K, restart, "
    "crash-after-submit[=K] (comma-separated).",
)


def parse_faults(spec: str) -> Any:
    from rsbatch.local.faults import Faults

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
    return Path(os.environ.get("RSBATCH_SQL_ROOT") or Path(__file__).resolve().parents[2] / "sql")


@main.command()
@click.argument("sql_files", nargs=-1, required=True, metavar="SQL_FILE...")
@click.option("--local", is_flag=True, help="Boot the local stack in-process and run there.")
@batch_options
@events_option
@click.option("--timeout", type=click.IntRange(1), default=3600, show_default=True, help="Give up after S.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@errors_handled
def run(
    sql_files: tuple[str, ...],
    local: bool,
    params: tuple[str, ...],
    auto_commit: bool,
    session_keep_alive: int | None,
    max_rows: int | None,
    callback_timeout: int | None,
    events: str,
    timeout: int,
    as_json: bool,
) -> None:
    """Start a run of SQL_FILE and wait for its result.

    SQL_FILE is relative to the SQL root (the bundled sql/ folder), or
    s3://bucket/key.sql. Several files run as a chain, in order, stopping at
    the first failure.

    \b
    Examples:
      rsbatch run query.sql --local
      rsbatch run examples/orders_since.sql --local --param since=2026-11-01
      rsbatch run query.sql --local --events drop --callback-timeout 2 --json
    """
    if not local and not os.environ.get("AWS_ENDPOINT_URL_LAMBDA"):
        raise BadInputError(
            "`rsbatch run` waits in the terminal, so it runs on the local stack (--local); "
            "on AWS use `rsbatch start` and `rsbatch show`"
        )
    faults = parse_faults(events)
    if events and not local:
        raise BadInputError(
            "--events needs --local (a stack served by `rsbatch local up` takes its own --events)"
        )
    options = run_options(params, auto_commit, max_rows, session_keep_alive)
    sql_root = default_sql_root()
    for batch in check_sql(sql_files, options.parameters, sql_root):  # before anything starts
        output.progress(f"{batch.name}: {len(batch.statements)} statements, {batch.size_bytes} bytes")

    from rsbatch.local.stack import LocalStack, StackOptions
    from rsbatch.local.warehouse import default_home
    from rsbatch.local_run import follow, operator_for

    if local:
        output.progress("starting the local stack (PostgreSQL, Data API, DynamoDB, durable runtime)")
        stack = LocalStack(StackOptions(home=default_home(), sql_root=sql_root, events=faults))
        with stack:
            op = operator_for(stack)
            started = op.start(list(sql_files), None, callback_timeout, options)
            output.progress(f"run {started.run} started")
            report = follow(op, started, timeout)
            if stack.bus:
                stack.bus.drain(5)
    else:
        op = operator(False, None, None, None)
        started = op.start(list(sql_files), None, callback_timeout, options)
        report = follow(op, started, timeout)
    if as_json:
        output.emit_json(report.to_json())
    else:
        _print_report(report)
    if not report.succeeded:
        sys.exit(1)


def _print_report(report: RunReport) -> None:
    click.echo(f"run          {report.run}")
    click.echo(f"status       {output.status(report.status.value)}")
    click.echo(f"resumed by   {report.resumed_by or '-'}")
    click.echo(f"statement    {report.statement_id or '-'}")
    click.echo(f"durable ops  {report.durable_operations}   invocations {report.invocations}")
    if report.resume_latency_ms is not None:
        click.echo(f"resumed      {report.resume_latency_ms} ms after the statement ended")
    if report.statements:
        rows = [(s.index, s.status, s.rows, s.duration_ms) for s in report.statements]
        click.echo(output.table(["#", "status", "rows", "ms"], rows))
    for batch in report.batches or []:
        click.echo(f"batch        {batch.sql_file}: {output.status(batch.status.value)}")
    result = report.result
    if result:
        more = f" (first {len(result.rows)} of {result.total_rows})" if result.truncated else ""
        click.echo(f"result rows{more}")
        click.echo(output.table(result.columns, result.rows))
    if report.error:
        click.echo(f"error        {report.error.type}: {report.error.message}")


# -- start / runs / show --------------------------------------------------


@main.command()
@click.argument("sql_files", nargs=-1, required=True, metavar="SQL_FILE...")
@click.option("--name", help="DurableExecutionName: starting the same name twice gives one run.")
@batch_options
@target_options
@errors_handled
def start(
    sql_files: tuple[str, ...],
    name: str | None,
    params: tuple[str, ...],
    auto_commit: bool,
    session_keep_alive: int | None,
    max_rows: int | None,
    callback_timeout: int | None,
    **target: Any,
) -> None:
    """Start a run of SQL_FILE asynchronously and print it (several files: a chain).

    \b
    Example:
      rsbatch start query.sql --name mart-2026-11-27
    """
    as_json = target.pop("as_json")
    if name is not None and not (1 <= len(name) <= 64):
        raise BadInput("--name must be 1-64 characters")
    options = run_options(params, auto_commit, max_rows, session_keep_alive)
    if target["local"] or os.environ.get("AWS_ENDPOINT_URL_LAMBDA"):
        check_sql(sql_files, options.parameters, default_sql_root())  # the same files the stack serves
    started = operator(**target).start(list(sql_files), name, callback_timeout, options)
    if as_json:
        output.emit_json({"run": started.run, "execution_arn": started.execution_arn, "new": started.new})
        return
    if started.new:
        click.echo(f"started {started.run}")
    else:
        click.echo(f"already started: {started.run} (name {name!r} exists; no second run)")
    click.echo(f"execution {started.execution_arn}")


@main.command()
@click.option("--status", type=click.Choice([s.value for s in RunStatus]), help="Only runs in this status.")
@click.option("--since", help="Only runs newer than this, e.g. 2h, 30m, 1d.")
@target_options
@errors_handled
def runs(status: str | None, since: str | None, **target: Any) -> None:
    """List runs from the registry, newest first.

    \b
    Example:
      rsbatch runs --status WAITING --since 2h
    """
    from rsbatch.operations import parse_duration

    as_json = target.pop("as_json")
    records = operator(**target).runs(
        RunStatus(status) if status else None, parse_duration(since) if since else None
    )
    if as_json:
        output.emit_json([json.loads(r.model_dump_json(exclude={"summary"})) for r in records])
        return
    rows = [
        (
            r.run_key,
            output.status(r.status.value),
            output.age(r.created_at),
            r.sql_file,
            r.statement_id,
            r.resumed_by,
        )
        for r in records
    ]
    click.echo(output.table(["run", "status", "age", "sql file", "statement", "resumed by"], rows))


@main.command()
@click.argument("run")
@target_options
@errors_handled
def show(run: str, **target: Any) -> None:
    """Show RUN: the registry item, Redshift's statement and the durable execution.

    RUN is a run key, a statement id or an execution ARN.

    \b
    Example:
      rsbatch show rsbatch-3f2a…
    """
    as_json = target.pop("as_json")
    shown = operator(**target).show(run)
    if as_json:
        output.emit_json(shown.to_json())
        return
    record, statement, execution = shown.record, shown.statement or {}, shown.execution
    left = [
        ("run", record.run_key),
        ("status", output.status(record.status.value)),
        ("sql file", record.sql_file),
        ("resumed by", record.resumed_by or "-"),
        ("created", record.created_at.isoformat(timespec="seconds")),
        ("error", record.error or "-"),
    ]
    middle = [
        ("statement", statement.get("Id", "-")),
        ("status", output.status(str(statement.get("Status", "-")))),
        ("error", statement.get("Error") or "-"),
    ] + [
        (f"  {sub['Id'].rsplit(':', 1)[-1]}", f"{sub.get('Status')} rows={sub.get('ResultRows')}")
        for sub in statement.get("SubStatements", [])
    ]
    right = [
        ("execution", execution.get("DurableExecutionName", "-")),
        ("status", output.status(str(execution.get("Status")))),
        ("operations", execution.get("Operations")),
    ]
    click.echo(output.panels([("REGISTRY", left), ("REDSHIFT", middle), ("DURABLE EXECUTION", right)]))


# -- manual callbacks, reconcile, cancel ----------------------------------


@main.command()
@click.argument("run")
@click.option("--result", help="JSON to record as the operator's result.")
@click.option("--force", is_flag=True, help="Send even if the run is not WAITING.")
@target_options
@errors_handled
def succeed(run: str, result: str | None, force: bool, **target: Any) -> None:
    """Resume RUN as succeeded (manual callback).

    \b
    Example:
      rsbatch succeed rsbatch-3f2a… --result '{"checked_by": "ana"}'
    """
    as_json = target.pop("as_json")
    if result is not None:
        try:
            json.loads(result)
        except ValueError:
            raise BadInput("--result must be valid JSON") from None
    record = operator(**target).succeed(run, result, force)
    _acted(as_json, record.run_key, "succeed")


@main.command()
@click.argument("run")
@click.option("--message", required=True, help="Why the run is failed (kept in the registry).")
@click.option("--type", "error_type", default="OperatorFailed", show_default=True, help="Error type.")
@click.option("--force", is_flag=True, help="Send even if the run is not WAITING.")
@target_options
@errors_handled
def fail(run: str, message: str, error_type: str, force: bool, **target: Any) -> None:
    """Resume RUN as failed (manual callback); a running statement is cancelled.

    \b
    Example:
      rsbatch fail rsbatch-3f2a… --message "source data late, rerun tomorrow"
    """
    as_json = target.pop("as_json")
    record = operator(**target).fail(run, message, error_type, force)
    _acted(as_json, record.run_key, "fail")


def _acted(as_json: bool, run: str, action: str) -> None:
    if as_json:
        output.emit_json({"run": run, "action": action, "delivery": "sent"})
    else:
        click.echo(f"{action}: callback sent to {run}")


@main.command()
@click.option("--older-than", default="10m", show_default=True, help="Only runs waiting longer than this.")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@target_options
@errors_handled
def reconcile(older_than: str, dry_run: bool, **target: Any) -> None:
    """Resume WAITING runs whose statement already ended (the self-heal after lost events).

    \b
    Example:
      rsbatch reconcile --older-than 0s --dry-run
    """
    from rsbatch.operations import parse_duration

    as_json = target.pop("as_json")
    actions = operator(**target).reconcile(parse_duration(older_than), dry_run)
    if as_json:
        output.emit_json([a.__dict__ for a in actions])
        return
    if not actions:
        click.echo("nothing to reconcile")
    rows = [
        (a.run, a.state, a.action + (" (dry run)" if dry_run and a.action != "skip" else ""), a.delivery)
        for a in actions
    ]
    if rows:
        click.echo(output.table(["run", "statement", "action", "delivery"], rows))


@main.command()
@click.argument("run")
@target_options
@errors_handled
def cancel(run: str, **target: Any) -> None:
    """Cancel RUN's statement; the run then fails as aborted.

    \b
    Example:
      rsbatch cancel rsbatch-3f2a…
    """
    as_json = target.pop("as_json")
    record = operator(**target).cancel(run)
    if as_json:
        output.emit_json({"run": record.run_key, "statement_id": record.statement_id, "cancelled": True})
    else:
        click.echo(f"cancelled statement {record.statement_id}; run {record.run_key} will fail as aborted")


# -- local ----------------------------------------------------------------


@main.group()
def local() -> None:
    """The local stack: PostgreSQL behind a Redshift Data API emulator, DynamoDB, durable runtime."""


@local.command("up")
@events_option
@click.option("--callback-timeout", type=click.IntRange(1, 86_400), default=900, show_default=True)
@click.option(
    "--postgres-url", envvar="RSBATCH_POSTGRES_URL", help="Use this PostgreSQL instead of the embedded one."
)
@errors_handled
def local_up(events: str, callback_timeout: int, postgres_url: str | None) -> None:
    """Serve the local stack in the foreground; print its variables, then READY.

    \b
    In a second terminal:
      export $(grep = stack.env)   # the NAME=value lines printed here
      rsbatch start query.sql && rsbatch runs
    """
    from rsbatch.local.stack import LocalStack, StackOptions
    from rsbatch.local.warehouse import default_home

    faults = parse_faults(events)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stack = LocalStack(
        StackOptions(
            home=default_home(),
            events=faults,
            postgres_url=postgres_url,
            callback_timeout_seconds=callback_timeout,
        )
    )
    with stack:
        for key, value in stack.env().items():
            click.echo(f"{key}={value}")
        click.echo("READY", nl=True)
        sys.stdout.flush()
        stop.wait()
        click.echo("stopping", err=True)
