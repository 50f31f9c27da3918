"""The Lambda API on localhost, answered as AWS answers it: the durable-execution routes and Invoke.

The SDK testing package's web server does the HTTP; this module decides the
answers where the SDK's differ from Lambda's (botocore's lambda model is the
reference for every route, input limit and error code):

- every error carries its code in `x-amzn-ErrorType`, with the status and
  body the model gives it, and only codes the model lists for the operation
  (`lambda_errors.py`);
- `Invoke` (the SDK server has none): function by name or ARN, the
  `DurableExecutionName` idempotency, `Event` / `RequestResponse` / `DryRun`;
- `ListDurableExecutionsByFunction` with every filter of the model
  (`Statuses`, `DurableExecutionName`, `StartedAfter`/`StartedBefore`,
  `Qualifier`, `ReverseOrder`, `MaxItems`/`Marker`), newest first by default;
- `SendDurableExecutionCallbackSuccess|Failure|Heartbeat`: a malformed
  callback id is InvalidParameterValueException, one of no known execution
  or callback ResourceNotFoundException, a callback that is already closed
  (succeeded, failed, timed out, or its execution ended)
  CallbackTimeoutException — the model's "expired or already closed" error;
- the execution routes refuse an ARN that is not of the model's
  `DurableExecutionArn` pattern (InvalidParameterValueException).

Routes the SDK adds for its own tests (start-durable-execution, health, …)
are not served: Lambda has none of them.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from abc import abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from aws_durable_execution_sdk_python.lambda_service import OperationStatus
from aws_durable_execution_sdk_python_testing.exceptions import (
    AwsApiException,
    IllegalStateException,
)
from aws_durable_execution_sdk_python_testing.model import SendDurableExecutionCallbackFailureRequest
from aws_durable_execution_sdk_python_testing.token import CallbackToken
from aws_durable_execution_sdk_python_testing.web.handlers import (
    CheckpointDurableExecutionHandler,
    EndpointHandler,
    GetDurableExecutionHandler,
    GetDurableExecutionHistoryHandler,
    GetDurableExecutionStateHandler,
    StopDurableExecutionHandler,
)
from aws_durable_execution_sdk_python_testing.web.models import HTTPRequest, HTTPResponse
from aws_durable_execution_sdk_python_testing.web.routes import (
    BytesPayloadRoute,
    CallbackFailureRoute,
    CallbackHeartbeatRoute,
    CallbackSuccessRoute,
    CheckpointDurableExecutionRoute,
    GetDurableExecutionHistoryRoute,
    GetDurableExecutionRoute,
    GetDurableExecutionStateRoute,
    ListDurableExecutionsByFunctionRoute,
    Route,
    Router,
    StopDurableExecutionRoute,
)
from aws_durable_execution_sdk_python_testing.web.server import WebServer, WebServiceConfig

from rsbatch.local.lambda_errors import (
    LambdaError,
    error_response,
    from_sdk,
    from_sdk_response,
    service_model,
)

if TYPE_CHECKING:
    from rsbatch.local.durable_runtime import DurableRuntime

INVALID = "InvalidParameterValueException"
NOT_FOUND = "ResourceNotFoundException"
#: AWS: "The callback ID token has either expired or the callback … has already been closed."
CLOSED = "CallbackTimeoutException"
#: A synchronous invoke waits this long, like Lambda's maximum invocation time.
INVOKE_TIMEOUT_SECONDS = 900
#: ListDurableExecutionsByFunction's page when MaxItems is absent or 0 (the SDK runner's default).
DEFAULT_PAGE = 50


@functools.cache
def _pattern(shape: str) -> re.Pattern[str]:
    return re.compile(service_model().shape_for(shape).metadata["pattern"])


@functools.cache
def _limit(shape: str, bound: str) -> int:
    return int(service_model().shape_for(shape).metadata[bound])


def _param(request: HTTPRequest, name: str) -> str | None:
    values = request.query_params.get(name)
    return values[0] if values else None


def _header(request: HTTPRequest, name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in request.headers.items() if k.lower() == wanted), None)


def _body(request: HTTPRequest) -> bytes:
    return request.body if isinstance(request.body, bytes) else json.dumps(request.body).encode()


def _check_arn(arn: str) -> None:
    if not (1 <= len(arn) <= _limit("DurableExecutionArn", "max")) or not _pattern(
        "DurableExecutionArn"
    ).fullmatch(arn):
        raise LambdaError(INVALID, f"Invalid durable execution ARN: {arn[:200]}")


class LambdaHandler(EndpointHandler):
    """A route answered here: `answer` raises LambdaError, `handle` turns it into AWS's error answer."""

    operation: ClassVar[str]

    def __init__(self, runtime: DurableRuntime) -> None:
        super().__init__(runtime.executor)
        self.runtime = runtime

    def handle(self, parsed_route: Route, request: HTTPRequest) -> HTTPResponse:
        try:
            return self.answer(parsed_route, request)
        except LambdaError as exc:
            return error_response(self.operation, exc)
        except AwsApiException as exc:
            return error_response(self.operation, from_sdk(exc))

    @abstractmethod
    def answer(self, parsed_route: Route, request: HTTPRequest) -> HTTPResponse: ...


