"""The durable runtime: the SDK testing package's runner, served over the Lambda API on localhost.

The handler runs in-process under the SDK's own runner (real checkpoints,
replays, callback timeouts). Its web server speaks the Lambda durable API, so
the listener, the CLI and the plain `aws lambda` CLI reach it through
`AWS_ENDPOINT_URL_LAMBDA`. We add the one route the SDK server lacks:
`Invoke` with `InvocationType=Event` and `DurableExecutionName`, the way
`rsbatch start` begins a run on AWS.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aws_durable_execution_sdk_python_testing import DurableFunctionTestRunner
from aws_durable_execution_sdk_python_testing.exceptions import InvalidParameterValueException
from aws_durable_execution_sdk_python_testing.model import StartDurableExecutionInput
from aws_durable_execution_sdk_python_testing.web.handlers import EndpointHandler
from aws_durable_execution_sdk_python_testing.web.models import HTTPRequest, HTTPResponse
from aws_durable_execution_sdk_python_testing.web.routes import (
    DEFAULT_ROUTE_TYPES,
    BytesPayloadRoute,
    Route,
    Router,
)
from aws_durable_execution_sdk_python_testing.web.server import RequestHandler, WebServer, WebServiceConfig

ACCOUNT_ID = "123456789012"
#: A synchronous invoke waits this long, like Lambda's maximum invocation time.
INVOKE_TIMEOUT_SECONDS = 900
REGION = "us-east-1"


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


class InvokeHandler(EndpointHandler):
    """Start (or find, by DurableExecutionName) an execution of the one durable function we serve."""

    def __init__(self, runtime: DurableRuntime) -> None:
        super().__init__(runtime.executor)
        self._runtime = runtime

    def handle(self, parsed_route: Route, request: HTTPRequest) -> HTTPResponse:
        assert isinstance(parsed_route, InvokeRoute)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not self._runtime.serves(unquote(parsed_route.function_name)):
            return self._json_response(
                404,
                {"Type": "User", "message": f"Function not found: {parsed_route.function_name}"},
                {"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
        body = request.body if isinstance(request.body, bytes) else json.dumps(request.body).encode()
        payload = body.decode("utf-8") if body else "{}"
        arn, _ = self._runtime.start_execution(payload, headers.get("x-amz-durable-execution-name"))
        response_headers = {
            "Content-Type": "application/json",
            "X-Amz-Durable-Execution-Arn": arn,
            "X-Amz-Executed-Version": "$LATEST",
        }
        if headers.get("x-amz-invocation-type") == "Event":
            return HTTPResponse(status_code=202, headers=response_headers, body={})
        # RequestResponse: wait for the execution, answer with its result or its error.
        if not self._runtime.wait(arn, timeout=INVOKE_TIMEOUT_SECONDS):
            error = {"errorType": "TimeoutError", "errorMessage": "the execution did not end in time"}
            return HTTPResponse(200, {**response_headers, "X-Amz-Function-Error": "Unhandled"}, error)
        details = self._runtime.executor.get_execution_details(arn)
        if details.error is not None:
            error = {"errorType": details.error.type, "errorMessage": details.error.message}
            return HTTPResponse(200, {**response_headers, "X-Amz-Function-Error": "Unhandled"}, error)
        result = json.loads(details.result) if details.result else {}
        return HTTPResponse(200, response_headers, result if isinstance(result, dict) else {"result": result})


class AwsErrorRequestHandler(RequestHandler):
    """Lambda names an error's code in the ``x-amzn-ErrorType`` header, which is where botocore's
    rest-json parser reads it; the SDK's server writes it only as the body's ``Type``, so boto3
    saw codes like "404" (tests/contract/test_local_lambda_responses.py)."""

    def _send_response(self, response: HTTPResponse) -> None:
        code = response.body.get("Type") if response.status_code >= 400 else None
        if isinstance(code, str) and "x-amzn-ErrorType" not in response.headers:
            response = HTTPResponse(
                response.status_code, {**response.headers, "x-amzn-ErrorType": code}, response.body
            )
        super()._send_response(response)


class LocalLambdaServer(WebServer):
    """The SDK's web server plus our Invoke route."""

    #: socketserver's default backlog of 5 overflows when hundreds of runs start at once.
    request_queue_size = 256

    def __init__(self, config: WebServiceConfig, runtime: DurableRuntime) -> None:
        self._runtime = runtime
        super().__init__(config=config, executor=runtime.executor)
        self.router = Router([InvokeRoute, *DEFAULT_ROUTE_TYPES])
        self.RequestHandlerClass = AwsErrorRequestHandler

    def _create_endpoint_handlers(self) -> dict[type[Route], EndpointHandler]:
        handlers: dict[type[Route], EndpointHandler] = super()._create_endpoint_handlers()
        handlers[InvokeRoute] = InvokeHandler(self._runtime)
        return handlers


class DurableRuntime:
    """One durable function, run in-process by the SDK's runner, reachable over HTTP."""

    def __init__(
        self,
        handler: Callable[..., Any],
        function_name: str = "rsbatch-durable",
        execution_timeout_seconds: int = 3600,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.function_name = function_name
        self._execution_timeout = execution_timeout_seconds
        # skip_time=False: waits and callback timeouts take real time, as on AWS.
        self._runner = DurableFunctionTestRunner(
            handler, skip_time=False, execution_timeout=execution_timeout_seconds, region=REGION
        )
        self._start_lock = threading.Lock()
        self._server = LocalLambdaServer(
            WebServiceConfig(host=host, port=port, log_level=logging.WARNING), self
        )
        logging.getLogger("aws_durable_execution_sdk_python_testing").setLevel(logging.ERROR)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="durable-runtime", daemon=True
        )
        self._thread.start()

    @property
    def executor(self) -> Any:
        return self._runner._executor

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def serves(self, name: str) -> bool:
        """Accept the function by name, name:qualifier, or (qualified) ARN."""
        bare = name.split(":function:")[-1].split(":")[0]
        return bare == self.function_name

    def start_execution(self, payload: str, name: str | None = None) -> tuple[str, bool]:
        """Start an execution; with a known `name`, return the existing one (False: not new)."""
        with self._start_lock:
            if name:
                existing = self.executor.list_executions_by_function(
                    function_name=self.function_name, execution_name=name
                ).durable_executions
                if existing:
                    return str(existing[0].durable_execution_arn), False
            if name is not None and not (1 <= len(name) <= 64):
                raise InvalidParameterValueException("DurableExecutionName must be 1-64 characters")
            start = StartDurableExecutionInput(
                account_id=ACCOUNT_ID,
                function_name=self.function_name,
                function_qualifier="$LATEST",
                execution_name=name or str(uuid.uuid4()),
                execution_timeout_seconds=self._execution_timeout,
                execution_retention_period_days=7,
                input=payload,
            )
            return str(self.executor.start_execution(start).execution_arn), True

    def wait(self, execution_arn: str, timeout: float) -> bool:
        return bool(self.executor.wait_until_complete(execution_arn, timeout))

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._runner.close()  # type: ignore[no-untyped-call]
        self._thread.join(timeout=5)
