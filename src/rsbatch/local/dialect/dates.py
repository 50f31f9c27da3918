"""DATEDIFF / DATEADD as PostgreSQL expressions, for when the compat layer does not provide them.

Redshift's DATEDIFF counts the *boundaries* crossed, not elapsed time
(https://docs.aws.amazon.com/redshift/latest/dg/r_DATEDIFF_function.html): month is
``(y2 - y1) * 12 + m2 - m1`` (Jan 31 → Feb 1 is 1), week counts Monday boundaries. DATEADD
clamps month ends (Jan 31 + 1 month = Feb 28), as PostgreSQL's interval arithmetic does
(https://docs.aws.amazon.com/redshift/latest/dg/r_DATEADD_function.html).
"""

from __future__ import annotations

from sqlglot import exp

from rsbatch.local.dialect.errors import UnsupportedSql
from rsbatch.local.dialect.tree import pg, raw

PARTS = (
    "millennium",
    "century",
    "decade",
    "year",
    "quarter",
    "month",
    "week",
    "day",
    "hour",
    "minute",
    "second",
    "millisecond",
    "microsecond",
)
# Redshift date parts as sqlglot normalises them (``mon`` → MONTH, ``m`` → MINUTE …).
_DATE_PARTS = {
    **{part.upper(): part for part in PARTS},
    **{f"{part.upper()}S": part for part in PARTS},
    "MILLENNIA": "millennium",
    "CENTURIES": "century",
}
_EPOCH_UNITS = {"hour": 3600, "minute": 60, "second": 1}
_SUBSECOND_UNITS = {"millisecond": 1000, "microsecond": 1000000}
# DATEADD steps that PostgreSQL has no interval unit for; the others are ``1 <part>``.
_ADD_STEPS = {
    "millennium": "1000 years",
    "century": "100 years",
    "decade": "10 years",
    "quarter": "3 months",
    "week": "7 days",
}


def _date_part(node: exp.Expr, function: str) -> str:
    unit = node.args.get("unit")
    name = unit.name.upper() if isinstance(unit, exp.Expr) else "DAY"
    part = _DATE_PARTS.get(name)
    if part is None:
        raise UnsupportedSql(f"{function} with date part {name.lower()} is not supported")
    return part


def datediff(node: exp.Expr) -> exp.Expr:
    part = _date_part(node, "DATEDIFF")
    start = f"CAST({pg(node.expression)} AS TIMESTAMP)"
    end = f"CAST({pg(node.this)} AS TIMESTAMP)"

    def field_diff(field: str) -> str:
        return f"(EXTRACT({field} FROM {end}) - EXTRACT({field} FROM {start}))"

    if part in {"millennium", "century", "decade", "year"}:
        body = field_diff(part)
    elif part == "quarter":
        body = f"{field_diff('year')} * 4 + {field_diff('quarter')}"
    elif part == "month":
        body = f"{field_diff('year')} * 12 + {field_diff('month')}"
    elif part in {"week", "day"}:
        days = f"(CAST(DATE_TRUNC('{part}', {end}) AS DATE) - CAST(DATE_TRUNC('{part}', {start}) AS DATE))"
        body = f"{days} / 7" if part == "week" else days
    elif part in _EPOCH_UNITS:
        delta = f"DATE_TRUNC('{part}', {end}) - DATE_TRUNC('{part}', {start})"
        body = f"EXTRACT(EPOCH FROM {delta}) / {_EPOCH_UNITS[part]}"
    else:
        delta = f"DATE_TRUNC('{part}s', {end}) - DATE_TRUNC('{part}s', {start})"
        body = f"EXTRACT(EPOCH FROM {delta}) * {_SUBSECOND_UNITS[part]}"
    return raw(f"CAST({body} AS BIGINT)")


def dateadd(node: exp.Expr) -> exp.Expr:
    part = _date_part(node, "DATEADD")
    amount = pg(node.expression)
    return raw(
        f"(CAST({pg(node.this)} AS TIMESTAMP) + CAST({amount} AS BIGINT)"
        f" * INTERVAL '{_ADD_STEPS.get(part, f'1 {part}')}')"
    )
