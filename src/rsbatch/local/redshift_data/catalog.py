"""The warehouse's catalog as the Data API's metadata operations show it.

ListDatabases, ListSchemas, ListTables and DescribeTable answer from PostgreSQL's own
catalogs (``pg_database``, ``pg_namespace``, ``pg_class``, ``information_schema.columns``)
of the local warehouse, so what they list is what the statements see. Patterns are SQL
``LIKE`` patterns, as the model documents them ("``%`` means match any substring of 0 or more
characters and ``_`` means match any one character"); PostgreSQL's ``LIKE`` is exactly that.

Each query returns every matching entry in a stable order (one more than the page asks, so
the backend knows whether a NextToken is due); the backend pages through them by offset.
"""

from __future__ import annotations

from typing import Any

from rsbatch.local.redshift_data.models import Connection
from rsbatch.local.redshift_data.parsing import CatalogRequest

# Schemas PostgreSQL keeps for itself that Redshift has no counterpart of (TOAST, other
# sessions' temporary schemas): not listed.
_DATABASES = """
SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname
LIMIT %(limit)s OFFSET %(offset)s
"""

_SCHEMAS = """
SELECT n.nspname FROM pg_namespace n
WHERE n.nspname LIKE %(schema)s
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
ORDER BY n.nspname LIMIT %(limit)s OFFSET %(offset)s
"""

# TableMember.type: "TABLE, VIEW, SYSTEM TABLE, GLOBAL TEMPORARY, LOCAL TEMPORARY, ALIAS, and
# SYNONYM" (botocore's model); PostgreSQL's relkinds map onto the first ones.
_TABLES = """
SELECT c.relname, n.nspname,
       CASE WHEN n.nspname LIKE 'pg\\_temp%%' THEN 'LOCAL TEMPORARY'
            WHEN n.nspname IN ('pg_catalog', 'information_schema')
                 THEN CASE WHEN c.relkind IN ('v', 'm') THEN 'SYSTEM VIEW' ELSE 'SYSTEM TABLE' END
            WHEN c.relkind IN ('v', 'm') THEN 'VIEW'
            ELSE 'TABLE' END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname LIKE %(schema)s AND c.relname LIKE %(table)s
  AND (n.nspname NOT LIKE 'pg\\_temp%%' OR n.oid = pg_my_temp_schema())
  AND n.nspname NOT LIKE 'pg\\_toast%%'
ORDER BY n.nspname, c.relname LIMIT %(limit)s OFFSET %(offset)s
"""

_COLUMNS = """
SELECT c.table_schema, c.table_name, c.column_name, c.udt_name, c.column_default,
       c.is_nullable = 'YES', c.character_maximum_length, c.numeric_precision, c.numeric_scale,
       c.datetime_precision
FROM information_schema.columns c
WHERE (%(schema)s::text IS NULL OR c.table_schema = %(schema)s)
  AND (%(table)s::text IS NULL OR c.table_name = %(table)s)
ORDER BY c.table_schema, c.table_name, c.ordinal_position LIMIT %(limit)s OFFSET %(offset)s
"""

_NUMERIC = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric", "money"})
_TEXT = frozenset({"text", "varchar", "bpchar", "name", "char"})


def page(conn: Connection, req: CatalogRequest) -> list[Any]:
    """Up to ``req.limit + 1`` entries from ``req.offset``, as the operation's list shows them."""
    args = {
        "schema": req.schema if req.exact else (req.schema or "%"),
        "table": req.table if req.exact else (req.table or "%"),
        "limit": req.limit + 1,
        "offset": req.offset,
    }
    query = {
        "ListDatabases": _DATABASES,
        "ListSchemas": _SCHEMAS,
        "ListTables": _TABLES,
        "DescribeTable": _COLUMNS,
    }[req.operation]
    with conn.cursor() as cur:
        cur.execute(query, args)
        rows = cur.fetchall()
    if req.operation in ("ListDatabases", "ListSchemas"):
        return [row[0] for row in rows]
    if req.operation == "ListTables":
        return [{"name": name, "schema": schema, "type": kind} for name, schema, kind in rows]
    return [_column(row) for row in rows]


def _column(row: tuple[Any, ...]) -> dict[str, Any]:
    """One row of ``information_schema.columns`` as a ``ColumnMetadata``."""
    schema, table, name, type_name, default, nullable, length, precision, scale, dt_precision = row
    out: dict[str, Any] = {
        "name": name,
        "label": name,
        "typeName": type_name,
        "isCaseSensitive": type_name in _TEXT,
        "isCurrency": type_name == "money",
        "isSigned": type_name in _NUMERIC,
        "nullable": 1 if nullable else 0,
        "precision": int(length or precision or dt_precision or 0),
        "scale": int(scale or 0),
        "length": int(length or 0),
        "schemaName": schema,
        "tableName": table,
    }
    if default is not None:
        out["columnDefault"] = default
    return out
