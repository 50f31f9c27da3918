"""Durable executions adapter: the status Lambda keeps of a run's execution (GetDurableExecution).

Reconcile needs it to find orphans: a run the registry says is WAITING whose
execution was stopped, timed out or failed can never be resumed, so nothing
but reconcile will ever close it.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from rsbatch_core.classify import error_code

#: The ends among GetDurableExecution's Status values (botocore's lambda model). RUNNING, PAUSING and
#: PAUSED can still resume; DELETING soon answers ResourceNotFoundException (None below).
ENDED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"})


class DurableExecutions:
    def __init__(self, client: Any = None) -> None:
        self._client = client or boto3.client("lambda")

    def status(self, execution_arn: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or STOPPED; None when Lambda no longer knows it."""
        try:
            response = self._client.get_durable_execution(DurableExecutionArn=execution_arn)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":  # past its retention period
                return None
            raise
        return str(response.get("Status"))
