"""Send a durable callback, treating an already-closed callback as done.

Duplicate and late events are normal (EventBridge delivers at least once,
a callback may already have timed out): the second sender must not fail.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import boto3
from botocore.exceptions import ClientError

from rsbatch_core.models import CallbackPayload
from rsbatch_core.observability import logger
from rsbatch_core.verdict import CallbackDecision

#: The one error botocore's lambda model gives SendDurableExecutionCallbackSuccess|Failure for a
#: callback that is done: "The callback ID token has either expired or the callback associated with
#: the token has already been closed." Any other error (ResourceNotFoundException: a wrong function
#: or a deleted execution; InvalidParameterValueException: a bad id) is raised.
CLOSED_CODE = "CallbackTimeoutException"


class Delivery(StrEnum):
    SENT = "sent"
    ALREADY_CLOSED = "already_closed"


class CallbackSender:
    """SendDurableExecutionCallbackSuccess/Failure with the payloads rsbatch understands."""

    def __init__(self, client: Any = None) -> None:
        self._client = client or boto3.client("lambda")

    def succeed(self, callback_id: str, payload: CallbackPayload) -> Delivery:
        return self._send(
            "succeed",
            callback_id,
            lambda: self._client.send_durable_execution_callback_success(
                CallbackId=callback_id,
                Result=payload.model_dump_json(exclude_none=True).encode(),
            ),
        )

    def fail(self, callback_id: str, error_type: str, payload: CallbackPayload) -> Delivery:
        error = {
            "ErrorType": error_type[:256],
            "ErrorMessage": (payload.message or error_type)[:2048],
            "ErrorData": payload.model_dump_json(exclude_none=True),
        }
        return self._send(
            "fail",
            callback_id,
            lambda: self._client.send_durable_execution_callback_failure(CallbackId=callback_id, Error=error),
        )

    def send(self, callback_id: str, decision: CallbackDecision) -> Delivery:
        """Success or failure, as `verdict.decision` chose it."""
        if decision.success:
            return self.succeed(callback_id, decision.payload)
        return self.fail(callback_id, decision.error_type or "", decision.payload)

    def _send(self, action: str, callback_id: str, call: Any) -> Delivery:
        try:
            call()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == CLOSED_CODE:
                logger.info("callback already closed", extra={"action": action, "code": code})
                logger.debug("closed callback id", extra={"callback_id": callback_id})
                return Delivery.ALREADY_CLOSED
            raise
        logger.info("callback sent", extra={"action": action})
        logger.debug("callback id", extra={"callback_id": callback_id})
        return Delivery.SENT


def parse_payload(raw: str | bytes | dict[str, Any] | None) -> CallbackPayload:
    """Read a success result or failure data; anything unreadable counts as an operator's."""
    if raw is None or raw in ("", b""):
        return CallbackPayload()
    if isinstance(raw, dict):
        data: Any = raw
    else:
        try:
            data = json.loads(raw)
        except (ValueError, TypeError):
            return CallbackPayload(message=str(raw)[:2048])
    if not isinstance(data, dict):
        return CallbackPayload(message=str(data)[:2048])
    try:
        return CallbackPayload.model_validate(data)
    except ValueError:
        return CallbackPayload(message=json.dumps(data)[:2048])
