"""The listener's logic: one event → at most one callback; everything odd is a logged no-op."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from rsbatch_core.callbacks import CallbackSender
from rsbatch_core.models import RunRecord
from rsbatch_core.registry import RunRegistry
from rsbatch_core.resume import Outcome, resume_from_event

RUN = "rsbatch-0123456789abcdef01234567"


def redshift_event(state: str = "FINISHED", name: str = RUN, statement_id: str = "st-1") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "7d0b3f9e-1c1e-4a53-9b3c-1f0e7b0c2a11",
        "detail-type": "Redshift Data Statement Status Change",
        "source": "aws.redshift-data",
        "account": "123456789012",
        "time": "2026-11-27T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "principal": "arn:aws:sts::123456789012:assumed-role/fn",
            "statementName": name,
            "statementId": statement_id,
            "redshiftQueryId": 42,
            "state": state,
            "rows": 3,
            "expireAt": 1796000000,
        },
    }


@pytest.fixture
def waiting(registry: RunRegistry) -> RunRegistry:
    registry.register(RunRecord(run_key=RUN, callback_id="cb-1", execution_arn="arn:x", sql_file="q.sql"))
    registry.set_statement(RUN, "st-1")
    return registry


def test_finished_sends_success_with_event_origin(waiting: RunRegistry) -> None:
    client = boto3.client("lambda", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("send_durable_execution_callback_success", {})
        assert resume_from_event(redshift_event(), waiting, CallbackSender(client)) is Outcome.RESUMED
        stub.assert_no_pending_responses()


def test_failed_and_aborted_send_failure(waiting: RunRegistry) -> None:
    for state, error_type in (("FAILED", "RedshiftStatementFailed"), ("ABORTED", "RedshiftStatementAborted")):
        client = boto3.client("lambda", region_name="us-east-1")
        sent: list[dict[str, Any]] = []
        client.meta.events.register(
            "provide-client-params.lambda.SendDurableExecutionCallbackFailure",
            lambda params, sent=sent, **_: sent.append(params),
        )
        with Stubber(client) as stub:
            stub.add_response("send_durable_execution_callback_failure", {})
            assert (
                resume_from_event(redshift_event(state), waiting, CallbackSender(client)) is Outcome.RESUMED
            )
        assert sent[0]["CallbackId"] == "cb-1"
        assert sent[0]["Error"]["ErrorType"] == error_type
        assert json.loads(sent[0]["Error"]["ErrorData"])["resumed_by"] == "event"


def test_already_closed_callback_is_not_an_error(waiting: RunRegistry) -> None:
    client = boto3.client("lambda", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error(
            "send_durable_execution_callback_success", service_error_code="CallbackTimeoutException"
        )
        assert resume_from_event(redshift_event(), waiting, CallbackSender(client)) is Outcome.ALREADY_CLOSED


def test_other_errors_raise_so_lambda_retries(waiting: RunRegistry) -> None:
    from botocore.exceptions import ClientError

    client = boto3.client("lambda", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error(
            "send_durable_execution_callback_success",
            service_error_code="ServiceException",
            http_status_code=500,
        )
        with pytest.raises(ClientError):
            resume_from_event(redshift_event(), waiting, CallbackSender(client))


@pytest.mark.parametrize(
    ("event", "outcome"),
    [
        (redshift_event(name="etl-nightly"), Outcome.NOT_OURS),
        (redshift_event(name="rsbatch-unknown"), Outcome.UNKNOWN_RUN),
        (redshift_event(statement_id="st-other"), Outcome.STALE),
        ({"detail": "nope"}, Outcome.MALFORMED),
        ("not even a dict", Outcome.MALFORMED),
        ({**redshift_event(), "source": "aws.s3"}, Outcome.MALFORMED),
        (
            {**redshift_event(), "detail": {**redshift_event()["detail"], "state": "STARTED"}},
            Outcome.MALFORMED,
        ),
    ],
)
def test_events_that_must_not_resume_anything(waiting: RunRegistry, event: Any, outcome: Outcome) -> None:
    client = boto3.client("lambda", region_name="us-east-1")
    with Stubber(client):  # no responses queued: any call would fail the test
        assert resume_from_event(event, waiting, CallbackSender(client)) is outcome
