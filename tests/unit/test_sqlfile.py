"""SQL file loading refuses unsafe or oversized input before anything is submitted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rsbatch_core.errors import SqlFileError
from rsbatch_core.sqlfile import MAX_SQL_BYTES, load_batch, split_statements


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "sql"
    root.mkdir()
    (root / "ok.sql").write_text("SELECT 1;\n-- trailing comment\nSELECT 'a;b';\n", "utf-8")
    return root


def test_loads_and_splits_the_seed_query(sql_root: Path) -> None:
    batch = load_batch("query.sql", sql_root)
    assert len(batch.statements) == 2
    assert "DELETE FROM public.mart_customer_summary" in batch.statements[0]
    assert "COUNT(DISTINCT order_id)" in batch.statements[1]


def test_split_keeps_semicolons_in_quotes_and_dollar_bodies() -> None:
    text = "SELECT 'x;y';\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n;;\n-- only\n"
    statements = split_statements(text)
    assert len(statements) == 2
    assert "$$ SELECT 1; $$" in statements[1]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../secret.sql", "'..'"),
        ("a/../../secret.sql", "'..'"),
        ("/etc/passwd.sql", "relative"),
        ("C:/x.sql", "relative"),
        ("", "required"),
        ("missing.sql", "not found"),
        ("ok.txt", ".sql"),
        ("x" * 600 + ".sql", "not a usable name"),
    ],
)
def test_refuses_bad_names(root: Path, name: str, reason: str) -> None:
    with pytest.raises(SqlFileError, match=reason):
        load_batch(name, root)


def test_refuses_symlink_out_of_root(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.sql"
    outside.write_text("SELECT 1;", "utf-8")
    os.symlink(outside, root / "link.sql")
    with pytest.raises(SqlFileError, match="outside the SQL root"):
        load_batch("link.sql", root)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "no SQL statements"),
        (b"-- just a comment\n/* and another */\n", "no SQL statements"),
        (b"SELECT '\xff\xfe';", "not valid UTF-8"),
        (b"SELECT 1;" * 41, "41 statements"),
        (b"SELECT 1; -- " + b"x" * (MAX_SQL_BYTES + 1), "more than Redshift's"),
        (b"SELECT 1;" + b" " * (5 * 1024 * 1024), "more than Redshift's"),
        (b"SELECT 1;\nSELECT '\x00';", "a NUL byte on line 2"),
    ],
)
def test_refuses_bad_content(root: Path, content: bytes, reason: str) -> None:
    (root / "bad.sql").write_bytes(content)
    with pytest.raises(SqlFileError, match=reason):
        load_batch("bad.sql", root)


def test_forty_statements_is_the_limit(root: Path) -> None:
    (root / "forty.sql").write_text("SELECT 1;" * 40, "utf-8")
    assert len(load_batch("forty.sql", root).statements) == 40
