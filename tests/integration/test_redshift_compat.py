"""The local warehouse answers like Redshift: schema ``redshift`` (rsbatch.local.compat).

Each test runs a small example in the spirit of the Redshift Developer Guide page cited
beside it and compares the local answer with the value (and type) that page documents.
Queries go through the Redshift Data API emulator (boto3 → SQL shim → PostgreSQL), what
a batch runs, except where a test checks PostgreSQL's own error class or objects (or a
form the shim would quote first, such as string dateparts): those read the warehouse
directly, in a session with the database's default settings, as psql would.
"""

from __future__ import annotations

import time
from datetime import datetime
from datetime import time as dt_time
from typing import Any

import psycopg
import pytest

from rsbatch.local import compat
from rsbatch.local.compat.catalog import Kind
from rsbatch.local.dialect import to_postgres
from rsbatch.local.warehouse import Warehouse

DB = "compat_tests"  # this module's own database
GUIDE = "https://docs.aws.amazon.com/redshift/latest/dg/"
TERMINAL = {"FINISHED", "FAILED", "ABORTED"}


# -- helpers ---------------------------------------------------------------------------------


def _value(field: dict[str, Any]) -> Any:
    if field.get("isNull"):
        return None
    ((_, value),) = field.items()
    return value


def finished(client: Any, sql: str) -> str:
    """Run one statement via the emulator; its id once FINISHED."""
    statement_id: str = client.execute_statement(Sql=sql, Database=DB, WorkgroupName="local")["Id"]
    deadline = time.monotonic() + 15
    while True:
        desc = client.describe_statement(Id=statement_id, WaitTimeSeconds=5)
        if desc["Status"] in TERMINAL or time.monotonic() > deadline:
            break
    assert desc["Status"] == "FINISHED", desc.get("Error")
    return statement_id


def emulated(client: Any, sql: str) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Rows (Data API field values) and column type names of one statement via the emulator."""
    result = client.get_statement_result(Id=finished(client, sql))
    rows = [tuple(_value(f) for f in record) for record in result["Records"]]
    return rows, [c["typeName"] for c in result["ColumnMetadata"]]


def one(client: Any, sql: str) -> tuple[Any, ...]:
    rows, _ = emulated(client, sql)
    assert len(rows) == 1, rows
    return rows[0]


def direct(warehouse: Warehouse, sql: str) -> list[tuple[Any, ...]]:
    """Rows read straight from PostgreSQL, in a session with the database's defaults."""
    with psycopg.connect(warehouse.dsn(DB), autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="module")
