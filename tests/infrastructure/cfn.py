"""An offline evaluator of template.yaml, for the infrastructure tests.

Why it exists: cfn-lint, ``sam validate`` and checkov (``make validate-template``)
check that the template is well formed and follows their rules, but none of them
says what a deployment *ends up with* for a given set of parameters: which
resources exist, what their properties resolve to, and which (action, resource)
pairs each role is granted. The contract and least-privilege tests need exactly
that, for every deployable target, without an AWS account or a network.

How: the template is transformed with aws-sam-translator (as CloudFormation's
AWS::Serverless transform does), then evaluated for one parameter set at a time
by :class:`Stack`: conditions, Rules, ``Fn::If``, ``Fn::Sub``, ``Fn::Join`` and
pseudo parameters are resolved, and references to resources become tokens
(``ref:X``, ``getatt:X.Attr``). Any other intrinsic function fails the test
loudly instead of being evaluated wrongly.

The template's values are untyped JSON, so they are ``Any`` here.
"""

from __future__ import annotations

import copy
import re
import socket
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from rsbatch.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"

#: The pseudo parameters every evaluation uses (one fixed account and region).
PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "rsbatch",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/rsbatch/0b1c2d3e",
    "AWS::URLSuffix": "amazonaws.com",
}
#: ``ARN_PREFIX.format(service=...)``: an ARN up to the resource, in PSEUDO's account and region.
ARN_PREFIX = "arn:aws:{service}:us-east-1:123456789012"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rsbatch/redshift-AbCdEf"
SECRET_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

#: What template.yaml's StatusRule must match: the listener and the local event bus rely on it.
STATUS_RULE_PATTERN = {
    "source": ["aws.redshift-data"],
    "detail-type": ["Redshift Data Statement Status Change"],
    "detail": {
        "statementName": [{"prefix": "rsbatch-"}],
        "state": ["FINISHED", "FAILED", "ABORTED"],
    },
}

#: Deployable parameter sets (the template's Rules accept each of them).
SCENARIOS: dict[str, dict[str, str]] = {
    "serverless_iam": {"RedshiftWorkgroupName": "analytics"},
    "cluster_iam": {"RedshiftClusterIdentifier": "warehouse"},
    "cluster_dbuser": {"RedshiftClusterIdentifier": "warehouse", "RedshiftDbUser": "etl"},
    "cluster_secret": {"RedshiftClusterIdentifier": "warehouse", "RedshiftSecretArn": SECRET},
    "serverless_secret": {"RedshiftWorkgroupName": "analytics", "RedshiftSecretArn": SECRET},
    "serverless_secret_key": {
        "RedshiftWorkgroupName": "analytics",
        "RedshiftSecretArn": SECRET,
        "RedshiftSecretKmsKeyArn": SECRET_KEY,
    },
    "everything": {
        "RedshiftWorkgroupName": "analytics",
        "SqlBucket": "my-sql",
        "SqlPrefix": "batches/",
        "AlarmEmail": "ops@example.com",
        "ScheduleExpression": "cron(0 3 * * ? *)",
        "ScheduleSqlFile": "nightly/refresh.sql",
        "Architecture": "arm64",
    },
}

NO_VALUE = object()


class _NoManagedPolicies:
    """The template names no managed policies, so the translator must never ask."""

    def load(self) -> dict[str, str]:
        raise AssertionError("the SAM transform tried to resolve managed policy names")


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    """Replace local code paths with S3 URIs, as `sam package` does."""
    template = copy.deepcopy(template)
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                properties[key] = f"s3://rsbatch-artifacts/{logical_id}.zip"
    return template


