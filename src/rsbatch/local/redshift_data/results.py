"""How PostgreSQL rows become the Data API's typed records, or its CSV text.

Three pieces that must agree: the loaders (which values psycopg hands back as Python
bool/int/float and which stay PostgreSQL's own text), the ``Field`` each value becomes (or
its CSV cell), and the ``ColumnMetadata`` of each column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.adapt import AdaptersMap
from psycopg.types.string import TextLoader


def _text_adapters() -> AdaptersMap:
    """Load results as Redshift's Data API types them: bool, long, double, else PostgreSQL text.

    Keeping PostgreSQL's own text for numeric, dates, timestamps, intervals … gives the
    same ``stringValue`` the service returns (DECIMAL included) without re-formatting.
    """
    adapters = AdaptersMap(psycopg.adapters)
    native = {"bool", "int2", "int4", "int8", "oid", "float4", "float8"}
    for info in psycopg.postgres.types:
        if info.name not in native:
            adapters.register_loader(info.oid, TextLoader)
        if info.array_oid:
            adapters.register_loader(info.array_oid, TextLoader)
    return adapters


RESULT_ADAPTERS = _text_adapters()
"""The loaders of every connection that runs statements."""


def field(value: Any) -> dict[str, Any]:
    """One value of a record, as a Data API ``Field``."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value if isinstance(value, str) else str(value)}


def csv_records(
    columns: Sequence[dict[str, Any]], rows: Sequence[tuple[Any, ...]], *, header: bool
) -> list[dict[str, str]]:
    """One page of rows as GetStatementResultV2's ``Records``: one ``QueryRecords`` union whose
    ``CSVRecords`` is the page's CSV text (RFC 4180 quoting; a header line of the column
    labels on the first page; NULL an empty cell, booleans ``true`` / ``false``).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow([c["label"] for c in columns])
    writer.writerows([_cell(v) for v in row] for row in rows)
    return [{"CSVRecords": out.getvalue()}]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def column(column: psycopg.Column) -> dict[str, Any]:
    """A cursor's column, as a Data API ``ColumnMetadata``."""
    info = psycopg.postgres.types.get(column.type_code)
    type_name = info.name if info is not None else str(column.type_code)
    numeric = type_name in {"int2", "int4", "int8", "float4", "float8", "numeric", "money"}
    return {
        "name": column.name,
        "label": column.name,
        "typeName": type_name,
        "isCaseSensitive": type_name in {"text", "varchar", "bpchar", "name", '"char"'},
        "isCurrency": type_name == "money",
        "isSigned": numeric,
        "nullable": 1,
        "precision": column.precision or column.display_size or column.internal_size or 0,
        "scale": column.scale or 0,
        "length": 0,
        "schemaName": "",
        "tableName": "",
    }