class SdkHandler(EndpointHandler):
    """One of the SDK's handlers, its ARN checked first and its errors answered as AWS's."""

    def __init__(self, inner: EndpointHandler, operation: str) -> None:
        super().__init__(inner.executor)
        self._inner = inner
        self._operation = operation

    def handle(self, parsed_route: Route, request: HTTPRequest) -> HTTPResponse:
        try:
            _check_arn(str(getattr(parsed_route, "arn", "")))
        except LambdaError as exc:
            return error_response(self._operation, exc)
        response = self._inner.handle(parsed_route, request)
        error = from_sdk_response(response)
        return response if error is None else error_response(self._operation, error)


class HistoryHandler(GetDurableExecutionHistoryHandler):
    """The SDK's history, with each CallbackStarted's `Timeout` as AWS's history has it.

    botocore's model gives `CallbackStartedDetails` a `Timeout` (the callback's timeout in
    seconds); the SDK's runner (1.4.0) builds the event without the checkpoint's
    CallbackOptions, so it is filled in here from the execution's own checkpoint updates.
    `rsbatch show --watch` shows it as the round's timeout.
    """

    def handle(self, parsed_route: Route, request: HTTPRequest) -> HTTPResponse:
        response = super().handle(parsed_route, request)
        events = response.body.get("Events") if isinstance(response.body, dict) else None
        if response.status_code != 200 or not events:
            return response
        # The SDK answered 200, so the execution exists.
        updates = self.executor.get_execution(str(getattr(parsed_route, "arn", ""))).updates
        timeouts = {
            u.operation_id: u.callback_options.timeout_seconds
            for u in updates
            if u.callback_options is not None and u.callback_options.timeout_seconds > 0
        }
        for event in events:
            details = event.get("CallbackStartedDetails")
            known = event.get("EventType") == "CallbackStarted" and event.get("Id") in timeouts
            if known and isinstance(details, dict) and "Timeout" not in details:
                details["Timeout"] = timeouts[event["Id"]]
        return response


# -- Invoke ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvokeRoute(BytesPayloadRoute):
    """Route: POST /2015-03-31/functions/{FunctionName}/invocations"""

    function_name: str = ""

    @classmethod
    def is_match(cls, route: Route, method: str) -> bool:
        return method == "POST" and route.matches_pattern(["2015-03-31", "functions", "*", "invocations"])

    @classmethod
    def from_route(cls, route: Route) -> InvokeRoute:
        return cls(raw_path=route.raw_path, segments=route.segments, function_name=route.segments[2])


#: Invoke's payload limits (the model's Payload documentation): 1 MB asynchronous, 6 MB synchronous.
_ASYNC_PAYLOAD = 1024 * 1024
_SYNC_PAYLOAD = 6 * 1024 * 1024


class InvokeHandler(LambdaHandler):
    """Start an execution (or return the one its DurableExecutionName already started)."""

    operation = "Invoke"

    def answer(self, parsed_route: Route, request: HTTPRequest) -> HTTPResponse:
        assert isinstance(parsed_route, InvokeRoute)
        self.runtime.resolve(parsed_route.function_name, _param(request, "Qualifier"))
        invocation_type = _header(request, "X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type not in ("Event", "RequestResponse", "DryRun"):
            raise LambdaError(INVALID, f"Invalid InvocationType: {invocation_type}")
        body = _body(request)
        if len(body) > (_ASYNC_PAYLOAD if invocation_type == "Event" else _SYNC_PAYLOAD):
            raise LambdaError("RequestTooLargeException", "Request must be smaller than the payload limit")
        try:
            json.loads(body or b"{}")
        except ValueError as exc:
            raise LambdaError(
                "InvalidRequestContentException", f"Could not parse request body into json: {exc}"
            ) from None
        if invocation_type == "DryRun":
            return HTTPResponse(status_code=204, headers={}, body={})
        arn, _ = self.runtime.start_execution(
            body.decode() if body else "{}", _header(request, "X-Amz-Durable-Execution-Name")
        )
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Durable-Execution-Arn": arn,
            "X-Amz-Executed-Version": "$LATEST",
        }
        if invocation_type == "Event":
            return HTTPResponse(status_code=202, headers=headers, body={})
        # RequestResponse: wait for the execution, answer with its result or its error.
        if not self.runtime.wait(arn, timeout=INVOKE_TIMEOUT_SECONDS):
            error = {"errorType": "TimeoutError", "errorMessage": "the execution did not end in time"}
            return HTTPResponse(200, {**headers, "X-Amz-Function-Error": "Unhandled"}, error)
        details = self.executor.get_execution_details(arn)
        if details.error is not None:
            error = {"errorType": str(details.error.type), "errorMessage": str(details.error.message)}
            return HTTPResponse(200, {**headers, "X-Amz-Function-Error": "Unhandled"}, error)
        result = json.loads(details.result) if details.result else {}
        return HTTPResponse(200, headers, result if isinstance(result, dict) else {"result": result})


