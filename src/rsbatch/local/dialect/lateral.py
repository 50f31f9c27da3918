"""Lateral column aliases: ``SELECT a + 1 AS b, b * 2 AS c`` → ``… (a + 1) * 2 AS c``.

Redshift "just inlines the previously defined aliases"
(https://docs.aws.amazon.com/redshift/latest/dg/r_SELECT_list.html); PostgreSQL rejects the
reference, so the shim inlines them the same way. One difference: Redshift prefers a FROM
column of the same name over the alias; the shim cannot see the tables, so it inlines when
the name is an earlier alias of the same SELECT list and is not qualified.
"""

from __future__ import annotations

from sqlglot import exp


def _owner(node: exp.Expr) -> exp.Expr | None:
    return node.find_ancestor(exp.Select)


def inline_lateral_aliases(node: exp.Expr) -> exp.Expr | None:
    """Rewrite ``node`` in place when it is a SELECT whose list refers to its own aliases."""
    if not isinstance(node, exp.Select):
        return None
    defined: dict[str, exp.Expr] = {}
    for item in list(node.expressions):
        for column in list(item.find_all(exp.Column)) if defined else []:
            name = column.name.lower()
            if not column.table and name in defined and _owner(column) is node:
                column.replace(exp.Paren(this=defined[name].copy()))
        if isinstance(item, exp.Alias):
            defined[item.alias.lower()] = item.this
    return None
