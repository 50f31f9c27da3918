"""The Redshift constructs of issue 13, one by one: each is translated, or refused by name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlglot

from rsbatch.local.dialect import UnsupportedSql, commits_implicitly, to_postgres, translate
from rsbatch.local.dialect import provided as provided_module


@pytest.fixture
def without_compat(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shim's own rules, as when the compat layer is absent (with it, DATEADD & co. are called)."""
    monkeypatch.setattr(provided_module, "compat_entries", lambda: ())
    provided_module.provided.cache_clear()
    yield
    provided_module.provided.cache_clear()


pytestmark = pytest.mark.usefixtures("without_compat")


def assert_postgres_parses(sql: str) -> None:
    for statement in sqlglot.parse(sql, read="postgres"):
        assert statement is not None


@pytest.mark.parametrize(
    ("redshift", "postgres"),
    [
        (
            "SELECT a FROM t QUALIFY ROW_NUMBER() OVER (PARTITION BY g ORDER BY a) = 1",
            "SELECT a FROM (SELECT a, ROW_NUMBER() OVER (PARTITION BY g ORDER BY a) AS _w FROM t) AS _t"
            " WHERE _w = 1",
        ),
        ("SELECT CONVERT(integer, '12')", "SELECT CAST('12' AS INT)"),
        ("SELECT DATE_PART(minute, ts) FROM t", "SELECT DATE_PART('minute', ts) FROM t"),
        ("SELECT DATE_TRUNC(Month, ts) FROM t", "SELECT DATE_TRUNC('month', ts) FROM t"),
        (
            "SELECT g, RATIO_TO_REPORT(x) OVER (PARTITION BY g) FROM t",
            "SELECT g, (CAST(x AS DOUBLE PRECISION) / SUM(x) OVER (PARTITION BY g)) FROM t",
        ),
        ("SELECT a + 1 AS b, b * 2 AS c FROM t", "SELECT a + 1 AS b, (a + 1) * 2 AS c FROM t"),
        ("SELECT a AS b FROM t ORDER BY b", "SELECT a AS b FROM t ORDER BY b"),  # PostgreSQL's own
        ('SELECT "MyCol" AS "Total" FROM t', 'SELECT "mycol" AS "total" FROM t'),
        ("SELECT 'it\\'s', 'a\\\\b'", "SELECT E'it\\'s', E'a\\\\b'"),
        ("ANALYZE t PREDICATE COLUMNS", "ANALYZE t"),
        ("ANALYZE t ALL COLUMNS", "ANALYZE t"),
        ("CREATE TABLE #stage (a INT)", 'CREATE TEMP TABLE "#stage" (a INT)'),
        ("SELECT a INTO #Stage FROM t", 'SELECT a INTO TEMP "#stage" FROM t'),
        (
            "SELECT * FROM #s JOIN t ON t.a = #s.a WHERE t.x # 3 = 1",
            'SELECT * FROM "#s" JOIN t ON t.a = "#s".a WHERE t.x # 3 = 1',
        ),
        ("SELECT c.a.b, c[0] FROM t", "SELECT (c -> 'a' -> 'b') AS b, (c -> 0) FROM t"),
        (
            "SELECT o.c.a FROM t AS o WHERE o.c.name = 'x'",
            "SELECT (o.c -> 'a') AS a FROM t AS o WHERE (o.c ->> 'name') = 'x'",
        ),
        (  # a subquery's alias qualifies a column; the navigation keeps its name through QUALIFY
            "SELECT sq.a, s.x.y FROM (SELECT 1 AS a) sq, s QUALIFY 1 = 1",
            "SELECT a, y FROM (SELECT sq.a, (s.x -> 'y') AS y FROM (SELECT 1 AS a) AS sq, s) AS _t"
            " WHERE 1 = 1",
        ),
        ("SELECT COLLATE(name, 'case_sensitive') FROM t", 'SELECT (name COLLATE "default") FROM t'),
        (
            "SET enable_case_sensitive_identifier TO off",
            "SET rsbatch.enable_case_sensitive_identifier TO off",
        ),
        ("SELECT CAST(c[1].id AS VARCHAR) FROM t", "SELECT CAST(((c -> 1) ->> 'id') AS VARCHAR) FROM t"),
        (  # PartiQL unnesting: one row per element, AT its 0-based index
            "SELECT x.id, e.k, i FROM t AS x, x.arr AS e AT i",
            "SELECT x.id, (e -> 'k') AS k, i FROM t AS x, LATERAL (SELECT value AS e, ordinality - 1 AS i"
            " FROM jsonb_array_elements(CASE WHEN jsonb_typeof(x.arr) = 'array' THEN x.arr"
            " ELSE '[]'::jsonb END) WITH ORDINALITY) AS _unnest_e",
        ),
        (
            "SELECT CAST(o AS VARCHAR) FROM t c, c.a.b o",
            "SELECT CAST((o #>> '{}') AS VARCHAR) FROM t AS c, LATERAL (SELECT value AS o"
            " FROM jsonb_array_elements(CASE WHEN jsonb_typeof((c.a -> 'b')) = 'array' THEN (c.a -> 'b')"
            " ELSE '[]'::jsonb END)) AS _unnest_o",
        ),
        (  # compared with a number: the number as jsonb (numbers order numerically)
            "SELECT c.id FROM t AS c WHERE c.s.n > 10 AND c.s.m = -2.5",
            "SELECT c.id FROM t AS c WHERE (c.s -> 'n') > '10'::jsonb AND (c.s -> 'm') = '-2.5'::jsonb",
        ),
        (  # PartiQL object unpivoting: one row per attribute
            "SELECT k, v FROM t AS c, UNPIVOT c.obj AS v AT k",
            "SELECT k, v FROM t AS c, LATERAL (SELECT value AS v, key AS k FROM jsonb_each(CASE"
            " WHEN jsonb_typeof(c.obj) = 'object' THEN c.obj ELSE '{}'::jsonb END)) AS _unpivot_v",
        ),
    ],
)
def test_construct_is_translated(redshift: str, postgres: str) -> None:
    out = to_postgres(redshift)
    assert out == postgres
    assert_postgres_parses(out)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT p.id, p.name FROM public.people AS p JOIN orders o ON o.pid = p.id",
        "SELECT people.id FROM public.people",
        "INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET v = excluded.v",
        "SELECT x::int AS n, CAST(y AS int) AS m FROM t",
        "SELECT a # b FROM t",
        "SELECT convert('text', 'UTF8', 'LATIN1')",
        "TRUNCATE t",
        "ALTER TABLE t ADD COLUMN nchar INT",
        "SELECT x AS super FROM t",
        "SELECT * FROM public.a, public.b",
        "SELECT * FROM a x, b y WHERE x.i = y.i",
    ],
)
def test_postgres_forms_that_look_alike_stay_verbatim(sql: str) -> None:
    assert to_postgres(sql) == sql


