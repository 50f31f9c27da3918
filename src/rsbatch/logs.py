"""Where the shared core's Powertools logs go outside Lambda: the only code that re-routes them.

On Lambda the core logs JSON lines to stdout for CloudWatch. In the CLI only
its warnings matter, on stderr (stdout is for the report and `--json`). On
the local stack the Lambdas' lines go to a file, where CloudWatch would be.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TextIO

from rsbatch_core.observability import logger

#: The durable SDK's own loggers (and its testing runner's), which would print to the CLI's terminal.
SDK_LOGGERS = ("aws_durable_execution_sdk_python", "aws_durable_execution_sdk_python_testing")


def core_warnings_to_stderr() -> None:
    """The CLI: only the core's warnings and errors, on stderr."""
    logger.setLevel(logging.WARNING)
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(sys.stderr)


#: Which function the current thread is running for (the local stack runs both in one process).
_FUNCTION: ContextVar[str | None] = ContextVar("rsbatch_function", default=None)

Handler = Callable[[Any, Any], Any]


def as_function(name: str, handler: Handler) -> Handler:
    """`handler`, with its log lines naming `name` as their function_name.

    On Lambda each function is its own process; locally both share one Powertools
    logger, whose keys (set by `inject_lambda_context`) the other function may
    change meanwhile — a resumed durable invocation starts while the listener that
    resumed it is still logging.
    """

    @functools.wraps(handler)
    def labelled(event: Any, context: Any) -> Any:
        token = _FUNCTION.set(name)
        try:
            return handler(event, context)
        finally:
            _FUNCTION.reset(token)

    return labelled


class _FunctionName(logging.Filter):
    """Puts the calling thread's function on the record; Powertools prints extras over its keys.

    The durable SDK runs the function's code in threads of its own, which `as_function`
    cannot mark: a line from an unmarked thread is the durable function's (the only
    other Lambda in the process).
    """

    def __init__(self, default: str) -> None:
        super().__init__()
        self.default = default

    def filter(self, record: logging.LogRecord) -> bool:
        record.function_name = _FUNCTION.get() or self.default
        return True


def per_thread_keys(formatter: logging.Formatter) -> Callable[[], None]:
    """Give each thread its own copy of Powertools' log keys, as each Lambda has its own process.

    Both handlers share one Powertools logger here, and its keys (`inject_lambda_context`,
    the run key of `bind_run`) are one dict: a durable invocation that the listener's
    callback starts would otherwise clear the listener's run key while it still logs.
    A thread starts from the keys set at import (service, …), like a cold process.
    Returns what puts the shared keys back (the calling thread's).
    """
    base = type(formatter)
    if getattr(base, "_rsbatch_per_thread", False):
        return lambda: None
    local = threading.local()
    start = dict(getattr(formatter, "log_format", {}))

    def get(self: Any) -> dict[str, Any]:
        if not hasattr(local, "log_format"):
            local.log_format = dict(start)
        value: dict[str, Any] = local.log_format
        return value

    def put(self: Any, value: dict[str, Any]) -> None:
        local.log_format = value

    formatter.__class__ = type(
        f"PerThread{base.__name__}", (base,), {"log_format": property(get, put), "_rsbatch_per_thread": True}
    )

    def restore() -> None:
        keys = get(formatter)
        formatter.__class__ = base
        formatter.__dict__["log_format"] = keys

    return restore


class LambdaLogFile:
    """The local stack: send the Lambdas' JSON logs (core and SDK) to a file; `close` puts them back."""

    def __init__(self, path: Path, *, durable_function: str = "rsbatch-durable") -> None:
        self.path = path
        self.durable_function = durable_function
        self._stream: TextIO | None = None
        self._level: int | None = None
        self._shared_keys: Callable[[], None] = lambda: None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stream = self.path.open("a", encoding="utf-8")
        self._stream = stream
        # The level the template gives both functions (POWERTOOLS_LOG_LEVEL: INFO), whatever the
        # CLI hosting them set for its own terminal (`core_warnings_to_stderr`).
        self._level = logger.log_level
        logger.setLevel(logging.INFO)
        handler = logger.registered_handler
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
            if not any(isinstance(f, _FunctionName) for f in handler.filters):
                handler.addFilter(_FunctionName(self.durable_function))
            if handler.formatter is not None:
                self._shared_keys = per_thread_keys(handler.formatter)
        logging.getLogger(logger.name).propagate = False
        sdk_handler = logging.StreamHandler(stream)
        for name in SDK_LOGGERS:
            sdk_logger = logging.getLogger(name)
            sdk_logger.handlers = [sdk_handler]
            sdk_logger.propagate = False

    def close(self) -> None:
        """Safe to call twice or without `open`."""
        handler = logger.registered_handler
        for stale in [f for f in handler.filters if isinstance(f, _FunctionName)]:
            handler.removeFilter(stale)
        if isinstance(handler, logging.StreamHandler) and handler.stream is self._stream:
            handler.setStream(sys.stdout)
        for name in SDK_LOGGERS:
            logging.getLogger(name).handlers = []
            logging.getLogger(name).propagate = True
        self._shared_keys()
        self._shared_keys = lambda: None
        if self._level is not None:
            logger.setLevel(self._level)
            self._level = None
        if self._stream:
            self._stream.close()
            self._stream = None


def quiet_servers() -> None:
    """Request logs of the local servers (moto's werkzeug) are noise in a terminal."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
