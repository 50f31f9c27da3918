"""Sessions: a connection kept for one principal between its statements.

``SessionKeepAliveSeconds`` keeps a statement's connection (temp tables and all) for the
caller's next statements with the returned ``SessionId``, one at a time, until it has been
idle that long. The registry shares the emulator's condition: a session is claimed in the
same critical section that creates the statement using it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Mapping

from psycopg.pq import TransactionStatus

from rsbatch.local.redshift_data.exceptions import invalid
from rsbatch.local.redshift_data.models import Connection, Session, Statement

# ListSessions lists "the sessions that the caller created in the last 24 hours" (botocore's model).
LISTED_SECONDS = 24 * 3600


class Sessions:
    """The live sessions by id (the lock: the emulator's condition)."""

    def __init__(self, cond: threading.Condition) -> None:
        self._cond = cond
        self._by_id: dict[str, Session] = {}
        self._closed: dict[str, Session] = {}  # CLOSED sessions, listed for 24 h (ListSessions)

    def claim(self, session_id: str | None, principal: str, now: float) -> Session | None:
        """The caller's live, idle session, or a ValidationException saying why not (lock held)."""
        if session_id is None:
            return None
        session = self._by_id.get(session_id)
        if (
            session is None
            or session.principal != principal
            or (not session.busy and session.expires_at <= now)
        ):
            raise invalid(f"Session {session_id} is not available (ended or expired)")
        if session.busy:
            raise invalid(f"Session {session_id} is busy with another statement")
        return session

    def open(self, principal: str, database: str, target: Mapping[str, str], keep_alive: int) -> Session:
        """A new session, its connection to come from its first statement (lock held)."""
        now = time.time()
        session = Session(
            id=str(uuid.uuid4()),
            principal=principal,
            database=database,
            target=dict(target),
            keep_alive=keep_alive,
            created_at=now,
            updated_at=now,
        )
        self._by_id[session.id] = session
        return session

    @staticmethod
    def bind(session: Session, stmt: Statement, keep_alive: int | None) -> None:
        """``stmt`` runs on ``session`` (busy until it ends); a new keep-alive replaces the old."""
        session.busy = True
        session.updated_at = time.time()
        session.current_statement = stmt.id
        if keep_alive:
            session.keep_alive = keep_alive
        stmt.session = session

    def release(self, session: Session, conn: Connection | None, reusable: bool) -> None:
        """Keep the connection for the session's next statement, or end the session."""
        with self._cond:
            session.busy = False
            session.updated_at = time.time()
            session.expires_at = session.updated_at + session.keep_alive
            keep = (
                reusable
                and conn is not None
                and not conn.closed
                and conn.info.transaction_status == TransactionStatus.IDLE
            )
            session.conn = conn  # if not kept, closed below with the session
            if not keep:
                self._end(session)

    def expire(self, now: float) -> None:
        """End the sessions idle past their keep-alive, forget the long closed ones (lock held)."""
        for session in [x for x in self._by_id.values() if not x.busy and x.expires_at <= now]:
            self._end(session)
        for session in [x for x in self._closed.values() if now - x.created_at > LISTED_SECONDS]:
            del self._closed[session.id]

    def of(self, principal: str) -> list[Session]:
        """The principal's sessions, live and recently closed, newest first (lock held)."""
        mine = [x for x in (*self._by_id.values(), *self._closed.values()) if x.principal == principal]
        return sorted(mine, key=lambda x: x.created_at, reverse=True)

    def close_all(self) -> None:
        with self._cond:
            for session in list(self._by_id.values()):
                self._end(session)

    def _end(self, session: Session) -> None:
        """Forget a session and close its connection (lock held)."""
        self._by_id.pop(session.id, None)
        if session.conn is not None and not session.conn.closed:
            session.conn.close()
        session.conn = None
        if not session.closed:
            session.closed = True
            session.updated_at = time.time()
            self._closed[session.id] = session
