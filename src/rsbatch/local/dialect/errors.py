"""The shim's errors: a construct refused by name, and a translated statement PostgreSQL rejected."""

from __future__ import annotations

# Each SQL shown in a failure is cut to this many characters: the message lands in the
# emulator's DescribeStatement ``Error`` and the run's step results, which are bounded.
SQL_SHOWN = 300


class UnsupportedSql(ValueError):
    """A Redshift construct the local warehouse cannot run; the message names it."""


def _shown(sql: str) -> str:
    one_line = " ".join(sql.split())
    return one_line if len(one_line) <= SQL_SHOWN else one_line[: SQL_SHOWN - 1] + "…"


class TranslatedSqlFailed(Exception):
    """PostgreSQL failed a statement the shim had changed: the message shows what really ran.

    Without it a user reads an error about SQL they never wrote (``CAST``, ``STRING_AGG``,
    a subquery for ``QUALIFY``). ``cause`` is PostgreSQL's own error, kept for its SQLSTATE.
    """

    def __init__(self, message: str, *, original: str, translated: str, cause: BaseException) -> None:
        self.cause = cause
        super().__init__(
            f"{message} (the local shim translated the statement; original: {_shown(original)}"
            f" | ran on PostgreSQL: {_shown(translated)})"
        )
