"""Hostile SQL files and names through `rsbatch run --local`: exit 2, one clear line, nothing started."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, RSBATCH

CASES: dict[str, tuple[bytes | None, str]] = {
    "empty.sql": (b"", "no SQL statements"),
    "comments.sql": (b"-- nothing\n/* at all */\n", "no SQL statements"),
    "latin1.sql": (b"SELECT 'caf\xe9';", "not valid UTF-8"),
    "forty_one.sql": (b"SELECT 1;\n" * 41, "41 statements"),
    "huge.sql": (b"SELECT 1;\n" + b"-- padding\n" * (5 * 1024 * 1024 // 11), "more than Redshift's"),
    "../outside.sql": (None, "'..'"),
    "/etc/passwd.sql": (None, "relative"),
    "link.sql": (None, "outside the SQL root"),
    "nope.sql": (None, "not found"),
    "nul.sql": (b"SELECT 1;\nSELECT '\x00';\n", "a NUL byte on line 2"),
}


@pytest.fixture(scope="module")
def sql_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("hostile")
    root = base / "sql"
    root.mkdir()
    for name, (content, _) in CASES.items():
        if content is not None:
            (root / name).write_bytes(content)
    (base / "outside.sql").write_text("SELECT 1;", "utf-8")
    os.symlink(base / "outside.sql", root / "link.sql")
    return root


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_sql_file_exits_2_before_anything_starts(sql_root: Path, tmp_path: Path, name: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RSBATCH_"))}
    env |= {"RSBATCH_SQL_ROOT": str(sql_root), "RSBATCH_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [RSBATCH, "run", name, "--local"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result
    assert CASES[name][1] in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home").exists()  # no stack was started, so nothing was submitted


def test_oversized_run_name_is_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RSBATCH_"))}
    env |= {"RSBATCH_TABLE": "t", "RSBATCH_FUNCTION": "f"}
    result = subprocess.run(
        [RSBATCH, "start", "query.sql", "--name", "n" * 65], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2 and "1-64 characters" in result.stderr


def test_a_chain_longer_than_the_function_takes_is_refused_before_start(tmp_path: Path) -> None:
    files = [f"q{i}.sql" for i in range(11)]
    done = subprocess.run(
        [RSBATCH, "start", *files],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none")},
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "a chain takes at most 10" in done.stderr