# -- ListDurableExecutionsByFunction --------------------------------------------------------


def _timestamp(name: str, text: str | None) -> datetime | None:
    """A querystring timestamp: ISO 8601 (what botocore sends) or epoch seconds."""
    if text is None:
        return None
    try:
        value = datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise LambdaError(INVALID, f"{name} is not a timestamp: {text[:64]}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _marker(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(marker: str | None) -> int:
    if not marker:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(marker.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise LambdaError(INVALID, "Invalid Marker") from None
    if not isinstance(offset, int) or offset < 0:
        raise LambdaError(INVALID, "Invalid Marker")
    return offset


class ListExecutionsHandler(LambdaHandler):
    """GET /2025-12-01/functions/{FunctionName}/durable-executions, with the model's filters."""

    operation = "ListDurableExecutionsByFunction"

    def answer(self, parsed_route: Route, request: HTTPRequest) -> HTTPResponse:
        assert isinstance(parsed_route, ListDurableExecutionsByFunctionRoute)
        self.runtime.resolve(parsed_route.function_name, _param(request, "Qualifier"))
        statuses = request.query_params.get("Statuses", [])
        allowed = service_model().shape_for("ExecutionStatus").enum
        if len(statuses) > _limit("ExecutionStatusList", "max") or any(s not in allowed for s in statuses):
            raise LambdaError(INVALID, f"Statuses must be up to 10 of {', '.join(allowed)}")
        name = _param(request, "DurableExecutionName")
        after = _timestamp("StartedAfter", _param(request, "StartedAfter"))
        before = _timestamp("StartedBefore", _param(request, "StartedBefore"))
        try:
            max_items = int(_param(request, "MaxItems") or 0)
        except ValueError:
            raise LambdaError(INVALID, "MaxItems must be an integer") from None
        if not 0 <= max_items <= _limit("ItemCount", "max"):
            raise LambdaError(INVALID, "MaxItems must be between 0 and 1000")
        oldest_first = (_param(request, "ReverseOrder") or "false").lower() == "true"
        offset = _offset(_param(request, "Marker"))

        everything = self.executor.list_executions_by_function(
            function_name=self.runtime.function_name, execution_name=name, max_items=10**9
        ).durable_executions
        matching = [
            e
            for e in everything
            if (not statuses or e.status in statuses)
            and (after is None or _aware(e.start_timestamp) > after)
            and (before is None or _aware(e.start_timestamp) < before)
        ]
        matching.sort(key=lambda e: _aware(e.start_timestamp), reverse=not oldest_first)
        page = max_items or DEFAULT_PAGE
        body: dict[str, Any] = {"DurableExecutions": [e.to_dict() for e in matching[offset : offset + page]]}
        if offset + page < len(matching):
            body["NextMarker"] = _marker(offset + page)
        return HTTPResponse.create_json(200, body)


# -- callbacks ------------------------------------------------------------------------------


class CallbackHandler(LambdaHandler):
    """Send*Callback*: find the callback as AWS would judge it, then let the runner complete it."""

    def answer(self, parsed_route: Route, request: HTTPRequest) -> HTTPResponse:
        callback_id = str(getattr(parsed_route, "callback_id", ""))
        self._open_callback(callback_id)
        try:
            self.complete(callback_id, request)
        except AwsApiException:
            self._open_callback(callback_id)  # closed meanwhile (a timeout, a concurrent send)?
            raise
        return HTTPResponse.create_json(200, {})

    @abstractmethod
    def complete(self, callback_id: str, request: HTTPRequest) -> None: ...

    def _open_callback(self, callback_id: str) -> None:
        if not (1 <= len(callback_id) <= _limit("CallbackId", "max")) or not _pattern("CallbackId").fullmatch(
            callback_id
        ):
            raise LambdaError(INVALID, "Invalid callback ID")
        try:
            token = CallbackToken.from_str(callback_id)
        except (ValueError, KeyError, TypeError):  # not base64, not JSON, not a token of this runner
            raise LambdaError(INVALID, "Invalid callback ID") from None
        try:
            execution = self.executor.get_execution(token.execution_arn)
        except AwsApiException:
            raise LambdaError(NOT_FOUND, "The durable execution of this callback does not exist") from None
        try:
            _, operation = execution.find_callback_operation(callback_id)
        except IllegalStateException:
            raise LambdaError(NOT_FOUND, "The callback does not exist") from None
        if execution.is_complete or operation.status is not OperationStatus.STARTED:
            raise LambdaError(CLOSED, "The callback has timed out or has already been closed")


class CallbackSuccessHandler(CallbackHandler):
    operation = "SendDurableExecutionCallbackSuccess"

    def complete(self, callback_id: str, request: HTTPRequest) -> None:
        result = _body(request)
        if len(result) > _limit("BinaryOperationPayload", "max"):
            raise LambdaError(INVALID, "Result must be at most 1 MB")
        self.executor.send_callback_success(callback_id=callback_id, result=result)


class CallbackFailureHandler(CallbackHandler):
    operation = "SendDurableExecutionCallbackFailure"

    def complete(self, callback_id: str, request: HTTPRequest) -> None:
        body = _body(request)
        if len(body) > _limit("BinaryOperationPayload", "max"):  # "The combined size … is limited to 1 MB"
            raise LambdaError(INVALID, "Error must be at most 1 MB")
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            raise LambdaError(INVALID, "Error is not a JSON object") from None
        if not isinstance(data, dict):
            raise LambdaError(INVALID, "Error is not a JSON object")
        error = SendDurableExecutionCallbackFailureRequest.from_dict(data, callback_id).error
        self.executor.send_callback_failure(callback_id=callback_id, error=error)


class CallbackHeartbeatHandler(CallbackHandler):
    operation = "SendDurableExecutionCallbackHeartbeat"

    def complete(self, callback_id: str, request: HTTPRequest) -> None:
        self.executor.send_callback_heartbeat(callback_id=callback_id)


# -- the server -----------------------------------------------------------------------------

#: The SDK's handlers kept, each with the operation it answers for.
_SDK_ROUTES: dict[type[Route], tuple[type[EndpointHandler], str]] = {
    GetDurableExecutionRoute: (GetDurableExecutionHandler, "GetDurableExecution"),
    CheckpointDurableExecutionRoute: (CheckpointDurableExecutionHandler, "CheckpointDurableExecution"),
    StopDurableExecutionRoute: (StopDurableExecutionHandler, "StopDurableExecution"),
    GetDurableExecutionStateRoute: (GetDurableExecutionStateHandler, "GetDurableExecutionState"),
    GetDurableExecutionHistoryRoute: (HistoryHandler, "GetDurableExecutionHistory"),
}
_OUR_ROUTES: dict[type[Route], type[LambdaHandler]] = {
    InvokeRoute: InvokeHandler,
    ListDurableExecutionsByFunctionRoute: ListExecutionsHandler,
    CallbackSuccessRoute: CallbackSuccessHandler,
    CallbackFailureRoute: CallbackFailureHandler,
    CallbackHeartbeatRoute: CallbackHeartbeatHandler,
}


class LocalLambdaServer(WebServer):
    """The SDK's web server, routing Lambda's operations only."""

    #: socketserver's default backlog of 5 overflows when hundreds of runs start at once.
    request_queue_size = 256

    def __init__(self, config: WebServiceConfig, runtime: DurableRuntime) -> None:
        self._runtime = runtime
        super().__init__(config=config, executor=runtime.executor)
        self.router = Router([*_OUR_ROUTES, *_SDK_ROUTES])

    def _create_endpoint_handlers(self) -> dict[type[Route], EndpointHandler]:
        handlers: dict[type[Route], EndpointHandler] = {
            route: SdkHandler(handler(self.executor), operation)
            for route, (handler, operation) in _SDK_ROUTES.items()
        }
        handlers.update({route: handler(self._runtime) for route, handler in _OUR_ROUTES.items()})
        return handlers
