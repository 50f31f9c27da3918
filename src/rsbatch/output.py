"""Human and machine output: tables and colour for people, one JSON document for scripts."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click

from rsbatch_core.models import ResultRows

_COLOURS = {"SUCCEEDED": "green", "FINISHED": "green", "FAILED": "red", "ABORTED": "red", "WAITING": "yellow"}


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, sort_keys=False))


def status(text: str) -> str:
    """A status word, coloured only on a terminal."""
    colour = _COLOURS.get(text)
    return click.style(text, fg=colour) if colour and sys.stdout.isatty() else text


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def panels(sections: Sequence[tuple[str, Sequence[tuple[str, Any]]]]) -> str:
    """Titled key/value sections side by side when the terminal is wide enough, else stacked."""
    blocks = [
        [title] + [f"  {key:<11} {'' if value is None else value}".rstrip() for key, value in pairs]
        for title, pairs in sections
    ]
    widths = [max(len(click.unstyle(line)) for line in block) for block in blocks]
    if sum(widths) + 3 * (len(blocks) - 1) > shutil.get_terminal_size((100, 24)).columns:
        return "\n".join(line for block in blocks for line in block)
    height = max(len(block) for block in blocks)
    rows = []
    for i in range(height):
        cells = []
        for block, width in zip(blocks, widths, strict=True):
            line = block[i] if i < len(block) else ""
            cells.append(line + " " * (width - len(click.unstyle(line))))
        rows.append(" | ".join(cells).rstrip())
    return "\n".join(rows)


def clip(text: str, width: int) -> str:
    """One line of at most `width` characters (long Redshift errors stay readable in a table)."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def age(when: datetime) -> str:
    seconds = int((datetime.now(UTC) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def progress(message: str) -> None:
    """Progress goes to stderr so stdout stays clean for --json."""
    click.echo(f"· {message}", err=True)


def results(kept: Sequence[ResultRows]) -> str:
    """Kept result rows, one table per statement, titled by its number in the SQL file."""
    blocks = []
    for result in kept:
        more = f" (first {len(result.rows)} of {result.total_rows})" if result.truncated else ""
        title = f"result of statement {result.index}" if result.index is not None else "result rows"
        if result.columns:
            blocks.append(f"{title}{more}\n{table(result.columns, result.rows)}")
        else:  # over the run's budget: only its row count was kept
            blocks.append(f"{title}: {result.total_rows} row(s), none kept (--max-rows / size budget)")
    return "\n".join(blocks)