def test_median_window_is_the_middle_of_the_sorted_partition() -> None:
    out = to_postgres("SELECT g, MEDIAN(x) OVER (PARTITION BY g) FROM t")

    window = "(ARRAY_AGG(x) FILTER (WHERE x IS NOT NULL) OVER (PARTITION BY g ORDER BY x"
    assert window in out and "PERCENTILE_CONT" not in out
    assert_postgres_parses(out)
    with pytest.raises(UnsupportedSql, match="MEDIAN"):
        to_postgres("SELECT MEDIAN(x) OVER (PARTITION BY g ORDER BY x) FROM t")


@pytest.mark.parametrize(
    ("ddl", "identity"),
    [
        ("CREATE TABLE t (id BIGINT IDENTITY(0,1))", "(START WITH 0 INCREMENT BY 1 MINVALUE 0)"),
        ("CREATE TABLE t (id BIGINT IDENTITY(-5, 2))", "(START WITH -5 INCREMENT BY 2 MINVALUE -5)"),
        ("CREATE TABLE t (id BIGINT IDENTITY(0, -1))", "(START WITH 0 INCREMENT BY -1 MAXVALUE 0)"),
        ("CREATE TABLE t (id BIGINT IDENTITY, a INT)", "(START WITH 1 INCREMENT BY 1)"),
    ],
)
def test_identity_seeds_below_postgres_minimum_get_their_bound(ddl: str, identity: str) -> None:
    assert f"GENERATED BY DEFAULT AS IDENTITY {identity}" in to_postgres(ddl)


def test_national_and_super_types_map_to_postgres_types() -> None:
    out = to_postgres("CREATE TABLE t (a NVARCHAR(20), b NCHAR(2), c NVARCHAR(MAX), s SUPER)")
    assert out == "CREATE TABLE t (a VARCHAR(20), b CHAR(2), c VARCHAR(65535), s JSONB)"
    assert (
        to_postgres("SELECT CAST(x AS NVARCHAR(5)), y::nchar(1)")
        == "SELECT CAST(x AS VARCHAR(5)), y::CHAR(1)"
    )


def test_constraints_are_cut_and_recorded_as_a_comment() -> None:
    translation = translate(
        "CREATE TABLE s.t (id INT PRIMARY KEY, email VARCHAR(20) UNIQUE NOT NULL,"
        " u INT REFERENCES s.u(id), CONSTRAINT fk FOREIGN KEY (u) REFERENCES s.u (id), PRIMARY KEY (id))"
    )

    ddl, comment = translation.sql.split(";\n")
    assert ddl == "CREATE TABLE s.t (id INT, email VARCHAR(20) NOT NULL, u INT)"
    assert comment == (
        "COMMENT ON TABLE s.t IS 'Redshift informational constraints (created, not enforced):"
        " id PRIMARY KEY; email UNIQUE; u REFERENCES s.u(id);"
        " CONSTRAINT fk FOREIGN KEY (u) REFERENCES s.u (id); PRIMARY KEY (id)'"
    )
    assert any("informational" in note for note in translation.notes)


