"""Where the shared core's Powertools logs go outside Lambda: the only code that re-routes them.

On Lambda the core logs JSON lines to stdout for CloudWatch. In the CLI only
its warnings matter, on stderr (stdout is for the report and `--json`). On
the local stack the Lambdas' lines go to a file, where CloudWatch would be.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

from rsbatch_core.observability import logger

#: The durable SDK's own loggers (and its testing runner's), which would print to the CLI's terminal.
SDK_LOGGERS = ("aws_durable_execution_sdk_python", "aws_durable_execution_sdk_python_testing")


def core_warnings_to_stderr() -> None:
    """The CLI: only the core's warnings and errors, on stderr."""
    logger.setLevel(logging.WARNING)
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(sys.stderr)


class LambdaLogFile:
    """The local stack: send the Lambdas' JSON logs (core and SDK) to a file; `close` puts them back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stream: TextIO | None = None

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stream = self.path.open("a", encoding="utf-8")
        self._stream = stream
        handler = logger.registered_handler
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
        logging.getLogger(logger.name).propagate = False
        sdk_handler = logging.StreamHandler(stream)
        for name in SDK_LOGGERS:
            sdk_logger = logging.getLogger(name)
            sdk_logger.handlers = [sdk_handler]
            sdk_logger.propagate = False

    def close(self) -> None:
        """Safe to call twice or without `open`."""
        handler = logger.registered_handler
        if isinstance(handler, logging.StreamHandler) and handler.stream is self._stream:
            handler.setStream(sys.stdout)
        for name in SDK_LOGGERS:
            logging.getLogger(name).handlers = []
            logging.getLogger(name).propagate = True
        if self._stream:
            self._stream.close()
            self._stream = None


def quiet_servers() -> None:
    """Request logs of the local servers (moto's werkzeug) are noise in a terminal."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
