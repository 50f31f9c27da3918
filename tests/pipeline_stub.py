"""THROWAWAY: a stand-in for `rsbatch_core.pipeline` (branch pipeline-manifest) until it merges.

Only the fixed interface the execution codes against; installed into sys.modules by the tests.
Delete after `git merge pipeline-manifest`.
"""

from __future__ import annotations

import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rsbatch_core.errors import BadInputError
from rsbatch_core.models import RetryOptions
from rsbatch_core.settings import Settings


@dataclass
class StepSpec:
    name: str
    files: list[str]
    after: list[str] = field(default_factory=list)
    parameters: dict[str, str] = field(default_factory=dict)
    execution_mode: str = "TRANSACTION"
    retry: RetryOptions | None = None
    statement_timeout: int | None = None
    query_group: str | None = None


@dataclass
class Pipeline:
    name: str
    steps: dict[str, StepSpec]
    parameters: dict[str, str | None] = field(default_factory=dict)
    max_parallel: int = 10
    on_failure: str = "stop"
    schedule: list[Any] = field(default_factory=list)

    def step(self, name: str) -> StepSpec:
        return self.steps[name]

    def order(self) -> list[str]:
        return list(self.steps)

    def ready(self, succeeded: set[str], started: set[str]) -> list[str]:
        return [n for n, s in self.steps.items() if n not in started and all(a in succeeded for a in s.after)]

    def downstream(self, step: str) -> set[str]:
        out: set[str] = set()
        todo = [step]
        while todo:
            cur = todo.pop()
            for n, s in self.steps.items():
                if cur in s.after and n not in out:
                    out.add(n)
                    todo.append(n)
        return out


def load_pipeline(root: Path, name: str, *, sql_root: Path) -> Pipeline:
    path = root / f"{name}.yaml"
    if not path.is_file():
        raise BadInputError(f"no pipeline {name!r} under {root}")
    data = yaml.safe_load(path.read_text())
    steps: dict[str, StepSpec] = {}
    for sname, raw in data["steps"].items():
        files = raw.get("files") or [raw["file"]]
        for f in files:
            if not (sql_root / f).is_file():
                raise BadInputError(f"steps.{sname}.file: no such SQL file {f!r}")
        after = list(raw.get("after", []))
        for a in after:
            if a not in data["steps"]:
                raise BadInputError(f"steps.{sname}.after: unknown step {a!r}")
        retry = RetryOptions.model_validate(raw["retry"]) if "retry" in raw else None
        steps[sname] = StepSpec(
            sname,
            files,
            after,
            dict(raw.get("parameters", {})),
            raw.get("execution_mode", "TRANSACTION"),
            retry,
        )
    return Pipeline(
        name,
        steps,
        dict(data.get("parameters", {})),
        int(data.get("max_parallel", 10)),
        data.get("on_failure", "stop"),
    )


def step_parameters(
    pipeline: Pipeline, step: StepSpec, values: dict[str, str], *, run_date: str, run_id: str
) -> dict[str, str]:
    merged = {k: v for k, v in pipeline.parameters.items() if v is not None} | values | step.parameters
    return {str(k): str(v) for k, v in merged.items()} | {"run_date": run_date, "run_id": run_id}


def install() -> None:
    """Put the stand-in where the real module will be (only if the real one is not there)."""
    try:
        import rsbatch_core.pipeline  # noqa: F401
    except ImportError:
        module = types.ModuleType("rsbatch_core.pipeline")
        for attr in ("StepSpec", "Pipeline", "load_pipeline", "step_parameters"):
            setattr(module, attr, globals()[attr])
        sys.modules["rsbatch_core.pipeline"] = module
    if "pipeline_root" not in Settings.model_fields and not hasattr(Settings, "pipeline_root"):
        root = Path(__file__).parent / "pipelines"
        Settings.pipeline_root = property(  # type: ignore[attr-defined]
            lambda _self: Path(os.environ.get("RSBATCH_PIPELINE_ROOT", str(root)))
        )
