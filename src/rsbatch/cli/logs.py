"""`rsbatch logs`: a run's log lines from both Lambdas, in order (and as they come, with --follow)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from rsbatch import output
from rsbatch.cli.base import errors_handled, main, operator, target_options

#: Lines a little older than the registry item (the function logs before it registers the run).
LEAD = timedelta(minutes=5)


@main.command()
@click.argument("run")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option("--since", help="Only lines newer than this, e.g. 10m, 2h (default: since the run started).")
@target_options
@errors_handled
def logs(run: str, follow: bool, since: str | None, **target: Any) -> None:
    """Print RUN's log lines from both functions (durable function, listener), oldest first.

    RUN is a run key, a statement id or an execution ARN. On AWS the lines
    come from CloudWatch Logs (FilterLogEvents on both log groups, by the
    run key); locally from the stack's log file. With --json: a JSON list,
    or with --follow one JSON object per line.

    \b
    Example:
      rsbatch logs rsbatch-3f2a… --follow
    """
    from rsbatch.operations import parse_duration
    from rsbatch.report import TERMINAL_EXECUTION
    from rsbatch.run_logs import follow as follow_lines
    from rsbatch.run_logs import source_for

    as_json = target.pop("as_json")
    window = parse_duration(since) if since else None  # bad input before the target is resolved
    op = operator(**target)
    record = op.find(run)
    start = datetime.now(UTC) - window if window else record.created_at - LEAD
    source = source_for(op.target)
    if not follow:
        lines = source.read(record.run_key, start)
        if as_json:
            output.emit_json([line.to_json() for line in lines])
        else:
            for line in lines:
                click.echo(line.text())
        return

    def ended() -> bool:
        return op.execution(record.execution_arn).get("Status") in TERMINAL_EXECUTION

    for line in follow_lines(source, record.run_key, start, ended=ended):
        click.echo(json.dumps(line.to_json(), default=str) if as_json else line.text())
