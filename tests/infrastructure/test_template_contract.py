"""The IaC contract of template.yaml: what each deployable target creates, and how it is wired.

Resources, parameters and Rules, the two functions and their layer, the runs
table, the status rule and its dead-letter queue, the schedule, the alarms and
the outputs, read from the template as evaluated offline by ``cfn.Stack`` for
the parameter sets in ``cfn.SCENARIOS``. Least privilege is in test_iam.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from rsbatch_core import registry
from rsbatch_core.actions import ActionRequest
from rsbatch_core.models import RunRecord
from tests.infrastructure.cfn import (
    ROOT,
    SCENARIOS,
    SECRET,
    SECRET_KEY,
    STATUS_RULE_PATTERN,
    Stack,
    function_name,
    grants,
    raw_template,
    stack_for,
    transformed,
)

# ---------------------------------------------------------------- the transform


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_template_transforms_for_every_target(scenario: str) -> None:
    stack = stack_for(scenario)
    assert stack.failed_rules() == []
    for name in ("DurableFunction", "StatusListenerFunction", "RunsTable", "StatusRule"):
        assert name in stack.resources


def test_resources_exist() -> None:
    resources = stack_for("everything").template["Resources"]
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
        "ReconcileSchedule": "AWS::Scheduler::Schedule",
        "ReconcileScheduleRole": "AWS::IAM::Role",
        "OperatorPolicy": "AWS::IAM::ManagedPolicy",
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
    parameters = raw_template()["Parameters"]
    defaults = {name: str(spec.get("Default")) for name, spec in parameters.items()}
    assert defaults == {
        "RedshiftWorkgroupName": "",
        "RedshiftClusterIdentifier": "",
        "RedshiftDbUser": "",
        "RedshiftSecretArn": "",
        "RedshiftSecretKmsKeyArn": "",
        "RedshiftDatabase": "dev",
        "CallbackTimeoutSeconds": "900",
        "ExecutionTimeoutSeconds": "90000",
        "RetentionPeriodInDays": "14",
        "LogRetentionInDays": "30",
        "AlarmEmail": "",
        "ScheduleExpression": "",
        "ScheduleSqlFile": "query.sql",
        "ReconcileScheduleEnabled": "true",
        "ReconcileScheduleExpression": "rate(15 minutes)",
        "SqlBucket": "",
        "SqlPrefix": "",
        "BatchMaxAttempts": "3",
        "BatchBackoffSeconds": "30",
        "TransientRetrySeconds": "900",
        "CapacityRetrySeconds": "3600",
        "RetrySqlPatterns": "[]",
        "StatementTimeoutSeconds": "0",
        "QueryGroup": "",
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
        (
            {"RedshiftWorkgroupName": "analytics", "RedshiftSecretKmsKeyArn": SECRET_KEY},
            ["SecretKmsKeyNeedsSecret"],
        ),
    ],
)
def test_rules_refuse_ambiguous_targets(overrides: dict[str, str], broken: list[str]) -> None:
    assert Stack(transformed(), overrides).failed_rules() == broken


def test_durable_function_contract() -> None:
    stack = stack_for("serverless_iam")
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
        "RSBATCH_BATCH_MAX_ATTEMPTS": "3",
        "RSBATCH_BATCH_BACKOFF_SECONDS": "30",
        "RSBATCH_TRANSIENT_RETRY_SECONDS": "900",
        "RSBATCH_CAPACITY_RETRY_SECONDS": "3600",
        "RSBATCH_RETRY_SQL_PATTERNS": "[]",
        "RSBATCH_STATEMENT_TIMEOUT_SECONDS": "0",
        "RSBATCH_QUERY_GROUP": "",
        "POWERTOOLS_SERVICE_NAME": "rsbatch-durable",
        "POWERTOOLS_METRICS_NAMESPACE": "rsbatch",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    alias = stack.properties("DurableFunctionAliaslive")
    assert alias["Name"] == "live"
    assert alias["FunctionName"] == "ref:DurableFunction"
    # The alias follows layer changes too (rsbatch_core ships in the layer).
    assert (
        raw_template()["Resources"]["DurableFunction"]["Properties"]["AutoPublishAliasAllProperties"] is True
    )


def test_listener_and_layer_contract() -> None:
    stack = stack_for("everything")
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
    raw = raw_template()["Resources"]
    assert raw["CoreLayer"]["Properties"]["ContentUri"] == "build/layer/"
    assert raw["DurableFunction"]["Properties"]["CodeUri"] == "build/durable_fn/"
    assert raw["StatusListenerFunction"]["Properties"]["CodeUri"] == "build/status_listener/"


def test_log_groups_belong_to_the_functions() -> None:
    stack = stack_for("serverless_iam")
    for function, group in (
        ("DurableFunction", "DurableLogGroup"),
        ("StatusListenerFunction", "StatusListenerLogGroup"),
    ):
        props = stack.properties(group)
        assert props["LogGroupName"] == f"/aws/lambda/{function_name(stack, function)}"
        assert props["RetentionInDays"] == "30"


def test_runs_table() -> None:
    resource = stack_for("serverless_iam").resources["RunsTable"]
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    props = resource["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "run_key", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}


def test_runs_table_indexes_are_the_ones_the_registry_queries() -> None:
    """Each index rsbatch_core.registry names, with the keys it queries and a bounded projection."""
    props = stack_for("serverless_iam").properties("RunsTable")
    indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    keys = {name: [(k["AttributeName"], k["KeyType"]) for k in i["KeySchema"]] for name, i in indexes.items()}
    assert keys == {
        registry.BY_STARTED: [("item_type", "HASH"), ("started_at", "RANGE")],
        registry.WAITING: [("waiting", "HASH"), ("started_at", "RANGE")],
        registry.ENDED: [("ended", "HASH"), ("started_at", "RANGE")],
        registry.BY_STATEMENT: [("statement_id", "HASH")],
    }
    defined = {d["AttributeName"] for d in props["AttributeDefinitions"]}
    assert defined == {"run_key"} | {name for pairs in keys.values() for name, _ in pairs}
    # The listings never copy the summary (up to 64 KB of rows); the statement index keys only.
    for name in (registry.BY_STARTED, registry.ENDED):
        projection = indexes[name]["Projection"]
        assert projection["ProjectionType"] == "INCLUDE" and "summary" not in projection["NonKeyAttributes"]
        listed = set(RunRecord.model_fields) - registry.UNLISTED_FIELDS - {"run_key"}
        assert set(projection["NonKeyAttributes"]) == listed  # `runs --json` shows every field
    assert indexes[registry.BY_STATEMENT]["Projection"] == {"ProjectionType": "KEYS_ONLY"}


# ---------------------------------------------------------------- the rule


def test_status_rule_pattern_and_target() -> None:
    stack = stack_for("serverless_iam")
    props = stack.properties("StatusRule")
    assert props["EventPattern"] == STATUS_RULE_PATTERN
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
    stack = stack_for("serverless_iam")
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


# ---------------------------------------------------------------- schedule, alarms, outputs


def test_schedule_only_when_asked() -> None:
    assert "RunSchedule" not in stack_for("serverless_iam").resources
    assert "ScheduleRole" not in stack_for("serverless_iam").resources
    stack = stack_for("everything")
    schedule = stack.properties("RunSchedule")
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == "ref:DurableFunctionAliaslive"
    assert target["RoleArn"] == "getatt:ScheduleRole.Arn"
    assert json.loads(target["Input"]) == {"sql_file": "nightly/refresh.sql"}
    assert grants(stack.role_statements("ScheduleRole")) == {
        ("lambda:InvokeFunction", "ref:DurableFunctionAliaslive")
    }
    trust = stack.properties("ScheduleRole")["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]


def test_reconcile_runs_on_a_schedule_unless_turned_off() -> None:
    stack = stack_for("serverless_iam")
    schedule = stack.properties("ReconcileSchedule")
    assert schedule["ScheduleExpression"] == "rate(15 minutes)"
    target = schedule["Target"]
    assert target["Arn"] == "ref:DurableFunctionAliaslive"  # durable runs need a qualified ARN
    assert target["RoleArn"] == "getatt:ReconcileScheduleRole.Arn"
    request = ActionRequest.model_validate(json.loads(target["Input"]))  # what durable_fn dispatches
    assert (request.action, request.older_than_seconds, request.dry_run) == ("reconcile", 600, False)
    assert grants(stack.role_statements("ReconcileScheduleRole")) == {
        ("lambda:InvokeFunction", "ref:DurableFunctionAliaslive")
    }
    trust = stack.properties("ReconcileScheduleRole")["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "scheduler.amazonaws.com"}]

    hourly = Stack(
        transformed(), {**SCENARIOS["serverless_iam"], "ReconcileScheduleExpression": "rate(1 hour)"}
    )
    assert hourly.properties("ReconcileSchedule")["ScheduleExpression"] == "rate(1 hour)"
    off = Stack(transformed(), {**SCENARIOS["serverless_iam"], "ReconcileScheduleEnabled": "false"})
    assert "ReconcileSchedule" not in off.resources and "ReconcileScheduleRole" not in off.resources


def test_operator_policy_reads_without_running_the_function() -> None:
    stack = stack_for("serverless_iam")
    statements = stack.properties("OperatorPolicy")["PolicyDocument"]["Statement"]
    name = function_name(stack, "DurableFunction")
    function = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert grants(statements) == {
        (
            "cloudformation:DescribeStacks",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/rsbatch/0b1c2d3e",
        ),
        ("dynamodb:GetItem", "getatt:RunsTable.Arn"),
        ("dynamodb:Query", "getatt:RunsTable.Arn"),
        ("dynamodb:GetItem", "getatt:RunsTable.Arn/index/*"),
        ("dynamodb:Query", "getatt:RunsTable.Arn/index/*"),
        ("dynamodb:UpdateItem", "getatt:RunsTable.Arn"),  # fail --force
        ("lambda:GetDurableExecution", f"{function}:*"),
        ("lambda:GetDurableExecutionHistory", f"{function}:*"),
        ("lambda:ListDurableExecutionsByFunction", function),
        ("lambda:ListDurableExecutionsByFunction", "ref:DurableFunctionAliaslive"),
        ("lambda:InvokeFunction", "ref:DurableFunctionAliaslive"),  # start, --live, cancel, reconcile
        ("lambda:SendDurableExecutionCallbackSuccess", f"{function}:*"),
        ("lambda:SendDurableExecutionCallbackFailure", f"{function}:*"),
    }
    assert not [a for a, _ in grants(statements) if a.endswith(":Scan")]


def test_alarms_and_optional_topic() -> None:
    quiet = stack_for("serverless_iam")
    loud = stack_for("everything")
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
    outputs = raw_template()["Outputs"]
    assert {k: v["Value"] for k, v in outputs.items()} == {
        "DurableFunctionName": {"Ref": "DurableFunction"},
        "DurableFunctionAliasArn": {"Ref": "DurableFunctionAliaslive"},
        "StatusListenerFunctionName": {"Ref": "StatusListenerFunction"},
        "RunsTableName": {"Ref": "RunsTable"},
        "StatusRuleName": {"Ref": "StatusRule"},
        "DeadLetterQueueUrl": {"Ref": "DeadLetterQueue"},
        "DeadLetterQueueArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        "OperatorPolicyArn": {"Ref": "OperatorPolicy"},
        "DurableLogGroupName": {"Ref": "DurableLogGroup"},
        "StatusListenerLogGroupName": {"Ref": "StatusListenerLogGroup"},
        "SqlBucketName": {"Ref": "SqlBucket"},
        "SqlPrefix": {"Ref": "SqlPrefix"},
        "DashboardUrl": {  # tests/infrastructure/test_dashboard.py checks the dashboard itself
            "Fn::Sub": "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home"
            "?region=${AWS::Region}#dashboards:name=${Dashboard}"
        },
    }
    # An output's value may not be empty: the SQL outputs exist only with a value.
    assert outputs["SqlBucketName"]["Condition"] == "HasSqlBucket"
    assert outputs["SqlPrefix"]["Condition"] == "HasSqlPrefix"


def test_every_settings_parameter_has_the_bounds_the_function_accepts() -> None:
    """A parameter the template allows but the settings refuse would fail every invocation."""
    from rsbatch_core.errors import SettingsError
    from rsbatch_core.settings import ENV_NAMES, Settings

    template = raw_template()
    parameters = template["Parameters"]
    env = template["Resources"]["DurableFunction"]["Properties"]["Environment"]["Variables"]
    refs = {var: value["Ref"] for var, value in env.items() if isinstance(value, dict) and "Ref" in value}
    checked = 0
    for var in set(ENV_NAMES.values()) & refs.keys():
        spec = parameters.get(refs[var])
        if not spec or spec["Type"] != "Number":
            continue
        base = {"RSBATCH_TABLE": "runs"}
        for value in (spec["Default"], spec["MinValue"], spec["MaxValue"]):
            Settings.from_env({**base, var: str(value)})  # accepted
        for value in (spec["MinValue"] - 1, spec["MaxValue"] + 1):
            with pytest.raises(SettingsError, match=var):
                Settings.from_env({**base, var: str(value)})
        checked += 1
    assert checked >= 7  # the timeouts, retention and every retry budget


# ---------------------------------------------------------------- every bounded parameter

#: Number parameters whose bounds the settings model enforces (the test above checks them).
SETTINGS_BOUNDED = {
    "CallbackTimeoutSeconds",
    "ExecutionTimeoutSeconds",
    "BatchMaxAttempts",
    "BatchBackoffSeconds",
    "TransientRetrySeconds",
    "CapacityRetrySeconds",
    "StatementTimeoutSeconds",
}

#: String parameters sent to AWS as a request member: (service, operation, member) of
#: botocore's model, and values at the edges of both sides' rules.
SENT_AS = {
    "RedshiftWorkgroupName": (
        ("redshift-data", "BatchExecuteStatement", "WorkgroupName"),
        ["abc", "a" * 63, "a" * 64, "ab", "a-b"],
    ),
    "RedshiftClusterIdentifier": (
        ("redshift-data", "BatchExecuteStatement", "ClusterIdentifier"),
        ["a", "a" * 63, "a" * 64, "a-", "a--b", "a-b", "1a"],
    ),
    "ScheduleExpression": (
        ("scheduler", "CreateSchedule", "ScheduleExpression"),
        ["rate(1 hour)", "cron(" + "1 " * 126 + ")", "cron(" + "1 " * 127 + ")"],
    ),
}

#: Bounded by the template alone: the model of the call they feed has no bound to agree with
#: (DbUser, Database and SecretArn are unconstrained strings in redshift-data's model; an SNS
#: e-mail endpoint and an S3 key prefix are free text), or they are read by rsbatch code
#: checked in ``test_string_parameters_agree_with_the_code_that_reads_them``.
TEMPLATE_ONLY = {
    "RedshiftDbUser",
    "RedshiftDatabase",
    "RedshiftSecretArn",
    "AlarmEmail",
    "SqlPrefix",
    # Read by the template alone (a Condition, a Scheduler expression, a KMS key ARN in a policy).
    "ReconcileScheduleEnabled",
    "ReconcileScheduleExpression",
    "RedshiftSecretKmsKeyArn",
}


def template_accepts(spec: dict[str, Any], value: str) -> bool:
    """CloudFormation's parameter constraints: AllowedPattern (whole value), lengths, AllowedValues."""
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        return False
    if not int(spec.get("MinLength", 0)) <= len(value) <= int(spec.get("MaxLength", 1 << 30)):
        return False
    pattern = spec.get("AllowedPattern")
    return pattern is None or re.fullmatch(pattern, value) is not None


