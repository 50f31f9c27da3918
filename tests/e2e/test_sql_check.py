"""`rsbatch sql check` as a user runs it: a subprocess, real files, exit codes and --json."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.e2e.conftest import ROOT, RSBATCH

REDSHIFT_BATCH = """\
-- what a Redshift user writes
SELECT 1;
SELECT g, RATIO_TO_REPORT(x) OVER (PARTITION BY g) FROM t QUALIFY ROW_NUMBER() OVER (ORDER BY x) = 1;
CREATE TABLE #stage (id BIGINT IDENTITY(0, 1), name NVARCHAR(20)) DISTSTYLE EVEN;
UNLOAD ('SELECT 1') TO 's3://bucket/p' IAM_ROLE 'arn:aws:iam::123456789012:role/r';
"""


def sql_check(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSBATCH_")}  # the default SQL root
    return subprocess.run(
        [RSBATCH, "sql", "check", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_each_statement_is_verbatim_translated_or_refused(tmp_path: Path) -> None:
    batch = tmp_path / "batch.sql"
    batch.write_text(REDSHIFT_BATCH, encoding="utf-8")

    result = sql_check(str(batch))

    assert result.returncode == 1  # one statement is refused
    out = result.stdout
    assert f"{batch} #1: verbatim" in out
    assert f"{batch} #2: translated" in out and "+++ postgresql" in out
    assert "(CAST(x AS DOUBLE PRECISION) / SUM(x) OVER (PARTITION BY g))" in out and "WHERE _w = 1" in out
    assert 'CREATE TEMP TABLE "#stage"' in out and "MINVALUE 0" in out
    assert f"{batch} #4: refused: UNLOAD is Redshift-only" in out
    assert out.rstrip().endswith("1 verbatim, 2 translated, 1 refused")


def test_json_document_and_a_clean_file_exits_zero() -> None:
    result = sql_check("query.sql", "--json")  # found under the SQL root, like `rsbatch run`

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["counts"] == {"verbatim": 2, "translated": 0, "refused": 0}
    assert [s["status"] for s in document["statements"]] == ["verbatim", "verbatim"]


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    result = sql_check(str(tmp_path / "nope.sql"))

    assert result.returncode == 2
    assert "nope.sql" in result.stderr and result.stdout == ""


def test_help_shows_an_example() -> None:
    result = subprocess.run([RSBATCH, "sql", "check", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "rsbatch sql check sql/query.sql" in result.stdout
