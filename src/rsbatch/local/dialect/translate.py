"""One Redshift statement → what runs on PostgreSQL: verbatim, translated, or refused.

A statement that uses none of the shim's constructs reaches PostgreSQL **verbatim** (same
text, comments included), so PostgreSQL-valid SQL keeps PostgreSQL's exact semantics. Token
rules (:mod:`~rsbatch.local.dialect.rewrites`) edit in place; a construct only a parse tree
can rewrite sends the edited statement through sqlglot
(:mod:`~rsbatch.local.dialect.via_sqlglot`); a Redshift-only construct is refused by name
(:mod:`~rsbatch.local.dialect.refusals`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rsbatch.local.dialect.constraints import alter_table_constraints, informational_constraints
from rsbatch.local.dialect.refusals import refuse_redshift_only
from rsbatch.local.dialect.rewrites import is_create_table, rewrite_tokens
from rsbatch.local.dialect.statement import Statement
from rsbatch.local.dialect.via_sqlglot import via_sqlglot

TRUNCATE_NOTE = "TRUNCATE commits the current transaction, as in Redshift"


@dataclass(frozen=True, slots=True)
class Translation:
    """What the shim made of one statement (refusals raise :class:`UnsupportedSql` instead)."""

    original: str
    sql: str
    notes: tuple[str, ...] = ()
    #: Redshift commits the open transaction when this statement runs (TRUNCATE).
    commits: bool = False

    @property
    def changed(self) -> bool:
        return self.sql != self.original


def commits_implicitly(sql: str) -> bool:
    """Redshift's TRUNCATE "commits the current transaction"
    (https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNCATE.html); PostgreSQL's does not."""
    st = Statement(sql) if "TRUNCATE" in sql.upper() else None
    return st is not None and st.word(0) == "TRUNCATE"


def translate(sql: str) -> Translation:
    """Translate one Redshift statement into PostgreSQL (see the package docstring)."""
    st = Statement(sql)
    if not st.sig:
        return Translation(sql, sql)
    refuse_redshift_only(st)
    backslashed = [] if alter_table_constraints(st) else rewrite_tokens(st)
    comment = informational_constraints(st) if is_create_table(st) else ""
    commits = st.word(0) == "TRUNCATE"
    notes = [*st.notes, *([TRUNCATE_NOTE] if commits else [])]
    if comment:
        notes.append("PRIMARY KEY / UNIQUE / FOREIGN KEY kept informational (recorded in the table comment)")
    if st.needs_ast:
        out = via_sqlglot(st.edited(), st.needs_ast)
    else:
        for i in backslashed:
            st.insert_before(i, "E")
        out = st.edited() if st.edits else sql
    if comment:
        out = f"{out.rstrip().rstrip(';')};\n{comment}"
    return Translation(sql, out, tuple(notes), commits)


def to_postgres(sql: str) -> str:
    """The PostgreSQL text of one Redshift statement (raises :class:`UnsupportedSql` if refused)."""
    return translate(sql).sql