def model_member(service: str, operation: str, member: str) -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    return model.input_shape.members[member]


def test_every_bounded_parameter_is_checked_against_what_reads_it() -> None:
    bounds = ("MinValue", "MaxValue", "AllowedPattern", "AllowedValues", "MinLength", "MaxLength")
    bounded = {name for name, spec in raw_template()["Parameters"].items() if set(spec) & set(bounds)}
    checked = SETTINGS_BOUNDED | set(SENT_AS) | TEMPLATE_ONLY | set(READ_BY_CODE) | set(AWS_BOUNDS)
    assert sorted(bounded - checked) == []
    assert sorted(checked - bounded) == []


@pytest.mark.parametrize("name", sorted(SENT_AS))
def test_string_parameters_are_values_the_model_accepts(name: str) -> None:
    from tests.contract.shapes import RequestChecker

    (service, operation, member), samples = SENT_AS[name]
    shape = model_member(service, operation, member)
    spec = raw_template()["Parameters"][name]
    for value in samples:
        checker = RequestChecker()
        checker.check(shape, value, member)
        # Stricter than the model is fine; looser would fail at deployment or at the first call.
        assert not template_accepts(spec, value) or checker.problems == [], (name, value, checker.problems)


def _durable_config(member: str) -> tuple[int, int]:
    import botocore.session

    shape = (
        botocore.session.get_session().get_service_model("lambda").shape_for("DurableConfig").members[member]
    )
    return int(shape.metadata["min"]), int(shape.metadata["max"])


