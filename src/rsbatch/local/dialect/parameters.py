"""``:name`` parameters: which a statement uses, and psycopg's ``%(name)s`` form of it."""

from __future__ import annotations

from rsbatch.local.dialect.lexer import PARAM, lex


def parameter_names(sql: str) -> list[str]:
    """The ``:name`` parameters ``sql`` references, in order of first use."""
    return list(dict.fromkeys(t.param for t in lex(sql) if t.kind == PARAM))


def to_pyformat(sql: str) -> str:
    """``:name`` → ``%(name)s`` and ``%`` → ``%%`` for psycopg's named-parameter binding.

    Quotes, comments, dollar bodies and ``::`` casts are left alone; only real parameter
    positions become placeholders, so a value can never change the statement's shape.
    """
    parts = []
    for token in lex(sql):
        if token.kind == PARAM:
            parts.append(f"%({token.param})s")
        else:
            parts.append(token.text.replace("%", "%%"))
    return "".join(parts)
