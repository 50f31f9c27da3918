"""Tests of rsbatch_core.runkey: run and batch keys, ClientTokens and durable step names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import botocore.session
import pytest

from rsbatch.local.event_pattern import matches
from rsbatch.local.template import load_template, status_rule_pattern
from rsbatch_core.runkey import StepName, batch_key, client_token, is_ours, run_key, step_name

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:live/durable-execution/nightly/6f1c"
OTHER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:rsbatch-durable:live/durable-execution/adhoc/9a2d"


def status_event(statement_name: str) -> dict[str, Any]:
    """Redshift's status-change event for a statement submitted with this StatementName."""
    return {
        "source": "aws.redshift-data",
        "detail-type": "Redshift Data Statement Status Change",
        "detail": {"statementName": statement_name, "statementId": "s-1", "state": "FINISHED"},
    }


def batch_execute_limits(member: str) -> dict[str, Any]:
    model = botocore.session.get_session().get_service_model("redshift-data")
    metadata: dict[str, Any] = (
        model.operation_model("BatchExecuteStatement").input_shape.members[member].metadata
    )
    return metadata


# -- run_key -------------------------------------------------------------------------------------


def test_run_key_is_stable_for_an_execution() -> None:
    assert run_key(ARN) == run_key(ARN)


def test_run_key_differs_per_execution() -> None:
    assert run_key(ARN) != run_key(OTHER_ARN)


def test_run_key_carries_the_prefix_and_no_part_of_the_arn() -> None:
    key = run_key(ARN)
    assert key.startswith("rsbatch-")
    assert "nightly" not in key and "123456789012" not in key
    assert len(key) <= batch_execute_limits("StatementName")["max"]


def test_every_batch_key_is_matched_by_the_deployed_status_rule() -> None:
    """The listener only hears of statements whose StatementName the template's rule matches."""
    pattern = status_rule_pattern(load_template(ROOT / "template.yaml"))
    key = run_key(ARN)
    for name in (key, batch_key(key, 2), batch_key(key, 10)):
        assert matches(pattern, status_event(name)), name
    assert not matches(pattern, status_event("someone-elses-query"))


def test_is_ours() -> None:
    key = run_key(ARN)
    assert is_ours(key)
    assert is_ours(batch_key(key, 3))
    assert not is_ours("nightly-refresh")
    assert not is_ours("")
    assert not is_ours(None)


# -- client_token --------------------------------------------------------------------------------


def test_client_token_fits_the_data_apis_limit() -> None:
    limits = batch_execute_limits("ClientToken")
    for run in (run_key(ARN), batch_key(run_key(ARN), 10), "x" * 2000):
        token = client_token(run)
        assert limits["min"] <= len(token) <= limits["max"] == 64


def test_client_token_is_stable_and_differs_per_batch() -> None:
    key = run_key(ARN)
    assert client_token(key) == client_token(key)
    tokens = {client_token(batch_key(key, i)) for i in range(1, 11)}
    assert len(tokens) == 10
    assert client_token(key) != client_token(run_key(OTHER_ARN))


# -- batch_key -----------------------------------------------------------------------------------


def test_first_batch_is_the_run_itself() -> None:
    key = run_key(ARN)
    assert batch_key(key, 1) == key


def test_later_batches_are_numbered() -> None:
    key = run_key(ARN)
    assert batch_key(key, 2) == f"{key}-2"
    assert batch_key(key, 10) == f"{key}-10"
    assert len({batch_key(key, i) for i in range(1, 11)}) == 10


# -- step names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "batch", "round_no", "name"),
    [
        ("submit", 1, None, "submit"),
        ("wait", 1, 1, "wait-1"),
        ("check", 2, 3, "check-b2-3"),
        ("finish", 2, None, "finish-b2"),
        ("register", 10, None, "register-b10"),
        ("wait", 3, 12, "wait-b3-12"),
    ],
)
def test_step_names_round_trip(kind: str, batch: int, round_no: int | None, name: str) -> None:
    assert step_name(kind, batch, round_no) == name
    parsed = StepName.parse(name)
    assert parsed == StepName(kind, batch, round_no)
    assert parsed is not None and str(parsed) == name


def test_step_name_defaults_to_the_first_batch_and_no_round() -> None:
    assert step_name("submit") == "submit"
    assert StepName.parse("submit") == StepName("submit")


@pytest.mark.parametrize(
    "name",
    ["", "action-reconcile", "Submit", "wait-", "wait-b", "check-b2-x", "submit_1", "wait-1-2", "-1"],
)
def test_parse_refuses_names_it_did_not_make(name: str) -> None:
    assert StepName.parse(name) is None


@pytest.mark.parametrize("name", ["wait-b1-2", "wait-b01", "check-0", "submit-b2-01"])
def test_step_name_parse_refuses_spellings_it_never_makes(name: str) -> None:
    assert StepName.parse(name) is None
