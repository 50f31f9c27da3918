"""`rsbatch start`, `runs`, `show`: start runs on AWS (or a served stack) and read them."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import click

from rsbatch import output
from rsbatch.cli.base import (
    BadInput,
    batch_options,
    check_chain,
    default_sql_root,
    errors_handled,
    main,
    operator,
    target_options,
)
from rsbatch.sqlpaths import check_local, locate, run_names, upload_target
from rsbatch_core.models import RunStatus, RunSummary

if TYPE_CHECKING:
    from rsbatch.operations import RunOptions


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
    """
    as_json = target.pop("as_json")
    if name is not None and not (1 <= len(name) <= 64):
        raise BadInput("--name must be 1-64 characters")
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
    window = parse_duration(since) if since else None  # bad input before the target is resolved
    records = operator(**target).runs(RunStatus(status) if status else None, window)
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
        ("error", output.clip(record.error, 200) if record.error else "-"),
    ]
    attempts = RunSummary.model_validate_json(record.summary).attempts if record.summary else []
    if len(attempts) > 1:
        left += [(f"  attempt {a.number}", f"{a.status} {a.statement_id}") for a in attempts]
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
