"""rsbatch.config: which table and durable function the operator CLI talks to.

Resolution order (resolve_target): RSBATCH_TABLE and RSBATCH_FUNCTION from the
environment (what `rsbatch local up` prints) win; whatever they leave out comes
from the CloudFormation stack's outputs, the stack named by --stack or else by
samconfig.toml. Stacks are created in moto's in-process CloudFormation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from rsbatch.config import DEFAULT_STACK, Target, default_stack_name, resolve_target
from rsbatch_core.errors import BadInputError, RsbatchError

ALIAS_ARN = "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:live"


def _stack_template(outputs: dict[str, str]) -> str:
    """A stack with one resource (CloudFormation needs one) and these literal outputs."""
    return json.dumps(
        {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {name: {"Value": value} for name, value in outputs.items()},
        }
    )


@pytest.fixture
def cloudformation() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudformation", region_name="us-east-1")


def _deploy(cloudformation: Any, name: str = "rsbatch", **outputs: str) -> None:
    outputs = outputs or {"RunsTableName": f"{name}-runs", "DurableFunctionAliasArn": ALIAS_ARN}
    cloudformation.create_stack(StackName=name, TemplateBody=_stack_template(outputs))


def _resolve(stack: str | None = None, region: str | None = None) -> Target:
    return resolve_target(local=False, stack=stack, region=region, profile=None)


# ---------------------------------------------------------------- resolution order


def test_environment_alone_needs_no_stack(cloudformation: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # No stack exists: reading one would fail, so none is read.
    monkeypatch.setenv("RSBATCH_TABLE", "runs")
    monkeypatch.setenv("RSBATCH_FUNCTION", "rsbatch-durable:live")
    target = _resolve()
    assert (target.table, target.function) == ("runs", "rsbatch-durable:live")


def test_stack_outputs_fill_in(cloudformation: Any) -> None:
    _deploy(cloudformation)
    target = _resolve()
    assert (target.table, target.function) == ("rsbatch-runs", ALIAS_ARN)


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("RSBATCH_TABLE", ("from-env", ALIAS_ARN)),
        ("RSBATCH_FUNCTION", ("rsbatch-runs", "from-env")),
    ],
)
def test_environment_wins_over_the_stack_one_value_at_a_time(
    cloudformation: Any, monkeypatch: pytest.MonkeyPatch, variable: str, expected: tuple[str, str]
) -> None:
    _deploy(cloudformation)
    monkeypatch.setenv(variable, "from-env")
    target = _resolve()
    assert (target.table, target.function) == expected


def test_stack_option_names_the_stack(cloudformation: Any) -> None:
    _deploy(cloudformation)
    _deploy(cloudformation, "rsbatch-staging")
    assert _resolve(stack="rsbatch-staging").table == "rsbatch-staging-runs"


def test_without_stack_option_samconfig_names_the_stack(
    cloudformation: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.deploy.parameters]\nstack_name = "rsbatch-prod"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)  # samconfig.toml is read from the working directory
    _deploy(cloudformation)
    _deploy(cloudformation, "rsbatch-prod")
    assert _resolve().table == "rsbatch-prod-runs"


def test_region_reaches_the_session(cloudformation: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RSBATCH_TABLE", "runs")
    monkeypatch.setenv("RSBATCH_FUNCTION", "f")
    assert _resolve(region="eu-west-1").session.region_name == "eu-west-1"


# ---------------------------------------------------------------- failures


def test_missing_stack_is_bad_input_with_the_ways_out(cloudformation: Any) -> None:
    # CloudFormation answers DescribeStacks for an unknown stack with ValidationError (moto too).
    with pytest.raises(BadInputError, match="no stack 'rsbatch'") as raised:
        _resolve()
    message = str(raised.value)
    assert "make deploy" in message and "--stack" in message and "RSBATCH_TABLE" in message


def test_stack_without_the_outputs_is_bad_input(cloudformation: Any) -> None:
    _deploy(cloudformation, "other", Something="x")
    with pytest.raises(BadInputError, match="has no output DurableFunctionAliasArn, RunsTableName"):
        _resolve(stack="other")


def test_no_credentials_is_an_error_but_not_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # botocore's credential chain comes up empty (no variables, no files, no instance metadata),
    # so DescribeStacks fails with NoCredentialsError before any request leaves the machine.
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    for variable in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("AWS_WEB_IDENTITY_TOKEN_FILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(RsbatchError, match="cannot read stack 'rsbatch'") as raised:
        _resolve()
    assert not isinstance(raised.value, BadInputError)  # the CLI's exit code 2 is for bad input


# ---------------------------------------------------------------- the local stack


def test_local_needs_a_running_local_stack() -> None:
    with pytest.raises(BadInputError, match="rsbatch local up"):
        resolve_target(local=True, stack=None, region=None, profile=None)


def test_local_target_from_the_variables_local_up_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9001")
    monkeypatch.setenv("RSBATCH_TABLE", "runs")
    monkeypatch.setenv("RSBATCH_FUNCTION", "rsbatch-durable")
    target = resolve_target(local=True, stack=None, region=None, profile=None)
    assert (target.table, target.function) == ("runs", "rsbatch-durable")


# ---------------------------------------------------------------- samconfig.toml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('version = 0.1\n[default.deploy.parameters]\nstack_name = "mine"\n', "mine"),
        ('version = 0.1\n[default.deploy.parameters]\nstack_name = ""\n', DEFAULT_STACK),
        ("version = 0.1\n[default.deploy.parameters]\nresolve_s3 = true\n", DEFAULT_STACK),
        ("version = 0.1\n", DEFAULT_STACK),
        ("default = 3\n", DEFAULT_STACK),
        ("this is [not toml\n", DEFAULT_STACK),
    ],
)
def test_default_stack_name(tmp_path: Path, text: str, expected: str) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(text, encoding="utf-8")
    assert default_stack_name(samconfig) == expected


def test_default_stack_name_without_samconfig(tmp_path: Path) -> None:
    assert default_stack_name(tmp_path / "samconfig.toml") == DEFAULT_STACK


def test_default_stack_name_reads_the_global_section(tmp_path: Path) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        'version = 0.1\n[default.global.parameters]\nstack_name = "mine"\n', encoding="utf-8"
    )
    assert default_stack_name(samconfig) == "mine"


def test_an_unknown_profile_is_bad_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    with pytest.raises(BadInputError, match="no AWS profile 'nope'"):
        resolve_target(local=False, stack=None, region=None, profile="nope")


# ---------------------------------------------------------------- the dashboard


DASHBOARD = (
    "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=rsbatch"
)


def test_rsbatch_dashboard_prints_the_stack_s_dashboard_url(cloudformation: Any) -> None:
    from click.testing import CliRunner

    from rsbatch.cli import main

    _deploy(cloudformation, RunsTableName="t", DurableFunctionAliasArn=ALIAS_ARN, DashboardUrl=DASHBOARD)
    result = CliRunner().invoke(main, ["dashboard", "--region", "us-east-1"])
    assert (result.exit_code, result.output) == (0, DASHBOARD + "\n")
    assert _resolve().dashboard_url == DASHBOARD  # and `rsbatch start` prints it


def test_rsbatch_dashboard_of_a_stack_deployed_before_it_says_so(cloudformation: Any) -> None:
    from click.testing import CliRunner

    from rsbatch.cli import main

    _deploy(cloudformation)
    result = CliRunner().invoke(main, ["dashboard", "--region", "us-east-1"])
    assert result.exit_code == 1 and "no output DashboardUrl" in result.output


def test_there_is_no_dashboard_locally() -> None:
    from click.testing import CliRunner

    from rsbatch.cli import main

    result = CliRunner().invoke(main, ["dashboard", "--local"])
    assert result.exit_code == 2 and "no dashboard locally" in result.output
