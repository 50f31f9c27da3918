"""`rsbatch pipeline list | validate | graph` as a user runs them: a subprocess, exit codes, output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RSBATCH = str(Path(sys.executable).parent / "rsbatch")


def rsbatch(*args: str, pipelines: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSBATCH_")}
    env["RSBATCH_SQL_ROOT"] = str(ROOT / "sql")
    env["RSBATCH_PIPELINE_ROOT"] = str(pipelines or ROOT / "pipelines")
    return subprocess.run([RSBATCH, *args], capture_output=True, text=True, timeout=60, env=env, check=False)


def test_validate_exits_2_naming_the_cycle_and_the_unknown_file(tmp_path: Path) -> None:
    (tmp_path / "loop.yaml").write_text(
        "steps:\n  a: {sql: query.sql, after: [b]}\n  b: {sql: query.sql, after: [a]}\n"
    )
    (tmp_path / "lost.yaml").write_text("steps:\n  a: {sql: nowhere.sql}\n")
    done = rsbatch("pipeline", "validate", pipelines=tmp_path)
    assert done.returncode == 2
    assert f"{tmp_path.name}/loop.yaml: steps.a.after: a cycle: a → b → a" in done.stderr
    assert (
        f"{tmp_path.name}/lost.yaml: steps.a.sql: sql_file 'nowhere.sql' not found under the SQL root"
        in done.stderr
    )
    listed = rsbatch("pipeline", "list", "--json", pipelines=tmp_path)
    assert listed.returncode == 2
    assert sorted(p["name"] for p in json.loads(listed.stdout)["invalid"]) == ["loop", "lost"]


def test_validate_and_list_the_example() -> None:
    done = rsbatch("pipeline", "validate", "mart_refresh")
    assert done.returncode == 0, done.stderr
    assert "mart_refresh: valid (4 steps, 3 levels)" in done.stdout
    listed = json.loads(rsbatch("pipeline", "list", "--json").stdout)
    assert [p["name"] for p in listed["pipelines"]] == ["mart_refresh"]
    assert listed["pipelines"][0]["schedule"][0]["timezone"] == "Europe/Paris"


def test_graph_prints_levels_and_a_mermaid_flowchart() -> None:
    done = rsbatch("pipeline", "graph", "mart_refresh")
    assert done.returncode == 0, done.stderr
    assert "level 2\n  stage_orders → mart_customers" in done.stdout
    assert "  mart_customers, mart_daily_sales → summary" in done.stdout
    mermaid = rsbatch("pipeline", "graph", "mart_refresh", "--mermaid").stdout
    assert mermaid.startswith("```mermaid\nflowchart LR\n")
    assert "    s_stage_orders --> s_mart_customers\n" in mermaid
    assert "    s_mart_daily_sales --> s_summary\n" in mermaid
    assert mermaid.rstrip().endswith("```")
    assert mermaid.strip() in (ROOT / "README.md").read_text("utf-8"), "README's graph is the example's"
    edges = json.loads(rsbatch("pipeline", "graph", "mart_refresh", "--json").stdout)["edges"]
    assert ["mart_daily_sales", "summary"] in edges


def test_an_unknown_pipeline_exits_2_with_the_closest_name() -> None:
    done = rsbatch("pipeline", "graph", "mart_refrsh")
    assert done.returncode == 2
    assert "unknown pipeline 'mart_refrsh'" in done.stderr
    assert "did you mean 'mart_refresh'?" in done.stderr
