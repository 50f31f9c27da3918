"""Helpers the parse-tree rewrites share: PostgreSQL text of a node, and verbatim nodes."""

from __future__ import annotations

from sqlglot import exp


def raw(sql: str) -> exp.Expr:
    """A node printed verbatim: our PostgreSQL output must not be re-translated by sqlglot."""
    return exp.Var(this=sql)


def pg(node: exp.Expr | None) -> str:
    """The PostgreSQL text of ``node`` (``NULL`` for a missing one)."""
    return node.sql(dialect="postgres") if node is not None else "NULL"
