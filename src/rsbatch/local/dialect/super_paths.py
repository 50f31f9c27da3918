"""SUPER navigation (PartiQL) → jsonb operators: ``c.a.b`` → ``c -> 'a' -> 'b'``, ``c[0]`` → ``c -> 0``.

Locally a SUPER column is ``jsonb``. Redshift navigates with dots and brackets (0-based,
missing paths are NULL in lax mode: https://docs.aws.amazon.com/redshift/latest/dg/query-super.html);
jsonb's ``->`` does the same. A navigation compared with a string literal, or cast to a
character type, ends in ``->>`` so that it is the JSON string's text, as Redshift compares
and casts it; one compared with a number compares with that number as jsonb
(``(c -> 'n') > '10'::jsonb``: jsonb orders numbers numerically). Which dotted names are
navigation is decided without the schema: a name whose first part is a table (or alias) of
the statement is ``table.column[.path]``, any other first part is a column.
"""

from __future__ import annotations

from sqlglot import exp

from rsbatch.local.dialect.tree import pg, raw

_TEXT_TYPES = {exp.DType.VARCHAR, exp.DType.CHAR, exp.DType.TEXT, exp.DType.NVARCHAR, exp.DType.NCHAR}


def sources(tree: exp.Expr) -> set[str]:
    """Lower-case names a column may be qualified with: tables, CTEs and every alias of a FROM item."""
    names = {alias.name.lower() for alias in tree.find_all(exp.TableAlias)}
    names |= {table.name.lower() for table in tree.find_all(exp.Table)}
    return names


def wants_text(node: exp.Expr) -> bool:
    parent = node.parent
    if isinstance(parent, exp.Paren):
        parent = parent.parent
    if isinstance(parent, exp.Cast):
        to = parent.args.get("to")
        return isinstance(to, exp.DataType) and to.this in _TEXT_TYPES
    if isinstance(parent, (exp.EQ, exp.NEQ)):
        other = parent.expression if parent.this is node else parent.this
        return isinstance(other, exp.Literal) and other.is_string
    return False


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def number_as_json(node: exp.Expr) -> None:
    """A SUPER value compared with a number literal: make the literal jsonb (in place)."""
    parent = node.parent
    if isinstance(parent, exp.Paren):
        node, parent = parent, parent.parent
    if not isinstance(parent, _COMPARISONS):
        return
    other = parent.expression if parent.this is node else parent.this
    number = other.this if isinstance(other, exp.Neg) else other
    if isinstance(number, exp.Literal) and not number.is_string:
        other.replace(raw(f"'{pg(other)}'::jsonb"))


def _path(base: str, steps: list[str], node: exp.Expr, name: str | None = None) -> exp.Expr:
    """``base -> step …``; a select-list item keeps its column name (the last step, as Redshift names it)."""
    ops = [f" -> {step}" for step in steps]
    if wants_text(node):
        ops[-1] = ops[-1].replace("->", "->>", 1)
    else:
        number_as_json(node)
    path = raw(f"({base}{''.join(ops)})")
    if name and isinstance(node.parent, exp.Select) and node.arg_key == "expressions":
        return exp.Alias(this=path, alias=exp.to_identifier(name))
    return path


def _key(identifier: exp.Expr) -> str:
    return "'" + identifier.name.replace("'", "''") + "'"


def navigation(node: exp.Expr, known: set[str]) -> exp.Expr | None:
    """The jsonb form of a SUPER navigation, or None if ``node`` is not one."""
    if isinstance(node, exp.Bracket) and len(node.expressions) == 1:
        return _path(pg(node.this), [pg(node.expressions[0])], node)
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
        return _path(pg(node.this), [_key(node.expression)], node, node.expression.name)
    if not isinstance(node, exp.Column) or not node.table:
        return None
    parts = [p for p in (node.args.get(k) for k in ("catalog", "db", "table", "this")) if p is not None]
    names = [p.name.lower() for p in parts]
    if names[0] in known:
        cut = 2  # table.column
    elif len(names) > 2 and names[1] in known:
        cut = 3  # schema.table.column
    else:
        cut = 1  # column
    if len(parts) <= cut:
        return None
    base = ".".join(pg(p) for p in parts[:cut])
    return _path(base, [_key(p) for p in parts[cut:]], node, parts[-1].name)
