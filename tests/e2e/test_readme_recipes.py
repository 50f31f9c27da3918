"""The README's AWS CLI and boto3 recipes, run as written against `rsbatch local up`.

Each fenced block after a `<!-- recipe: NAME -->` comment in README.md is run
by bash (sh) or the venv's python with the variables the README names
(`CALLBACK_ID`, `EXECUTION_ARN`, `FUNCTION`) and those `local up` printed.
The AWS CLI is v1 (the `awscli` package of the dev extras); v2 is not on
PyPI, so its one differing block is checked against the v1 block instead.
Events are dropped, so nothing but these callbacks resumes a run.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Cli

pytestmark = pytest.mark.timeout(300)

LOCAL_UP_FLAGS = ("--events", "drop")
BIN = str(Path(sys.executable).parent)
RECIPE = re.compile(r"<!-- recipe: (?P<name>[\w-]+) -->\s*```(?P<lang>sh|python)\n(?P<code>.*?)```", re.S)
RECIPES = {m["name"]: (m["lang"], m["code"]) for m in RECIPE.finditer((ROOT / "README.md").read_text())}


def run_recipe(cli: Cli, name: str, **variables: str) -> subprocess.CompletedProcess[str]:
    lang, code = RECIPES[name]
    command = ["bash", "-euo", "pipefail", "-c", code] if lang == "sh" else [sys.executable, "-c", code]
    env = {**cli.env, **variables, "PATH": f"{BIN}:{cli.env.get('PATH', '')}"}
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"recipe {name}: {result.stderr}"
    return result


def started(cli: Cli, sql: str) -> dict[str, Any]:
    run: dict[str, Any] = cli.json("start", sql)
    cli.wait_for(lambda: bool(cli.run_status(run["run"]).get("statement_id")))
    return run


def callback_of(cli: Cli, run: str) -> str:
    return str(cli.run_status(run)["callback_id"])


def statement_finished(cli: Cli, run: str) -> bool:
    return bool(cli.json("show", run, "--live")["statement"]["Status"] == "FINISHED")


def ended(cli: Cli, run: str) -> dict[str, Any]:
    cli.wait_for(lambda: cli.run_status(run).get("status") not in (None, "WAITING"))
    return cli.run_status(run)


def test_every_recipe_in_the_readme_is_run_here() -> None:
    assert set(RECIPES) == {
        "wake-up",
        "person-fails",
        "person-succeeds-v1",
        "person-succeeds-v2",
        "get",
        "list-running",
        "stop",
        "boto3",
    }


def test_the_v2_recipe_is_the_v1_recipe_told_to_read_the_blob_raw() -> None:
    def words(name: str) -> list[str]:
        return shlex.split(RECIPES[name][1].replace("\\\n", " "))

    v1, v2 = words("person-succeeds-v1"), words("person-succeeds-v2")
    assert "--cli-binary-format" not in v1
    assert sorted(v2) == sorted([*v1, "--cli-binary-format", "raw-in-base64-out"])


def test_a_raw_callback_only_wakes_the_run_and_a_persons_decides(local_up: Cli) -> None:
    sleeping, finished, decided = (
        started(local_up, sql)["run"] for sql in ("examples/sleep.sql", "query.sql", "query.sql")
    )
    for run in (finished, decided):
        local_up.wait_for(functools.partial(statement_finished, local_up, run))

    # A wake-up while the statement runs: Redshift says STARTED, so the run waits again, re-armed.
    first = callback_of(local_up, sleeping)
    run_recipe(local_up, "wake-up", CALLBACK_ID=first)
    local_up.wait_for(lambda: callback_of(local_up, sleeping) != first)
    assert local_up.run_status(sleeping)["status"] == "WAITING"
    # A person's failure ends it, with their type and message; its statement is cancelled.
    run_recipe(local_up, "person-fails", CALLBACK_ID=callback_of(local_up, sleeping))
    failed = ended(local_up, sleeping)
    assert failed["status"] == "FAILED" and "source data late" in failed["error"]

    # A wake-up once the statement FINISHED: Redshift's record ends the run.
    run_recipe(local_up, "wake-up", CALLBACK_ID=callback_of(local_up, finished))
    assert ended(local_up, finished)["status"] == "SUCCEEDED"
    # A person's success (the v1 blob, as written) records their result.
    run_recipe(local_up, "person-succeeds-v1", CALLBACK_ID=callback_of(local_up, decided))
    assert ended(local_up, decided)["status"] == "SUCCEEDED"
    summary = json.loads(local_up.json("show", decided)["run"]["summary"])
    assert summary["operator_result"] == "checked by hand"


def test_executions_are_read_listed_stopped_and_failed_as_the_readme_shows(local_up: Cli) -> None:
    function = local_up.env["RSBATCH_FUNCTION"]
    run = started(local_up, "examples/sleep.sql")
    arn = run["execution_arn"]

    got = json.loads(run_recipe(local_up, "get", EXECUTION_ARN=arn).stdout)
    assert got["status"] == "RUNNING" and got["started"]
    assert arn in run_recipe(local_up, "list-running", FUNCTION=function).stdout.split()

    variables = {"EXECUTION_ARN": arn, "FUNCTION": function, "CALLBACK_ID": callback_of(local_up, run["run"])}
    printed = run_recipe(local_up, "boto3", **variables).stdout
    assert "RUNNING" in printed and "already closed" not in printed
    failed = ended(local_up, run["run"])
    assert failed["status"] == "FAILED" and "source data late" in failed["error"]
    again = run_recipe(local_up, "boto3", **variables).stdout  # the same callback, now closed
    assert "already closed" in again

    other = started(local_up, "examples/sleep.sql")
    run_recipe(local_up, "stop", EXECUTION_ARN=other["execution_arn"])
    assert (
        json.loads(run_recipe(local_up, "get", EXECUTION_ARN=other["execution_arn"]).stdout)["status"]
        == "STOPPED"
    )
    assert (
        other["execution_arn"] not in run_recipe(local_up, "list-running", FUNCTION=function).stdout.split()
    )