def _log_retention_days() -> list[int]:
    import botocore.session

    days = botocore.session.get_session().get_service_model("logs").shape_for("Days")
    listed = days.documentation.split("Possible values are:")[1].split(".")[0]
    return [int(n) for n in re.findall(r"\d+", listed)]


def _lambda_architectures() -> list[str]:
    import botocore.session

    return list(botocore.session.get_session().get_service_model("lambda").shape_for("Architecture").enum)


#: Parameters passed to AWS as-is, and what botocore's model says they may be.
AWS_BOUNDS: dict[str, Any] = {
    "ExecutionTimeoutSeconds": lambda spec: (
        (spec["MinValue"], spec["MaxValue"]) == _durable_config("ExecutionTimeout")
    ),
    "RetentionPeriodInDays": lambda spec: (
        (spec["MinValue"], spec["MaxValue"]) == _durable_config("RetentionPeriodInDays")
    ),
    "LogRetentionInDays": lambda spec: spec["AllowedValues"] == _log_retention_days(),
    "Architecture": lambda spec: spec["AllowedValues"] == _lambda_architectures(),
}


@pytest.mark.parametrize("name", sorted(AWS_BOUNDS))
def test_parameters_passed_to_aws_have_its_bounds(name: str) -> None:
    assert AWS_BOUNDS[name](raw_template()["Parameters"][name])


