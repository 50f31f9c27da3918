"""Checks on template.yaml: the SAM transform, the contracts, and least privilege.

The template is transformed with aws-sam-translator (as CloudFormation's
AWS::Serverless transform does), then evaluated offline for one parameter set
at a time: conditions, Fn::If, Fn::Sub and pseudo parameters are resolved, and
references to resources become tokens (``ref:X``, ``getatt:X.Attr``). No
network and no AWS account are used.
"""

from __future__ import annotations

import copy
import json
import re
import socket
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from rsbatch.local.template import TemplateError, load_template, status_rule_pattern

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"

PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "rsbatch",
    "AWS::URLSuffix": "amazonaws.com",
}
ARN_PREFIX = "arn:aws:{service}:us-east-1:123456789012"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rsbatch/redshift-AbCdEf"

EXPECTED_PATTERN = {
    "source": ["aws.redshift-data"],
    "detail-type": ["Redshift Data Statement Status Change"],
    "detail": {
        "statementName": [{"prefix": "rsbatch-"}],
        "state": ["FINISHED", "FAILED", "ABORTED"],
    },
}

# Deployable parameter sets (the template's Rules accept each of them).
SCENARIOS: dict[str, dict[str, str]] = {
    "serverless_iam": {"RedshiftWorkgroupName": "analytics"},
    "cluster_iam": {"RedshiftClusterIdentifier": "warehouse"},
    "cluster_dbuser": {"RedshiftClusterIdentifier": "warehouse", "RedshiftDbUser": "etl"},
    "cluster_secret": {"RedshiftClusterIdentifier": "warehouse", "RedshiftSecretArn": SECRET},
    "serverless_secret": {"RedshiftWorkgroupName": "analytics", "RedshiftSecretArn": SECRET},
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

# The credential permission each target needs, and nothing else.
CREDENTIALS: dict[str, set[tuple[str, str]]] = {
    "serverless_iam": {
        (
            "redshift-serverless:GetCredentials",
            ARN_PREFIX.format(service="redshift-serverless") + ":workgroup/*",
        )
    },
    "cluster_iam": {
        (
            "redshift:GetClusterCredentialsWithIAM",
            ARN_PREFIX.format(service="redshift") + ":dbname:warehouse/dev",
        )
    },
    "cluster_dbuser": {
        (
            "redshift:GetClusterCredentials",
            ARN_PREFIX.format(service="redshift") + ":dbuser:warehouse/etl",
        ),
        (
            "redshift:GetClusterCredentials",
            ARN_PREFIX.format(service="redshift") + ":dbname:warehouse/dev",
        ),
    },
    "cluster_secret": {("secretsmanager:GetSecretValue", SECRET)},
    "serverless_secret": {("secretsmanager:GetSecretValue", SECRET)},
    "everything": {
        (
            "redshift-serverless:GetCredentials",
            ARN_PREFIX.format(service="redshift-serverless") + ":workgroup/*",
        )
    },
}

OWNER_ACTIONS = {
    "redshift-data:DescribeStatement",
    "redshift-data:CancelStatement",
    "redshift-data:GetStatementResult",
}
OWNER_CONDITION = {"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}}
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
NO_VALUE = object()


# ---------------------------------------------------------------- evaluation


class _NoManagedPolicies:
    """The template names no managed policies, so the translator must never ask."""

    def load(self) -> dict[str, str]:
        raise AssertionError("the SAM transform tried to resolve managed policy names")


def _packaged(template: dict[str, Any]) -> dict[str, Any]:
    """Replace local code paths with S3 URIs, as `sam package` does."""
    template = copy.deepcopy(template)
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:
                properties[key] = f"s3://rsbatch-artifacts/{logical_id}.zip"
    return template


def _no_network(*_args: Any, **_kwargs: Any) -> None:
    raise AssertionError("test tried to use the network")


@cache
def _raw() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


@cache
def _transformed(overrides: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The SAM transform of the template for these parameter values."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.delenv("AWS_PROFILE", raising=False)
        mp.setattr(socket.socket, "connect", _no_network)
        transformed: dict[str, Any] = transform(
            _packaged(_raw()), {**PSEUDO, **dict(overrides)}, _NoManagedPolicies()
        )
    return transformed


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


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    pairs = set()
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                pairs.add((action, resource))
    return pairs


@cache
def _stack(scenario: str) -> Stack:
    overrides = SCENARIOS[scenario]
    return Stack(_transformed(tuple(sorted(overrides.items()))), overrides)


def _function_name(stack: Stack, logical_id: str) -> str:
    name = stack.properties(logical_id)["FunctionName"]
    assert isinstance(name, str)
    return name


def _durable_executions(stack: Stack) -> str:
    name = _function_name(stack, "DurableFunction")
    return ARN_PREFIX.format(service="lambda") + f":function:{name}:*"


# ---------------------------------------------------------------- the transform


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_template_transforms_for_every_target(scenario: str) -> None:
    stack = _stack(scenario)
    assert stack.failed_rules() == []
    for name in ("DurableFunction", "StatusListenerFunction", "RunsTable", "StatusRule"):
        assert name in stack.resources


def test_resources_exist() -> None:
    resources = _stack("everything").template["Resources"]
    types = {logical_id: r["Type"] for logical_id, r in resources.items()}
    expected = {
        "DurableFunction": "AWS::Lambda::Function",
        "DurableFunctionAliaslive": "AWS::Lambda::Alias",
        "DurableFunctionRole": "AWS::IAM::Role",
        "DurableLogGroup": "AWS::Logs::LogGroup",
        "StatusListenerFunction": "AWS::Lambda::Function",
        "StatusListenerRole": "AWS::IAM::Role",
        "StatusListenerLogGroup": "AWS::Logs::LogGroup",
        "StatusListenerInvokeConfig": "AWS::Lambda::EventInvokeConfig",
        "StatusRule": "AWS::Events::Rule",
        "StatusRuleInvokePermission": "AWS::Lambda::Permission",
        "DeadLetterQueue": "AWS::SQS::Queue",
        "DeadLetterQueuePolicy": "AWS::SQS::QueuePolicy",
        "RunsTable": "AWS::DynamoDB::Table",
        "RunSchedule": "AWS::Scheduler::Schedule",
        "ScheduleRole": "AWS::IAM::Role",
        "AlarmTopic": "AWS::SNS::Topic",
        "AlarmEmailSubscription": "AWS::SNS::Subscription",
        "DeadLetterQueueAlarm": "AWS::CloudWatch::Alarm",
        "ListenerErrorsAlarm": "AWS::CloudWatch::Alarm",
        "RunsFailedAlarm": "AWS::CloudWatch::Alarm",
    }
    for logical_id, resource_type in expected.items():
        assert types.get(logical_id) == resource_type, logical_id
    layers = [k for k, t in types.items() if t == "AWS::Lambda::LayerVersion"]
    assert len(layers) == 1 and layers[0].startswith("CoreLayer")
    assert [t for t in types.values() if t == "AWS::Lambda::Version"] == ["AWS::Lambda::Version"]


def test_parameters_match_the_contract() -> None:
    parameters = _raw()["Parameters"]
    defaults = {name: str(spec.get("Default")) for name, spec in parameters.items()}
    assert defaults == {
        "RedshiftWorkgroupName": "",
        "RedshiftClusterIdentifier": "",
        "RedshiftDbUser": "",
        "RedshiftSecretArn": "",
        "RedshiftDatabase": "dev",
        "CallbackTimeoutSeconds": "900",
        "ExecutionTimeoutSeconds": "90000",
        "RetentionPeriodInDays": "14",
        "LogRetentionInDays": "30",
        "AlarmEmail": "",
        "ScheduleExpression": "",
        "ScheduleSqlFile": "query.sql",
        "SqlBucket": "",
        "SqlPrefix": "",
        "Architecture": "x86_64",
    }
    assert parameters["ExecutionTimeoutSeconds"]["MaxValue"] == 31622400
    assert parameters["ExecutionTimeoutSeconds"]["MinValue"] == 1
    assert (
        parameters["RetentionPeriodInDays"]["MinValue"],
        parameters["RetentionPeriodInDays"]["MaxValue"],
    ) == (1, 90)
    assert parameters["Architecture"]["AllowedValues"] == ["x86_64", "arm64"]


@pytest.mark.parametrize(
    ("overrides", "broken"),
    [
        ({}, ["ExactlyOneWarehouse"]),
        ({"RedshiftSecretArn": SECRET}, ["ExactlyOneWarehouse"]),
        (
            {"RedshiftWorkgroupName": "analytics", "RedshiftClusterIdentifier": "warehouse"},
            ["ExactlyOneWarehouse"],
        ),
        ({"RedshiftWorkgroupName": "analytics", "RedshiftDbUser": "etl"}, ["DbUserOnlyForClusterIam"]),
        (
            {"RedshiftClusterIdentifier": "warehouse", "RedshiftDbUser": "etl", "RedshiftSecretArn": SECRET},
            ["DbUserOnlyForClusterIam"],
        ),
        ({"RedshiftWorkgroupName": "analytics", "SqlPrefix": "batches/"}, ["SqlPrefixNeedsBucket"]),
    ],
)
def test_rules_refuse_ambiguous_targets(overrides: dict[str, str], broken: list[str]) -> None:
    assert Stack(_transformed(), overrides).failed_rules() == broken


def test_durable_function_contract() -> None:
    stack = _stack("serverless_iam")
    raw = stack.template["Resources"]["DurableFunction"]["Properties"]
    assert raw["DurableConfig"] == {
        "ExecutionTimeout": {"Ref": "ExecutionTimeoutSeconds"},
        "RetentionPeriodInDays": {"Ref": "RetentionPeriodInDays"},
    }
    props = stack.properties("DurableFunction")
    assert props["FunctionName"] == "rsbatch-durable"
    assert props["Runtime"] == "python3.14"
    assert props["Handler"] == "app.handler"
    assert props["Timeout"] == 60
    assert props["MemorySize"] == 256
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Architectures"] == ["x86_64"]
    assert props["Role"] == "getatt:DurableFunctionRole.Arn"
    assert props["LoggingConfig"] == {"LogGroup": "ref:DurableLogGroup"}
    assert len(props["Layers"]) == 1 and props["Layers"][0].startswith("ref:CoreLayer")
    assert props["Environment"]["Variables"] == {
        "RSBATCH_TABLE": "ref:RunsTable",
        "RSBATCH_DATABASE": "dev",
        "RSBATCH_WORKGROUP": "analytics",
        "RSBATCH_CLUSTER_ID": "",
        "RSBATCH_DB_USER": "",
        "RSBATCH_SECRET_ARN": "",
        "RSBATCH_CALLBACK_TIMEOUT_SECONDS": "900",
        "RSBATCH_EXECUTION_TIMEOUT_SECONDS": "90000",
        "RSBATCH_SQL_BUCKET": "",
        "RSBATCH_SQL_PREFIX": "",
        "POWERTOOLS_SERVICE_NAME": "rsbatch-durable",
        "POWERTOOLS_METRICS_NAMESPACE": "rsbatch",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    alias = stack.properties("DurableFunctionAliaslive")
    assert alias["Name"] == "live"
    assert alias["FunctionName"] == "ref:DurableFunction"
    # The alias follows layer changes too (rsbatch_core ships in the layer).
    assert _raw()["Resources"]["DurableFunction"]["Properties"]["AutoPublishAliasAllProperties"] is True


def test_listener_and_layer_contract() -> None:
    stack = _stack("everything")
    props = stack.properties("StatusListenerFunction")
    assert props["FunctionName"] == "rsbatch-listener"
    assert props["Runtime"] == "python3.14"
    assert props["Handler"] == "app.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Architectures"] == ["arm64"]
    assert props["Role"] == "getatt:StatusListenerRole.Arn"
    assert props["LoggingConfig"] == {"LogGroup": "ref:StatusListenerLogGroup"}
    assert props["Environment"]["Variables"] == {
        "RSBATCH_TABLE": "ref:RunsTable",
        "POWERTOOLS_SERVICE_NAME": "rsbatch-listener",
        "POWERTOOLS_METRICS_NAMESPACE": "rsbatch",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    (layer,) = stack.of_type("AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.14"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    raw = _raw()["Resources"]
    assert raw["CoreLayer"]["Properties"]["ContentUri"] == "build/layer/"
    assert raw["DurableFunction"]["Properties"]["CodeUri"] == "build/durable_fn/"
    assert raw["StatusListenerFunction"]["Properties"]["CodeUri"] == "build/status_listener/"


def test_log_groups_belong_to_the_functions() -> None:
    stack = _stack("serverless_iam")
    for function, group in (
        ("DurableFunction", "DurableLogGroup"),
        ("StatusListenerFunction", "StatusListenerLogGroup"),
    ):
        props = stack.properties(group)
        assert props["LogGroupName"] == f"/aws/lambda/{_function_name(stack, function)}"
        assert props["RetentionInDays"] == "30"


def test_runs_table() -> None:
    resource = _stack("serverless_iam").resources["RunsTable"]
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    props = resource["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "run_key", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "run_key", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}


# ---------------------------------------------------------------- the rule


def test_status_rule_pattern_and_target() -> None:
    stack = _stack("serverless_iam")
    props = stack.properties("StatusRule")
    assert props["EventPattern"] == EXPECTED_PATTERN
    assert props["State"] == "ENABLED"
    (target,) = props["Targets"]
    assert target["Arn"] == "getatt:StatusListenerFunction.Arn"
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"] == {"Arn": "getatt:DeadLetterQueue.Arn"}

    permission = stack.properties("StatusRuleInvokePermission")
    assert permission == {
        "FunctionName": "ref:StatusListenerFunction",
        "Action": "lambda:InvokeFunction",
        "Principal": "events.amazonaws.com",
        "SourceArn": "getatt:StatusRule.Arn",
    }
    # The listener's own failures (after Lambda's async retries) land in the same queue.
    invoke_config = stack.properties("StatusListenerInvokeConfig")
    assert invoke_config["FunctionName"] == "ref:StatusListenerFunction"
    assert invoke_config["DestinationConfig"] == {"OnFailure": {"Destination": "getatt:DeadLetterQueue.Arn"}}


def test_dead_letter_queue() -> None:
    stack = _stack("serverless_iam")
    queue = stack.properties("DeadLetterQueue")
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    policy = stack.properties("DeadLetterQueuePolicy")
    assert policy["Queues"] == ["ref:DeadLetterQueue"]
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "StatusRuleDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "getatt:DeadLetterQueue.Arn",
            "Condition": {"ArnEquals": {"aws:SourceArn": "getatt:StatusRule.Arn"}},
        }
    ]


def test_status_rule_pattern_reads_the_real_template() -> None:
    assert status_rule_pattern(load_template(TEMPLATE_PATH)) == EXPECTED_PATTERN


def test_status_rule_pattern_returns_a_copy() -> None:
    template = load_template(TEMPLATE_PATH)
    status_rule_pattern(template)["source"].append("mutated")
    assert status_rule_pattern(template) == EXPECTED_PATTERN


def test_status_rule_pattern_fails_clearly_without_the_rule() -> None:
    template = load_template(TEMPLATE_PATH)
    del template["Resources"]["StatusRule"]
    with pytest.raises(TemplateError, match="no EventBridge rule 'StatusRule'"):
        status_rule_pattern(template)
    with pytest.raises(TemplateError, match="no Resources"):
        status_rule_pattern({})


def test_status_rule_pattern_rejects_a_rule_without_a_literal_pattern() -> None:
    template = load_template(TEMPLATE_PATH)
    properties = template["Resources"]["StatusRule"]["Properties"]
    patterns: list[Any] = [{"Ref": "Pattern"}, {"Fn::If": ["A", {}, {}]}, [], "not json"]
    for pattern in patterns:
        properties["EventPattern"] = pattern
        with pytest.raises(TemplateError, match="EventPattern"):
            status_rule_pattern(template)
    del properties["EventPattern"]
    with pytest.raises(TemplateError, match="no literal EventPattern"):
        status_rule_pattern(template)


def test_status_rule_pattern_accepts_a_sam_event_and_json_text() -> None:
    template = {
        "Resources": {
            "Listener": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "StatusRule": {
                            "Type": "EventBridgeRule",
                            "Properties": {"Pattern": EXPECTED_PATTERN},
                        }
                    }
                },
            }
        }
    }
    assert status_rule_pattern(template) == EXPECTED_PATTERN
    rule = {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": json.dumps(EXPECTED_PATTERN)}}
    assert status_rule_pattern({"Resources": {"StatusRule": rule}}) == EXPECTED_PATTERN


# ---------------------------------------------------------------- the YAML loader


def test_load_template_expands_short_tags(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        """
AWSTemplateFormatVersion: 2010-09-09
Conditions:
  A: !Equals [!Ref P, ""]
  B: !And [!Condition A, !Not [!Condition A], !Or [!Condition A, !Condition A]]
Resources:
  R:
    Type: X
    Properties:
      a: !Sub ${AWS::StackName}-x
      b: !Sub ["${x}", {x: !GetAtt R.Arn}]
      c: !GetAtt R.Outputs.Name
      d: !If [A, !Join [",", !Split [",", "a,b"]], !Select [0, !GetAZs ""]]
      e: !FindInMap [M, !Ref "AWS::Region", k]
      f: !Base64 {"Fn::Sub": x}
      h: !ImportValue shared
      g: !Cidr [10.0.0.0/16, 4, 8]
""",
        encoding="utf-8",
    )
    template = load_template(path)
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert template["Conditions"] == {
        "A": {"Fn::Equals": [{"Ref": "P"}, ""]},
        "B": {
            "Fn::And": [
                {"Condition": "A"},
                {"Fn::Not": [{"Condition": "A"}]},
                {"Fn::Or": [{"Condition": "A"}, {"Condition": "A"}]},
            ]
        },
    }
    assert template["Resources"]["R"]["Properties"] == {
        "a": {"Fn::Sub": "${AWS::StackName}-x"},
        "b": {"Fn::Sub": ["${x}", {"x": {"Fn::GetAtt": ["R", "Arn"]}}]},
        "c": {"Fn::GetAtt": ["R", "Outputs.Name"]},
        "d": {
            "Fn::If": [
                "A",
                {"Fn::Join": [",", {"Fn::Split": [",", "a,b"]}]},
                {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
            ]
        },
        "e": {"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "k"]},
        "f": {"Fn::Base64": {"Fn::Sub": "x"}},
        "h": {"Fn::ImportValue": "shared"},
        "g": {"Fn::Cidr": ["10.0.0.0/16", 4, 8]},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Resources:\n  A: {Type: X}\n  A: {Type: Y}\n", "duplicate key 'A'"),
        ("Resources: [\n", "invalid template"),
        ("- just a list\n", "not a mapping"),
        ("Parameters: {}\n", "no Resources"),
        ("Resources:\n  A: !GetAtt NoDot\n", "Resource.Attribute"),
        ("Resources:\n  A: !Unknown x\n", "invalid template"),
    ],
)
def test_load_template_fails_clearly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TemplateError, match=message):
        load_template(path)


def test_load_template_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read template"):
        load_template(tmp_path / "absent.yaml")


# ---------------------------------------------------------------- least privilege


def test_no_full_access_or_managed_policies() -> None:
    for scenario in SCENARIOS:
        stack = _stack(scenario)
        for logical_id, role in stack.of_type("AWS::IAM::Role").items():
            arns = role["Properties"].get("ManagedPolicyArns", [])
            assert not [a for a in arns if "FullAccess" in str(a)], logical_id
            # Every role here is written out statement by statement.
            assert arns == [], logical_id
        assert not stack.of_type("AWS::IAM::ManagedPolicy")
    assert "FullAccess" not in TEMPLATE_PATH.read_text(encoding="utf-8")


def test_every_function_uses_a_role_from_this_template() -> None:
    stack = _stack("everything")
    roles = {
        logical_id: props["Properties"]["Role"]
        for logical_id, props in stack.of_type("AWS::Lambda::Function").items()
    }
    assert roles == {
        "DurableFunction": "getatt:DurableFunctionRole.Arn",
        "StatusListenerFunction": "getatt:StatusListenerRole.Arn",
    }
    assert set(stack.of_type("AWS::IAM::Role")) == {
        "DurableFunctionRole",
        "StatusListenerRole",
        "ScheduleRole",
    }


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_durable_role_grants_exactly_what_it_calls(scenario: str) -> None:
    stack = _stack(scenario)
    params = stack.params
    if params["RedshiftClusterIdentifier"]:
        warehouse = ARN_PREFIX.format(service="redshift") + f":cluster:{params['RedshiftClusterIdentifier']}"
    else:
        warehouse = ARN_PREFIX.format(service="redshift-serverless") + ":workgroup/*"
    executions = _durable_executions(stack)
    expected = {
        ("logs:CreateLogStream", "getatt:DurableLogGroup.Arn"),
        ("logs:PutLogEvents", "getatt:DurableLogGroup.Arn"),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
        ("lambda:CheckpointDurableExecution", executions),
        ("lambda:GetDurableExecutionState", executions),
        ("lambda:SendDurableExecutionCallbackSuccess", executions),  # the reconcile action
        ("lambda:SendDurableExecutionCallbackFailure", executions),
        ("dynamodb:PutItem", "getatt:RunsTable.Arn"),
        ("dynamodb:UpdateItem", "getatt:RunsTable.Arn"),
        ("dynamodb:GetItem", "getatt:RunsTable.Arn"),
        ("dynamodb:Scan", "getatt:RunsTable.Arn"),
        ("redshift-data:BatchExecuteStatement", warehouse),
        ("redshift-data:DescribeStatement", "*"),
        ("redshift-data:CancelStatement", "*"),
        ("redshift-data:GetStatementResult", "*"),
        *CREDENTIALS[scenario],
    }
    if params["SqlBucket"]:
        expected.add(("s3:GetObject", f"arn:aws:s3:::{params['SqlBucket']}/{params['SqlPrefix']}*"))
    assert _grants(stack.role_statements("DurableFunctionRole")) == expected


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_listener_role_grants_exactly_what_it_calls(scenario: str) -> None:
    stack = _stack(scenario)
    executions = _durable_executions(stack)
    assert _grants(stack.role_statements("StatusListenerRole")) == {
        ("logs:CreateLogStream", "getatt:StatusListenerLogGroup.Arn"),
        ("logs:PutLogEvents", "getatt:StatusListenerLogGroup.Arn"),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
        ("dynamodb:GetItem", "getatt:RunsTable.Arn"),
        ("lambda:SendDurableExecutionCallbackSuccess", executions),
        ("lambda:SendDurableExecutionCallbackFailure", executions),
        # Lambda sends failed async invocations to the on-failure destination as this role.
        ("sqs:SendMessage", "getatt:DeadLetterQueue.Arn"),
    }


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_wildcard_resources_only_where_aws_requires_them(scenario: str) -> None:
    stack = _stack(scenario)
    for role_id in stack.of_type("AWS::IAM::Role"):
        for statement in stack.role_statements(role_id):
            resources = _as_list(statement["Resource"])
            actions = set(_as_list(statement["Action"]))
            if "*" not in resources:
                assert not any(a.endswith("*") for a in actions), statement
                continue
            assert resources == ["*"], statement
            assert actions <= XRAY_ACTIONS or actions <= OWNER_ACTIONS, statement
            if actions & OWNER_ACTIONS:
                assert statement["Condition"] == OWNER_CONDITION, statement


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_durable_execution_arns_are_versions_not_aliases(scenario: str) -> None:
    stack = _stack(scenario)
    executions = _durable_executions(stack)
    assert executions.endswith(":function:rsbatch-durable:*")
    for role_id in ("DurableFunctionRole", "StatusListenerRole"):
        for statement in stack.role_statements(role_id):
            if any("DurableExecution" in a for a in _as_list(statement["Action"])):
                assert _as_list(statement["Resource"]) == [executions]


def test_credential_permissions_only_under_their_condition() -> None:
    raw = _raw()["Resources"]
    expected_conditions = {
        "redshift-serverless:GetCredentials": "UseServerlessIam",
        "redshift:GetClusterCredentialsWithIAM": "UseClusterIam",
        "redshift:GetClusterCredentials": "UseClusterDbUser",
        "secretsmanager:GetSecretValue": "HasSecret",
        "s3:GetObject": "HasSqlBucket",
    }
    found = {}
    for logical_id, resource in raw.items():
        if resource["Type"] != "AWS::IAM::RolePolicy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            for action in _as_list(statement["Action"]):
                found[action] = resource.get("Condition")
                assert action in expected_conditions, (logical_id, action)
    assert found == expected_conditions
    # ... and nowhere else.
    for role_id in ("DurableFunctionRole", "StatusListenerRole"):
        inline = json.dumps(raw[role_id]["Properties"]["Policies"])
        for action in expected_conditions:
            assert action not in inline


# ---------------------------------------------------------------- schedule, alarms, outputs


def test_schedule_only_when_asked() -> None:
    assert "RunSchedule" not in _stack("serverless_iam").resources
    assert "ScheduleRole" not in _stack("serverless_iam").resources
    stack = _stack("everything")
    schedule = stack.properties("RunSchedule")
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == "ref:DurableFunctionAliaslive"
    assert target["RoleArn"] == "getatt:ScheduleRole.Arn"
    assert json.loads(target["Input"]) == {"sql_file": "nightly/refresh.sql"}
    assert _grants(stack.role_statements("ScheduleRole")) == {
        ("lambda:InvokeFunction", "ref:DurableFunctionAliaslive")
    }
    trust = stack.properties("ScheduleRole")["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]


def test_alarms_and_optional_topic() -> None:
    quiet = _stack("serverless_iam")
    loud = _stack("everything")
    assert "AlarmTopic" not in quiet.resources
    assert loud.properties("AlarmEmailSubscription")["Endpoint"] == "ops@example.com"
    alarms = {
        "DeadLetterQueueAlarm": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "getatt:DeadLetterQueue.QueueName",
        ),
        "ListenerErrorsAlarm": ("AWS/Lambda", "Errors", "ref:StatusListenerFunction"),
        "RunsFailedAlarm": ("rsbatch", "RunsFailed", "rsbatch-durable"),
    }
    for logical_id, (namespace, metric, dimension) in alarms.items():
        props = quiet.properties(logical_id)
        assert (props["Namespace"], props["MetricName"]) == (namespace, metric)
        assert [d["Value"] for d in props["Dimensions"]] == [dimension]
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["Threshold"] == 0
        assert "AlarmActions" not in props
        assert loud.properties(logical_id)["AlarmActions"] == ["ref:AlarmTopic"]
    assert quiet.properties("RunsFailedAlarm")["Dimensions"] == [
        {"Name": "service", "Value": "rsbatch-durable"}
    ]


def test_outputs() -> None:
    outputs = _raw()["Outputs"]
    assert {k: v["Value"] for k, v in outputs.items()} == {
        "DurableFunctionName": {"Ref": "DurableFunction"},
        "DurableFunctionAliasArn": {"Ref": "DurableFunctionAliaslive"},
        "StatusListenerFunctionName": {"Ref": "StatusListenerFunction"},
        "RunsTableName": {"Ref": "RunsTable"},
        "StatusRuleName": {"Ref": "StatusRule"},
        "DeadLetterQueueUrl": {"Ref": "DeadLetterQueue"},
        "DeadLetterQueueArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
    }
