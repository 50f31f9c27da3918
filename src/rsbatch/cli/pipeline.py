"""`rsbatch pipeline list | validate | graph`: the manifests under `pipelines/`, checked and drawn.

Nothing here runs anything: `validate` applies every check the durable function would (the model,
the graph, the SQL root's path rules, parameters, schedules) and exits 2 naming the bad field.
"""

from __future__ import annotations

import click

from rsbatch import pipeline_graph
from rsbatch.cli.base import default_pipeline_root, default_sql_root, errors_handled, main
from rsbatch.output import emit_json, table
from rsbatch_core.errors import BadInputError
from rsbatch_core.pipeline import Pipeline, list_pipelines, load_pipeline


def _load(name: str) -> Pipeline:
    return load_pipeline(default_pipeline_root(), name, sql_root=default_sql_root())


def _summary(p: Pipeline) -> dict[str, object]:
    return {
        "name": p.name,
        "description": p.description,
        "steps": len(p.steps),
        "levels": len(p.levels()),
        "max_parallel": p.max_parallel,
        "on_failure": p.on_failure,
        "parameters": p.parameters,
        "schedule": [s.model_dump() for s in p.schedule],
    }


@main.group()
def pipeline() -> None:
    """Pipelines: DAGs of SQL batches defined in pipelines/NAME.yaml."""


@pipeline.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@errors_handled
def pipeline_list(as_json: bool) -> None:
    """The pipelines under the pipeline root (RSBATCH_PIPELINE_ROOT, default ./pipelines).

    A manifest that does not validate is listed with its first problem (and exit 2).
    """
    loaded: list[Pipeline] = []
    problems: list[dict[str, str]] = []
    for name in list_pipelines(default_pipeline_root()):
        try:
            loaded.append(_load(name))
        except BadInputError as exc:
            problems.append({"name": name, "error": str(exc)})
    if as_json:
        emit_json({"pipelines": [_summary(p) for p in loaded], "invalid": problems})
    else:
        rows = [
            [
                p.name,
                len(p.steps),
                len(p.levels()),
                p.max_parallel,
                ", ".join(f"{s.expression} {s.timezone}" for s in p.schedule) or "-",
                p.description,
            ]
            for p in loaded
        ]
        rows += [[p["name"], "-", "-", "-", "-", "INVALID (rsbatch pipeline validate)"] for p in problems]
        click.echo(table(["pipeline", "steps", "levels", "parallel", "schedule", "description"], rows))
    if problems:
        raise SystemExit(2)


@pipeline.command("validate")
@click.argument("names", nargs=-1, metavar="[NAME...]")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@errors_handled
def pipeline_validate(names: tuple[str, ...], as_json: bool) -> None:
    """Check manifests (all of them without NAME) before anything runs; exit 2 naming each bad field.

    \b
    Example:
      rsbatch pipeline validate mart_refresh
    """
    todo = list(names) or list_pipelines(default_pipeline_root())
    if not todo:
        raise BadInputError(f"no pipelines under {default_pipeline_root()}")
    ok: list[dict[str, object]] = []
    bad: list[dict[str, object]] = []
    for name in todo:
        try:
            ok.append(_summary(_load(name)))
        except BadInputError as exc:
            bad.append({"name": name, "error": str(exc)})
    if as_json:
        emit_json({"valid": ok, "invalid": bad})
    else:
        for row in ok:
            click.echo(f"{row['name']}: valid ({row['steps']} steps, {row['levels']} levels)")
        for row in bad:
            click.echo(f"Error: {row['error']}", err=True)
    if bad:
        raise SystemExit(2)


@pipeline.command("graph")
@click.argument("name")
@click.option("--mermaid", "only_mermaid", is_flag=True, help="Only the Mermaid block.")
@click.option("--json", "as_json", is_flag=True, help="Steps, edges and levels as JSON.")
@errors_handled
def pipeline_graph_command(name: str, only_mermaid: bool, as_json: bool) -> None:
    """Draw pipeline NAME: its levels with arrows, then a Mermaid flowchart block.

    \b
    Example:
      rsbatch pipeline graph mart_refresh --mermaid >> docs/pipelines.md
    """
    p = _load(name)
    if as_json:
        emit_json(
            {
                "name": p.name,
                "order": p.order(),
                "levels": p.levels(),
                "edges": [[before, step] for step in p.order() for before in p.steps[step].after],
                "steps": {n: s.model_dump(by_alias=True) for n, s in p.steps.items()},
            }
        )
        return
    if not only_mermaid:
        click.echo(pipeline_graph.text(p))
        click.echo()
    click.echo(pipeline_graph.mermaid(p))
