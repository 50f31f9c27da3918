"""Translated Redshift SQL run on the real local PostgreSQL (through the emulator) gives Redshift's answer.

Where a Redshift doc page gives the value for the same example, the test cites it.
"""

from __future__ import annotations

from typing import Any

import pytest

from rsbatch.local.warehouse import Warehouse
from tests.integration.test_redshift_data import execute, query, run

DB = "dialect"
_DG = "https://docs.aws.amazon.com/redshift/latest/dg/"


def records(client: Any, sql: str) -> list[list[Any]]:
    desc = execute(client, sql, Database=DB)
    assert desc["Status"] == "FINISHED", desc.get("Error")
    rows = client.get_statement_result(Id=desc["Id"])["Records"]
    return [[None if cell.get("isNull") else next(iter(cell.values())) for cell in row] for row in rows]


@pytest.mark.parametrize(
    ("sql", "expected", "source"),
    [
        # r_DATE_PART_function: the minute of 04:05:06.789 is 5, with the part unquoted.
        (
            "SELECT DATE_PART(minute, TIMESTAMP '2023-01-04 04:05:06.789')",
            [[5.0]],
            "r_DATE_PART_function.html",
        ),
        # r_DATEDIFF_function: weeks from 2009-01-01 to 2009-12-31 is 52 (Monday boundaries).
        ("SELECT DATEDIFF(week, '2009-01-01', '2009-12-31') AS numweeks", [[52]], "r_DATEDIFF_function.html"),
        ("SELECT CONVERT(integer, '12') + 1", [[13]], "r_CAST_function.html"),
        (
            "SELECT x FROM (SELECT 3 AS x UNION ALL SELECT 1 UNION ALL SELECT 2) AS v"
            " QUALIFY ROW_NUMBER() OVER (ORDER BY x) = 1",
            [[1]],
            "r_QUALIFY_clause.html",
        ),
        (
            "SELECT g, RATIO_TO_REPORT(x) OVER (PARTITION BY g)"
            " FROM (VALUES (1, 1), (1, 3), (2, 5)) AS v(g, x) ORDER BY g, x",
            [[1, 0.25], [1, 0.75], [2, 1.0]],
            "r_WF_RATIO_TO_REPORT.html",
        ),
        # r_WF_MEDIAN: winsales sellers 1 (qty 10, 10, 30) and 2 (20, 20) have medians 10.0 and 20.0;
        # NULLs are ignored.
        (
            "SELECT sellerid, qty, MEDIAN(qty) OVER (PARTITION BY sellerid) FROM"
            " (VALUES (1, 10), (1, 10), (1, 30), (2, 20), (2, 20), (2, NULL)) AS winsales(sellerid, qty)"
            " ORDER BY sellerid, qty",
            [
                [1, 10, "10.0"],
                [1, 10, "10.0"],
                [1, 30, "10.0"],
                [2, 20, "20.0"],
                [2, 20, "20.0"],
                [2, None, "20.0"],
            ],
            "r_WF_MEDIAN.html",
        ),
        ("SELECT 2 AS a, a * 10 AS b, b + 1 AS c", [[2, 20, 21]], "r_SELECT_list.html"),
        # DATEDIFF / DATEADD on TIME with a bare part (boundaries crossed; TIME wraps at midnight).
        (
            "SELECT DATEDIFF(hour, TIME '10:59', TIME '12:30'), DATEADD(minute, 5, TIME '23:58:00')",
            [[2, "00:03:00"]],
            "r_DATEADD_function.html",
        ),
        # NVARCHAR / NCHAR are VARCHAR / CHAR: LEN ignores CHAR's trailing blanks.
        (
            "SELECT CAST('abc' AS NVARCHAR(5)), LEN(CAST('ab' AS NCHAR(4)))",
            [["abc", 2]],
            "r_Character_types.html",
        ),
        ("SELECT 'it\\'s' AS s", [["it's"]], "r_patternmatching_condition_like.html"),
    ],
)
def test_translated_sql_gives_redshift_answer(
    redshift_data: Any, sql: str, expected: list[list[Any]], source: str
) -> None:
    """The Redshift page for each case is ``_DG + source``."""
    assert (_DG + source).startswith("https://docs.aws.amazon.com/redshift/")
    assert records(redshift_data, sql) == expected


def test_redshift_ddl_runs_with_redshift_semantics(redshift_data: Any, warehouse: Warehouse) -> None:
    result = run(
        redshift_data,
        'CREATE TABLE ddl_t (id BIGINT IDENTITY(0, 1), k INT PRIMARY KEY, "Name" NVARCHAR(MAX), s SUPER)'
        " DISTSTYLE EVEN SORTKEY(k)",
        'INSERT INTO ddl_t (k, "Name", s)'
        " VALUES (1, 'a', '{\"a\": {\"b\": 7}, \"n\": \"x\"}'), (1, 'b', '[5, 6]')",
        "ANALYZE ddl_t PREDICATE COLUMNS",
        Database=DB,
    )
    assert result["Status"] == "FINISHED", result.get("Error")
    # IDENTITY(0, 1) starts at 0; the primary key is informational, so the duplicate loads.
    rows = records(redshift_data, "SELECT id, k, name FROM ddl_t ORDER BY id")
    assert rows == [[0, 1, "a"], [1, 1, "b"]]
    assert records(redshift_data, "SELECT CAST(s.a.b AS INT) FROM ddl_t WHERE s.n = 'x'") == [[7]]
    assert records(redshift_data, "SELECT CAST(s[1] AS INT) FROM ddl_t WHERE k = 1 AND id = 1") == [[6]]
    added = run(
        redshift_data,
        "ALTER TABLE ddl_t ADD CONSTRAINT ddl_u UNIQUE (name)",
        "INSERT INTO ddl_t (k, name) VALUES (2, 'a')",  # a duplicate of the informational key
        "ALTER TABLE ddl_t DROP CONSTRAINT ddl_u",
        "SET enable_case_sensitive_identifier TO false",
        Database=DB,
    )
    assert added["Status"] == "FINISHED", added.get("Error")
    comment = query(warehouse, "SELECT obj_description('ddl_t'::regclass)", DB)[0][0]
    assert "k PRIMARY KEY" in comment and "CONSTRAINT ddl_u UNIQUE (name)" in comment
    assert "not enforced" in comment


