"""`rsbatch succeed`, `fail`, `reconcile`, `cancel`: act on runs that are waiting."""

from __future__ import annotations

import json
from typing import Any

import click

from rsbatch import output
from rsbatch.cli.base import (
    BadInput,
    errors_handled,
    main,
    operator,
    target_options,
)

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
    record, delivery = operator(**target).fail(run, message, error_type, force)
    _acted(as_json, record.run_key, "fail", delivery)


def _acted(as_json: bool, run: str, action: str, delivery: str = "sent") -> None:
    if as_json:
        output.emit_json({"run": run, "action": action, "delivery": delivery})
    elif delivery == "recorded":
        click.echo(f"{action}: no callback can reach {run} any more; recorded it FAILED in the registry")
    else:
        click.echo(f"{action}: callback sent to {run}")


@main.command()
@click.option("--older-than", default="10m", show_default=True, help="Only runs waiting longer than this.")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@target_options
@errors_handled
def reconcile(older_than: str, dry_run: bool, **target: Any) -> None:
    """Resume WAITING runs whose statement already ended, close orphans (the self-heal).

    Runs as the function, a page of waiting runs per durable step, however many there are;
    waits for the end and reports progress on stderr. A schedule runs it too (template.yaml
    ReconcileSchedule).

    \b
    Example:
      rsbatch reconcile --older-than 0s --dry-run
    """
    from rsbatch.operations import Progress, parse_duration

    as_json = target.pop("as_json")
    age = parse_duration(older_than)  # bad input before anything is resolved or sent

    def progress(p: Progress) -> None:
        if p.pages and not as_json:
            click.echo(f"reconcile: {p.pages} page(s) done, {p.elapsed:.0f} s", err=True)

    done = operator(**target).reconcile(age, dry_run, on_progress=progress)
    if as_json:
        output.emit_json([a.__dict__ for a in done.actions])
        return
    if not done.actions:
        click.echo(f"nothing to reconcile ({done.looked_at} waiting run(s) looked at)")
    rows = [
        (
            a.run,
            a.state,
            a.action + (" (dry run)" if dry_run and a.action not in ("skip", "error") else ""),
            a.delivery,
            output.clip(a.note, 80) if a.note else "",
        )
        for a in done.actions
    ]
    if rows:
        click.echo(output.table(["run", "statement", "action", "delivery", "note"], rows))
    if done.truncated:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(done.counts.items()))
        click.echo(f"listed the first {len(done.actions)}; in all: {counts}")


@main.command("registry-backfill")
@target_options
@errors_handled
def registry_backfill(**target: Any) -> None:
    """Put registry items written before the indexes existed into them (once, after upgrading).

    Until then such runs are found by run key or execution ARN only, and reconcile does not see
    them. One Scan of the table (needs dynamodb:Scan and UpdateItem on it); safe to run again.
    """
    as_json = target.pop("as_json")
    changed = operator(**target).backfill()
    if as_json:
        output.emit_json({"backfilled": changed})
    else:
        click.echo(f"backfilled {changed} item(s)")


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
