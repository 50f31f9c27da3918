"""What an operator watches, against `rsbatch local up`: a run's logs, its live progress."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
from typing import Any

import pexpect
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


# -- live progress: `rsbatch run` and `rsbatch show --watch` --------------------------------

#: Three statements, the second sleeps 3 s: long enough to see "statement 2 of 3" on screen.
THREE_STEPS = "examples/three_steps.sql"


def test_run_on_a_terminal_shows_live_progress_then_the_report(local_up: Cli) -> None:
    child = pexpect.spawn(
        RSBATCH,
        ["run", THREE_STEPS, "--interval", "0.5", "--callback-timeout", "60"],
        env=local_up.env,
        cwd=str(ROOT),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
    )
    transcript = io.StringIO()
    child.logfile_read = transcript
    child.expect(r"WAITING \d+s")  # the live panel: the run's state and elapsed time
    child.expect(r"round 1 \(wait-1\): \d+s of 1m00s")  # the round's timeout (the history's)
    child.expect(r"statement 2 of 3 started, \d+s")  # Redshift's progress, while pg_sleep runs
    child.expect(r"status\s+\S*SUCCEEDED")  # the same final report as without a terminal
    child.expect(r"durable ops\s+3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    seen = transcript.getvalue()
    assert "\x1b[1A" in seen  # redrawn in place by rich (cursor up), not appended lines
    assert len(set(re.findall(r"WAITING (\d+)s", seen))) >= 2  # the elapsed time ticks


def test_run_piped_writes_plain_timestamped_lines_and_json_keeps_stdout_pure(local_up: Cli) -> None:
    result = local_up("run", THREE_STEPS, "--interval", "0.5", "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # stdout is the JSON document only
    assert report["status"] == "SUCCEEDED" and len(report["statements"]) == 3
    assert "\x1b" not in result.stderr  # no escape codes when nobody watches a terminal
    progress = [line for line in result.stderr.splitlines() if "| round 1 (wait-1): " in line]
    assert progress, result.stderr
    assert all(
        re.match(r"\d\d:\d\d:\d\d rsbatch-\S+ WAITING \d+s \| round 1 \(wait-1\): \d+s of ", line)
        for line in progress
    )
    assert any("statement 2 of 3" in line for line in progress), result.stderr


#: Two minutes of pg_sleep: still waiting however loaded the machine is when the watch starts;
#: the tests end it with `rsbatch cancel`.
LONG = "examples/sleep.sql"


def _waiting_with_statement(cli: Cli, run: str) -> bool:
    return bool(cli.run_status(run).get("statement_id"))


def test_show_watch_follows_a_started_run_to_its_end(local_up: Cli) -> None:
    run = local_up.json("start", LONG)["run"]
    local_up.wait_for(lambda: _waiting_with_statement(local_up, run), timeout=30)  # start is asynchronous
    watcher = subprocess.Popen(
        [RSBATCH, "show", run, "--watch", "--interval", "0.5"],
        env=local_up.env,
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watcher.stderr is not None
    seen = []
    for line in watcher.stderr:  # plain lines: stderr is not a terminal
        seen.append(line)
        if re.search(r"WAITING \d+s \| round 1 \(wait-1\).*statement 1 of 1 started", line):
            break
    else:
        pytest.fail("".join(seen))
    assert local_up("cancel", run).returncode == 0  # the watch follows the run to its end
    stdout, rest = watcher.communicate(timeout=60)
    assert "REDSHIFT (live)" in stdout and "FAILED" in stdout, "".join(seen) + rest
    assert _ended(local_up, run)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_watching_and_leaves_the_run_alone(local_up: Cli) -> None:
    run = local_up.json("start", LONG)["run"]
    local_up.wait_for(lambda: _waiting_with_statement(local_up, run), timeout=30)
    child = pexpect.spawn(
        RSBATCH,
        ["show", run, "--watch"],
        env=local_up.env,
        cwd=str(ROOT),
        encoding="utf-8",
        timeout=20,
        # A test run in a background job inherits SIGINT ignored; a person's terminal does not.
        preexec_fn=_default_sigint,
    )
    child.expect(r"WAITING \d+s")
    child.expect(r"statement 1 of 1 started")
    child.sendintr()
    child.expect(f"stopped watching; run {run} goes on")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert local_up.run_status(run)["status"] == "WAITING"  # still sleeping, untouched
    assert local_up("cancel", run).returncode == 0
