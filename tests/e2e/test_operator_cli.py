"""The operator CLI as a user runs it, against `rsbatch local up` in another process."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.timeout(300)


def _items(cli: Cli, runs: list[str]) -> list[dict[str, Any]]:
    registry = cli.registry()
    return [registry.get(r, {}) for r in runs]


def test_local_up_prints_every_variable_a_second_terminal_needs(local_up: Cli) -> None:
    for key in (
        "AWS_ENDPOINT_URL_REDSHIFT_DATA",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_LAMBDA",
        "RSBATCH_TABLE",
        "RSBATCH_FUNCTION",
    ):
        assert local_up.env[key]


def test_waiting_runs_are_listed_then_cancelled_failed_and_succeeded(local_up: Cli) -> None:
    runs = [local_up.json("start", "examples/sleep.sql")["run"] for _ in range(3)]
    local_up.wait_for(lambda: all(item.get("statement_id") for item in _items(local_up, runs)))

    listed = {r["run_key"]: r for r in local_up.json("runs", "--status", "WAITING")}
    assert set(runs) <= listed.keys()
    table = local_up("runs")
    assert table.returncode == 0 and runs[0] in table.stdout and "WAITING" in table.stdout

    cancelled, failed, succeeded = runs
    assert local_up("cancel", cancelled).returncode == 0
    assert local_up("fail", failed, "--message", "source data late").returncode == 0
    refused = local_up("succeed", succeeded)  # its statement is still running
    assert refused.returncode == 1 and "not FINISHED" in refused.stderr
    assert local_up("succeed", succeeded, "--force", "--result", '{"checked_by": "ana"}').returncode == 0

    local_up.wait_for(
        lambda: all(item.get("status") not in (None, "WAITING") for item in _items(local_up, runs))
    )
    final = local_up.registry()
    assert final[cancelled]["status"] == "FAILED"
    assert "aborted" in final[cancelled]["error"]
    assert final[failed]["error"] == "source data late"
    assert final[failed]["resumed_by"] == "operator"
    assert final[succeeded]["status"] == "SUCCEEDED"

    again = local_up("succeed", succeeded)
    assert again.returncode == 1 and "not WAITING" in again.stderr


def test_starting_the_same_name_twice_gives_one_run(local_up: Cli) -> None:
    first = local_up.json("start", "query.sql", "--name", "mart-2026-11-27")
    second = local_up("start", "query.sql", "--name", "mart-2026-11-27")
    assert second.returncode == 0
    assert "already started" in second.stdout and first["run"] in second.stdout
    matching = [r for r in local_up.json("runs") if r["run_key"] == first["run"]]
    assert len(matching) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "rsbatch-doesnotexist"), "no run matches"),
        (("succeed", "rsbatch-doesnotexist"), "no run matches"),
        (("runs", "--bogus"), "No such option"),
        (("run", "missing.sql", "--local"), "not found"),
        (("run", "../etc/passwd.sql", "--local"), "'..'"),
        (("runs", "--since", "yesterday"), "bad duration"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(local_up: Cli, args: tuple[str, ...], message: str) -> None:
    result = local_up(*args)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_help_has_examples_for_every_command(local_up: Cli) -> None:
    for command in ("run", "start", "runs", "show", "logs", "succeed", "fail", "reconcile", "cancel"):
        result = local_up(command, "--help")
        assert result.returncode == 0 and "Example" in result.stdout, command
