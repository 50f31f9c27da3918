"""Names that must be the same on every replay: the run key and the ClientToken."""

from __future__ import annotations

import hashlib

from rsbatch_core.settings import RUN_PREFIX


def run_key(execution_arn: str) -> str:
    """The run's key: our prefix (the EventBridge rule matches it) + a hash of the execution.

    It travels in `StatementName`, so the listener finds the run from the event alone.
    """
    return RUN_PREFIX + hashlib.sha256(execution_arn.encode("utf-8")).hexdigest()[:24]


def client_token(run: str) -> str:
    """A ClientToken (≤ 64 chars): a retried submit of the same batch returns the same statement.

    Each batch of a chain has its own run key, hence its own token.
    """
    return hashlib.sha256(f"{run}/submit".encode()).hexdigest()


def is_ours(statement_name: str | None) -> bool:
    return bool(statement_name) and str(statement_name).startswith(RUN_PREFIX)
