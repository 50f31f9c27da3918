"""SQL files as a user types them (tab completion, `./`, absolute, outside the SQL root), end to end."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, RSBATCH, Cli, _base_env

pytestmark = pytest.mark.timeout(300)


def _started_file(cli: Cli, *args: str, cwd: Path = ROOT) -> str:
    """Start a run and return the SQL file its registry item records (what the function read)."""
    result = cli("start", *args, "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)["run"]
    cli.wait_for(lambda: bool(cli.run_status(run).get("sql_file")))
    return str(cli.run_status(run)["sql_file"])


@pytest.mark.parametrize(
    ("typed", "cwd"),
    [
        ("query.sql", ROOT),  # a name under the SQL root, as before
        ("sql/query.sql", ROOT),  # what tab completion gives in the repo
        ("./sql/query.sql", ROOT),
        (str(ROOT / "sql" / "query.sql"), Path("/")),
        ("../query.sql", ROOT / "sql" / "examples"),
        ("query.sql", ROOT / "sql"),
    ],
)
def test_every_way_of_writing_a_file_in_the_sql_root_runs_that_file(
    local_up: Cli, typed: str, cwd: Path
) -> None:
    assert _started_file(local_up, typed, cwd=cwd) == "query.sql"


def test_an_unknown_name_suggests_the_closest_existing_ones(local_up: Cli) -> None:
    result = local_up("start", "examples/sleep_on.sql")
    assert result.returncode == 2
    assert "not found" in result.stderr and "did you mean examples/sleep_one.sql" in result.stderr
    assert "relative to" in result.stderr and "Traceback" not in result.stderr
    by_file_name = local_up("run", "quey.sql", "--local")
    assert by_file_name.returncode == 2 and "did you mean query.sql?" in by_file_name.stderr


def test_a_file_outside_the_sql_root_is_uploaded_by_content_and_run(local_up: Cli, tmp_path: Path) -> None:
    text = "SELECT count(*) AS n FROM public.orders;\n"
    (tmp_path / "mine.sql").write_text(text, "utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()

    uri = _started_file(local_up, "mine.sql", cwd=tmp_path)
    assert uri == f"s3://rsbatch-local-sql/rsbatch-uploads/{digest}.sql"
    stored = Path(local_up.env["RSBATCH_HOME"]) / "s3" / "rsbatch-local-sql" / "rsbatch-uploads"
    assert (stored / f"{digest}.sql").read_text("utf-8") == text
    again = _started_file(local_up, str(tmp_path / "mine.sql"))  # the same content: the same object
    assert again == uri and len(list(stored.iterdir())) == 1

    runs = [r for r in local_up.json("runs")["runs"] if r["sql_file"] == uri]
    local_up.wait_for(lambda: all(local_up.run_status(r["run_key"])["status"] == "SUCCEEDED" for r in runs))


def test_an_outside_file_without_a_sql_bucket_is_refused_before_anything_starts(
    local_up: Cli, tmp_path: Path
) -> None:
    (tmp_path / "mine.sql").write_text("SELECT 1;", "utf-8")
    before = len(local_up.json("runs")["runs"])
    env = {k: v for k, v in local_up.env.items() if k != "RSBATCH_SQL_BUCKET"}
    result = local_up("start", "mine.sql", cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert "no SQL bucket is configured" in result.stderr and "SqlBucket" in result.stderr
    assert len(local_up.json("runs")["runs"]) == before


def test_run_local_runs_a_file_outside_the_sql_root(tmp_path: Path) -> None:
    (tmp_path / "count.sql").write_text("SELECT count(*) AS n FROM public.orders;\n", "utf-8")
    env = _base_env(tmp_path / "home")
    done = subprocess.run(
        [RSBATCH, "run", "count.sql", "--local", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "SUCCEEDED"
    assert report["result"]["columns"] == ["n"]
