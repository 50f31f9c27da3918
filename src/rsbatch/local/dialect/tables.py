"""The shim's lookup tables: names the token rules rename, strip, route or refuse.

Kept apart from the code that applies them so that the documentation table
(``docs/SQL-COMPATIBILITY.md``, from :mod:`rsbatch.local.dialect.rules`) and the rules read
the same names.
"""

from __future__ import annotations

RENAMED_FUNCTIONS = {"NVL": "COALESCE", "LEN": "LENGTH"}

# Redshift-only functions with no local equivalent; a name the compat layer provides is
# called instead (see :mod:`rsbatch.local.dialect.provided`).
REFUSED_FUNCTIONS = frozenset(
    {
        "STRTOL",
        "JSON_PARSE",
        "JSON_SERIALIZE",
        "JSON_SERIALIZE_TO_VARBYTE",
        "IS_VALID_JSON",
        "IS_VALID_JSON_ARRAY",
        "PG_LAST_COPY_ID",
        "PG_LAST_COPY_COUNT",
        "PG_LAST_QUERY_ID",
        "PG_LAST_UNLOAD_ID",
        "PG_LAST_UNLOAD_COUNT",
    }
)

# Functions only a parse tree can restructure (argument order, WITHIN GROUP, CASE, windows).
AST_FUNCTIONS = frozenset({"LISTAGG", "NVL2", "MEDIAN", "CONVERT_TIMEZONE", "CONVERT", "RATIO_TO_REPORT"})
# Parse-tree rewrites of these unless the compat layer provides them as functions.
DATE_ARITHMETIC = frozenset({"DATEDIFF", "DATEADD"})
# Their first argument is a date part; Redshift takes it unquoted, PostgreSQL wants a string.
DATE_PART_FUNCTIONS = frozenset({"DATE_PART", "DATE_TRUNC", "DATEADD", "DATEDIFF"})

DDL_ATTRIBUTES = frozenset({"DISTSTYLE", "DISTKEY", "SORTKEY", "COMPOUND", "INTERLEAVED", "ENCODE", "BACKUP"})
VACUUM_OPTIONS = frozenset({"SORT", "DELETE", "REINDEX", "RECLUSTER", "BOOST", "TO"})

# Redshift's length for ``type(MAX)``.
MAX_LENGTHS = {
    **dict.fromkeys(("VARCHAR", "VARYING", "NVARCHAR"), "65535"),
    **dict.fromkeys(("CHAR", "CHARACTER", "NCHAR", "BPCHAR"), "4096"),
}
# Redshift type names PostgreSQL lacks → the PostgreSQL type Redshift maps them to
# (https://docs.aws.amazon.com/redshift/latest/dg/c_Supported_data_types.html).
TYPE_NAMES = {"NVARCHAR": "VARCHAR", "NCHAR": "CHAR", "SUPER": "JSONB"}

# Column and table constraints Redshift accepts but does not enforce.
INFORMATIONAL_CONSTRAINTS = ("PRIMARY KEY", "UNIQUE", "FOREIGN KEY", "REFERENCES")

GETDATE = "DATE_TRUNC('second', CAST(STATEMENT_TIMESTAMP() AS TIMESTAMP))"
SYSDATE = "LOCALTIMESTAMP"

# Words after which ``#name`` is a temporary table, not the XOR operator.
TEMP_TABLE_CONTEXT = frozenset(
    {"FROM", "JOIN", "TABLE", "INTO", "UPDATE", "EXISTS", "ONLY", "TRUNCATE", "ANALYZE", "VACUUM", "ON"}
)
# Words after which a dotted name is a table, never SUPER navigation.
TABLE_NAME_CONTEXT = (TEMP_TABLE_CONTEXT - {"ON"}) | {
    "REFERENCES",
    "VIEW",
    "SCHEMA",
    "LOCK",
    "TABLES",
    "SEQUENCE",
    "INDEX",
    "FUNCTION",
    "PROCEDURE",
    "CALL",
    "TO",
    "IS",
    "TYPE",
    "AS",
}
# Qualifiers of PostgreSQL pseudo-tables (``INSERT … ON CONFLICT``, rules): never navigation.
PSEUDO_TABLES = frozenset({"EXCLUDED", "NEW", "OLD"})
