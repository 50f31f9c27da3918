"""`rsbatch dashboard`: the URL of the stack's CloudWatch dashboard (template.yaml `Dashboard`)."""

from __future__ import annotations

import click

from rsbatch import output
from rsbatch.cli.base import errors_handled, main
from rsbatch_core.errors import BadInputError


@main.command()
@click.option("--local", is_flag=True, help="Refused: the local stack has no CloudWatch.")
@click.option("--stack", help="CloudFormation stack (default: samconfig.toml, else rsbatch).")
@click.option("--region", help="AWS region.")
@click.option("--profile", help="AWS profile.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@errors_handled
def dashboard(local: bool, stack: str | None, region: str | None, profile: str | None, as_json: bool) -> None:
    """Print the URL of the stack's CloudWatch dashboard (its output DashboardUrl).

    It graphs runs started/succeeded/failed, resume latency p50/p99 by ResumedBy, runs still
    waiting after ten minutes, dead letters, listener errors and the durable function's duration.

    \b
    Example:
      rsbatch dashboard --stack rsbatch
    """
    if local:
        raise BadInputError(
            "there is no dashboard locally: the local stack has no CloudWatch (its metrics are "
            "switched off; see `rsbatch logs RUN --local` and `rsbatch show RUN --watch --local`)"
        )
    from rsbatch.config import dashboard_url

    url = dashboard_url(stack=stack, region=region, profile=profile)
    if as_json:
        output.emit_json({"dashboard_url": url})
    else:
        click.echo(url)
