"""tools/build.sh: the Lambda artifacts hold every import the handlers need, for Lambda's CPython.

The build (pip with --platform/--python-version, no Docker) runs once per
session into a temporary folder and every check reads that one artifact:

- each module the two handlers and rsbatch_core import (parsed with ``ast``;
  stdlib, ``__future__`` and ``TYPE_CHECKING`` imports left out) is in the
  layer or in the function's own folder, and comes from a dependency pinned in
  pyproject.toml (a transitive dependency could vanish with the next upgrade);
- every pin is installed at exactly its version; the extension modules and
  wheel tags are for the template's CPython (no cp311 file sneaks in);
- ``sql/`` is bundled without ``sql/local/``; no bytecode; under 250 MB.

A second build for the host's own CPython then imports both handlers with
nothing but the artifact on ``sys.path`` (``python -I -S``) and a Lambda-like
environment, which catches what a static scan cannot: an optional dependency
that a library loads lazily at import time (Powertools' Tracer needs
aws-xray-sdk, the ``tracer`` extra).

The build needs the package index (the CI has it); when pip cannot reach one,
these tests skip after a short probe instead of failing. Deselect them with
``-m "not build"``.
"""

from __future__ import annotations

import ast
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_SH = ROOT / "tools" / "build.sh"
LIMIT_BYTES = 250 * 1024 * 1024  # Lambda: a function and its layers, unzipped
HANDLERS = {
    "durable_fn": ROOT / "durable_fn" / "app.py",
    "status_listener": ROOT / "status_listener" / "app.py",
}
CORE = ROOT / "src" / "rsbatch_core"

F = TypeVar("F", bound=Callable[..., object])


def needs_index(test: F) -> F:
    """Marks a test that uses a real build: `-m "not build"` deselects it; a cold build may be slow."""
    marked: F = pytest.mark.build(pytest.mark.timeout(900)(test))
    return marked


def _norm(name: str) -> str:
    """PEP 503 name normalization, with "_" as in dist-info folder names."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _pins() -> dict[str, str]:
    """pyproject's Lambda runtime pins (less [tool.rsbatch] cli-only): normalized name -> version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    cli_only = {_norm(n) for n in project["tool"]["rsbatch"]["cli-only"]}
    pins = {}
    for dep in project["project"]["dependencies"]:
        name, _, version = dep.partition("==")
        pins[_norm(name.split("[")[0].strip())] = version.strip()
    return {name: version for name, version in pins.items() if name not in cli_only}


def _template_python() -> str:
    runtimes: set[str] = set(
        re.findall(r"^\s+Runtime:\s*python(\d+\.\d+)\s*$", (ROOT / "template.yaml").read_text(), re.M)
    )
    assert len(runtimes) == 1, f"expected one python runtime in template.yaml, found {runtimes}"
    return str(runtimes.pop())


@dataclass(frozen=True)
class Build:
    out: Path
    python: str  # "3.14"
    arch: str  # x86_64 | arm64

    @property
    def layer(self) -> Path:
        return self.out / "layer" / "python"

    def function(self, name: str) -> Path:
        return self.out / name


def _pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    return env


def _index_unreachable(tmp: Path) -> str | None:
    """Why pip cannot reach a package index, found within seconds; None if it can."""
    version = _pins().get("sqlparse")
    probe = f"sqlparse=={version}" if version else "pip"
    env = _pip_env() | {"PIP_RETRIES": "0", "PIP_DEFAULT_TIMEOUT": "5"}
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(tmp), probe]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        return "pip could not reach a package index within 60 s"
    if done.returncode:
        last = [line for line in done.stderr.splitlines() if line.startswith("ERROR")][-1:]
        return f"pip cannot reach a package index ({'; '.join(last) or 'pip download failed'})"
    return None


UNREACHABLE_MARKS = ("cannot reach the package index", "offers no release at all")


