"""`rsbatch local up`: serve the local stack in the foreground for a second terminal."""

from __future__ import annotations

import signal
import sys
import threading

import click

from rsbatch.cli.base import (
    errors_handled,
    events_option,
    main,
    parse_faults,
)
from rsbatch.extras import require_local

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
    require_local("rsbatch local up")
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
        for note in stack.restart_notes:  # on stderr: stdout is the NAME=value lines and READY
            click.echo(note, err=True)
        for key, value in stack.env().items():
            click.echo(f"{key}={value}")
        click.echo("READY", nl=True)
        sys.stdout.flush()
        stop.wait()
        click.echo("stopping", err=True)
