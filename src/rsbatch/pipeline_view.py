"""A pipeline run as a person reads it: the DAG by level, each step's state, duration, rows, attempts.

`show RUN`, `run --pipeline` and `runs --pipelines` print the same view of a pipeline's registry
item; `--json` gives `pipeline_json`.
"""

from __future__ import annotations

from typing import Any

from rsbatch import output
from rsbatch_core.models import PipelineInfo, RunRecord, StepState, StepStatus

MARKS = {
    StepStatus.SUCCEEDED: "✓",
    StepStatus.SKIPPED: "↷",
    StepStatus.FAILED: "✗",
    StepStatus.CANCELLED: "⊘",
    StepStatus.RUNNING: "…",
    StepStatus.PENDING: "·",
    StepStatus.NOT_STARTED: "-",
}


def levels(graph: dict[str, list[str]]) -> dict[str, int]:
    """Each step's depth: 0 without `after`, else one more than its deepest `after`."""
    depth: dict[str, int] = {}

    def of(step: str) -> int:
        if step not in depth:
            depth[step] = 1 + max((of(a) for a in graph.get(step, []) if a in graph), default=-1)
        return depth[step]

    for step in graph:
        of(step)
    return depth


def pipeline_json(record: RunRecord) -> dict[str, Any]:
    info = record.pipeline_info()
    steps = record.step_states()
    return {
        "run": record.run_key,
        "status": record.status.value,
        "pipeline": info.model_dump(mode="json") if info else None,
        "redriven_by": record.redriven_by,
        "error": record.error,
        "steps": {
            name: {**s.model_dump(mode="json"), "duration_seconds": s.duration_seconds}
            for name, s in steps.items()
        },
    }


def marks(record: RunRecord) -> str:
    """One line: every step and a mark of its state (`runs --pipelines`)."""
    return " ".join(f"{n}{MARKS[s.state]}" for n, s in record.step_states().items())


def render(record: RunRecord) -> str:
    """The DAG, level by level, with each step's state, duration, rows and attempts."""
    info = record.pipeline_info() or PipelineInfo(name="?", run_date="?", graph={})
    steps = record.step_states()
    depth = levels(info.graph)
    lines = [
        f"pipeline     {info.name}",
        f"run          {record.run_key}",
        f"status       {output.status(record.status.value)}",
        f"run date     {info.run_date}",
        f"parameters   {', '.join(f'{k}={v}' for k, v in info.parameters.items()) or '-'}",
    ]
    if info.redrive_of:
        lines.append(f"redrive of   {info.redrive_of}")
    if record.redriven_by:
        lines.append(f"redriven by  {record.redriven_by}")
    rows = []
    for name in sorted(info.graph, key=lambda n: (depth[n], list(info.graph).index(n))):
        state = steps.get(name, StepState())
        after = ", ".join(info.graph[name])
        rows.append(
            (
                "  " * depth[name] + ("└─ " if depth[name] else "") + name,
                f"{MARKS[state.state]} {state.state.value}",
                f"← {after}" if after else "",
                f"{state.duration_seconds:.1f} s" if state.duration_seconds is not None else "-",
                state.rows if state.rows is not None else "-",
                state.attempts,
                output.clip(state.error or "", 60),
            )
        )
    lines.append(output.table(["step", "state", "after", "duration", "rows", "attempts", "error"], rows))
    if record.error:
        lines.append(f"error        {output.clip(record.error, 300)}")
    return "\n".join(lines)
