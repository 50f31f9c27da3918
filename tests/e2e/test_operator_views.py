"""What an operator watches, against `rsbatch local up`: a run's logs, its live progress."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, RSBATCH, Cli

pytestmark = pytest.mark.timeout(300)


def _ended(cli: Cli, run: str) -> bool:
    return cli.run_status(run).get("status") in ("SUCCEEDED", "FAILED")


def test_logs_shows_both_functions_lines_of_one_run_in_order(local_up: Cli) -> None:
    run = local_up.json("start", "examples/short_sleep.sql")["run"]
    other = local_up.json("start", "query.sql")["run"]
    local_up.wait_for(lambda: _ended(local_up, run) and _ended(local_up, other), timeout=60)

    lines: list[dict[str, Any]] = local_up.json("logs", run)
    functions = {line["function"] for line in lines}
    assert functions == {"rsbatch-durable", "rsbatch-listener"}
    messages = [line["message"] for line in lines]
    assert "batch submitted" in messages and "callback sent" in messages
    assert messages.index("batch submitted") < messages.index("callback sent")
    assert [line["timestamp"] for line in lines] == sorted(line["timestamp"] for line in lines)
    other_statement = local_up.run_status(other)["statement_id"]
    assert other_statement not in json.dumps(lines)  # nothing of the other run

    text = local_up("logs", run)
    assert text.returncode == 0 and "rsbatch-listener" in text.stdout and "callback sent" in text.stdout
    recent = local_up.json("logs", run, "--since", "1s")
    assert len(recent) < len(lines)


def test_logs_follow_prints_lines_as_they_come_and_ends_with_the_run(local_up: Cli) -> None:
    run = local_up.json("start", "examples/sleep_ten.sql")["run"]
    proc = subprocess.Popen(
        [RSBATCH, "logs", run, "--follow", "--json"],
        env=local_up.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    assert first["function"] == "rsbatch-durable"
    assert not _ended(local_up, run)  # printed while the batch still sleeps its ten seconds
    rest = [json.loads(line) for line in proc.stdout]
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    messages = [first["message"], *(line["message"] for line in rest)]
    assert "callback sent" in messages
    assert _ended(local_up, run)


def test_logs_of_an_unknown_run_is_bad_input(local_up: Cli) -> None:
    result = local_up("logs", "rsbatch-doesnotexist")
    assert result.returncode == 2 and "no run matches" in result.stderr
