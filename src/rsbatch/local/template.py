"""Read the SAM template (`template.yaml`) the way CloudFormation does.

The local stack uses this to take the status listener's EventBridge rule
pattern straight from the deployable template, so the local event bus and the
deployed rule cannot drift apart.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "RUNS_TABLE_ID",
    "STATUS_RULE_ID",
    "TemplateError",
    "load_template",
    "runs_table_definition",
    "status_rule_pattern",
]

#: Logical id of the run registry's DynamoDB table.
RUNS_TABLE_ID = "RunsTable"

# Logical id of the EventBridge rule that routes Redshift statement events to the
# status listener (a plain AWS::Events::Rule, or an EventBridgeRule event of that
# name on a SAM function).
STATUS_RULE_ID = "StatusRule"

# CloudFormation short-form tags -> their long form.
_SHORT_TAGS: dict[str, str] = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "GetAtt",
            "GetAZs",
            "If",
            "ImportValue",
            "Join",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
        )
    },
}


class TemplateError(ValueError):
    """The template cannot be read, or lacks what the caller needs."""


def _short_tag_constructor(long_name: str) -> Any:
    def construct(loader: Any, node: Any) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if long_name == "Fn::GetAtt" and isinstance(value, str):
            # !GetAtt Resource.Attribute(.More) -> [Resource, Attribute(.More)]
            resource, sep, attribute = value.partition(".")
            if not sep or not resource or not attribute:
                raise yaml.constructor.ConstructorError(
                    None, None, f"!GetAtt needs Resource.Attribute, got {value!r}", node.start_mark
                )
            value = [resource, attribute]
        return {long_name: value}

    return construct


def _construct_unique_mapping(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
    # CloudFormation rejects duplicate keys; PyYAML would silently keep the last one.
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"duplicate key {key!r}",
                key_node.start_mark,
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


def _make_loader() -> Any:
    loader: Any = type("CloudFormationLoader", (yaml.SafeLoader,), {})
    # Dates stay strings (AWSTemplateFormatVersion: 2010-09-09), as in CloudFormation.
    loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    loader.construct_mapping = _construct_unique_mapping
    for short, long_name in _SHORT_TAGS.items():
        loader.add_constructor(f"!{short}", _short_tag_constructor(long_name))
    return loader


_LOADER = _make_loader()


def load_template(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template, short tags (!Ref, !Sub, ...) in long form."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc
    try:
        document = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"invalid template {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise TemplateError(f"invalid template {path}: the top level is not a mapping")
    if not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"invalid template {path}: no Resources mapping")
    return document


def status_rule_pattern(template: dict[str, Any]) -> dict[str, Any]:
    """Return the EventPattern of the status listener's EventBridge rule.

    Accepts the rule as a plain ``AWS::Events::Rule`` resource named ``StatusRule``
    or as an ``EventBridgeRule`` event named ``StatusRule`` on a SAM function.
    Raises :class:`TemplateError` if the template has no such rule.
    """
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise TemplateError("template has no Resources mapping")

    pattern: Any = None
    rule = resources.get(STATUS_RULE_ID)
    if isinstance(rule, dict) and rule.get("Type") == "AWS::Events::Rule":
        pattern = _properties(rule).get("EventPattern")
    else:
        for resource in resources.values():
            if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
                continue
            events = _properties(resource).get("Events")
            event = events.get(STATUS_RULE_ID) if isinstance(events, dict) else None
            if isinstance(event, dict) and event.get("Type") in ("EventBridgeRule", "CloudWatchEvent"):
                pattern = _properties(event).get("Pattern")
                break
        else:
            raise TemplateError(
                f"template has no EventBridge rule {STATUS_RULE_ID!r} (an AWS::Events::Rule "
                f"resource, or an EventBridgeRule event of that name on a SAM function)"
            )

    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except ValueError as exc:
            raise TemplateError(f"rule {STATUS_RULE_ID!r} has an EventPattern that is not JSON") from exc
    if (
        not isinstance(pattern, dict)
        or not pattern
        or (len(pattern) == 1 and any(k == "Ref" or str(k).startswith("Fn::") for k in pattern))
    ):
        raise TemplateError(f"rule {STATUS_RULE_ID!r} has no literal EventPattern mapping")
    return copy.deepcopy(pattern)


def _properties(node: dict[str, Any]) -> dict[str, Any]:
    properties = node.get("Properties")
    return properties if isinstance(properties, dict) else {}


def runs_table_definition(template: dict[str, Any], table_name: str) -> dict[str, Any]:
    """`CreateTable` arguments for the run registry exactly as `RunsTable` declares it.

    The local stack and the tests create their table from this, so the keys and indexes the
    registry queries are the deployed ones (there is no second definition to drift).
    """
    resource = template.get("Resources", {}).get(RUNS_TABLE_ID)
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::DynamoDB::Table":
        raise TemplateError(f"template has no AWS::DynamoDB::Table {RUNS_TABLE_ID!r}")
    properties = _properties(resource)
    arguments: dict[str, Any] = {"TableName": table_name}
    for name in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode"):
        value = properties.get(name)
        if value is None:
            continue
        if _has_intrinsic(value):
            raise TemplateError(f"{RUNS_TABLE_ID}.{name} must be literal for the local stack")
        arguments[name] = copy.deepcopy(value)
    if "KeySchema" not in arguments:
        raise TemplateError(f"{RUNS_TABLE_ID} has no KeySchema")
    return arguments


def _has_intrinsic(value: Any) -> bool:
    """A `Ref` or `Fn::…` anywhere inside: a value only CloudFormation can resolve."""
    if isinstance(value, dict):
        return any(k == "Ref" or str(k).startswith("Fn::") or _has_intrinsic(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_intrinsic(v) for v in value)
    return False
