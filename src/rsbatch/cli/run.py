"""`rsbatch run`: start a run, wait for it in the terminal, print its report."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rsbatch import output
from rsbatch.cli.base import (
    batch_options,
    check_chain,
    check_pipeline_locally,
    default_pipeline_root,
    default_sql_root,
    errors_handled,
    events_option,
    interval_option,
    main,
    operator,
    parse_faults,
)
from rsbatch.extras import require_local
from rsbatch.sqlpaths import SqlArg, check_local, locate, run_names, upload_target
from rsbatch_core.errors import BadInputError

if TYPE_CHECKING:
    from rsbatch.local.faults import Faults
    from rsbatch.operations import Operator, RunOptions, Started
    from rsbatch.report import RunReport


@main.command()
@click.argument("sql_files", nargs=-1, metavar="SQL_FILE...")
@click.option("--pipeline", help="Run the pipeline pipelines/NAME.yaml instead of SQL files.")
@click.option("--local", is_flag=True, help="Boot the local stack in-process and run there.")
@batch_options
@events_option
@click.option("--timeout", type=click.IntRange(1), default=3600, show_default=True, help="Give up after S.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@interval_option
@errors_handled
def run(
    sql_files: tuple[str, ...],
    pipeline: str | None,
    local: bool,
    options: RunOptions,
    callback_timeout: int | None,
    events: str,
    timeout: int,
    as_json: bool,
    interval: float | None,
) -> None:
    """Start a run of SQL_FILE and wait for its result.

    SQL_FILE is a path to a .sql file (sql/query.sql, ./x.sql, /abs/x.sql), a
    name relative to the SQL root (the bundled sql/ folder), or
    s3://bucket/key.sql. A file outside the SQL root is uploaded to the SQL
    bucket first. Several files run as a chain, in order, stopping at the
    first failure.

    While it waits it shows the run's progress on stderr: elapsed time, the round of waiting
    and its timeout, and Redshift's statement k of n with its time and rows (a live panel on a
    terminal, timestamped lines otherwise). Ctrl-C stops watching; a run on a served stack or
    on AWS goes on (`rsbatch show RUN --watch`), a run on --local's in-process stack stops with it.

    \b
    Examples:
      rsbatch run query.sql --local
      rsbatch run examples/orders_since.sql --local --param since=2026-11-01
      rsbatch run query.sql --local --events drop --callback-timeout 2 --json
      rsbatch run --pipeline mart_refresh --local
    """
    if not local and not os.environ.get("AWS_ENDPOINT_URL_LAMBDA"):
        raise BadInputError(
            "`rsbatch run` waits in the terminal, so it runs on the local stack (--local); "
            "on AWS use `rsbatch start` and `rsbatch show`"
        )
    if local:
        require_local("rsbatch run --local")
    faults = parse_faults(events)
    if events and not local:
        raise BadInputError(
            "--events needs --local (a stack served by `rsbatch local up` takes its own --events)"
        )
    if pipeline:
        _run_pipeline(pipeline, sql_files, local, options, callback_timeout, faults, timeout, as_json)
        return
    if not sql_files:
        raise BadInputError("give SQL_FILE... or --pipeline NAME")
    sql_root = default_sql_root()
    located = locate_sql(sql_files, sql_root)
    for batch in check_local(located, sql_root, options.parameters):  # before anything starts
        output.progress(f"{batch.name}: {len(batch.statements)} statements, {batch.size_bytes} bytes")

    from rsbatch.watching import LOCAL_INTERVAL

    if local:
        import boto3

        from rsbatch.local.restart import GONE
        from rsbatch.local.stack import LocalStack, StackOptions
        from rsbatch.local.warehouse import default_home
        from rsbatch.local_run import operator_for

        output.progress("starting the local stack (PostgreSQL, Data API, DynamoDB, durable runtime)")
        stack = LocalStack(StackOptions(home=default_home(), sql_root=sql_root, events=faults))
        with stack:
            for note in stack.restart_notes:  # what a killed stack left behind and what was cleaned
                if note != GONE:  # a run's own stack is always new: only the clean-up is news
                    output.progress(note)
            op = operator_for(stack)
            names = run_names(located, s3=boto3.client("s3"), bucket=stack.env()["RSBATCH_SQL_BUCKET"])
            started = op.start(names, None, callback_timeout, options)
            output.progress(f"run {started.run} started")
            report = _follow(op, started, timeout, interval or LOCAL_INTERVAL, in_process=True)
            if stack.bus:
                stack.bus.drain(5)
    else:
        op = operator(False, None, None, None)
        names = run_names(located, **upload_target(op.target))
        started = op.start(names, None, callback_timeout, options)
        output.progress(f"run {started.run} started")
        report = _follow(op, started, timeout, interval or LOCAL_INTERVAL, in_process=False)
    if as_json:
        output.emit_json(report.to_json())
    else:
        _print_report(report)
    if not report.succeeded:
        sys.exit(1)


def _run_pipeline(
    name: str,
    sql_files: tuple[str, ...],
    local: bool,
    options: RunOptions,
    callback_timeout: int | None,
    faults: Faults,
    timeout: int,
    as_json: bool,
) -> None:
    """One pipeline run, checked here first (exit 2, nothing submitted), followed to its end."""
    from rsbatch import pipeline_view
    from rsbatch.local_run import follow_pipeline

    if sql_files:
        raise BadInputError("give either SQL_FILE... or --pipeline NAME, not both")
    check_pipeline_locally(name, options.parameters)
    if local:
        from rsbatch.local.stack import LocalStack, StackOptions
        from rsbatch.local.warehouse import default_home
        from rsbatch.local_run import operator_for

        output.progress("starting the local stack (PostgreSQL, Data API, DynamoDB, durable runtime)")
        stack = LocalStack(
            StackOptions(
                home=default_home(),
                sql_root=default_sql_root(),
                pipeline_root=default_pipeline_root(),
                events=faults,
            )
        )
        with stack:
            op = operator_for(stack)
            started = op.start_pipeline(name, options.parameters, callback_timeout=callback_timeout)
            output.progress(f"pipeline run {started.run} started")
            record, ops, calls = follow_pipeline(op, started, timeout)
    else:
        op = operator(False, None, None, None)
        started = op.start_pipeline(name, options.parameters, callback_timeout=callback_timeout)
        record, ops, calls = follow_pipeline(op, started, timeout)
    if as_json:
        output.emit_json(
            pipeline_view.pipeline_json(record) | {"durable_operations": ops, "invocations": calls}
        )
    else:
        click.echo(pipeline_view.render(record))
        click.echo(f"durable ops  {ops}   invocations {calls}")
    if record.status.value != "SUCCEEDED":
        sys.exit(1)


def _follow(op: Operator, started: Started, timeout: int, interval: float, in_process: bool) -> RunReport:
    """Follow the run with its live progress; Ctrl-C stops watching (exit 130), never the run."""
    from rsbatch.local_run import follow
    from rsbatch.progress import ProgressView

    try:
        with ProgressView.for_terminal() as view:
            return follow(op, started, timeout, view=view, interval=interval)
    except KeyboardInterrupt:
        if in_process:
            output.progress(
                f"stopped watching run {started.run}; the in-process local stack stops with this "
                "command, and the run with it"
            )
        else:
            output.progress(
                f"stopped watching; run {started.run} goes on: rsbatch show {started.run} --watch"
            )
        sys.exit(130)


def locate_sql(sql_files: tuple[str, ...], sql_root: Path) -> list[SqlArg]:
    """The files as typed → what the function reads (the local SQL root is the stack's: strict)."""
    check_chain(sql_files)
    return [locate(f, sql_root=sql_root) for f in sql_files]


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
    if len(report.attempts) > 1:
        tried = [
            (a.number, a.statement_id, a.status, output.clip(a.error or "", 70)) for a in report.attempts
        ]
        click.echo(output.table(["attempt", "statement", "status", "error"], tried))
    for batch in report.batches or []:
        click.echo(f"batch        {batch.sql_file}: {output.status(batch.status.value)}")
    kept = report.results or ([report.result] if report.result else [])
    if kept:
        click.echo(output.results(kept))
    if report.error:
        click.echo(f"error        {report.error.type}: {report.error.message}")
