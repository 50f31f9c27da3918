"""Every object of the Redshift compatibility layer, as data: what it is, how faithful, and
the Redshift Developer Guide page it follows.

The SQL shim's ``docs/SQL-COMPATIBILITY.md`` is generated from :data:`ENTRIES`, and a test
checks that the schema installed in PostgreSQL holds exactly these objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ENTRIES", "CompatEntry", "Kind", "Status"]

_GUIDE = "https://docs.aws.amazon.com/redshift/latest/dg/"


class Kind(StrEnum):
    FUNCTION = "function"
    AGGREGATE = "aggregate"
    OPERATOR = "operator"
    VIEW = "view"
    COLLATION = "collation"
    TYPE = "type"


class Status(StrEnum):
    EMULATED = "emulated"
    DIFFERENT = "emulated with difference"


@dataclass(frozen=True, slots=True, kw_only=True)
class CompatEntry:
    """One Redshift name the local warehouse answers like Redshift."""

    name: str  # Redshift's name, upper case as the guide writes it
    kind: Kind
    status: Status
    difference: str  # what still differs from Redshift ("" when emulated)
    source_url: str  # the Developer Guide page the emulation follows


def _entry(name: str, kind: Kind, page: str, difference: str = "") -> CompatEntry:
    return CompatEntry(
        name=name,
        kind=kind,
        status=Status.DIFFERENT if difference else Status.EMULATED,
        difference=difference,
        source_url=_GUIDE + page,
    )


_F, _A, _O, _V, _C, _T = Kind.FUNCTION, Kind.AGGREGATE, Kind.OPERATOR, Kind.VIEW, Kind.COLLATION, Kind.TYPE

ENTRIES: tuple[CompatEntry, ...] = (
    # -- aggregates (also window functions) ---------------------------------------------------
    _entry(
        "AVG",
        _A,
        "r_AVG.html",
        "integer arguments give BIGINT and DECIMAL arguments keep their scale, as in Redshift; "
        "the digits past the scale are truncated (the guide does not say whether Redshift "
        "rounds the last decimal digit)",
    ),
    _entry("SUM", _A, "r_SUM.html"),
    _entry(
        "MEDIAN",
        _A,
        "r_MEDIAN.html",
        "a DECIMAL median has the argument's scale + 1 (as the guide's example prints 17.5 "
        "and 10.0 for integers)",
    ),
    _entry("STDDEV", _A, "r_STDDEV_functions.html"),
    _entry("STDDEV_SAMP", _A, "r_STDDEV_functions.html"),
    _entry("STDDEV_POP", _A, "r_STDDEV_functions.html"),
    _entry("VARIANCE", _A, "r_VARIANCE_functions.html"),
    _entry("VAR_SAMP", _A, "r_VARIANCE_functions.html"),
    _entry("VAR_POP", _A, "r_VARIANCE_functions.html"),
    # -- date and time --------------------------------------------------------------------------
    _entry("TRUNC", _F, "r_TRUNC_date.html"),
    _entry("ADD_MONTHS", _F, "r_ADD_MONTHS.html"),
    _entry("LAST_DAY", _F, "r_LAST_DAY.html"),
    _entry("MONTHS_BETWEEN", _F, "r_MONTHS_BETWEEN_function.html"),
    _entry("NEXT_DAY", _F, "r_NEXT_DAY.html"),
    _entry(
        "DATE_PART",
        _F,
        "r_DATE_PART_function.html",
        "the datepart must be a string ('month'); a bare word (month) needs the SQL shim to "
        "quote it; the result column is named date_part, not pgdate_part",
    ),
    _entry(
        "DATEDIFF",
        _F,
        "r_DATEDIFF_function.html",
        "the datepart must be a string; a bare word needs the SQL shim to quote it",
    ),
    _entry(
        "DATEADD",
        _F,
        "r_DATEADD_function.html",
        "the datepart must be a string; a bare word needs the SQL shim to quote it",
    ),
    _entry("GETDATE", _F, "r_GETDATE.html"),
    # -- strings and conditionals ---------------------------------------------------------------
    _entry("CHARINDEX", _F, "r_CHARINDEX.html"),
    _entry("LEN", _F, "r_LEN.html"),
    _entry("STRTOL", _F, "r_STRTOL.html"),
    _entry(
        "NVL",
        _F,
        "r_NVL_function.html",
        "a function: every argument is evaluated, where Redshift stops at the first non-null",
    ),
    _entry(
        "NVL2",
        _F,
        "r_NVL2.html",
        "a function: both branches are evaluated, where Redshift evaluates only the one chosen",
    ),
    _entry(
        "SPLIT_PART", _F, "SPLIT_PART.html", "on a timestamp or date, as Redshift's implicit cast to text"
    ),
    _entry("LIKE", _O, "c_Supported_data_types.html", "on a timestamp or date (LIKE, NOT LIKE, ILIKE)"),
    # -- JSON and SUPER ---------------------------------------------------------------------------
    _entry(
        "SUPER",
        _T,
        "r_SUPER_type.html",
        "stood in for by jsonb (jsonb's key order); PartiQL navigation (a.b[0]) and FROM-clause "
        "unnesting are the SQL shim's rewrites to jsonb operators",
    ),
    _entry("JSON_PARSE", _F, "JSON_PARSE.html", "returns SUPER, which is jsonb locally"),
    _entry(
        "JSON_SERIALIZE", _F, "JSON_SERIALIZE.html", "jsonb's text form: keys sorted, one space after : and ,"
    ),
    _entry("IS_VALID_JSON", _F, "IS_VALID_JSON.html"),
    _entry("IS_VALID_JSON_ARRAY", _F, "IS_VALID_JSON_ARRAY.html"),
    _entry("JSON_EXTRACT_PATH_TEXT", _F, "JSON_EXTRACT_PATH_TEXT.html"),
    _entry("JSON_ARRAY_LENGTH", _F, "JSON_ARRAY_LENGTH.html"),
    _entry("JSON_EXTRACT_ARRAY_ELEMENT_TEXT", _F, "JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html"),
    # -- collation ------------------------------------------------------------------------------
    _entry(
        "CASE_INSENSITIVE",
        _C,
        "r_collation_function.html",
        "a nondeterministic ICU collation where the server has ICU; the embedded PostgreSQL "
        "is built without ICU, so citext stands in: the SQL shim rewrites COLLATE "
        "case_insensitive to citext, and text/citext comparison operators ignore case",
    ),
    # -- system views ---------------------------------------------------------------------------
    _entry(
        "PG_TABLE_DEF",
        _V,
        "r_PG_TABLE_DEF.html",
        "encoding is always none, distkey false and sortkey 0 (the shim drops those attributes)",
    ),
    _entry(
        "SVV_TABLE_INFO",
        _V,
        "r_SVV_TABLE_INFO.html",
        "distribution, sort key, skew, unsorted and create_time are not known locally "
        "(AUTO(EVEN), NULL, 0); tbl_rows is an exact count",
    ),
    _entry("SVV_COLUMNS", _V, "r_SVV_COLUMNS.html", "local tables and views only (no external tables)"),
    _entry(
        "STL_LOAD_ERRORS",
        _V,
        "r_STL_LOAD_ERRORS.html",
        "always empty: the local warehouse does not COPY from S3",
    ),
)
