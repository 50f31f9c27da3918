"""Run `rsbatch local up` as a user would, in a subprocess, and hand its variables to the tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RSBATCH = str(Path(sys.executable).with_name("rsbatch"))


class Cli:
    """`rsbatch …` in a subprocess with the local stack's variables exported."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(
        self, *args: str, timeout: float = 60, cwd: Path = ROOT, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RSBATCH, *args], env=env or self.env, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )

    def json(self, *args: str) -> Any:
        result = self(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def wait_for(self, check: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.2)

    def run_status(self, run: str) -> dict[str, Any]:
        """The registry item of one run (from `runs --json`: one call, no durable invoke)."""
        return self.registry().get(run, {})

    def registry(self) -> dict[str, dict[str, Any]]:
        return {r["run_key"]: r for r in self.json("runs", "--limit", "1000")["runs"]}


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RSBATCH_"))}
    env["RSBATCH_HOME"] = str(home)
    return env


def start_local_up(home: Path, *flags: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = _base_env(home)
    proc = subprocess.Popen(
        [RSBATCH, "local", "up", *flags],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    variables: dict[str, str] = {}
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        line = line.strip()
        if line == "READY":
            break
        key, sep, value = line.partition("=")
        if sep:
            variables[key] = value
        assert time.monotonic() < deadline, "local up did not print READY"
    else:
        raise AssertionError(f"local up exited: {proc.stderr.read() if proc.stderr else ''}")
    return proc, {**env, **variables}


def stop_local_up(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture(scope="module")
def local_up(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Cli]:
    flags = getattr(request.module, "LOCAL_UP_FLAGS", ())
    proc, env = start_local_up(tmp_path_factory.mktemp("e2e-home"), *flags)
    try:
        yield Cli(env)
    finally:
        assert stop_local_up(proc) == 0
