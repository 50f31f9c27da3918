"""The Redshift Data API's EventBridge event, as AWS documents it, against the listener and the rule.

The fixture is the Redshift Management Guide's example (fixtures/README.md names the page).
The listener must parse it, the rule in template.yaml must match it once the statement is
rsbatch's, and the emulator must publish events of the same shape.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import boto3
import pytest

from rsbatch.local.event_pattern import matches
from rsbatch.local.redshift_data import RedshiftDataEmulator
from rsbatch.local.redshift_data.events import Events
from rsbatch.local.redshift_data.models import Statement
from rsbatch.local.redshift_data.settings import Settings
from rsbatch.local.template import load_template, status_rule_pattern
from rsbatch.local.warehouse import Warehouse
from rsbatch_core.callbacks import CallbackSender
from rsbatch_core.registry import RunRegistry
from rsbatch_core.resume import Outcome, parse_event, resume_from_event

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
RUN = "rsbatch-0123456789abcdef01234567"
#: The values of `state` the same page lists.
DOCUMENTED_STATES = ("ABORTED", "FAILED", "FINISHED")


def aws_example(**detail: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (FIXTURES / "redshift-data-statement-finished.json").read_text("utf-8")
    )
    event["detail"].update(detail)
    return event


def rule_pattern() -> dict[str, Any]:
    return status_rule_pattern(load_template(TEMPLATE))


class Untouched(RunRegistry):
    """A registry that must not be asked: an event that is not ours ends before any lookup."""

    def __init__(self) -> None:
        pass

    def get(self, run_key: str) -> None:
        raise AssertionError(f"the registry was asked for {run_key}")


@pytest.mark.parametrize("state", DOCUMENTED_STATES)
def test_the_listener_parses_awss_example(state: str) -> None:
    parsed = parse_event(aws_example(state=state))
    assert parsed is not None
    detail = parsed.detail
    assert (detail.statement_name, detail.statement_id, detail.state) == (
        "test.testtable",
        "dd2e1ec9-2ee3-49a0-819f-905fa7d75a4a",
        state,
    )
    assert (detail.redshift_query_id, detail.rows, detail.principal) == (
        -1,
        1,
        "arn:aws:iam::123456789012:user/myuser",
    )


def test_awss_example_is_not_ours_and_touches_nothing() -> None:
    sender = CallbackSender(boto3.client("lambda", region_name="us-east-1"))
    assert resume_from_event(aws_example(), Untouched(), sender) is Outcome.NOT_OURS


@pytest.mark.parametrize("state", DOCUMENTED_STATES)
def test_the_rule_matches_awss_example_of_an_rsbatch_statement(state: str) -> None:
    assert matches(rule_pattern(), aws_example(statementName=RUN, state=state))


def test_the_rule_leaves_other_statements_and_other_events_alone() -> None:
    pattern = rule_pattern()
    assert not matches(pattern, aws_example())  # "test.testtable" is someone else's
    assert not matches(pattern, {**aws_example(statementName=RUN), "source": "aws.redshift"})
    assert not matches(
        pattern, {**aws_example(statementName=RUN), "detail-type": "AWS API Call via CloudTrail"}
    )


@pytest.fixture(scope="module")
def emulated_event(warehouse: Warehouse) -> dict[str, Any]:
    """The event the emulator publishes for a cluster statement submitted WithEvent."""
    events: list[dict[str, Any]] = []
    with RedshiftDataEmulator(warehouse) as emulator:
        emulator.subscribe(events.append)
        client = boto3.client(
            "redshift-data",
            endpoint_url=emulator.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="contract",
            aws_secret_access_key="testing",
        )
        client.execute_statement(
            Sql="select 1",
            ClusterIdentifier="redshift-cluster-1",
            Database="dev",
            StatementName=RUN,
            WithEvent=True,
        )
        deadline = time.monotonic() + 15
        while not events and time.monotonic() < deadline:
            time.sleep(0.02)
    assert events, "the emulator published no event"
    return copy.deepcopy(events[0])


def _types(value: dict[str, Any]) -> dict[str, str]:
    return {k: type(v).__name__ for k, v in value.items() if k != "detail"}


def test_the_emulators_event_has_awss_fields_and_types(emulated_event: dict[str, Any]) -> None:
    example = aws_example()
    assert _types(emulated_event) == _types(example)
    assert _types(emulated_event["detail"]) == _types(example["detail"])
    assert matches(rule_pattern(), emulated_event)
    assert parse_event(emulated_event) is not None


def test_the_emulators_event_names_the_cluster_like_awss(emulated_event: dict[str, Any]) -> None:
    assert emulated_event["resources"] == aws_example()["resources"]
    assert matches(
        rule_pattern(), {**emulated_event, "detail": {**emulated_event["detail"], "statementName": RUN}}
    )


def test_the_emulators_workgroup_event_names_an_arn_shaped_workgroup() -> None:
    settings = SimpleNamespace(account="123456789012", region="us-east-1")
    stmt = Statement(
        id="s-1", seq=1, is_batch=False, subs=[], name=RUN, target={"WorkgroupName": "analytics"},
        database="dev", parameters=[], mode="TRANSACTION", with_event=True, principal="p", created_at=0.0,
    )  # fmt: skip
    (arn,) = Events(cast(Settings, settings)).status_change(stmt, 0.0)["resources"]
    # The Service Authorization Reference's format: ...:workgroup/${WorkgroupId}, the ID a UUID.
    prefix, _, workgroup_id = arn.rpartition("/")
    assert prefix == "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup"
    assert str(uuid.UUID(workgroup_id)) == workgroup_id