def test_alter_table_constraints_are_recorded_not_created() -> None:
    added = translate('ALTER TABLE "S".t ADD CONSTRAINT pk PRIMARY KEY (id);')

    assert added.sql.startswith("""DO $rsbatch$ BEGIN EXECUTE format('COMMENT ON TABLE %s IS %L', '"s".t',""")
    assert """obj_description('"s".t'::regclass, 'pg_class')""" in added.sql
    assert "(created, not enforced): CONSTRAINT pk PRIMARY KEY (id)')); END $rsbatch$;" in added.sql
    assert to_postgres("ALTER TABLE #t DROP CONSTRAINT pk") == 'ALTER TABLE "#t" DROP CONSTRAINT IF EXISTS pk'
    assert to_postgres("ALTER TABLE t ADD COLUMN c INT") == "ALTER TABLE t ADD COLUMN c INT"


def test_truncate_is_known_to_commit() -> None:
    assert commits_implicitly("truncate table t") and translate("TRUNCATE t").commits
    assert not commits_implicitly("DELETE FROM t")


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("ANALYZE COMPRESSION t", "ANALYZE COMPRESSION"),
        ("CREATE TABLE t (a VARCHAR(9) COLLATE case_insensitive)", "COLLATE case_insensitive"),
        ("SELECT RATIO_TO_REPORT(x, y) OVER () FROM t", "RATIO_TO_REPORT"),
        ("SET enable_case_sensitive_identifier TO true", "enable_case_sensitive_identifier"),
        ("SELECT COLLATE(a, 'case_insensitive') FROM t", "COLLATE case_insensitive"),
        ("SELECT * FROM t AS c, UNPIVOT c.obj", "UNPIVOT"),
    ],
)
def test_constructs_without_a_local_form_are_refused_by_name(sql: str, named: str) -> None:
    with pytest.raises(UnsupportedSql, match=named):
        to_postgres(sql)


def test_what_the_compat_layer_provides_is_called_not_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = (
        provided_module.CompatEntry("DATEADD", "function", "emulated", "", ""),
        provided_module.CompatEntry("STRTOL", "function", "supported", "", ""),
        provided_module.CompatEntry("case_insensitive", "collation", "supported", "", ""),
    )
    monkeypatch.setattr(provided_module, "compat_entries", lambda: entries)
    provided_module.provided.cache_clear()
    try:
        assert to_postgres("SELECT DATEADD(month, 1, d) FROM t") == "SELECT DATEADD('month', 1, d) FROM t"
        assert to_postgres("SELECT STRTOL('ff', 16)") == "SELECT STRTOL('ff', 16)"
        ddl = (
            "CREATE TABLE t (a VARCHAR(9) COLLATE case_insensitive, b NVARCHAR(MAX) COLLATE case_insensitive)"
        )
        assert to_postgres(ddl) == "CREATE TABLE t (a CITEXT, b CITEXT)"
        assert to_postgres("SELECT COLLATE(a, 'case_insensitive')") == "SELECT CAST(a AS CITEXT)"
        assert to_postgres("SELECT a = 'X' COLLATE case_insensitive") == "SELECT a = 'X'::CITEXT"
        assert "CAST(" in to_postgres("SELECT DATEDIFF(day, a, b) FROM t")  # not provided: rewritten
    finally:
        provided_module.provided.cache_clear()


def test_provided_calls_survive_a_statement_that_goes_through_sqlglot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LISTAGG sends the statement through sqlglot; the compat layer's calls must stay calls."""
    names = ("DATEDIFF", "DATEADD", "ADD_MONTHS", "NVL2", "STRTOL", "LAST_DAY", "DATE_PART")
    entries = tuple(provided_module.CompatEntry(n, "function", "emulated", "", "") for n in names)
    entries += (provided_module.CompatEntry("MEDIAN", "aggregate", "emulated", "", ""),)
    monkeypatch.setattr(provided_module, "compat_entries", lambda: entries)
    provided_module.provided.cache_clear()
    try:
        out = to_postgres(
            "SELECT DATEDIFF(month, a, b), DATEADD(day, 1, a), ADD_MONTHS(a, 1), NVL2(a, 1, 2),"
            " STRTOL('ff', 16), LAST_DAY(a), DATE_PART(minute, a), MEDIAN(n), LISTAGG(x) FROM t"
        )
        assert out == (
            "SELECT DATEDIFF('month', a, b), DATEADD('day', 1, a), ADD_MONTHS(a, 1), NVL2(a, 1, 2),"
            " STRTOL('ff', 16), LAST_DAY(a), DATE_PART('minute', a), MEDIAN(n),"
            " STRING_AGG(NULLIF(CAST(x AS VARCHAR), ''), '') FROM t"
        )
        assert to_postgres("SELECT MEDIAN(n) FROM t") == "SELECT MEDIAN(n) FROM t"  # not routed at all
        assert to_postgres("SELECT MEDIAN(n) OVER (PARTITION BY g) FROM t").startswith(
            "SELECT MEDIAN(n) OVER"
        )
        with pytest.raises(UnsupportedSql, match="MEDIAN"):
            to_postgres("SELECT MEDIAN(n) OVER (PARTITION BY g ORDER BY n) FROM t")
    finally:
        provided_module.provided.cache_clear()