def _no_network(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("test tried to use the network")


@cache
def raw_template() -> dict[str, Any]:
    """template.yaml as written (short tags expanded), before the SAM transform."""
    return load_template(TEMPLATE_PATH)


@cache
def transformed(overrides: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The SAM transform of the template for these parameter values."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.delenv("AWS_PROFILE", raising=False)
        mp.setattr(socket.socket, "connect", _no_network)
        result: dict[str, Any] = transform(
            packaged(raw_template()), {**PSEUDO, **dict(overrides)}, _NoManagedPolicies()
        )
    return result


class Stack:
    """The transformed template, evaluated for one set of parameter values."""

    def __init__(self, template: dict[str, Any], overrides: dict[str, str]) -> None:
        self.template = template
        parameters = template.get("Parameters", {})
        unknown = set(overrides) - set(parameters)
        assert not unknown, f"unknown parameters {unknown}"
        self.params = {name: str(spec.get("Default", "")) for name, spec in parameters.items()}
        self.params.update(overrides)
        self._conditions: dict[str, bool] = {}

    # conditions and rules
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self.truth(self.template["Conditions"][name])
        return self._conditions[name]

    def truth(self, node: Any) -> bool:
        assert isinstance(node, dict) and len(node) == 1, f"not a condition: {node!r}"
        ((fn, arg),) = node.items()
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::Equals":
            left, right = (self.resolve(v) for v in arg)
            return bool(str(left) == str(right))
        if fn == "Fn::Not":
            return not self.truth(arg[0])
        if fn == "Fn::And":
            return all(self.truth(a) for a in arg)
        if fn == "Fn::Or":
            return any(self.truth(a) for a in arg)
        raise AssertionError(f"unsupported condition function {fn}")

    def failed_rules(self) -> list[str]:
        failed = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.truth(rule["RuleCondition"]):
                continue
            if not all(self.truth(a["Assert"]) for a in rule["Assertions"]):
                failed.append(name)
        return failed

    # intrinsic functions
    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.params:
            return self.params[name]
        assert name in self.template["Resources"], f"Ref to unknown {name}"
        return f"ref:{name}"

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if name in PSEUDO or name in self.params or "." not in name:
                return str(self.ref(name))
            resource, attribute = name.split(".", 1)
            assert resource in self.template["Resources"], f"Sub to unknown {name}"
            return f"getatt:{resource}.{attribute}"

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(v) for v in node]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                assert resource in self.template["Resources"], f"GetAtt to unknown {resource}"
                return f"getatt:{resource}.{attribute}"
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self.sub(text, variables)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Join":
                delimiter, values = arg
                return delimiter.join(str(v) for v in self.resolve(values))
            assert not key.startswith("Fn::"), f"unsupported intrinsic {key}"
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    # resources
    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return {
            logical_id: self.resolve(resource)
            for logical_id, resource in self.template["Resources"].items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == resource_type}

    def properties(self, logical_id: str) -> dict[str, Any]:
        resources = self.resources
        assert logical_id in resources, f"{logical_id} is not created"
        properties: dict[str, Any] = resources[logical_id]["Properties"]
        return properties

    def role_statements(self, role_id: str) -> list[dict[str, Any]]:
        """Every statement that ends up on the role, inline or attached."""
        resources = self.resources
        statements: list[dict[str, Any]] = []
        for policy in resources[role_id]["Properties"].get("Policies", []):
            statements += policy["PolicyDocument"]["Statement"]
        for resource in resources.values():
            properties = resource.get("Properties", {})
            attached = (
                resource["Type"] == "AWS::IAM::RolePolicy" and properties["RoleName"] == f"ref:{role_id}"
            ) or (
                resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
                and f"ref:{role_id}" in properties.get("Roles", [])
            )
            if attached:
                statements += properties["PolicyDocument"]["Statement"]
        return statements


@cache
def stack_for(scenario: str) -> Stack:
    """The stack that SCENARIOS[scenario] deploys (evaluated once per test session)."""
    overrides = SCENARIOS[scenario]
    return Stack(transformed(tuple(sorted(overrides.items()))), overrides)


def as_list(value: Any) -> list[Any]:
    """An IAM field that may be one value or a list of them, as a list."""
    return value if isinstance(value, list) else [value]


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Every (action, resource) pair the statements allow; fails on Deny, NotAction, NotResource."""
    pairs = set()
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                pairs.add((action, resource))
    return pairs


def function_name(stack: Stack, logical_id: str) -> str:
    name = stack.properties(logical_id)["FunctionName"]
    assert isinstance(name, str)
    return name
