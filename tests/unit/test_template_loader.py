"""rsbatch.local.template: load_template reads template.yaml as CloudFormation does,
and status_rule_pattern takes the listener's EventBridge pattern from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rsbatch.local.template import TemplateError, load_template, status_rule_pattern
from tests.infrastructure.cfn import STATUS_RULE_PATTERN, TEMPLATE_PATH

# ---------------------------------------------------------------- status_rule_pattern


def test_status_rule_pattern_reads_the_real_template() -> None:
    assert status_rule_pattern(load_template(TEMPLATE_PATH)) == STATUS_RULE_PATTERN


def test_status_rule_pattern_returns_a_copy() -> None:
    template = load_template(TEMPLATE_PATH)
    status_rule_pattern(template)["source"].append("mutated")
    assert status_rule_pattern(template) == STATUS_RULE_PATTERN


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
                            "Properties": {"Pattern": STATUS_RULE_PATTERN},
                        }
                    }
                },
            }
        }
    }
    assert status_rule_pattern(template) == STATUS_RULE_PATTERN
    rule = {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": json.dumps(STATUS_RULE_PATTERN)}}
    assert status_rule_pattern({"Resources": {"StatusRule": rule}}) == STATUS_RULE_PATTERN


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
