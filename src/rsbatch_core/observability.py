"""One Powertools logger, tracer and metrics set for the whole core, shared by both Lambdas.

The service name comes from POWERTOOLS_SERVICE_NAME, so each function's lines
say which function wrote them while the code stays written once.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "rsbatch-lambda")
tracer = Tracer()
metrics = Metrics(namespace="rsbatch")


def bind_run(run: str) -> None:
    """Put the run key on every following log line (and as the correlation id)."""
    logger.append_keys(run=run)
    logger.set_correlation_id(run)
