"""Least privilege in template.yaml: every role is granted exactly what its code calls.

The grants are read from the template as evaluated offline by ``cfn.Stack``,
once per deployable target in ``cfn.SCENARIOS``, inline policies and attached
ones alike.
"""

from __future__ import annotations

import json

import pytest

from tests.infrastructure.cfn import (
    ARN_PREFIX,
    SCENARIOS,
    SECRET,
    SECRET_KEY,
    TEMPLATE_PATH,
    Stack,
    as_list,
    function_name,
    grants,
    raw_template,
    stack_for,
)

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
    "serverless_secret_key": {("secretsmanager:GetSecretValue", SECRET), ("kms:Decrypt", SECRET_KEY)},
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


def durable_executions(stack: Stack) -> str:
    """The ARN that covers every durable execution of the durable function (any version)."""
    name = function_name(stack, "DurableFunction")
    return ARN_PREFIX.format(service="lambda") + f":function:{name}:*"


def test_no_full_access_or_managed_policies() -> None:
    for scenario in SCENARIOS:
        stack = stack_for(scenario)
        for logical_id, role in stack.of_type("AWS::IAM::Role").items():
            arns = role["Properties"].get("ManagedPolicyArns", [])
            assert not [a for a in arns if "FullAccess" in str(a)], logical_id
            # Every role here is written out statement by statement.
            assert arns == [], logical_id
        # The one managed policy is for people (operators) to attach, not for any role here.
        assert set(stack.of_type("AWS::IAM::ManagedPolicy")) == {"OperatorPolicy"}
    assert "FullAccess" not in TEMPLATE_PATH.read_text(encoding="utf-8")


def test_every_function_uses_a_role_from_this_template() -> None:
    stack = stack_for("everything")
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
        "ReconcileScheduleRole",
    }


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_durable_role_grants_exactly_what_it_calls(scenario: str) -> None:
    stack = stack_for(scenario)
    params = stack.params
    if params["RedshiftClusterIdentifier"]:
        warehouse = ARN_PREFIX.format(service="redshift") + f":cluster:{params['RedshiftClusterIdentifier']}"
    else:
        warehouse = ARN_PREFIX.format(service="redshift-serverless") + ":workgroup/*"
    executions = durable_executions(stack)
    expected = {
        ("logs:CreateLogStream", "getatt:DurableLogGroup.Arn"),
        ("logs:PutLogEvents", "getatt:DurableLogGroup.Arn"),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
        ("lambda:CheckpointDurableExecution", executions),
        ("lambda:GetDurableExecutionState", executions),
        ("lambda:SendDurableExecutionCallbackSuccess", executions),  # the reconcile action
        ("lambda:SendDurableExecutionCallbackFailure", executions),
        ("lambda:GetDurableExecution", executions),  # reconcile finds orphans
        ("dynamodb:PutItem", "getatt:RunsTable.Arn"),
        ("dynamodb:UpdateItem", "getatt:RunsTable.Arn"),
        ("dynamodb:GetItem", "getatt:RunsTable.Arn"),
        # No Scan: reconcile walks the sparse waiting index, inspect/cancel find by statement.
        ("dynamodb:Query", "getatt:RunsTable.Arn/index/waiting"),
        ("dynamodb:Query", "getatt:RunsTable.Arn/index/by-statement"),
        ("redshift-data:BatchExecuteStatement", warehouse),
        ("redshift-data:DescribeStatement", "*"),
        ("redshift-data:CancelStatement", "*"),
        ("redshift-data:GetStatementResult", "*"),
        *CREDENTIALS[scenario],
    }
    if params["SqlBucket"]:
        expected.add(("s3:GetObject", f"arn:aws:s3:::{params['SqlBucket']}/{params['SqlPrefix']}*"))
    assert grants(stack.role_statements("DurableFunctionRole")) == expected


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_listener_role_grants_exactly_what_it_calls(scenario: str) -> None:
    stack = stack_for(scenario)
    executions = durable_executions(stack)
    assert grants(stack.role_statements("StatusListenerRole")) == {
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
    stack = stack_for(scenario)
    for role_id in stack.of_type("AWS::IAM::Role"):
        for statement in stack.role_statements(role_id):
            resources = as_list(statement["Resource"])
            actions = set(as_list(statement["Action"]))
            if "*" not in resources:
                assert not any(a.endswith("*") for a in actions), statement
                continue
            assert resources == ["*"], statement
            assert actions <= XRAY_ACTIONS or actions <= OWNER_ACTIONS, statement
            if actions & OWNER_ACTIONS:
                assert statement["Condition"] == OWNER_CONDITION, statement


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_durable_execution_arns_are_versions_not_aliases(scenario: str) -> None:
    stack = stack_for(scenario)
    executions = durable_executions(stack)
    assert executions.endswith(":function:rsbatch-durable:*")
    for role_id in ("DurableFunctionRole", "StatusListenerRole"):
        for statement in stack.role_statements(role_id):
            if any("DurableExecution" in a for a in as_list(statement["Action"])):
                assert as_list(statement["Resource"]) == [executions]


def test_credential_permissions_only_under_their_condition() -> None:
    raw = raw_template()["Resources"]
    expected_conditions = {
        "redshift-serverless:GetCredentials": "UseServerlessIam",
        "redshift:GetClusterCredentialsWithIAM": "UseClusterIam",
        "redshift:GetClusterCredentials": "UseClusterDbUser",
        "secretsmanager:GetSecretValue": "HasSecret",
        "kms:Decrypt": "HasSecretKmsKey",
        "s3:GetObject": "HasSqlBucket",
    }
    found = {}
    for logical_id, resource in raw.items():
        if resource["Type"] != "AWS::IAM::RolePolicy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            for action in as_list(statement["Action"]):
                found[action] = resource.get("Condition")
                assert action in expected_conditions, (logical_id, action)
    assert found == expected_conditions
    # ... and nowhere else.
    for role_id in ("DurableFunctionRole", "StatusListenerRole"):
        inline = json.dumps(raw[role_id]["Properties"]["Policies"])
        for action in expected_conditions:
            assert action not in inline


@pytest.mark.parametrize("scenario", ["serverless_secret", "serverless_secret_key"])
def test_the_secrets_key_is_decrypted_only_through_secrets_manager_for_that_secret(scenario: str) -> None:
    stack = stack_for(scenario)
    decrypts = [
        s for s in stack.role_statements("DurableFunctionRole") if "kms:Decrypt" in as_list(s["Action"])
    ]
    if not stack.params["RedshiftSecretKmsKeyArn"]:
        assert decrypts == []  # the AWS managed key aws/secretsmanager needs no grant
        return
    assert decrypts == [
        {
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": SECRET_KEY,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": SECRET,
                }
            },
        }
    ]
