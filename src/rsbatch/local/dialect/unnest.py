"""PartiQL unnesting of SUPER in FROM: ``FROM t AS x, x.arr AS e [AT i]`` and ``UNPIVOT x.obj AS v AT k``.

Redshift iterates a SUPER array or object by naming it in the FROM clause
(https://docs.aws.amazon.com/redshift/latest/dg/query-super.html, "Unnesting queries" and
"Object unpivoting"): ``FROM t AS x, x.arr AS e`` gives one row per element ``e`` of
``x.arr``, ``AT i`` its 0-based index; ``UNPIVOT x.obj AS v AT k`` one row per attribute,
value ``v`` and name ``k``. Locally SUPER is ``jsonb``, so each becomes a lateral subquery
over ``jsonb_array_elements`` (``WITH ORDINALITY`` minus 1 for ``AT``) or ``jsonb_each``,
whose columns carry the PartiQL names; ``e.a`` then navigates the element
(:mod:`~rsbatch.local.dialect.super_paths`), and a bare ``e`` cast to a string or compared
with one is the JSON string's text (``e #>> '{}'``), as Redshift casts a SUPER scalar.

sqlglot's Redshift reader already recognises these forms (``Unnest``, ``AtIndex``, an
unpivoting ``Pivot``); PostgreSQL's ``UNNEST`` takes arrays, not jsonb, hence this rewrite.
A value of another type (an object where an array is unnested, a scalar) gives no rows, as
lax mode skips it; ``UNPIVOT`` needs ``AS value`` (refused by name otherwise).
"""

from __future__ import annotations

from sqlglot import exp

from rsbatch.local.dialect.errors import UnsupportedSql
from rsbatch.local.dialect.super_paths import number_as_json, wants_text
from rsbatch.local.dialect.tree import pg, raw


def _only(value: str, json_type: str) -> str:
    """``value`` if it is a jsonb of ``json_type``, else an empty one (lax: no rows)."""
    empty = "'[]'::jsonb" if json_type == "array" else "'{}'::jsonb"
    return f"CASE WHEN jsonb_typeof({value}) = '{json_type}' THEN {value} ELSE {empty} END"


def _ident(name: str) -> str:
    return exp.to_identifier(name).sql(dialect="postgres")


def _elements(value: exp.Expr, element: str, index: str | None) -> exp.Expr:
    source = f"jsonb_array_elements({_only(pg(value), 'array')})"
    columns = f"value AS {_ident(element)}"
    if index is not None:
        source += " WITH ORDINALITY"
        columns += f", ordinality - 1 AS {_ident(index)}"  # PartiQL's AT index is 0-based
    alias = _ident("_unnest_" + element)
    return raw(f"LATERAL (SELECT {columns} FROM {source}) AS {alias}")  # noqa: S608 (the user's own SQL)


def _attributes(value: exp.Expr, element: str, key: str | None) -> exp.Expr:
    columns = f"value AS {_ident(element)}" + (f", key AS {_ident(key)}" if key is not None else "")
    source = f"jsonb_each({_only(pg(value), 'object')})"
    alias = _ident("_unpivot_" + element)
    return raw(f"LATERAL (SELECT {columns} FROM {source}) AS {alias}")  # noqa: S608 (the user's own SQL)


def _named(node: exp.Expr) -> tuple[exp.Expr, str, str | None] | None:
    """``value AS name [AT index]`` → (value, name, index)."""
    index = None
    if isinstance(node, exp.AtIndex):
        index = node.expression.name if isinstance(node.expression, exp.Expr) else None
        node = node.this
    if isinstance(node, exp.Alias) and isinstance(node.this, exp.Expr):
        return node.this, node.alias, index
    return None


def element_names(tree: exp.Expr) -> set[str]:
    """Lower-case names the statement's unnestings give their elements, indexes excluded."""
    names: set[str] = set()
    for node in tree.find_all(exp.Unnest, exp.AtIndex, exp.Pivot):
        if isinstance(node, exp.Unnest):
            alias = node.args.get("alias")
            names |= {c.name.lower() for c in (alias.columns if isinstance(alias, exp.TableAlias) else [])}
        elif isinstance(node, exp.AtIndex) and isinstance(node.this, exp.Alias):
            names.add(node.this.alias.lower())
    return names


def element_text(node: exp.Expr, elements: set[str]) -> exp.Expr | None:
    """A bare element ``e`` that must be text (cast to or compared with a string) → ``(e #>> '{}')``;
    compared with a number, the number becomes jsonb."""
    if isinstance(node, exp.Column) and not node.table and node.name.lower() in elements:
        if wants_text(node):
            return raw(f"({pg(node)} #>> '{{}}')")
        number_as_json(node)
    return None


def unnesting(node: exp.Expr) -> exp.Expr | None:
    """The PostgreSQL form of a FROM-clause unnesting or unpivoting of SUPER, or None."""
    if not isinstance(node.parent, exp.Join) or node.arg_key != "this":
        return None
    if isinstance(node, exp.Pivot) and node.args.get("unpivot"):
        named = _named(node.this) if isinstance(node.this, exp.Expr) else None
        if named is None:
            raise UnsupportedSql("UNPIVOT of SUPER needs `UNPIVOT x.obj AS value [AT name]`")
        return _attributes(*named)
    if isinstance(node, exp.AtIndex):
        named = _named(node)
        return _elements(*named) if named is not None else None
    if isinstance(node, exp.Unnest) and len(node.expressions) == 1:
        alias = node.args.get("alias")
        columns = alias.columns if isinstance(alias, exp.TableAlias) else []
        element = columns[0].name if columns else (alias.name if alias is not None else "")
        if not element:
            raise UnsupportedSql("unnesting a SUPER array needs an element name: `FROM t AS x, x.arr AS e`")
        return _elements(node.expressions[0], element, None)
    return None