def _run_build(out: Path, *args: str) -> Build:
    """Run tools/build.sh into `out`; skip (not fail) if the index went away meanwhile."""
    cmd = ["bash", str(BUILD_SH), "--out", str(out), "--python", sys.executable, *args]
    done = subprocess.run(
        cmd, cwd=ROOT, env=_pip_env(), capture_output=True, text=True, timeout=840, check=False
    )
    if done.returncode and any(mark in done.stderr for mark in UNREACHABLE_MARKS):
        pytest.skip(f"tools/build.sh cannot reach the package index: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, f"tools/build.sh failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    info = json.loads((out / "build-info.json").read_text("utf-8"))
    return Build(out=out, python=info["python"], arch=info["arch"])


@pytest.fixture(scope="session")
def index_ok(tmp_path_factory: pytest.TempPathFactory) -> None:
    reason = _index_unreachable(tmp_path_factory.mktemp("probe"))
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def lambda_build(index_ok: None, tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The artifact exactly as `make build` makes it (default arch, the template's Python)."""
    return _run_build(tmp_path_factory.mktemp("lambda") / "build")


HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
    platform.machine().lower()
)


@pytest.fixture(scope="session")
def host_build(index_ok: None, tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The same build for this interpreter's CPython and arch, so its wheels can be imported here."""
    if not sys.platform.startswith("linux") or HOST_ARCH is None:
        pytest.skip("importing manylinux wheels needs a Linux x86_64/aarch64 host")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return _run_build(
        tmp_path_factory.mktemp("host") / "build", "--arch", HOST_ARCH, "--python-version", version
    )


# -- what the code imports ----------------------------------------------------------------


class _Imports(ast.NodeVisitor):
    """Top-level names of absolute imports, anywhere in a module except `if TYPE_CHECKING:`."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names.update(alias.name.split(".")[0] for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.names.add(node.module.split(".")[0])


def third_party_imports(path: Path) -> set[str]:
    visitor = _Imports()
    visitor.visit(ast.parse(path.read_text("utf-8"), filename=str(path)))
    return {n for n in visitor.names if n not in sys.stdlib_module_names and n != "__future__"}


def _sources() -> dict[str, tuple[Path, list[Path]]]:
    """Source file -> (the file, the folders Lambda puts on sys.path for it) in a given build."""
    return {
        **{f"{name}/app.py": (path, [Path(name)]) for name, path in HANDLERS.items()},
        **{f"rsbatch_core/{p.name}": (p, []) for p in sorted(CORE.glob("*.py"))},
    }


def provides(folder: Path, module: str) -> bool:
    """Whether importing `module` from `folder` can work: a package, a module or an extension."""
    return (
        (folder / module).is_dir()
        or (folder / f"{module}.py").is_file()
        or any(folder.glob(f"{module}.*.so"))
        or (folder / f"{module}.so").is_file()
    )


def module_owners(layer: Path) -> dict[str, str]:
    """Top-level module -> the distribution that installed it, from each dist-info's RECORD."""
    owners: dict[str, str] = {}
    for dist_info in layer.glob("*.dist-info"):
        dist = _norm(dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        for line in (dist_info / "RECORD").read_text("utf-8").splitlines():
            first = line.split(",", 1)[0].split("/", 1)[0]
            if (
                not first
                or first.startswith("..")
                or first.endswith((".dist-info", ".data"))
                or first == "bin"
            ):
                continue
            owners.setdefault(first.split(".", 1)[0], dist)
    return owners


# -- the built artifact -------------------------------------------------------------------


@needs_index
@pytest.mark.parametrize("source", sorted(_sources()))
def test_every_import_is_in_the_artifact(lambda_build: Build, source: str) -> None:
    path, own_dirs = _sources()[source]
    function_dirs = [lambda_build.out / d for d in own_dirs]
    owners = module_owners(lambda_build.layer)
    pins = _pins()
    problems = []
    for module in sorted(third_party_imports(path)):
        if any(provides(folder, module) for folder in function_dirs):
            continue  # a module of the function itself
        if not provides(lambda_build.layer, module):
            where = ", ".join(
                str(f.relative_to(lambda_build.out)) for f in [*function_dirs, lambda_build.layer]
            )
            problems.append(f"{module}: in none of {where}")
        elif module != "rsbatch_core" and owners.get(module) not in pins:
            problems.append(
                f"{module}: installed by {owners.get(module, 'no distribution')}, which is not pinned in "
                "pyproject [project] dependencies (a transitive dependency may vanish on any upgrade)"
            )
    assert not problems, f"{source} imports what the Lambda artifact does not reliably hold:\n" + "\n".join(
        problems
    )


@needs_index
def test_every_pin_is_installed_at_its_version(lambda_build: Build) -> None:
    installed = {}
    for dist_info in lambda_build.layer.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[_norm(name)] = version
    wrong = {
        name: (version, installed.get(name))
        for name, version in _pins().items()
        if installed.get(name) != version
    }
    assert not wrong, f"pinned -> installed: {wrong}"


@needs_index
def test_what_only_the_cli_needs_stays_out_of_the_layer(lambda_build: Build) -> None:
    cli_only = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["rsbatch"]["cli-only"]
    installed = {
        _norm(d.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        for d in lambda_build.layer.glob("*.dist-info")
    }
    assert cli_only and not installed & {_norm(name) for name in cli_only}


@needs_index
def test_binaries_are_for_the_lambda_python(lambda_build: Build) -> None:
    assert lambda_build.python == _template_python()
    tag = "cp" + lambda_build.python.replace(".", "")
    machine = {"x86_64": "x86_64", "arm64": "aarch64"}[lambda_build.arch]
    extensions = [p for p in lambda_build.layer.rglob("*.so") if not p.parent.name.endswith(".libs")]
    assert any("pydantic_core" in p.parts for p in extensions), "pydantic-core's extension is missing"
    wrong = [
        str(p.relative_to(lambda_build.layer))
        for p in extensions
        if not (p.name.endswith(f".cpython-{tag[2:]}-{machine}-linux-gnu.so") or p.name.endswith(".abi3.so"))
    ]
    assert not wrong, f"extension modules not built for {tag}/{machine}: {wrong}"
    assert not list(lambda_build.out.rglob("*.cpython-311*")), "a file from a cp311 wheel is in the artifact"
    # Every wheel's tags: pure Python, or this CPython / the stable ABI on manylinux for this arch.
    for wheel in lambda_build.layer.glob("*.dist-info/WHEEL"):
        tags = [
            line.split(":", 1)[1].strip()
            for line in wheel.read_text().splitlines()
            if line.startswith("Tag:")
        ]
        assert tags, f"{wheel.parent.name}: no Tag in WHEEL"
        for wheel_tag in tags:
            py, abi, plat = wheel_tag.split("-")
            pure = abi == "none" and plat == "any" and py.startswith("py")
            binary = py == tag and abi in {tag, "abi3"} and "linux" in plat and plat.endswith(machine)
            stable = abi == "abi3" and py.startswith("cp3") and "linux" in plat and plat.endswith(machine)
            assert pure or binary or stable, (
                f"{wheel.parent.name}: tag {wheel_tag} does not run on {tag}/{machine}"
            )


@needs_index
def test_sql_is_bundled_without_the_local_demo(lambda_build: Build) -> None:
    bundled = lambda_build.function("durable_fn") / "sql"
    assert (bundled / "query.sql").is_file()
    assert not (bundled / "local").exists(), "sql/local/ is local-only demo data and must not be deployed"
    expected = {p.relative_to(ROOT / "sql") for p in (ROOT / "sql").rglob("*") if p.is_file()}
    expected = {p for p in expected if p.parts[0] != "local" and "__pycache__" not in p.parts}
    assert {p.relative_to(bundled) for p in bundled.rglob("*") if p.is_file()} == expected


@needs_index
def test_pipelines_are_bundled_and_their_schedules_generated(lambda_build: Build) -> None:
    bundled = lambda_build.function("durable_fn") / "pipelines"
    assert sorted(p.name for p in bundled.iterdir()) == sorted(
        p.name for p in (ROOT / "pipelines").glob("*.yaml")
    )
    generated = (lambda_build.function("durable_fn").parent / "template.yaml").read_text("utf-8")
    assert "PipelineScheduleMartRefresh1:" in generated
    assert "CodeUri: durable_fn/" in generated  # relative to build/template.yaml itself


@needs_index
def test_functions_and_core_are_copied_as_they_are(lambda_build: Build) -> None:
    for name, source in HANDLERS.items():
        files = {p.relative_to(lambda_build.function(name)) for p in lambda_build.function(name).rglob("*")}
        assert Path("app.py") in files
        assert (lambda_build.function(name) / "app.py").read_bytes() == source.read_bytes()
    assert sorted(p.name for p in lambda_build.function("status_listener").iterdir()) == ["app.py"]
    core = lambda_build.layer / "rsbatch_core"
    expected = {p.relative_to(CORE) for p in CORE.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    expected = {p for p in expected if p.suffix != ".pyc"}
    assert {p.relative_to(core) for p in core.rglob("*") if p.is_file()} == expected


@needs_index
def test_no_bytecode_everything_readable_and_under_the_size_limit(lambda_build: Build) -> None:
    files = [p for p in lambda_build.out.rglob("*") if p.is_file()]
    assert not [p for p in files if p.suffix in {".pyc", ".pyo"} or "__pycache__" in p.parts]
    assert not (lambda_build.layer / "bin").exists()
    unreadable = [p for p in lambda_build.out.rglob("*") if not p.stat().st_mode & 0o004]
    assert not unreadable, f"Lambda cannot read these: {unreadable[:5]}"
    size = {
        name: sum(p.stat().st_size for p in (lambda_build.out / name).rglob("*") if p.is_file())
        for name in ("layer", "durable_fn", "status_listener")
    }
    assert size["layer"] + max(size["durable_fn"], size["status_listener"]) < LIMIT_BYTES


# -- the handlers, imported from the artifact alone -----------------------------------------

SMOKE = textwrap.dedent(
    """
    import importlib, json, os, pkgutil, sys, sysconfig
    function_dir, layer = sys.argv[1], sys.argv[2]
    sys.path[:0] = [function_dir, layer]  # what Lambda puts first: the task root, then /opt/python
    import app  # as Lambda's runtime imports app.handler
    report = {}
    if os.path.basename(function_dir) == "durable_fn":
        app.services()  # the per-container adapters of the first invocation (no AWS call)
    else:
        class Context:
            function_name = "rsbatch-listener"
            function_version = "$LATEST"
            invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-listener"
            memory_limit_in_mb = 256
            aws_request_id = "smoke"
        event = {
            "version": "0", "id": "1", "source": "aws.redshift-data", "account": "123456789012",
            "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail-type": "Redshift Data Statement Status Change",
            "detail": {"principal": "x", "statementName": "someone-else", "statementId": "s",
                       "state": "FINISHED", "rows": 0, "expireAt": 1},
        }
        report["listener"] = app.handler(event, Context())
    import rsbatch_core
    for info in pkgutil.iter_modules(rsbatch_core.__path__):
        importlib.import_module("rsbatch_core." + info.name)
    import boto3
    report["lambda_operations"] = sorted(boto3.client("lambda").meta.service_model.operation_names)
    stdlib = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")}
    allowed = tuple(os.path.realpath(p) + os.sep for p in (function_dir, layer, *stdlib))
    report["outside"] = sorted(
        f"{name}: {mod.__file__}" for name, mod in list(sys.modules.items())
        if getattr(mod, "__file__", None) and not os.path.realpath(mod.__file__).startswith(allowed)
    )
    print(json.dumps(report))
    """
)

LAMBDA_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
    "_X_AMZN_TRACE_ID": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
    "RSBATCH_TABLE": "rsbatch-runs",
    "RSBATCH_WORKGROUP": "analytics",
    "POWERTOOLS_METRICS_NAMESPACE": "rsbatch",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": os.environ.get("HOME", "/tmp"),
}


@needs_index
@pytest.mark.parametrize("function", ["durable_fn", "status_listener"])
def test_handler_imports_and_starts_from_the_artifact_alone(
    host_build: Build, function: str, tmp_path: Path
) -> None:
    fn_dir = host_build.function(function)
    env = LAMBDA_ENV | {
        "AWS_LAMBDA_FUNCTION_NAME": f"rsbatch-{function}",
        "LAMBDA_TASK_ROOT": str(fn_dir),
        "POWERTOOLS_SERVICE_NAME": f"rsbatch-{function}",
    }
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", SMOKE, str(fn_dir), str(host_build.layer)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{function} does not start from its artifact:\n{done.stderr[-4000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["outside"] == [], "modules loaded from outside the artifact"
    # The durable SDK and the listener call these; Lambda's own botocore may be older than ours.
    for operation in (
        "CheckpointDurableExecution",
        "GetDurableExecutionState",
        "SendDurableExecutionCallbackSuccess",
        "SendDurableExecutionCallbackFailure",
    ):
        assert operation in report["lambda_operations"]
    if function == "status_listener":
        assert report["listener"] == {"outcome": "not_ours"}


# -- the script's guards (no index needed) -------------------------------------------------


def _script_copy(tmp_path: Path, pyproject: str | None = None) -> Path:
    """A minimal tree the script can run in, to test its refusals without touching the repo."""
    root = tmp_path / "repo"
    (root / "tools").mkdir(parents=True)
    shutil.copy2(BUILD_SH, root / "tools" / "build.sh")
    shutil.copy2(ROOT / "template.yaml", root / "template.yaml")
    (root / "pyproject.toml").write_text(pyproject or (ROOT / "pyproject.toml").read_text("utf-8"), "utf-8")
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = ["bash", str(root / "tools" / "build.sh"), "--python", sys.executable, *args]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=60, check=False)


def test_refuses_an_unknown_arch(tmp_path: Path) -> None:
    done = _run(_script_copy(tmp_path), "--arch", "sparc", "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "--arch must be x86_64 or arm64" in done.stderr


def test_refuses_to_clean_a_folder_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    root = _script_copy(tmp_path)
    done = _run(root, "--out", str(precious))
    assert done.returncode == 1
    assert "refusing to clean" in done.stderr
    assert (precious / "keep.txt").read_text() == "mine"
    done = _run(root, "--out", str(precious / "keep.txt"))
    assert done.returncode == 1
    assert "not a folder" in done.stderr
    assert (precious / "keep.txt").read_text() == "mine"


def test_refuses_unpinned_runtime_dependencies(tmp_path: Path) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text("utf-8").replace('"sqlparse==', '"sqlparse>=', 1)
    done = _run(_script_copy(tmp_path, pyproject), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "must be exact pins" in done.stderr
    assert "sqlparse>=" in done.stderr
    assert not (tmp_path / "out").exists()


def test_artifacts_follow_the_template() -> None:
    """The folders this script fills are the ones template.yaml deploys."""
    template = (ROOT / "template.yaml").read_text("utf-8")
    for uri in ("CodeUri: build/durable_fn/", "CodeUri: build/status_listener/", "ContentUri: build/layer/"):
        assert uri in template
