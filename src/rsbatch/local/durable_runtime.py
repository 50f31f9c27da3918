"""The durable runtime: the SDK testing package's runner, one function, named and started as on AWS.

The handler runs in-process under the SDK's own runner (real checkpoints,
replays, callback timeouts); `lambda_api.py` serves it over the Lambda API so
the listener, the CLI and the plain AWS CLI reach it through
`AWS_ENDPOINT_URL_LAMBDA`. This module holds what the runner does not do the
way Lambda does:

- a function is named by name, `name:qualifier`, a partial ARN or a full ARN
  (botocore's `NamespacedFunctionName` pattern); only `$LATEST` is served;
- execution ARNs have AWS's shape (botocore's `DurableExecutionArn` pattern):
  `arn:aws:lambda:REGION:ACCOUNT:function:NAME:$LATEST/durable-execution/EXECNAME/ID`;
- `DurableExecutionName` is an idempotency key as AWS's "Idempotency"
  page (durable-execution-idempotency) documents it: the same name with the
  same payload returns the existing execution, running or closed; the same
  name with another payload is `DurableExecutionAlreadyStartedException`
  (the code botocore's model lists for Invoke).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_durable_execution_sdk_python_testing import DurableFunctionTestRunner
from aws_durable_execution_sdk_python_testing.execution import Execution
from aws_durable_execution_sdk_python_testing.model import StartDurableExecutionInput
from aws_durable_execution_sdk_python_testing.threads import DaemonThreadPool
from aws_durable_execution_sdk_python_testing.web.server import WebServiceConfig

from rsbatch.local.invocation_gate import GatedInvoker, InvocationGate
from rsbatch.local.lambda_api import LocalLambdaServer
from rsbatch.local.lambda_errors import LambdaError
from rsbatch_core.errors import BadInputError

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
#: The one version served: every execution runs the handler as loaded.
LATEST = "$LATEST"

#: Handler invocations run at once (see `DurableRuntime._size_invocation_pool`); a burst of this
#: many runs never queues for a thread. `RSBATCH_LOCAL_INVOCATION_WORKERS` overrides it.
DEFAULT_INVOCATION_WORKERS = 256
INVOCATION_WORKERS_ENV = "RSBATCH_LOCAL_INVOCATION_WORKERS"
#: Of those, how many run the handler at once, resumes first (`invocation_gate.py`); 0 = no gate.
#: `RSBATCH_LOCAL_INVOCATION_SLOTS` overrides it.
DEFAULT_INVOCATION_SLOTS = 16
INVOCATION_SLOTS_ENV = "RSBATCH_LOCAL_INVOCATION_SLOTS"
#: No invocation waits at the gate longer than this (so nothing starves or deadlocks).
INVOCATION_GATE_MAX_WAIT_S = 30.0

#: botocore's NamespacedFunctionName pattern (lambda service-2.json), with named groups.
_FUNCTION_REF = re.compile(
    r"(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?"
    r"(?:(?P<region>(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):)?"
    r"(?:(?P<account>\d{12}):)?"
    r"(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_.-]+)"
    r"(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9_-]+))?"
)
#: botocore's DurableExecutionName: 1-64 characters of this pattern.
_EXECUTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def _whole_number(given: int | None, env: str, default: int, *, what: str, least: int) -> int:
    """``given``, else the environment's ``env``, else ``default``; at least ``least``."""
    if given is None:
        text = os.environ.get(env, "").strip()
        if not text:
            return default
        try:
            given = int(text)
        except ValueError:
            raise BadInputError(f"{env} must be a whole number, not {text!r}") from None
    if given < least:
        raise BadInputError(f"the local stack's {what} must be at least {least}, not {given}")
    return given


def _invocation_workers(given: int | None) -> int:
    """The invocation pool's size: ``given``, else the environment's, else the default."""
    return _whole_number(
        given, INVOCATION_WORKERS_ENV, DEFAULT_INVOCATION_WORKERS, what="invocation workers", least=1
    )


def _invocation_slots(given: int | None) -> int:
    """Handler invocations run at once behind the gate (0: no gate)."""
    return _whole_number(
        given, INVOCATION_SLOTS_ENV, DEFAULT_INVOCATION_SLOTS, what="invocation slots", least=0
    )


@dataclass(frozen=True)
class _Started:
    arn: str
    payload: str