def test_bare_identity_numbers_rows_from_one(redshift_data: Any) -> None:
    # r_CREATE_TABLE_NEW.html: IDENTITY's seed and step; bare IDENTITY locally starts at 1, step 1.
    result = run(
        redshift_data,
        "CREATE TABLE #ids (id BIGINT IDENTITY, v INT)",
        "INSERT INTO #ids (v) VALUES (10), (20)",
        "DROP TABLE IF EXISTS ids_copy",
        "CREATE TABLE ids_copy AS SELECT id, v FROM #ids",
        Database=DB,
    )
    assert result["Status"] == "FINISHED", result.get("Error")
    assert records(redshift_data, "SELECT id, v FROM ids_copy ORDER BY id") == [[1, 10], [2, 20]]


def test_temp_tables_and_truncate_commit(redshift_data: Any, warehouse: Warehouse) -> None:
    run(redshift_data, "CREATE TABLE kept (v INT)", "CREATE TABLE emptied (v INT)", Database=DB)
    result = run(
        redshift_data,
        "CREATE TABLE #stage (v INT)",
        "INSERT INTO #stage VALUES (1), (2)",
        "INSERT INTO kept SELECT v FROM #stage",
        "TRUNCATE emptied",  # commits the transaction in Redshift (r_TRUNCATE.html)
        "SELECT 1 / 0",
        Database=DB,
    )
    assert result["Status"] == "FAILED"
    # The failure rolls back only what followed TRUNCATE: the rows inserted before it stay.
    assert query(warehouse, "SELECT v FROM kept ORDER BY v", DB) == [(1,), (2,)]


def test_a_failing_translated_statement_shows_what_ran(redshift_data: Any) -> None:
    desc = execute(redshift_data, "SELECT NVL(no_such_column, 0) FROM (SELECT 1 AS a) AS v", Database=DB)

    assert desc["Status"] == "FAILED"
    error = desc["Error"]
    assert error.startswith('ERROR: column "no_such_column" does not exist')
    assert "original: SELECT NVL(no_such_column, 0)" in error
    assert "ran on PostgreSQL: SELECT COALESCE(no_such_column, 0)" in error
    assert len(error) < 1000
    untouched = execute(redshift_data, "SELECT no_such_column", Database=DB)
    assert "ran on PostgreSQL" not in untouched["Error"]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # query-super.html "Unnesting queries": one row per element of the c_orders array.
        (
            "SELECT c.c_name, CAST(o.o_orderstatus AS VARCHAR) FROM super_customers AS c, c.c_orders AS o"
            " ORDER BY 1, 2",
            [["ann", "F"], ["ann", "O"], ["bob", "O"]],
        ),
        # ... with AT: the element's 0-based index; an empty array gives no rows.
        (
            "SELECT c.c_name, i, CAST(o.o_totalprice AS VARCHAR)"
            " FROM super_customers AS c, c.c_orders AS o AT i WHERE i = 0 ORDER BY 1",
            [["ann", 0, "12.5"], ["bob", 0, "7"]],
        ),
        # A navigation compared with a number compares numbers.
        (
            "SELECT c.c_name FROM super_customers AS c, c.c_orders AS o WHERE o.o_totalprice > 10",
            [["ann"]],
        ),
        # "Object unpivoting": one row per attribute, name AT attr.
        (
            "SELECT c.c_name, attr, CAST(val AS VARCHAR)"
            " FROM super_customers AS c, UNPIVOT c.c_info AS val AT attr"
            " WHERE c.c_name = 'ann' ORDER BY attr",
            [["ann", "city", "Oslo"], ["ann", "tier", "gold"]],
        ),
    ],
)
def test_super_unnesting_and_unpivoting(redshift_data: Any, sql: str, expected: list[list[Any]]) -> None:
    created = run(
        redshift_data,
        "DROP TABLE IF EXISTS super_customers",
        "CREATE TABLE super_customers (c_name VARCHAR(10), c_orders SUPER, c_info SUPER)",
        "INSERT INTO super_customers VALUES"
        ' (\'ann\', JSON_PARSE(\'[{"o_orderstatus": "O", "o_totalprice": 12.5}, {"o_orderstatus": "F"}]\'),'
        '  JSON_PARSE(\'{"city": "Oslo", "tier": "gold"}\')),'
        " ('bob', JSON_PARSE('[{\"o_orderstatus\": \"O\", \"o_totalprice\": 7}]'), JSON_PARSE('{}')),"
        " ('cy', JSON_PARSE('[]'), JSON_PARSE('\"not an object\"'))",
        Database=DB,
    )
    assert created["Status"] == "FINISHED", created.get("Error")
    assert records(redshift_data, sql) == expected


def test_unpivot_without_a_value_name_is_refused_by_name(redshift_data: Any) -> None:
    desc = execute(redshift_data, "SELECT * FROM super_customers AS c, UNPIVOT c.c_info", Database=DB)
    assert desc["Status"] == "FAILED"
    assert "UNPIVOT" in desc["Error"]
