"""Redshift-only statements and calls the local warehouse cannot run: refused by name.

A refusal fails the statement with :class:`UnsupportedSql` (nothing crashes, nothing runs),
so a user reads which construct is Redshift-only instead of a PostgreSQL syntax error.
"""

from __future__ import annotations

from rsbatch.local.dialect.errors import UnsupportedSql
from rsbatch.local.dialect.lexer import STRING
from rsbatch.local.dialect.provided import provides_collation, provides_function
from rsbatch.local.dialect.query_group import CASE_SENSITIVE_IDENTIFIER, setting_name, setting_value
from rsbatch.local.dialect.statement import Statement
from rsbatch.local.dialect.tables import DDL_ATTRIBUTES, REFUSED_FUNCTIONS, VACUUM_OPTIONS


def _refuse_statement(st: Statement, words: set[str]) -> None:
    head = st.word(0)
    if head == "UNLOAD":
        raise UnsupportedSql("UNLOAD is Redshift-only (it writes to S3) and cannot run locally")
    if head == "COPY" and (
        words & {"IAM_ROLE", "CREDENTIALS", "ACCESS_KEY_ID", "MANIFEST"}
        or any(t.kind == STRING and t.text.strip("'").lower().startswith("s3://") for t in st.sig)
    ):
        raise UnsupportedSql("COPY from S3 is Redshift-only and cannot run locally")
    if head in {"CREATE", "ALTER", "DROP"}:
        second = st.word(1)
        if second in {"EXTERNAL", "LIBRARY", "DATASHARE"}:
            raise UnsupportedSql(f"{head} {second} is Redshift-only and cannot run locally")
    if head == "ALTER" and st.word(1) == "TABLE":
        for i, token in enumerate(st.sig):
            if token.upper == "APPEND" or (
                token.upper == "ALTER" and i > 0 and st.word(i + 1) in DDL_ATTRIBUTES
            ):
                construct = "APPEND" if token.upper == "APPEND" else f"ALTER {st.word(i + 1)}"
                raise UnsupportedSql(f"ALTER TABLE ... {construct} is Redshift-only")
        if "ENCODE" in words:
            raise UnsupportedSql("ALTER TABLE ... ENCODE is Redshift-only")
    if head == "VACUUM" and (options := words & VACUUM_OPTIONS):
        raise UnsupportedSql(f"VACUUM {' '.join(sorted(options))} is Redshift-only")
    at = setting_name(st)
    if st.word(at) == CASE_SENSITIVE_IDENTIFIER and setting_value(st, at) in {"TRUE", "ON", "1", "YES"}:
        raise UnsupportedSql(
            "SET enable_case_sensitive_identifier TO true is not supported locally:"
            " quoted identifiers always fold to lower case (Redshift's default)"
        )
    if head == "ANALYZE" and st.word(1) == "COMPRESSION":
        raise UnsupportedSql(
            "ANALYZE COMPRESSION is not supported locally: PostgreSQL has no column encodings to report"
        )


def _case_insensitive(st: Statement, i: int) -> bool:
    """``COLLATE case_insensitive`` or ``COLLATE(s, 'case_insensitive')`` at token ``i``."""
    if st.word(i + 1) == "CASE_INSENSITIVE":
        return True
    return st.is_call(i) and any(
        t.text.lower() == "'case_insensitive'" for t in st.sig[i + 2 : st.closing(i + 1)]
    )


def refuse_redshift_only(st: Statement) -> None:
    """Raise :class:`UnsupportedSql` if ``st`` uses a construct the local stack cannot run."""
    words = st.words()
    _refuse_statement(st, words)
    for i, token in enumerate(st.sig):
        word = token.upper
        if word in REFUSED_FUNCTIONS and st.is_call(i) and not provides_function(word):
            raise UnsupportedSql(f"{word}() is a Redshift-only function")
        if word == "COLLATE" and _case_insensitive(st, i) and not provides_collation("CASE_INSENSITIVE"):
            raise UnsupportedSql(
                "COLLATE case_insensitive needs the local redshift schema (rsbatch.local.compat), "
                "which is not installed"
            )