class DurableRuntime:
    """One durable function, run in-process by the SDK's runner, reachable over HTTP."""

    def __init__(
        self,
        handler: Callable[..., Any],
        function_name: str = "rsbatch-durable",
        execution_timeout_seconds: int = 3600,
        host: str = "127.0.0.1",
        port: int = 0,
        invocation_workers: int | None = None,
        invocation_slots: int | None = None,
    ) -> None:
        self.function_name = function_name
        self._execution_timeout = execution_timeout_seconds
        self.invocation_workers = _invocation_workers(invocation_workers)  # checked before anything starts
        slots = _invocation_slots(invocation_slots)
        # skip_time=False: waits and callback timeouts take real time, as on AWS.
        self._runner = DurableFunctionTestRunner(
            handler, skip_time=False, execution_timeout=execution_timeout_seconds, region=REGION
        )
        self._size_invocation_pool(self.invocation_workers)
        self.invocation_gate = self._gate_invocations(slots)
        self._start_lock = threading.Lock()
        self._by_name: dict[str, _Started] = {}
        self._server = LocalLambdaServer(
            WebServiceConfig(host=host, port=port, log_level=logging.WARNING), self
        )
        logging.getLogger("aws_durable_execution_sdk_python_testing").setLevel(logging.ERROR)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="durable-runtime", daemon=True
        )
        self._thread.start()

    @property
    def invocation_slots(self) -> int:
        """Handler invocations run at once behind the gate; 0 when there is no gate."""
        return self.invocation_gate.slots if self.invocation_gate else 0

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

    def resolve(self, function: str, qualifier: str | None = None) -> None:
        """Check that `function` (and the request's `Qualifier`) names the function served.

        Raises ResourceNotFoundException as Lambda does for a function (or a
        version or alias) that does not exist, InvalidParameterValueException
        for a name that is not one, or whose qualifier contradicts `Qualifier`.
        """
        match = _FUNCTION_REF.fullmatch(function)
        if match is None:
            raise LambdaError("InvalidParameterValueException", f"Invalid function name: {function}")
        in_name = match.group("qualifier")
        if in_name and qualifier and in_name != qualifier:
            raise LambdaError(
                "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified qualifier.",
            )
        wanted = in_name or qualifier
        if (
            match.group("name") != self.function_name
            or match.group("region") not in (None, REGION)
            or match.group("account") not in (None, ACCOUNT_ID)
            or wanted not in (None, LATEST)
        ):
            arn = (
                f"arn:aws:lambda:{match.group('region') or REGION}:{match.group('account') or ACCOUNT_ID}"
                f":function:{match.group('name')}{':' + wanted if wanted else ''}"
            )
            raise LambdaError("ResourceNotFoundException", f"Function not found: {arn}")

    def execution_arn(self, execution_name: str, invocation_id: str) -> str:
        """A new execution's ARN, in the shape of botocore's DurableExecutionArn pattern.

        Its last part is the id of the execution's EXECUTION operation: the
        durable SDK reads it from there (`ExecutionState.get_execution_operation`).
        """
        return f"{self.function_arn}:{LATEST}/durable-execution/{execution_name}/{invocation_id}"

    def start_execution(self, payload: str, name: str | None = None) -> tuple[str, bool]:
        """Start an execution: (its ARN, True); a known `name` with the same payload: (the ARN, False)."""
        if name is not None and not _EXECUTION_NAME.fullmatch(name):
            raise LambdaError(
                "InvalidParameterValueException",
                "DurableExecutionName must be 1-64 characters of letters, digits, '-' and '_'",
            )
        with self._start_lock:
            if name is not None and name in self._by_name:
                started = self._by_name[name]
                if started.payload != payload:
                    raise LambdaError(
                        "DurableExecutionAlreadyStartedException",
                        f"Durable execution {name} has already been started with a different payload.",
                    )
                return started.arn, False
            execution_name, invocation_id = name or str(uuid.uuid4()), str(uuid.uuid4())
            arn = self.execution_arn(execution_name, invocation_id)
            self._launch(
                arn,
                StartDurableExecutionInput(
                    account_id=ACCOUNT_ID,
                    function_name=self.function_name,
                    function_qualifier=LATEST,
                    execution_name=execution_name,
                    execution_timeout_seconds=self._execution_timeout,
                    execution_retention_period_days=7,
                    invocation_id=invocation_id,
                    input=payload,
                ),
            )
            if name is not None:
                self._by_name[name] = _Started(arn=arn, payload=payload)
            return arn, True

    def wait(self, execution_arn: str, timeout: float) -> bool:
        return bool(self.executor.wait_until_complete(execution_arn, timeout))

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._runner.close()  # type: ignore[no-untyped-call]
        self._thread.join(timeout=5)

    def _launch(self, arn: str, start: StartDurableExecutionInput) -> None:
        """What the runner's `start_execution` does, but under an ARN of AWS's shape.

        The runner names executions `uuid/uuid` (`Execution.new`), so the
        execution is made here and handed to the runner's own launch (its
        timeout and first invocation). The runner's private parts used are
        those of the pinned aws-durable-execution-sdk-python-testing version.
        """
        executor = self.executor
        execution = Execution(durable_execution_arn=arn, start_input=start, operations=[])
        execution.region = REGION
        execution.start(now=executor._clock.now())
        executor._store.save(execution)
        executor._launch_execution(execution, start.execution_timeout_seconds)

    def _gate_invocations(self, slots: int) -> InvocationGate | None:
        """Put `GatedInvoker` in front of the runner's invoker (none when ``slots`` is 0).

        The invoker is swapped before any execution starts; ``_invoker`` is private to the
        pinned SDK testing version, like the invocation pool below.
        """
        if slots == 0:
            return None
        gate = InvocationGate(slots=slots, max_wait_s=INVOCATION_GATE_MAX_WAIT_S)
        executor = self.executor
        executor._invoker = GatedInvoker(executor._invoker, gate)
        return gate

    def _size_invocation_pool(self, workers: int) -> None:
        """Give the runner's handler invocations ``workers`` threads instead of its cpu_count + 4.

        Each invocation holds its thread for the handler's whole duration, and most of that is
        waiting (HTTP calls to the emulators, the SDK's checkpoint batching), not CPU: with the
        SDK's default of ``min(32, cpu_count + 4)`` (6 on a 2-core machine) a burst of runs
        queues for a worker although the CPU is mostly idle. The pool is swapped before any
        execution starts, so no work is lost; private to the pinned SDK testing version, like
        ``_launch``.
        """
        executor = self.executor
        default = executor._invocation_pool
        executor._invocation_pool = DaemonThreadPool(
            max_workers=workers, thread_name_prefix="durable-invocation"
        )
        default.shutdown(wait=False)
