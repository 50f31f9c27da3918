"""Route a statement through sqlglot (read Redshift, write PostgreSQL) and fix what it gets wrong.

sqlglot already translates QUALIFY (a subquery filtered on the window), CONVERT(type, x),
NVL2/DECODE (CASE), TOP n (LIMIT), MEDIAN (PERCENTILE_CONT), NVARCHAR/NCHAR and DATE_PART
with an unquoted part. The rewrites here cover what it leaves Redshift-only or gets wrong for
PostgreSQL: LISTAGG, DATEDIFF/DATEADD (when the compat layer does not provide them),
RATIO_TO_REPORT and MEDIAN as windows, lateral column aliases, SUPER navigation (sqlglot
would shift ``c[0]`` to ``c[1]``, PostgreSQL's array base) and SUPER unnesting in FROM
(:mod:`~.unnest`). ``:name`` parameters survive.

A function the compat layer provides (:func:`~rsbatch.local.dialect.provided.called`) is
parsed as a plain call and printed as written, never as sqlglot's own rewrite of it (which
differs from Redshift: DATEDIFF by ``AGE`` counts elapsed months, not boundaries;
ADD_MONTHS
misses the month-end rule; MEDIAN becomes a DOUBLE PRECISION PERCENTILE_CONT; STRTOL becomes
a FROM_BASE PostgreSQL lacks). So a statement gives the same answer whether or not another
construct in it sent it through sqlglot.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.redshift import Redshift
from sqlglot.errors import SqlglotError
from sqlglot.parsers.redshift import RedshiftParser
from sqlglot.transforms import eliminate_qualify

from rsbatch.local.dialect.aggregates import listagg
from rsbatch.local.dialect.dates import dateadd, datediff
from rsbatch.local.dialect.errors import UnsupportedSql
from rsbatch.local.dialect.lateral import inline_lateral_aliases
from rsbatch.local.dialect.lexer import PARAM, lex
from rsbatch.local.dialect.provided import called, provides_function
from rsbatch.local.dialect.super_paths import navigation, sources
from rsbatch.local.dialect.tree import pg
from rsbatch.local.dialect.unnest import element_names, element_text, unnesting
from rsbatch.local.dialect.windows import window_function

_PARAM_SENTINEL = "rsbatch_param__"
_SENTINEL_RE = re.compile(rf"\b{_PARAM_SENTINEL}([A-Za-z0-9_]+)")

Rewrite = Callable[[exp.Expr], exp.Expr | None]


@functools.cache
def _reader(calls: frozenset[str]) -> type[Redshift]:
    """sqlglot's Redshift dialect, except that ``calls`` parse as plain (anonymous) calls."""

    class RedshiftCalls(Redshift):
        class Parser(RedshiftParser):
            FUNCTIONS: ClassVar = {k: v for k, v in RedshiftParser.FUNCTIONS.items() if k not in calls}
            FUNCTION_PARSERS: ClassVar = {
                k: v for k, v in RedshiftParser.FUNCTION_PARSERS.items() if k not in calls
            }

    return RedshiftCalls


def _dates() -> list[tuple[type[exp.Expr], Rewrite]]:
    """DATEDIFF/DATEADD rewrites, unless the compat layer provides the functions themselves."""
    rewrites: list[tuple[type[exp.Expr], Rewrite]] = []
    if not provides_function("DATEDIFF"):
        rewrites += [(exp.TsOrDsDiff, datediff), (exp.DateDiff, datediff)]
    if not provides_function("DATEADD"):
        rewrites += [(exp.TsOrDsAdd, dateadd), (exp.DateAdd, dateadd)]
    return rewrites


def _rewrite_tree(tree: exp.Expr) -> exp.Expr:
    """Apply the rewrites above; sqlglot's own PostgreSQL output covers the rest."""
    tree = eliminate_qualify(tree)  # first, so that the subquery it builds holds our rewrites
    known = sources(tree)
    elements = element_names(tree)
    typed = _dates()
    # Children before parents (reversed pre-order), so a parent's rewrite embeds the
    # children's final PostgreSQL text.
    for node in reversed(list(tree.walk(bfs=False))):
        replacement = (
            listagg(node)
            or window_function(node)
            or unnesting(node)
            or element_text(node, elements)
            or navigation(node, known)
        )
        for types, rewrite in typed:
            if replacement is None and isinstance(node, types):
                replacement = rewrite(node)
        inline_lateral_aliases(node)  # in place
        if replacement is not None:
            if node is tree:
                tree = replacement
            else:
                node.replace(replacement)
    return tree


def via_sqlglot(sql: str, constructs: Sequence[str]) -> str:
    """Parse as Redshift, rewrite, print as PostgreSQL; ``:name`` parameters survive."""
    named = ", ".join(dict.fromkeys(constructs))
    protected = "".join(f"{_PARAM_SENTINEL}{t.param}" if t.kind == PARAM else t.text for t in lex(sql))
    try:
        trees = [t for t in sqlglot.parse(protected, read=_reader(called())) if t is not None]
        out = [pg(_rewrite_tree(tree)) for tree in trees]
    except UnsupportedSql:  # ours, already precise (it is a ValueError too)
        raise
    except (SqlglotError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnsupportedSql(f"cannot translate {named}: {first_line}") from exc
    return _SENTINEL_RE.sub(r":\1", "; ".join(out))
