"""`pip install .` alone is a working operator CLI: no local-stack dependency, a clear word when one is used.

One fresh venv per session (pip's own resolver against the package index, its
cache as usual); every check reads it. Skips after a short probe when no index
is reachable, like the Lambda build.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rsbatch.extras import LOCAL_EXTRA, extra_requirements
from tests.infrastructure.test_build import ROOT, _index_unreachable, _pip_env

pytestmark = [pytest.mark.build, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def cli_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin/ folder of a venv with nothing but `pip install .` (no extras)."""
    reason = _index_unreachable(tmp_path_factory.mktemp("probe"))
    if reason:
        pytest.skip(reason)
    venv = tmp_path_factory.mktemp("cli-only") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
        env=_pip_env(),
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert done.returncode == 0, done.stderr
    yield venv / "bin"


def _rsbatch(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in _pip_env().items() if not k.startswith(("AWS_", "RSBATCH_", "VIRTUAL_ENV"))}
    return subprocess.run(
        [str(bin_dir / "rsbatch"), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_the_cli_alone_installs_without_the_local_stack(cli_only: Path) -> None:
    listed = subprocess.run(
        [str(cli_only / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
        env=_pip_env(),
    ).stdout.lower()
    installed = {line.split("==")[0].replace("_", "-") for line in listed.splitlines()}
    local = {name.lower().replace("_", "-") for name in extra_requirements(LOCAL_EXTRA)}
    assert local and not installed & local
    assert "click" in installed and "boto3" in installed


@pytest.mark.parametrize("args", [("--help",), ("runs", "--help"), ("start", "--help"), ("logs", "--help")])
def test_the_cli_alone_answers_help(cli_only: Path, args: tuple[str, ...]) -> None:
    done = _rsbatch(cli_only, *args)
    assert done.returncode == 0, done.stderr
    assert "Usage: rsbatch" in done.stdout


@pytest.mark.parametrize(
    ("args", "command"),
    [(("run", "query.sql", "--local"), "rsbatch run --local"), (("local", "up"), "rsbatch local up")],
)
def test_a_local_command_names_the_extra_to_install(
    cli_only: Path, args: tuple[str, ...], command: str
) -> None:
    done = _rsbatch(cli_only, *args)
    assert done.returncode == 2, done.stderr
    assert f"`{command}` needs the local stack" in done.stderr
    assert "pip install 'rsbatch[local]'" in done.stderr
    assert "Traceback" not in done.stderr
