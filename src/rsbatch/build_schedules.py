"""`make build`'s deployable template: template.yaml plus one EventBridge Scheduler schedule per
enabled `schedule` of every pipeline manifest.

Why generated: schedules belong to the deployment (never created by hand), and a stack's template
cannot loop over files; so `tools/build.sh` writes `build/template.yaml` and `tools/deploy.sh`
deploys that. Every manifest is validated against the SQL root first: a bad manifest fails the build.

Each schedule is written as template.yaml's own `RunSchedule` is (the alias as target, a role that
may only invoke the alias, `FlexibleTimeWindow` OFF, the same retry policy), plus
`ScheduleExpressionTimezone` (AWS::Scheduler::Schedule, CloudFormation User Guide). Its input is
`rsbatch_core.pipeline.schedule_input`: Scheduler replaces `<aws.scheduler.scheduled-time>` with the
invocation's scheduled time, e.g. 2022-03-22T18:59:43Z (EventBridge Scheduler User Guide, "Adding
context attributes"), from which the run takes its `:run_date` in the schedule's time zone.

Usage: python -m rsbatch.build_schedules --template template.yaml --pipelines pipelines --sql sql
       --out build/template.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from rsbatch.local.template import load_template
from rsbatch_core.errors import BadInputError
from rsbatch_core.pipeline import Pipeline, list_pipelines, load_pipeline, schedule_input

#: The durable function's alias (SAM's AutoPublishAlias `live` → `<Function>Alias<alias>`).
ALIAS_ID = "DurableFunctionAliaslive"
ROLE_ID = "PipelineScheduleRole"
#: template.yaml's CodeUri/ContentUri name tools/build.sh's default output folder; the generated
#: template is written into the output folder, so they become relative to it.
BUILD_PREFIX = "build/"
#: CloudFormation logical ids: alphanumeric, at most 255 characters.
_LOGICAL_ID = re.compile(r"^[A-Za-z0-9]{1,255}$")


def schedule_id(pipeline: str, index: int) -> str:
    """`PipelineScheduleMartRefresh1`: deterministic, from the pipeline's name and the schedule's place."""
    camel = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", pipeline) if part)
    return f"PipelineSchedule{camel}{index + 1}"


def schedule_resources(pipelines: list[Pipeline]) -> dict[str, Any]:
    """The Scheduler resources (and their one role) for every enabled schedule."""
    resources: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for p in pipelines:
        for i, sched in enumerate(p.schedule):
            if not sched.enabled:
                continue
            logical = schedule_id(p.name, i)
            if logical in owner or not _LOGICAL_ID.match(logical):
                raise BadInputError(
                    f"pipelines {owner.get(logical, '?')!r} and {p.name!r} give the same schedule id "
                    f"{logical}; rename one"
                )
            owner[logical] = p.name
            resources[logical] = {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "Description": f"Starts rsbatch pipeline {p.name} (its schedule[{i}]).",
                    "ScheduleExpression": sched.expression,
                    "ScheduleExpressionTimezone": sched.timezone,
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "State": "ENABLED",
                    "Target": {
                        # Scheduler invokes Lambda asynchronously; durable runs need the qualified ARN.
                        "Arn": {"Ref": ALIAS_ID},
                        "RoleArn": {"Fn::GetAtt": [ROLE_ID, "Arn"]},
                        "Input": json.dumps(schedule_input(p, sched), separators=(",", ":")),
                        "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600},
                    },
                },
            }
    if resources:
        resources[ROLE_ID] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "rsbatch pipeline schedules - may only start the durable function's alias.",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "rsbatch-pipeline-schedules",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Sid": "StartPipelineRun",
                                    "Effect": "Allow",
                                    "Action": "lambda:InvokeFunction",
                                    "Resource": {"Ref": ALIAS_ID},
                                }
                            ],
                        },
                    }
                ],
            },
        }
    return resources


_RESOURCES = re.compile(r"^Resources:[ \t]*(#.*)?$", re.M)
_LOCAL_URI = re.compile(r"^(?P<lead>[ \t]+(?:CodeUri|ContentUri):[ \t]*)(?P<uri>[^\s#'\"]+)[ \t]*$", re.M)


def render(template: Path, pipeline_root: Path, sql_root: Path, out: Path) -> str:
    """template.yaml's text, unchanged but for the local code folders (relative to `out`'s folder)
    and the schedules inserted first under `Resources:`; its comments (checkov's skips) survive."""
    text = template.read_text("utf-8")
    existing = load_template(template)["Resources"]
    pipelines = [load_pipeline(pipeline_root, n, sql_root=sql_root) for n in list_pipelines(pipeline_root)]
    added = schedule_resources(pipelines)
    clash = sorted(set(added) & set(existing))
    if clash:
        raise BadInputError(f"{template}: already has resource(s) {', '.join(clash)}")

    def moved(match: re.Match[str]) -> str:
        uri = match["uri"]
        if "://" in uri:
            return match[0]
        if uri.startswith(BUILD_PREFIX):  # the folders tools/build.sh fills, next to `out`
            return match["lead"] + uri.removeprefix(BUILD_PREFIX)
        path = os.path.relpath(template.parent.resolve() / uri, out.parent.resolve()).replace(os.sep, "/")
        return match["lead"] + path + ("/" if uri.endswith("/") else "")

    text = _LOCAL_URI.sub(moved, text)
    header = (
        f"# Generated by rsbatch.build_schedules: {template.name} + {pipeline_root.name}/; do not edit.\n"
    )
    if not added:
        return header + text
    match = _RESOURCES.search(text)
    if not match:
        raise BadInputError(f"{template}: no top-level Resources: line")
    block = yaml.safe_dump(added, sort_keys=False, width=120)
    block = "".join(f"  {line}" if line.strip() else line for line in block.splitlines(keepends=True))
    comment = "  # ------------------------------------------------ pipeline schedules (generated)\n"
    return header + text[: match.end()] + "\n" + comment + block + "\n" + text[match.end() + 1 :]


def generate(template: Path, pipeline_root: Path, sql_root: Path, out: Path) -> dict[str, Any]:
    """The generated template as CloudFormation reads it (short tags in long form)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        written = Path(tmp) / "template.yaml"
        written.write_text(render(template, pipeline_root, sql_root, out), "utf-8")
        return load_template(written)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rsbatch.build_schedules", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--template", type=Path, default=Path("template.yaml"))
    parser.add_argument("--pipelines", type=Path, default=Path("pipelines"))
    parser.add_argument("--sql", type=Path, default=Path("sql"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        text = render(args.template, args.pipelines, args.sql, args.out)
    except BadInputError as exc:
        print(f"build: error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, "utf-8")
    resources = load_template(args.out)["Resources"]
    n = sum(1 for k in resources if k.startswith("PipelineSchedule") and k != ROLE_ID)
    print(f"build: template         {args.out} (+{n} pipeline schedule(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
