"""A pipeline's DAG drawn for people: text by levels with arrows, and a Mermaid `flowchart`.

Both take optional per-step labels (e.g. a run's state and duration), so `rsbatch pipeline graph`
and a run's view draw the same graph the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rsbatch_core.pipeline import Pipeline


def text(pipeline: Pipeline, labels: Mapping[str, str] | None = None) -> str:
    """One block per level (steps that can run side by side), each step with what it waits for."""
    labels = labels or {}
    lines = [f"pipeline {pipeline.name}" + (f": {pipeline.description}" if pipeline.description else "")]
    for depth, level in enumerate(pipeline.levels(), start=1):
        lines.append(f"level {depth}")
        for name in level:
            step = pipeline.steps[name]
            after = f"{', '.join(step.after)} → " if step.after else ""
            files = " → ".join(step.files)
            label = f"  [{labels[name]}]" if name in labels else ""
            lines.append(f"  {after}{name}  ({files}){label}")
    return "\n".join(lines)


def _node_id(name: str) -> str:
    """A Mermaid node id: step names allow `-`, which Mermaid ids handle badly."""
    return "s_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def mermaid(pipeline: Pipeline, labels: Mapping[str, str] | None = None) -> str:
    """A fenced ```mermaid flowchart (left to right), one node per step and one edge per `after`."""
    labels = labels or {}
    lines = ["```mermaid", "flowchart LR"]
    for name, step in pipeline.steps.items():
        caption = name + (f"<br/>{labels[name]}" if name in labels else "")
        files = "<br/>".join(step.files)
        lines.append(f'    {_node_id(name)}["{caption}<br/><small>{files}</small>"]')
    for name in pipeline.order():
        for before in pipeline.steps[name].after:
            lines.append(f"    {_node_id(before)} --> {_node_id(name)}")
    lines.append("```")
    return "\n".join(lines)
