"""`rsbatch start`, `runs`, `show`: start runs on AWS (or a served stack) and read them."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import TYPE_CHECKING, Any

import click
from botocore.exceptions import ClientError

from rsbatch import output
from rsbatch.cli.base import (
    BadInput,
    batch_options,
    check_chain,
    check_pipeline_locally,
    default_sql_root,
    errors_handled,
    interval_option,
    main,
    operator,
    target_options,
)
from rsbatch.sqlpaths import check_local, locate, run_names, upload_target
from rsbatch_core.classify import error_code
from rsbatch_core.models import RunStatus, RunSummary

if TYPE_CHECKING:
    from rsbatch.operations import Operator, RunOptions, ShownRun


# -- start / runs / show --------------------------------------------------


@main.command()
@click.argument("sql_files", nargs=-1, metavar="SQL_FILE...")
@click.option("--pipeline", help="Start the pipeline pipelines/NAME.yaml instead of SQL files.")
@click.option(
    "--name",
    help="DurableExecutionName: the same name and input again gives the same run (exit 0); "
    "the same name with another input starts nothing (exit 1).",
)
@batch_options
@target_options
@errors_handled
def start(
    sql_files: tuple[str, ...],
    pipeline: str | None,
    name: str | None,
    options: RunOptions,
    callback_timeout: int | None,
    **target: Any,
) -> None:
    """Start a run of SQL_FILE asynchronously and print it (several files: a chain).

    SQL_FILE is a path to a .sql file, a name relative to the SQL root, or
    s3://bucket/key.sql; a file outside the SQL root is uploaded to the
    stack's SqlBucket/SqlPrefix (key: its sha256) and that URI is run.

    \b
    Example:
      rsbatch start query.sql --name mart-2026-11-27
      rsbatch start --pipeline mart_refresh --param since=2026-11-01
    """
    as_json = target.pop("as_json")
    if name is not None and not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name):  # botocore's DurableExecutionName
        raise BadInput("--name must be 1-64 characters: letters, digits, '-' or '_'")
    if pipeline:
        if sql_files:
            raise BadInput("give either SQL_FILE... or --pipeline NAME, not both")
        check_pipeline_locally(pipeline, options.parameters)  # exit 2 before anything starts
        started = operator(**target).start_pipeline(
            pipeline, options.parameters, name=name, callback_timeout=callback_timeout
        )
        _started(started, as_json)
        return
    if not sql_files:
        raise BadInput("give SQL_FILE... or --pipeline NAME")
    check_chain(sql_files)
    sql_root = default_sql_root()
    # A served local stack reads this SQL root: check names here. AWS reads its own bundle.
    strict = bool(target["local"] or os.environ.get("AWS_ENDPOINT_URL_LAMBDA"))
    located = [locate(f, sql_root=sql_root, strict=strict) for f in sql_files]
    if strict:
        check_local(located, sql_root, options.parameters)
    else:
        check_local([a for a in located if a.upload], sql_root, {})  # what is uploaded: its limits
    op = operator(**target)
    names = run_names(located, **upload_target(op.target))
    started = op.start(names, name, callback_timeout, options)
    if as_json:
        output.emit_json({"run": started.run, "execution_arn": started.execution_arn, "new": started.new})
        return
    if started.new:
        click.echo(f"started {started.run}")
    else:
        click.echo(f"already started: {started.run} (name {name!r} exists; no second run)")
    click.echo(f"execution {started.execution_arn}")
    if op.target.dashboard_url:
        click.echo(f"dashboard {op.target.dashboard_url}")


@main.command()
@click.option("--status", type=click.Choice([s.value for s in RunStatus]), help="Only runs in this status.")
@click.option("--since", help="Only runs newer than this, e.g. 2h, 30m, 1d.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Runs per page.")
@click.option("--next-token", help="The token the previous page printed: the page after it.")
@click.option("--pipelines", is_flag=True, help="Pipeline runs and their steps instead of batches.")
@target_options
@errors_handled
def runs(
    status: str | None,
    since: str | None,
    limit: int,
    next_token: str | None,
    pipelines: bool,
    **target: Any,
) -> None:
    """List runs from the registry, newest first, a page at a time.

    Reads one registry index with your own credentials (no function runs); what it reads
    follows the page, not the table.

    \b
    Example:
      rsbatch runs --status WAITING --since 2h
      rsbatch runs --limit 20 --next-token eyJpbmRleCI6...
      rsbatch runs --pipelines
    """
    from rsbatch.operations import parse_duration

    as_json = target.pop("as_json")
    window = parse_duration(since) if since else None  # bad input before the target is resolved
    page = operator(**target).runs(
        RunStatus(status) if status else None, window, limit, next_token, pipelines=pipelines
    )
    if pipelines and not as_json:
        from rsbatch import pipeline_view

        listed = [
            (
                r.run_key,
                output.status(r.status.value),
                output.age(r.created_at),
                r.sql_file.removeprefix("pipeline:"),
                pipeline_view.marks(r),
            )
            for r in page.records
        ]
        click.echo(output.table(["run", "status", "age", "pipeline", "steps"], listed))
        if page.next_token:
            click.echo(f"more: rsbatch runs --pipelines --next-token {page.next_token}")
        return
    if pipelines and as_json:
        from rsbatch import pipeline_view

        output.emit_json(
            {"runs": [pipeline_view.pipeline_json(r) for r in page.records], "next_token": page.next_token}
        )
        return
    if as_json:
        output.emit_json(
            {
                "runs": [json.loads(r.model_dump_json(exclude={"summary", "steps"})) for r in page.records],
                "next_token": page.next_token,
            }
        )
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
        for r in page.records
    ]
    click.echo(output.table(["run", "status", "age", "sql file", "statement", "resumed by"], rows))
    if page.next_token:
        again = " ".join(
            part
            for part in (
                f"--status {status}" if status else "",
                f"--since {since}" if since else "",
                f"--limit {limit}" if limit != 50 else "",
            )
            if part
        )
        click.echo(f"more: rsbatch runs {again + ' ' if again else ''}--next-token {page.next_token}")


def _started(started: Any, as_json: bool) -> None:
    if as_json:
        output.emit_json({"run": started.run, "execution_arn": started.execution_arn, "new": started.new})
        return
    click.echo(f"started {started.run}")
    click.echo(f"execution {started.execution_arn}")


@main.command()
@click.argument("run")
@click.option("--callback-timeout", type=click.IntRange(1, 86_400), help="First round's wait, in seconds.")
@target_options
@errors_handled
def redrive(run: str, callback_timeout: int | None, **target: Any) -> None:
    """Start a new run of RUN's pipeline, same parameters and run date, skipping the steps that
    succeeded in RUN: its failed and never-started steps run again. Both runs link to each other.

    \b
    Example:
      rsbatch redrive rsbatch-3f2a…
    """
    as_json = target.pop("as_json")
    started = operator(**target).redrive(run, callback_timeout)
    _started(started, as_json)


@main.command()
@click.argument("run")
@click.option("--live", is_flag=True, help="Also ask Redshift for the statement (runs as the function).")
@click.option(
    "--watch",
    is_flag=True,
    help="Follow a waiting run's progress until it ends, then show it (implies --live).",
)
@interval_option
@target_options
@errors_handled
def show(run: str, live: bool, watch: bool, interval: float | None, **target: Any) -> None:
    """Show RUN: the registry item, its statement and the durable execution.

    RUN is a run key, a statement id or an execution ARN. Read with your own credentials; only
    --live runs the function, which alone may describe the statement it submitted.

    With --watch it follows the run while it waits: elapsed time, the round and its timeout,
    and Redshift's statement k of n (a describe as the function every --interval seconds),
    then shows the ended run. Ctrl-C stops watching; the run goes on.

    \b
    Example:
      rsbatch show rsbatch-3f2a…
      rsbatch show rsbatch-3f2a… --live
      rsbatch show rsbatch-3f2a… --watch
    """
    as_json = target.pop("as_json")
    op = operator(**target)
    if watch:
        live = True
        _watch(op, run, interval, local=bool(target["local"] or os.environ.get("AWS_ENDPOINT_URL_LAMBDA")))
    shown = op.show(run, live=live)
    if as_json:
        output.emit_json(shown.to_json())
        return
    record, execution = shown.record, shown.execution
    if record.is_pipeline:
        from rsbatch import pipeline_view

        click.echo(pipeline_view.render(record))
        click.echo(output.panels([_execution_panel(execution)]))
        return
    left = [
        ("run", record.run_key),
        ("status", output.status(record.status.value)),
        ("sql file", record.sql_file),
        ("resumed by", record.resumed_by or "-"),
        ("created", record.created_at.isoformat(timespec="seconds")),
        ("error", output.clip(record.error, 200) if record.error else "-"),
    ]
    summary = RunSummary.model_validate_json(record.summary) if record.summary else None
    attempts = summary.attempts if summary else []
    if len(attempts) > 1:
        left += [(f"  attempt {a.number}", f"{a.status} {a.statement_id}") for a in attempts]
    click.echo(
        output.panels([("REGISTRY", left), _redshift_panel(shown, summary), _execution_panel(execution)])
    )
    kept = (summary.results or ([summary.result] if summary.result else [])) if summary else []
    if kept:
        click.echo(output.results(kept))


def _watch(op: Operator, ref: str, interval: float | None, local: bool) -> None:
    """Follow the run until its execution ends (nothing to follow once it has); Ctrl-C only stops
    the watching."""
    from rsbatch.progress import ProgressView
    from rsbatch.watching import default_interval, watch

    record = op.find(ref)
    every = interval or default_interval(local)
    try:
        with ProgressView.for_terminal() as view:
            watch(op, record.run_key, record.execution_arn, view, interval=every, poll=min(every, 1.0))
    except KeyboardInterrupt:
        output.progress(f"stopped watching; run {record.run_key} goes on (nothing was sent to it)")
        sys.exit(130)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        # Lambda no longer keeps the execution (retention): show what the registry has.


def _redshift_panel(shown: ShownRun, summary: RunSummary | None) -> tuple[str, list[tuple[str, Any]]]:
    """Redshift's own view with --live; otherwise what the run recorded of its statement."""
    if shown.live:
        statement = shown.statement or {}
        rows: list[tuple[str, Any]] = [
            ("statement", statement.get("Id", shown.record.statement_id or "-")),
            ("status", output.status(str(statement.get("Status", "-")))),
            ("error", statement.get("Error") or "-"),
        ] + [
            (f"  {sub['Id'].rsplit(':', 1)[-1]}", f"{sub.get('Status')} rows={sub.get('ResultRows')}")
            for sub in statement.get("SubStatements", [])
        ]
        if shown.note:
            rows.append(("note", output.clip(shown.note, 200)))
        return "REDSHIFT (live)", rows
    rows = [
        ("statement", shown.record.statement_id or "-"),
        ("status", output.status(summary.redshift_status or "-") if summary else "- (--live to ask)"),
    ] + [(f"  {s.index}", f"{s.status} rows={s.rows}") for s in (summary.statements if summary else [])]
    return "REDSHIFT (recorded)", rows


def _execution_panel(execution: dict[str, Any]) -> tuple[str, list[tuple[str, Any]]]:
    return "DURABLE EXECUTION", [
        ("execution", execution.get("DurableExecutionName", "-")),
        ("status", output.status(str(execution.get("Status")))),
        ("operations", execution.get("Operations", "-")),
    ]
