"""LISTAGG → STRING_AGG: NULLs and empty strings skipped, default delimiter empty, as Redshift.

https://docs.aws.amazon.com/redshift/latest/dg/r_LISTAGG.html
"""

from __future__ import annotations

from sqlglot import exp

from rsbatch.local.dialect.tree import pg, raw


def _listagg(concat: exp.GroupConcat, order: exp.Order | None) -> str:
    """STRING_AGG that skips NULLs and empty strings like LISTAGG; ORDER BY goes inside."""
    value = concat.this
    distinct = isinstance(value, exp.Distinct)
    separator = concat.args.get("separator")
    if distinct:
        items = list(value.expressions)
        value = items[0]
        separator = separator or (items[1] if len(items) > 1 else None)
    text = f"NULLIF(CAST({pg(value)} AS VARCHAR), '')"
    order_sql = ""
    if order is not None:
        if distinct:  # PostgreSQL wants DISTINCT's ORDER BY on the argument itself
            for ordered in order.expressions:
                if ordered.this == value:
                    ordered.set("this", raw(text))
        order_sql = " " + pg(order)
    delimiter = pg(separator) if separator is not None else "''"
    return f"STRING_AGG({'DISTINCT ' if distinct else ''}{text}, {delimiter}{order_sql})"


def listagg(node: exp.Expr) -> exp.Expr | None:
    if isinstance(node, exp.GroupConcat) and not isinstance(node.parent, exp.WithinGroup):
        return raw(_listagg(node, None))
    if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.GroupConcat):
        order = node.expression if isinstance(node.expression, exp.Order) else None
        window = node.parent
        if isinstance(window, exp.Window) and order is not None:
            # An aggregate's own ORDER BY is not allowed in a window: order the whole frame.
            window.set("order", order)
            window.set(
                "spec",
                exp.WindowSpec(
                    kind="ROWS",
                    start="UNBOUNDED",
                    start_side="PRECEDING",
                    end="UNBOUNDED",
                    end_side="FOLLOWING",
                ),
            )
            return raw(_listagg(node.this, None))
        return raw(_listagg(node.this, order))
    return None