def sales(warehouse: Warehouse) -> None:
    """A table with integer, decimal, float and timestamp columns, created once.

    Written directly under an advisory lock: xdist workers may share this module's tests.
    """
    with psycopg.connect(warehouse.dsn(DB), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(7243)")
        try:
            if conn.execute("SELECT to_regclass('public.compat_sales')").fetchone() == (None,):
                with conn.transaction():
                    conn.execute(
                        "CREATE TABLE public.compat_sales (seller INT, qty SMALLINT, units INTEGER,"
                        " big BIGINT, price DECIMAL(8,2), ratio REAL, score DOUBLE PRECISION, sold TIMESTAMP)"
                    )
                    conn.execute(
                        "INSERT INTO public.compat_sales VALUES"
                        " (1, 1, 1, 1, 10.00, 0.5, 0.5, '2008-01-05 14:00:00'),"
                        " (1, 2, 2, 2, 20.00, 1.5, 1.5, '2008-02-10 09:30:00'),"
                        " (2, 2, 2, 2, 10.00, 1.0, 1.0, '2008-02-29 23:59:59'),"
                        " (2, 3, 4, 9000000000000000000, 15.50, 2.0, 2.0, '2009-03-31 00:00:00'),"
                        " (2, -7, -7, -7, 12.25, 2.5, 2.5, NULL)"
                    )
        finally:
            conn.execute("SELECT pg_advisory_unlock(7243)")


# -- aggregate typing ------------------------------------------------------------------------
# r_AVG.html: "BIGINT for any integer type argument", "DOUBLE PRECISION for a floating
# point argument", "an AVG of a DEC(5,2) column returns a DEC(38,2) data type".


def test_avg_of_integers_is_a_bigint_truncated_toward_zero(redshift_data: Any, sales: None) -> None:
    rows, types = emulated(
        redshift_data,
        "SELECT AVG(qty), AVG(units), AVG(seller) FROM compat_sales WHERE seller = 1",
    )
    # qty 1, 2 → 1.5 → 1 (PostgreSQL alone gives 1.5000000000000000, NUMERIC)
    assert rows == [(1, 1, 1)]
    assert types == ["int8", "int8", "int8"]
    assert one(redshift_data, "SELECT AVG(qty) FROM compat_sales WHERE seller = 2") == (0,)  # -2/3 → 0


def test_avg_of_a_bigint_column_stays_exact_and_bigint(redshift_data: Any, sales: None) -> None:
    rows, types = emulated(redshift_data, "SELECT AVG(big) FROM compat_sales WHERE seller = 2")
    assert rows == [((9000000000000000000 + 2 - 7) // 3,)]
    assert types == ["int8"]


def test_avg_of_a_decimal_keeps_the_argument_scale(redshift_data: Any, sales: None) -> None:
    rows, types = emulated(redshift_data, "SELECT AVG(price) FROM compat_sales WHERE seller = 2")
    # (10.00 + 15.50 + 12.25) / 3 = 12.5833… → DEC(38,2): 12.58
    assert rows == [("12.58",)]
    assert types == ["numeric"]


def test_avg_of_floats_is_double_precision(redshift_data: Any, sales: None) -> None:
    rows, types = emulated(redshift_data, "SELECT AVG(ratio), AVG(score) FROM compat_sales WHERE seller = 1")
    assert rows == [(1.0, 1.0)]
    assert types == ["float8", "float8"]


def test_avg_grouped_and_in_having(redshift_data: Any, sales: None) -> None:
    rows, _ = emulated(
        redshift_data,
        "SELECT seller, AVG(units) FROM compat_sales GROUP BY seller HAVING AVG(units) < 1 ORDER BY seller",
    )
    # seller 1: (1+2)/2 → 1 (not < 1); seller 2: (2+4-7)/3 = -0.33 → 0
    assert rows == [(2, 0)]


def test_avg_in_where_subqueries_and_having_compares_the_redshift_value(
    redshift_data: Any, sales: None
) -> None:
    # seller 1's AVG(units) is BIGINT 1 (PostgreSQL alone: 1.5, equal to no row)
    rows, _ = emulated(
        redshift_data,
        "SELECT units FROM compat_sales WHERE units = (SELECT AVG(units) FROM compat_sales WHERE seller = 1)",
    )
    assert rows == [(1,)]
    # seller 2's AVG(price) is 12.58 at DEC(38,2) (PostgreSQL alone: 12.5833…)
    rows, _ = emulated(
        redshift_data, "SELECT seller FROM compat_sales GROUP BY seller HAVING AVG(price) = 12.58"
    )
    assert rows == [(2,)]


def test_avg_as_a_window_function(redshift_data: Any, sales: None) -> None:
    rows, types = emulated(
        redshift_data,
        "SELECT units, AVG(units) OVER (PARTITION BY seller), "
        "AVG(price) OVER (ORDER BY units, price ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) "
        "FROM compat_sales ORDER BY units, price",
    )
    assert rows == [
        (-7, 0, "12.25"),
        (1, 1, "11.12"),  # (12.25 + 10.00) / 2 = 11.125 → 11.12
        (2, 0, "10.00"),
        (2, 1, "15.00"),
        (4, 0, "17.75"),
    ]
    assert types[1:] == ["int8", "numeric"]


def test_sum_of_a_bigint_is_a_bigint_and_sum_of_real_is_double(redshift_data: Any, sales: None) -> None:
    # r_SUM.html: "BIGINT for BIGINT, SMALLINT, and INTEGER arguments", "NUMERIC for
    # NUMERIC arguments", "DOUBLE PRECISION for floating point arguments".
    rows, types = emulated(
        redshift_data,
        "SELECT SUM(big), SUM(units), SUM(price), SUM(ratio) FROM compat_sales WHERE seller = 1",
    )
    assert rows == [(3, 3, "30.00", 2.0)]
    assert types == ["int8", "int8", "numeric", "float8"]


def test_stddev_of_integers_is_double_precision(redshift_data: Any, sales: None) -> None:
    # r_STDDEV_functions.html: "Regardless of the data type of the expression, the return
    # type of this function is a double precision number."
    rows, types = emulated(
        redshift_data, "SELECT STDDEV_POP(units), VAR_SAMP(price) FROM compat_sales WHERE seller = 1"
    )
    assert rows == [(0.5, 50.0)]
    assert types == ["float8", "float8"]


def test_median_types_follow_the_guide(redshift_data: Any, sales: None) -> None:
    # r_MEDIAN.html "Data types": DECIMAL for INT2/INT4/INT8/DECIMAL, DOUBLE for FLOAT;
    # r_WF_MEDIAN.html prints the median of 10, 15, 20, 25 as 17.5 and of 10, 10, 30 as 10.0.
    rows, types = emulated(redshift_data, "SELECT MEDIAN(x) FROM (VALUES (10), (15), (20), (25)) AS t(x)")
    assert (rows, types) == ([("17.5",)], ["numeric"])
    assert one(redshift_data, "SELECT MEDIAN(x) FROM (VALUES (10), (10), (30)) AS t(x)") == ("10.0",)
    rows, types = emulated(
        redshift_data, "SELECT MEDIAN(units), MEDIAN(price), MEDIAN(score) FROM compat_sales"
    )
    # units 1, 2, 2, 4, -7 → 2; price 10.00, 20.00, 10.00, 15.50, 12.25 → 12.25; score → 1.5
    assert rows == [("2.0", "12.250", 1.5)]
    assert types == ["numeric", "numeric", "float8"]
    rows, types = emulated(
        redshift_data,
        "SELECT DISTINCT seller, MEDIAN(units) OVER (PARTITION BY seller) FROM compat_sales ORDER BY seller",
    )
    assert (rows, types[1:]) == ([(1, "1.5"), (2, "2.0")], ["numeric"])


# A statement the shim sends through sqlglot (here for LISTAGG) must still call the compat
# layer's functions, not sqlglot's rewrite of them (AGE-based DATEDIFF, ADD_MONTHS as an
# interval, MEDIAN as PERCENTILE_CONT, STRTOL as FROM_BASE): the same expression gives the
# same Redshift answer with or without the LISTAGG beside it.
ROUTED = (
    "SELECT {}, LISTAGG(x, ',') WITHIN GROUP (ORDER BY x)"
    " FROM (VALUES (10, 'b'), (15, 'a'), (20, ''), (25, NULL)) AS v(n, x)"
)


@pytest.mark.parametrize(
    ("expression", "expected", "page"),
    [
        ("DATEDIFF(month, '2026-01-31', '2026-02-01')", 1, "r_DATEDIFF_function.html"),  # boundaries
        ("DATEDIFF(week, '2009-01-01', '2009-12-31')", 52, "r_DATEDIFF_function.html"),
        ("DATEDIFF(qtr, '1998-07-01', '2002-10-01')", 17, "r_DATEDIFF_function.html"),
        ("DATEADD(month, 1, '2008-01-31')", "2008-02-29 00:00:00", "r_DATEADD_function.html"),
        ("ADD_MONTHS('2008-03-31', 1)", "2008-04-30 00:00:00", "r_ADD_MONTHS.html"),
        ("LAST_DAY('2008-02-10 09:30:00')", "2008-02-29", "r_LAST_DAY.html"),
        ("MONTHS_BETWEEN('1969-01-18', '1969-03-18')", -2.0, "r_MONTHS_BETWEEN_function.html"),
        ("TRUNC(TIMESTAMP '2011-07-21 10:32:38')", "2011-07-21", "r_TRUNC_date.html"),
        ("DATE_PART(minute, TIMESTAMP '2023-01-04 04:05:06.789')", 5.0, "r_DATE_PART_function.html"),
        ("NVL2(NULL, 'a', 'b')", "b", "r_NVL2.html"),
        ("CHARINDEX('fish', 'dogfish')", 4, "r_CHARINDEX.html"),
        ("STRTOL('abcd1234', 16)", 2882343476, "r_STRTOL.html"),
        ("MEDIAN(n)", "17.5", "r_MEDIAN.html"),
        (
            "JSON_EXTRACT_PATH_TEXT('{\"f4\": {\"f6\": \"star\"}}', 'f4', 'f6')",
            "star",
            "JSON_EXTRACT_PATH_TEXT.html",
        ),
    ],
)
def test_provided_functions_are_called_in_statements_sqlglot_rewrites(
    redshift_data: Any, expression: str, expected: Any, page: str
) -> None:
    sql = ROUTED.format(expression)
    assert "STRING_AGG" in to_postgres(sql)  # the statement did go through sqlglot
    assert one(redshift_data, sql) == (expected, "a,b"), GUIDE + page


# -- date and time -----------------------------------------------------------------------------


def test_trunc_of_a_timestamp_is_a_date(redshift_data: Any) -> None:
    # r_TRUNC_date.html: TRUNC(timestamp) returns the DATE.
    rows, types = emulated(redshift_data, "SELECT TRUNC(TIMESTAMP '2011-07-21 10:32:38')")
    assert rows == [("2011-07-21",)]
    assert types == ["date"]


def test_add_months_keeps_a_month_end_at_the_month_end(redshift_data: Any) -> None:
    # r_ADD_MONTHS.html: 2008-03-31 + 1 → 2008-04-30; 2008-04-30 + 1 → 2008-05-31;
    # '2008-01-01 05:07:30' + 1 → 2008-02-01 05:07:30; TIMESTAMP.
    rows, types = emulated(
        redshift_data,
        "SELECT ADD_MONTHS('2008-03-31', 1), ADD_MONTHS('2008-04-30', 1),"
        " ADD_MONTHS('2008-01-01 05:07:30', 1), ADD_MONTHS(DATE '2008-02-29', 12)",
    )
    assert rows == [
        ("2008-04-30 00:00:00", "2008-05-31 00:00:00", "2008-02-01 05:07:30", "2009-02-28 00:00:00")
    ]
    assert types == ["timestamp"] * 4


def test_months_between_whole_and_fractional(redshift_data: Any) -> None:
    # r_MONTHS_BETWEEN_function.html: 1969-01-18 vs 1969-03-18 → -2; days match or both month
    # ends → whole; else the rest over a 31-day month (1995-02-02 vs 1995-01-01 → 1 + 1/31).
    rows, types = emulated(
        redshift_data,
        "SELECT MONTHS_BETWEEN('1969-01-18', '1969-03-18'), MONTHS_BETWEEN('2014-09-30', '2014-08-31'),"
        " MONTHS_BETWEEN('1995-02-02', '1995-01-01')",
    )
    assert rows == [(-2.0, 1.0, pytest.approx(1 + 1 / 31))]
    assert types == ["float8"] * 3


def test_next_day_and_last_day(redshift_data: Any) -> None:
    # r_NEXT_DAY.html: the first Tuesday after 2014-08-20 is 2014-08-26; NEXT_DAY(listtime,
    # 'Tue') of 2008-01-01 05:54:44 (a Tuesday) is 2008-01-08; DATE. r_LAST_DAY.html: DATE.
    rows, types = emulated(
        redshift_data,
        "SELECT NEXT_DAY('2014-08-20', 'Tuesday'), NEXT_DAY(TIMESTAMP '2008-01-01 05:54:44', 'Tue'),"
        " NEXT_DAY('2014-08-20', 'w'), LAST_DAY('2008-02-10 09:30:00')",
    )
    assert rows == [("2014-08-26", "2008-01-08", "2014-08-27", "2008-02-29")]
    assert types == ["date"] * 4


def test_next_day_refuses_a_name_outside_the_guides_list(warehouse: Warehouse) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="Invalid day: Tuesd"):
        direct(warehouse, "SELECT NEXT_DAY('2014-08-20', 'Tuesd')")


def test_date_part_takes_redshift_abbreviations_and_time(redshift_data: Any) -> None:
    # r_DATE_PART_function.html and r_Dateparts_for_datetime_functions.html: DOUBLE
    # PRECISION; 'dw' / 'weekday' are the day of week (Sunday 0), 'qtr' the quarter.
    rows, types = emulated(
        redshift_data,
        "SELECT DATE_PART('weekday', TIMESTAMP '2008-01-05 14:00:00'),"
        " DATE_PART('qtr', TIMESTAMP '2008-05-05'),"
        " DATE_PART('mins', TIME '10:15:00'), DATE_PART('isodow', TIMESTAMP '2008-01-06')",
    )
    # isodow is PostgreSQL's, not Redshift's: PostgreSQL-valid SQL keeps working (Sunday = 7)
    assert rows == [(6.0, 2.0, 15.0, 7.0)]
    assert types == ["float8"] * 4


def test_datediff_and_dateadd_with_string_dateparts(warehouse: Warehouse) -> None:
    # r_DATEDIFF_function.html: DATEDIFF(week, '2009-01-01', '2009-12-31') = 52 and
    # DATEDIFF(qtr, '1998-07-01', '2002-10-01') = 17, BIGINT; also on TIME.
    # r_DATEADD_function.html: DATEADD(month, 1, '2008-01-31') = 2008-02-29.
    rows = direct(
        warehouse,
        "SELECT DATEDIFF('week', TIMESTAMP '2009-01-01', TIMESTAMP '2009-12-31'),"
        " DATEDIFF('qtr', TIMESTAMP '1998-07-01', TIMESTAMP '2002-10-01'),"
        " DATEDIFF('hour', TIME '10:00', TIME '12:30'),"
        " DATEADD('month', 1, TIMESTAMP '2008-01-31'), DATEADD('m', 5, TIME '23:58:00')",
    )
    assert rows == [(52, 17, 2, datetime(2008, 2, 29), dt_time(0, 3))]
    # String literals are timestamps: DATEDIFF(hour, '2023-01-01', '2023-01-03 05:04:03') = 53;
    # DATEADD(month, 18, '2008-02-28') = 2009-08-28 00:00:00 and DATEADD(m, 30, …) adds minutes.
    rows = direct(
        warehouse,
        "SELECT DATEDIFF('hour', '2023-01-01', '2023-01-03 05:04:03'), DATEADD('month', 18, '2008-02-28'),"
        " DATEADD('m', 30, '2008-02-28'), pg_typeof(DATEADD('day', 1, '2008-02-28'))::text",
    )
    assert rows == [(53, datetime(2009, 8, 28), datetime(2008, 2, 28, 0, 30), "timestamp without time zone")]
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="Invalid datepart: fortnight"):
        direct(warehouse, "SELECT DATEDIFF('fortnight', TIMESTAMP '2009-01-01', TIMESTAMP '2009-12-31')")


# -- strings and conditionals -----------------------------------------------------------------


def test_charindex(redshift_data: Any) -> None:
    # r_CHARINDEX.html: CHARINDEX('dog', 'fish') = 0; CHARINDEX('fish', 'dogfish') = 4.
    assert one(redshift_data, "SELECT CHARINDEX('dog', 'fish'), CHARINDEX('fish', 'dogfish')") == (0, 4)


def test_charindex_reads_a_decimal_as_text(redshift_data: Any, sales: None) -> None:
    # r_CHARINDEX.html searches '.' in the DECIMAL(8,2) column COMMISSION.
    rows, _ = emulated(
        redshift_data, "SELECT price, CHARINDEX('.', price) FROM compat_sales WHERE seller = 1 ORDER BY price"
    )
    assert rows == [("10.00", 3), ("20.00", 3)]


def test_strtol(warehouse: Warehouse) -> None:
    # r_STRTOL.html: ('0xf',16) 15; ('abcd1234',16) 2882343476; ('1234567',8) 342391;
    # ('110101',2) 53.
    assert direct(
        warehouse,
        "SELECT STRTOL('0xf', 16), STRTOL('abcd1234', 16), STRTOL('1234567', 8), STRTOL('110101', 2),"
        " STRTOL('  -12', 10), STRTOL('', 10)",
    ) == [(15, 2882343476, 342391, 53, -12, 0)]
    with pytest.raises(psycopg.errors.NumericValueOutOfRange):
        direct(warehouse, "SELECT STRTOL('ffffffffffffffffff', 16)")  # outside 64 bits


def test_nvl2_evaluates_only_the_branch_it_returns(
    redshift_data: Any, warehouse: Warehouse, sales: None
) -> None:
    # r_NVL2.html: NVL2(expression, not_null_return_value, null_return_value).
    assert one(redshift_data, "SELECT NVL2(NULL, 'a', 'b'), NVL2(1, 'a', 'b')") == ("b", "a")
    rows = direct(warehouse, "SELECT NVL2(seller, 1, 1 / (units - units)) FROM compat_sales WHERE seller = 1")
    assert rows == [(1,), (1,)]  # the division by zero is never evaluated


def test_like_and_split_part_on_a_timestamp(redshift_data: Any, sales: None) -> None:
    # r_Type_conversion.html: Redshift casts a timestamp to a string where one is expected.
    rows, _ = emulated(
        redshift_data,
        "SELECT SPLIT_PART(sold, '-', 2) FROM compat_sales WHERE sold LIKE '2008-02%' ORDER BY sold",
    )
    assert rows == [("02",), ("02",)]
    assert one(redshift_data, "SELECT COUNT(*) FROM compat_sales WHERE sold NOT LIKE '2008%'") == (1,)


# -- JSON --------------------------------------------------------------------------------------


def test_json_extract_path_text_and_null_if_invalid(redshift_data: Any) -> None:
    # JSON_EXTRACT_PATH_TEXT.html: {"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}} at 'f4','f6' is
    # star; an invalid string is an error unless null_if_invalid is true, then NULL.
    good = '{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}}'
    bad = '{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}'
    assert one(
        redshift_data,
        f"SELECT JSON_EXTRACT_PATH_TEXT('{good}', 'f4', 'f6'),"
        f" JSON_EXTRACT_PATH_TEXT('{bad}', 'f4', 'f6', true),"
        f" JSON_EXTRACT_PATH_TEXT('{good}', 'f4', 'nope')",
    ) == ("star", None, None)
    statement_id = redshift_data.execute_statement(
        Sql=f"SELECT JSON_EXTRACT_PATH_TEXT('{bad}', 'f4', 'f6')", Database=DB, WorkgroupName="local"
    )["Id"]
    desc = redshift_data.describe_statement(Id=statement_id, WaitTimeSeconds=10)
    assert desc["Status"] == "FAILED"


def test_json_parse_gives_super(warehouse: Warehouse) -> None:
    # JSON_PARSE.html returns SUPER; IS_VALID_JSON.html.
    rows = direct(
        warehouse,
        """SELECT JSON_PARSE('{"a": [1, 2]}') -> 'a' ->> 1, pg_typeof(JSON_PARSE('[]'))::text,
                  IS_VALID_JSON('{"a": 1}'), IS_VALID_JSON('{"a"'), IS_VALID_JSON_ARRAY('[1]')""",
    )
    assert rows == [("2", "super", True, False, True)]
    direct(warehouse, "DROP TABLE IF EXISTS compat_events")
    direct(warehouse, "CREATE TABLE compat_events (payload SUPER)")
    direct(warehouse, """INSERT INTO compat_events VALUES (JSON_PARSE('{"kind": "click"}'))""")
    assert direct(warehouse, "SELECT payload ->> 'kind' FROM compat_events") == [("click",)]


# -- collation ---------------------------------------------------------------------------------


def test_case_insensitive_comparison(redshift_data: Any) -> None:
    # r_COLLATE.html / r_collation_function.html: with case_insensitive, 'AMAZON' and 'amazon'
    # compare equal; one collated operand is enough. (Locally citext: no ICU in the build.)
    finished(redshift_data, "DROP TABLE IF EXISTS compat_ci")
    finished(
        redshift_data, "CREATE TABLE compat_ci (name VARCHAR(10) COLLATE case_insensitive, raw VARCHAR(10))"
    )
    finished(redshift_data, "INSERT INTO compat_ci VALUES ('AMAZON', 'AMAZON')")
    assert one(
        redshift_data,
        "SELECT name = 'amazon', raw = 'amazon', raw = 'amazon' COLLATE case_insensitive,"
        " COLLATE(raw, 'case_insensitive') = 'amazon', 'amazon' < raw COLLATE case_insensitive"
        " FROM compat_ci",
    ) == (True, False, True, True, False)


# -- system views ------------------------------------------------------------------------------


def test_pg_table_def_lists_the_columns_of_visible_tables(redshift_data: Any, sales: None) -> None:
    # r_PG_TABLE_DEF.html: schemaname, tablename, column, type, encoding, distkey, sortkey, notnull.
    rows, types = emulated(
        redshift_data,
        'SELECT schemaname, tablename, "column", type, TRIM(encoding), distkey, sortkey, "notnull"'
        " FROM pg_table_def WHERE tablename = 'compat_sales' AND \"column\" IN ('seller', 'price')"
        ' ORDER BY "column"',
    )
    assert rows == [
        ("public", "compat_sales", "price", "numeric(8,2)", "none", False, 0, False),
        ("public", "compat_sales", "seller", "integer", "none", False, 0, False),
    ]
    assert types[:3] == ["name", "name", "name"]


def test_svv_table_info_and_stl_load_errors(redshift_data: Any, sales: None) -> None:
    # r_SVV_TABLE_INFO.html: one row per non-empty user table; r_STL_LOAD_ERRORS.html.
    assert one(
        redshift_data,
        'SELECT "schema", tbl_rows, size >= 1 FROM svv_table_info WHERE "table" = \'compat_sales\'',
    ) == ("public", "5", True)
    rows, types = emulated(
        redshift_data, "SELECT userid, filename, err_code, err_reason FROM stl_load_errors"
    )
    assert rows == []
    assert types == ["int4", "bpchar", "int4", "bpchar"]


def test_svv_columns_describes_the_columns(redshift_data: Any, sales: None) -> None:
    # r_SVV_COLUMNS.html: text and int columns, one row per column of tables and views.
    rows, types = emulated(
        redshift_data,
        "SELECT table_schema, column_name, ordinal_position, is_nullable, data_type, numeric_precision,"
        " numeric_scale FROM svv_columns WHERE table_name = 'compat_sales' AND column_name = 'price'",
    )
    assert rows == [("public", "price", 5, "YES", "numeric", 8, 2)]
    assert types == ["text", "text", "int4", "text", "text", "int4", "int4"]


# -- the layer itself --------------------------------------------------------------------------


def test_new_tables_still_land_in_public(redshift_data: Any) -> None:
    # redshift sits after public on the search_path: an unqualified CREATE TABLE must not
    # create the table inside the compatibility schema.
    finished(redshift_data, "CREATE TABLE IF NOT EXISTS compat_where (a INT)")
    assert one(redshift_data, "SELECT current_schema(), to_regclass('public.compat_where') IS NOT NULL") == (
        "public",
        True,
    )
    assert one(redshift_data, "SHOW search_path") == ('"$user", public, redshift, pg_catalog',)


def test_the_catalog_lists_exactly_what_is_installed(warehouse: Warehouse) -> None:
    """Every documented function, aggregate, view and type exists; nothing undocumented does.

    Helpers start with ``_``; citext's own objects belong to the extension.
    """
    installed = {
        name.upper()
        for (name,) in direct(
            warehouse,
            """SELECT o.name FROM (
                   SELECT oid, proname AS name, 'pg_proc'::regclass AS catalog FROM pg_proc
                    WHERE pronamespace = 'redshift'::regnamespace
                   UNION ALL SELECT oid, relname, 'pg_class'::regclass FROM pg_class
                    WHERE relnamespace = 'redshift'::regnamespace AND relkind = 'v'
                   UNION ALL SELECT oid, typname, 'pg_type'::regclass FROM pg_type
                    WHERE typnamespace = 'redshift'::regnamespace AND typtype = 'd') AS o
               WHERE o.name NOT LIKE '\\_%' AND NOT EXISTS (
                   SELECT 1 FROM pg_depend AS d
                    WHERE d.classid = o.catalog AND d.objid = o.oid AND d.deptype = 'e')""",
        )
    }
    documented = {
        e.name for e in compat.ENTRIES if e.kind in {Kind.FUNCTION, Kind.AGGREGATE, Kind.VIEW, Kind.TYPE}
    }
    assert installed == documented
    assert all(e.source_url.startswith(GUIDE) for e in compat.ENTRIES)
    assert all(bool(e.difference) == (e.status == "emulated with difference") for e in compat.ENTRIES)


def test_install_is_versioned_and_idempotent(warehouse: Warehouse) -> None:
    result = compat.install(conninfo=warehouse.dsn(DB), database=DB)
    assert result.installed is False  # this version is already there
    assert result.version == compat.version()
    stamp = direct(warehouse, "SELECT obj_description('redshift'::regnamespace, 'pg_namespace')")[0][0]
    assert stamp.endswith(compat.version())
    direct(warehouse, "COMMENT ON SCHEMA redshift IS 'rsbatch Redshift compatibility layer old'")
    assert compat.install(conninfo=warehouse.dsn(DB), database=DB).installed is True
    assert direct(warehouse, "SELECT AVG(x) FROM (VALUES (1), (2)) AS t(x)") == [(1,)]
