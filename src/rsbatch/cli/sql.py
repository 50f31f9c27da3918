"""`rsbatch sql check`: what the local stack would run for each statement, without running it.

The same shim the local Redshift Data API applies (``rsbatch.local.dialect``): a statement is
run **verbatim**, **translated** (shown as a unified diff) or **refused** (with the reason).
Exit 1 if any statement is refused, 2 on bad input (a missing or unusable file).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click

from rsbatch.cli.base import default_sql_root, errors_handled, main
from rsbatch_core.errors import SqlFileError
from rsbatch_core.sqlfile import MAX_SQL_BYTES, SqlBatch, load_batch, parse_batch

VERBATIM, TRANSLATED, REFUSED = "verbatim", "translated", "refused"


@dataclass
class Checked:
    """One statement's verdict, as printed (and as the --json document holds it)."""

    file: str
    index: int
    status: str
    original: str
    sql: str | None = None
    diff: str = ""
    notes: list[str] = field(default_factory=list)
    reason: str = ""


def _batch(name: str) -> SqlBatch:
    """A file as given, else one under the SQL root (as `rsbatch run` finds it)."""
    path = Path(name)
    if path.is_file():
        size = path.stat().st_size
        if size > MAX_SQL_BYTES:
            raise SqlFileError(f"{name}: {size} bytes of SQL, more than Redshift's {MAX_SQL_BYTES}")
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            raise SqlFileError(f"{name}: not UTF-8 text") from None
        return parse_batch(name, text)
    if path.exists():
        raise SqlFileError(f"{name}: not a file")
    if not name.lower().endswith(".sql") or path.is_absolute():
        raise SqlFileError(f"{name}: no such file")
    return load_batch(name, default_sql_root())


def check_statement(file: str, index: int, sql: str) -> Checked:
    from rsbatch.local.dialect import UnsupportedSql, translate

    try:
        translation = translate(sql)
    except UnsupportedSql as exc:
        return Checked(file, index, REFUSED, sql, reason=str(exc))
    if not translation.changed:
        return Checked(file, index, VERBATIM, sql, sql=sql, notes=list(translation.notes))
    diff = "".join(
        difflib.unified_diff(
            (sql.rstrip() + "\n").splitlines(keepends=True),
            (translation.sql.rstrip() + "\n").splitlines(keepends=True),
            fromfile="redshift",
            tofile="postgresql",
        )
    )
    return Checked(
        file, index, TRANSLATED, sql, sql=translation.sql, diff=diff, notes=list(translation.notes)
    )


def _print(checked: Checked) -> None:
    head = f"{checked.file} #{checked.index}: {checked.status}"
    click.echo(f"{head}: {checked.reason}" if checked.status == REFUSED else head)
    for line in checked.diff.splitlines():
        click.echo(f"    {line}")
    for note in checked.notes:
        click.echo(f"    note: {note}")


@main.group()
def sql() -> None:
    """The SQL the local stack runs: check Redshift SQL against the local shim."""


@sql.command("check")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@errors_handled
def sql_check(files: tuple[str, ...], as_json: bool) -> None:
    """Show, per statement, whether the local stack runs it verbatim, translated or refused.

    Nothing is executed. FILE is a path, or a name under the SQL root (like `rsbatch run`).
    Exit 1 if any statement is refused, 2 if a file cannot be read.

    \b
    Example:
      rsbatch sql check sql/query.sql
      rsbatch sql check --json my_batch.sql | jq '.statements[] | select(.status != "verbatim")'
    """
    batches = [_batch(name) for name in files]  # every file is read before anything is printed
    checked = [
        check_statement(batch.name, index, statement)
        for batch in batches
        for index, statement in enumerate(batch.statements, start=1)
    ]
    counts = {status: sum(c.status == status for c in checked) for status in (VERBATIM, TRANSLATED, REFUSED)}
    if as_json:
        click.echo(json.dumps({"statements": [asdict(c) for c in checked], "counts": counts}, indent=2))
    else:
        for c in checked:
            _print(c)
        click.echo(", ".join(f"{n} {status}" for status, n in counts.items()))
    if counts[REFUSED]:
        raise SystemExit(1)
