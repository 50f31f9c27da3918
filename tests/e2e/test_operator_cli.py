"""The operator CLI as a user runs it, against `rsbatch local up` in another process."""

from __future__ import annotations

from typing import Any

import boto3
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

    listed = {r["run_key"]: r for r in local_up.json("runs", "--status", "WAITING")["runs"]}
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
    again = local_up.json("start", "query.sql", "--name", "mart-2026-11-27")
    assert again == {**first, "new": False}
    # The same name with another input: Lambda's DurableExecutionAlreadyStartedException, nothing new.
    other = local_up("start", "query.sql", "--name", "mart-2026-11-27", "--query-group", "other")
    assert other.returncode == 1
    assert "already started" in other.stderr and first["run"] in other.stderr
    matching = [r for r in local_up.json("runs")["runs"] if r["run_key"] == first["run"]]
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


def test_show_prints_every_kept_result_by_statement_number(local_up: Cli) -> None:
    run = local_up.json("start", "examples/orders_report.sql", "--results", "all", "--csv")["run"]
    local_up.wait_for(lambda: local_up.run_status(run).get("status") == "SUCCEEDED")

    shown = local_up("show", run)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    titles = [line for line in lines if line.startswith("result of statement")]
    assert titles == ["result of statement 1", "result of statement 3", "result of statement 4"]
    assert lines[lines.index("result of statement 4") + 2] == "top 3, by amount"  # CSV: the comma kept


def _executions(cli: Cli) -> int:
    """Durable executions of the function so far (ListDurableExecutionsByFunction, every page)."""
    lambda_ = boto3.client(
        "lambda",
        endpoint_url=cli.env["AWS_ENDPOINT_URL_LAMBDA"],
        region_name="us-east-1",
        aws_access_key_id="operator",
        aws_secret_access_key="operator",
    )
    count, kwargs = 0, {"FunctionName": cli.env["RSBATCH_FUNCTION"]}
    while True:
        page = lambda_.list_durable_executions_by_function(**kwargs)
        count += len(page.get("DurableExecutions", []))
        if not page.get("NextMarker"):
            return count
        kwargs["Marker"] = page["NextMarker"]


def test_show_and_runs_start_no_execution_only_show_live_does(local_up: Cli) -> None:
    run = local_up.json("start", "examples/short_sleep.sql")["run"]
    local_up.wait_for(lambda: bool(local_up.run_status(run).get("statement_id")))
    before = _executions(local_up)

    shown = local_up.json("show", run)
    assert shown["run"]["run_key"] == run and shown["statement"] is None and not shown["live"]
    assert shown["execution"]["Status"] in ("RUNNING", "SUCCEEDED")
    by_statement = local_up.json("show", shown["run"]["statement_id"])  # the statement index
    assert by_statement["run"]["run_key"] == run
    assert run in {r["run_key"] for r in local_up.json("runs", "--since", "1h")["runs"]}
    table = local_up("show", run)
    assert table.returncode == 0 and "REDSHIFT (recorded)" in table.stdout
    assert _executions(local_up) == before  # read with the operator's own credentials

    live = local_up.json("show", run, "--live")
    assert live["statement"]["Id"] == shown["run"]["statement_id"]
    assert _executions(local_up) == before + 1  # the inspect action, run as the function


def test_runs_pages_newest_first_with_a_token(local_up: Cli) -> None:
    started = [local_up.json("start", "examples/short_sleep.sql")["run"] for _ in range(3)]
    local_up.wait_for(lambda: all(local_up.run_status(r) for r in started))
    first = local_up.json("runs", "--limit", "2")
    assert len(first["runs"]) == 2 and first["next_token"]
    second = local_up.json("runs", "--limit", "2", "--next-token", first["next_token"])
    listed = [r["run_key"] for r in first["runs"] + second["runs"]]
    assert listed[:3] == started[::-1]  # newest first, no run twice across pages
    assert len(set(listed)) == len(listed)
    stamps = [r["created_at"] for r in first["runs"] + second["runs"]]
    assert stamps == sorted(stamps, reverse=True)
    table = local_up("runs", "--limit", "2")
    assert "more: rsbatch runs --limit 2 --next-token " in table.stdout
    bad = local_up("runs", "--next-token", "not-a-token")
    assert bad.returncode == 2 and "next-page token" in bad.stderr
    other = local_up("runs", "--status", "WAITING", "--next-token", first["next_token"])
    assert other.returncode == 2 and "another listing" in other.stderr
