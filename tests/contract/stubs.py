"""A botocore Stubber that also holds each request, and each stubbed error, to the model.

``Stubber`` already checks that a stubbed call names a real operation, that the stubbed
response has the output shape, and (with ``expected``) that the adapter sent exactly the
parameters the test expects; botocore's client checks types, lengths and required members.
Two things slip through both, and ``ModelStub`` adds them: the ``enum`` and ``pattern`` of
every request member (``shapes.request_violations``: AWS enforces those server-side only),
and that each stubbed error code is one the model lists for that operation, so a test
cannot prove the handling of an error AWS never sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any

from botocore.model import OperationModel
from botocore.stub import Stubber

from tests.contract.shapes import request_violations


def operation_of(client: Any, method: str) -> OperationModel:
    """The model of a client method (``send_durable_execution_callback_success`` → its operation)."""
    model: OperationModel = client.meta.service_model.operation_model(
        client.meta.method_to_api_mapping[method]
    )
    return model


def listed_errors(client: Any, method: str) -> set[str]:
    return {shape.name for shape in operation_of(client, method).error_shapes}


class ModelStub:
    """``with ModelStub(client) as stub:`` queue calls with ``ok`` / ``error``; on exit every queued
    call was made and no request broke an enum or a pattern."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.stubber = Stubber(client)
        self.problems: list[str] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def _check(self, model: OperationModel, params: dict[str, Any], **_: Any) -> None:
        self.requests.append((model.name, params))
        self.problems += request_violations(model, params)

    def ok(
        self, method: str, response: dict[str, Any] | None = None, expected: dict[str, Any] | None = None
    ) -> None:
        self.stubber.add_response(method, response or {}, expected)

    def error(
        self,
        method: str,
        code: str,
        status: int = 400,
        expected: dict[str, Any] | None = None,
        documented: Iterable[str] = (),
    ) -> None:
        """Queue an error: ``code`` must be listed by the model, or ``documented`` (cited by the caller)."""
        listed = listed_errors(self.client, method)
        assert code in listed | set(documented), (
            f"{code} is not an error {operation_of(self.client, method).name} answers; the model lists "
            f"{sorted(listed)}"
        )
        self.stubber.add_client_error(
            method, service_error_code=code, http_status_code=status, expected_params=expected
        )

    def __enter__(self) -> ModelStub:
        # Last, so that a resource's own transforms (DynamoDB's typed values) have run.
        self.client.meta.events.register_last("before-parameter-build", self._check, unique_id="model-stub")
        self.stubber.activate()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stubber.deactivate()
        self.client.meta.events.unregister("before-parameter-build", unique_id="model-stub")
        if exc_type is None:
            self.stubber.assert_no_pending_responses()
            assert self.problems == [], self.problems
