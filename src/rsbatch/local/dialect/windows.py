"""Redshift window functions PostgreSQL lacks, as window expressions it has.

- ``RATIO_TO_REPORT(x) OVER (PARTITION BY …)`` → ``CAST(x AS DOUBLE PRECISION) / SUM(x) OVER (…)``
  (Redshift returns FLOAT8: https://docs.aws.amazon.com/redshift/latest/dg/r_WF_RATIO_TO_REPORT.html).
- ``MEDIAN(x) OVER (PARTITION BY …)``: PostgreSQL has no ordered-set aggregate as a window
  (``PERCENTILE_CONT … OVER`` is an error), so the partition's non-NULL values are gathered
  sorted into an array and the middle one (or the mean of the middle two) is taken, which is
  PERCENTILE_CONT(0.5) (https://docs.aws.amazon.com/redshift/latest/dg/r_WF_MEDIAN.html).
"""

from __future__ import annotations

from sqlglot import exp

from rsbatch.local.dialect.errors import UnsupportedSql
from rsbatch.local.dialect.tree import pg, raw


def _partition(window: exp.Window) -> str:
    parts = window.args.get("partition_by") or []
    return f"PARTITION BY {', '.join(pg(p) for p in parts)}" if parts else ""


def _median_value(node: exp.Expr) -> exp.Expr | None:
    """The argument of MEDIAN(x) (sqlglot may already have made it PERCENTILE_CONT(0.5))."""
    if isinstance(node, exp.Median) and isinstance(node.this, exp.Expr):
        return node.this
    return None


def window_function(node: exp.Expr) -> exp.Expr | None:
    """The PostgreSQL form of a Redshift-only window call, or None if ``node`` is not one."""
    if not isinstance(node, exp.Window):
        return None
    call = node.this
    if isinstance(call, exp.Anonymous) and call.name.upper() == "RATIO_TO_REPORT":
        if len(call.expressions) != 1 or node.args.get("order") is not None:
            raise UnsupportedSql("RATIO_TO_REPORT takes one argument and OVER (PARTITION BY …) only")
        value = pg(call.expressions[0])
        return raw(f"(CAST({value} AS DOUBLE PRECISION) / SUM({value}) OVER ({_partition(node)}))")
    is_median = isinstance(call, exp.Median) or (
        isinstance(call, exp.Anonymous) and call.name.upper() == "MEDIAN"
    )
    if is_median and (node.args.get("order") is not None or node.args.get("spec") is not None):
        raise UnsupportedSql("MEDIAN(...) OVER takes PARTITION BY only (as in Redshift)")
    value_node = _median_value(call)
    if value_node is None:
        return None  # MEDIAN the compat layer provides is an aggregate: called as written
    value = pg(value_node)
    ordered = (
        " ".join(filter(None, [_partition(node), f"ORDER BY {value}"]))
        + " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"
    )
    values = f"(ARRAY_AGG({value}) FILTER (WHERE {value} IS NOT NULL) OVER ({ordered}))"
    count = f"CARDINALITY({values})"
    # ``* 0.5`` keeps the input's type family: DECIMAL for integers and decimals (one more
    # decimal place: 10.0, 17.5 as in the docs' example), DOUBLE PRECISION for floats.
    return raw(f"(({values})[({count} + 1) / 2] + ({values})[({count} + 2) / 2]) * 0.5")
