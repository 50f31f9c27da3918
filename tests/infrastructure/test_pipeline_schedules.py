"""`make build`'s template: every enabled pipeline schedule becomes an EventBridge Scheduler schedule.

The generated template goes through the SAM transform and the offline evaluator (cfn.py) like
template.yaml, and through cfn-lint when `make validate-template` has installed it.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from rsbatch.build_schedules import ROLE_ID, generate, main
from rsbatch.local.template import load_template
from rsbatch_core.errors import BadInputError
from tests.infrastructure.cfn import PSEUDO, ROOT, TEMPLATE_PATH, Stack, _NoManagedPolicies, grants, packaged

CFN_LINT = ROOT / ".tools" / "venv" / "bin" / "cfn-lint"

NIGHTLY = """
parameters: {since: null}
schedule:
  - {expression: "cron(30 3 * * ? *)", timezone: Europe/Paris, parameters: {since: "2026-01-01"}}
  - {expression: "rate(1 hour)", timezone: UTC, parameters: {since: "2026-06-01"}, enabled: false}
steps:
  stage: {sql: mart_refresh/stage_orders.sql}
"""
HOURLY = """
schedule:
  - {expression: "rate(2 hours)", timezone: America/New_York}
steps:
  refresh: {sql: query.sql}
"""


@pytest.fixture
def generated(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "nightly-marts.yaml").write_text(NIGHTLY)
    (pipelines / "hourly.yaml").write_text(HOURLY)
    out = tmp_path / "build" / "template.yaml"
    assert (
        main(
            [
                "--template",
                str(TEMPLATE_PATH),
                "--pipelines",
                str(pipelines),
                "--sql",
                str(ROOT / "sql"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    document = generate(TEMPLATE_PATH, pipelines, ROOT / "sql", out)
    assert load_template(out) == document  # what is written is what was generated
    assert "# checkov:skip=CKV_AWS_116" in out.read_text()  # template.yaml's comments survive
    return document, out


def _stack(document: dict[str, Any], overrides: dict[str, str]) -> Stack:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.delenv("AWS_PROFILE", raising=False)
        mp.setattr(socket.socket, "connect", lambda *_a: (_ for _ in ()).throw(AssertionError("network")))
        done: dict[str, Any] = transform(packaged(document), {**PSEUDO, **overrides}, _NoManagedPolicies())
    return Stack(done, overrides)


def test_two_scheduled_pipelines_make_two_schedules_with_their_input_and_time_zone(
    generated: tuple[dict[str, Any], Path],
) -> None:
    stack = _stack(generated[0], {"RedshiftWorkgroupName": "analytics"})
    schedules = stack.of_type("AWS::Scheduler::Schedule")
    assert set(schedules) == {"PipelineScheduleHourly1", "PipelineScheduleNightlyMarts1", "ReconcileSchedule"}
    nightly = stack.properties("PipelineScheduleNightlyMarts1")
    assert nightly["ScheduleExpression"] == "cron(30 3 * * ? *)"
    assert nightly["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert nightly["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert nightly["Target"]["Arn"] == "ref:DurableFunctionAliaslive"
    assert nightly["Target"]["RoleArn"] == f"getatt:{ROLE_ID}.Arn"
    assert json.loads(nightly["Target"]["Input"]) == {
        "pipeline": "nightly-marts",
        "parameters": {"since": "2026-01-01"},
        "scheduled_time": "<aws.scheduler.scheduled-time>",
        "timezone": "Europe/Paris",
    }
    hourly = stack.properties("PipelineScheduleHourly1")
    assert hourly["ScheduleExpressionTimezone"] == "America/New_York"
    assert json.loads(hourly["Target"]["Input"])["pipeline"] == "hourly"
    assert grants(stack.role_statements(ROLE_ID)) == {
        ("lambda:InvokeFunction", "ref:DurableFunctionAliaslive")
    }
    trust = stack.properties(ROLE_ID)["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]


def test_the_single_schedule_parameters_keep_working(generated: tuple[dict[str, Any], Path]) -> None:
    stack = _stack(generated[0], {"RedshiftWorkgroupName": "analytics", "ScheduleExpression": "rate(1 day)"})
    assert json.loads(stack.properties("RunSchedule")["Target"]["Input"]) == {"sql_file": "query.sql"}
    assert "PipelineScheduleHourly1" in stack.of_type("AWS::Scheduler::Schedule")


def test_code_folders_are_the_same_from_the_generated_template(
    generated: tuple[dict[str, Any], Path],
) -> None:
    document, out = generated
    uris = {
        r["Properties"].get("CodeUri") or r["Properties"].get("ContentUri")
        for r in document["Resources"].values()
        if r["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion")
    }
    assert {(out.parent / u).resolve() for u in uris} == {
        out.parent / "durable_fn",
        out.parent / "status_listener",
        out.parent / "layer",
    }  # the folders tools/build.sh fills next to the template it writes


def test_a_bad_manifest_fails_the_generation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.yaml").write_text(
        "schedule: [{expression: 'rate(5 minute)'}]\nsteps:\n  a: {sql: query.sql}\n"
    )
    with pytest.raises(BadInputError, match=r"bad.yaml: schedule\[0\].expression"):
        generate(TEMPLATE_PATH, tmp_path, ROOT / "sql", tmp_path / "t.yaml")
    code = main(
        [
            "--pipelines",
            str(tmp_path),
            "--sql",
            str(ROOT / "sql"),
            "--template",
            str(TEMPLATE_PATH),
            "--out",
            str(tmp_path / "t.yaml"),
        ]
    )
    assert code == 2
    assert "singular for 1 and plural otherwise" in capsys.readouterr().err
    assert not (tmp_path / "t.yaml").exists()


@pytest.mark.skipif(
    not CFN_LINT.exists(), reason="cfn-lint comes with `make validate-template` (.tools/venv)"
)
def test_cfn_lint_is_clean_on_the_generated_template(generated: tuple[dict[str, Any], Path]) -> None:
    done = subprocess.run(
        [str(CFN_LINT), "--append-rules", "cfn_lint_serverless.rules", "--", str(generated[1])],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": str(CFN_LINT.parent) + ":/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