def _query_group(value: str) -> bool:
    from rsbatch_core.errors import SettingsError
    from rsbatch_core.settings import Settings

    try:
        Settings.from_env({"RSBATCH_TABLE": "runs", "RSBATCH_QUERY_GROUP": value})
    except SettingsError:
        return False
    return True


def _retry_patterns(value: str) -> bool:
    from rsbatch_core.errors import SettingsError
    from rsbatch_core.settings import Settings

    try:
        Settings.from_env({"RSBATCH_TABLE": "runs", "RSBATCH_RETRY_SQL_PATTERNS": value})
    except SettingsError:
        return False
    return True


def _sql_bucket(value: str) -> bool:
    from rsbatch_core.errors import SqlFileError
    from rsbatch_core.sqlsource import SqlSource

    try:
        SqlSource(root=ROOT, bucket=value).check_s3_uri(f"s3://{value}/a.sql")
    except SqlFileError:
        return False
    return True


def _schedule_sql_file(value: str) -> bool:
    from pydantic import ValidationError

    from rsbatch_core.models import RunRequest

    try:
        RunRequest.model_validate({"sql_file": value})
    except ValidationError:
        return False
    return True


#: String parameters rsbatch's own code reads, with the check it applies and edge values.
READ_BY_CODE: dict[str, tuple[Any, list[str]]] = {
    "QueryGroup": (_query_group, ["etl", "a" * 30, "a" * 31, "a b", "x.y-z_1"]),
    "RetrySqlPatterns": (_retry_patterns, ["[]", '["lock wait timeout"]', "[1", "[ ]"]),
    "SqlBucket": (_sql_bucket, ["my-sql", "a" * 63, "a" * 64, "ab", "my.sql", "-ab"]),
    "ScheduleSqlFile": (_schedule_sql_file, ["query.sql", "nightly/refresh.sql", "a" * 1100 + ".sql"]),
}


@pytest.mark.parametrize("name", sorted(READ_BY_CODE))
def test_string_parameters_agree_with_the_code_that_reads_them(name: str) -> None:
    accepts, samples = READ_BY_CODE[name]
    spec = raw_template()["Parameters"][name]
    for value in samples:
        assert not template_accepts(spec, value) or accepts(value), (name, value)
