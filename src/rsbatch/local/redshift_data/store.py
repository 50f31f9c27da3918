"""Every statement the service remembers, its ClientTokens, and the one way a statement ends.

The store is where a statement is created (the active-statements limit), found again by id
(owner checks, ``<id>:N``), replayed by ClientToken, forgotten the service's retention after
it ended (not in creation order: a long statement holds back nobody), and made terminal:
:meth:`StatementStore.end` is what the runner calls when a statement is over, and it
publishes the statement's event once the new status is visible.

The warehouse faults that depend on a statement's life are applied here too: whether a new
statement will conflict (``conflict``), the events of sub-statements (``sub-events``) and
the view a lagging DescribeStatement keeps of a statement that has just ended
(``describe-lag``). It also counts the peak of active statements, and keeps the result rows
of ended statements within a memory budget (``result_memory_bytes``), dropping the oldest
first.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from rsbatch.local.redshift_data.events import Events, RedshiftEvent
from rsbatch.local.redshift_data.exceptions import active_statements_exceeded, invalid, not_found
from rsbatch.local.redshift_data.injected import CONFLICT_AT, InjectedFaults
from rsbatch.local.redshift_data.models import TERMINAL, Statement, Sub
from rsbatch.local.redshift_data.parsing import StatementRef, SubmitRequest
from rsbatch.local.redshift_data.settings import Settings
from rsbatch.local.warehouse import DEFAULT_DATABASE

# Limits of the real service (botocore model and the Redshift management guide).
CLIENT_TOKEN_TTL = 8 * 3600

# Our wording: AWS documents no message for a Data API ClientToken reused with another request.
REPLAY_MISMATCH = (
    "ClientToken {token} was already used with a different request (statement {id}); "
    "use a new ClientToken for a new request"
)


@dataclass(frozen=True)
class _Token:
    """A remembered ClientToken: the statement it created, when, and the request it named."""

    statement_id: str
    at: float
    fingerprint: tuple[object, ...]


class StatementStore:
    """Statements by id and ClientTokens in creation order, ended statements and kept results in
    the order they ended (the lock: the emulator's condition)."""

    def __init__(
        self, cond: threading.Condition, events: Events, settings: Settings, faults: InjectedFaults
    ) -> None:
        self._cond = cond
        self._events = events
        self._settings = settings
        self._faults = faults
        self._statements: dict[str, Statement] = {}
        self._tokens: dict[tuple[str, str], _Token] = {}
        self._seq = itertools.count(1)
        self._ended: dict[str, float] = {}  # terminal statements' ids → when they ended, in that order
        self._results: dict[str, int] = {}  # ended statements holding rows → bytes held, in end order
        self._result_bytes = 0
        self._active = 0  # statements not yet terminal
        self._peak = 0  # the most statements ever active at once (since the last reset)

    def create(self, req: SubmitRequest, target: Mapping[str, str], principal: str, now: float) -> Statement:
        """A new SUBMITTED statement for ``req`` on ``target`` (lock held)."""
        limit = self._settings.max_active_statements
        if self._active >= limit:
            raise active_statements_exceeded(limit)
        statement_id = str(uuid.uuid4())
        subs = [
            Sub(
                id=f"{statement_id}:{n}" if req.is_batch else statement_id,
                sql=sql,
                created_at=now,
                updated_at=now,
            )
            for n, sql in enumerate(req.sqls, start=1)
        ]
        stmt = Statement(
            id=statement_id,
            seq=next(self._seq),
            is_batch=req.is_batch,
            subs=subs,
            name=req.name,
            target=dict(target),
            database=target.get("Database") or DEFAULT_DATABASE,
            parameters=[dict(p) for p in req.parameters],
            mode=req.mode,
            with_event=req.with_event,
            principal=principal,
            created_at=now,
            updated_at=now,
            result_format=req.result_format,
        )
        if self._faults.take_conflict(req.name):
            stmt.conflict_at = min(CONFLICT_AT, len(subs))
        self._statements[statement_id] = stmt
        self._active += 1
        self._peak = max(self._peak, self._active)
        return stmt

    @property
    def peak_active(self) -> int:
        with self._cond:
            return self._peak

    def reset_peak_active(self) -> None:
        """Count the peak afresh, from the statements active now."""
        with self._cond:
            self._peak = self._active

    def get(self, statement_id: str) -> Statement:
        """The statement with this id, whoever owns it; KeyError if unknown."""
        with self._cond:
            return self._statements[statement_id]

    def replay(self, principal: str, req: SubmitRequest, now: float) -> Statement | None:
        """The statement an earlier request with this ClientToken created, if still known (lock held).

        The same token with another request (other SQL, target, mode, parameters…) is refused:
        a ClientToken "ensures the idempotency of the request" (botocore's model), so it names
        one request. The model lists no idempotency error for the Data API, so the refusal is
        its ValidationException.
        """
        if req.client_token is None:
            return None
        known = self._tokens.get((principal, req.client_token))
        if known is None or now - known.at > CLIENT_TOKEN_TTL:
            return None
        if known.fingerprint != req.fingerprint:
            raise invalid(REPLAY_MISMATCH.format(token=req.client_token, id=known.statement_id))
        return self._statements.get(known.statement_id)

    def remember(self, principal: str, req: SubmitRequest, stmt: Statement, now: float) -> None:
        """Replays of the request's ClientToken by ``principal`` return ``stmt`` from now on (lock held)."""
        if req.client_token is not None:
            self._tokens[(principal, req.client_token)] = _Token(stmt.id, now, req.fingerprint)

    def expire(self, now: float) -> None:
        """Forget tokens past 8 h and statements past the retention since *they* ended (lock held).

        Tokens are kept in creation order and statements in the order they ended, each with one
        lifetime, so only the expired head of each is visited; a statement still running is not
        in the ended order at all, so it never holds back those that ended after it started.
        """
        old_tokens = list(
            itertools.takewhile(lambda item: now - item[1].at > CLIENT_TOKEN_TTL, self._tokens.items())
        )
        for key, _ in old_tokens:
            del self._tokens[key]
        retention = self._settings.retention_seconds
        ended = self._ended.items()
        old_statements = list(itertools.takewhile(lambda item: now - item[1] > retention, ended))
        for statement_id, _ in old_statements:
            del self._ended[statement_id]
            self._statements.pop(statement_id, None)
            self._release_results(statement_id)

    @property
    def result_bytes(self) -> int:
        """The memory the kept result rows hold (an estimate, see ``Sub.result_bytes``)."""
        with self._cond:
            return self._result_bytes

    def _keep_results(self, stmt: Statement) -> None:
        """Count a just-ended statement's rows, then drop the oldest ended results until the
        total is within ``result_memory_bytes`` again (lock held).

        The newest result is always kept, even alone above the budget: the caller who waited
        for it can read it. A dropped result stays described (HasResultSet, ResultRows); reading
        it is AWS's "has expired" error (:func:`~.exceptions.result_expired`).
        """
        held = sum(sub.result_bytes for sub in stmt.subs if sub.rows)
        if held == 0:
            return
        self._results[stmt.id] = held
        self._result_bytes += held
        budget = self._settings.result_memory_bytes
        now = time.time()
        while self._result_bytes > budget and len(self._results) > 1:
            oldest = next(iter(self._results))
            self._release_results(oldest, evicted_at=now)

    def _release_results(self, statement_id: str, evicted_at: float | None = None) -> None:
        held = self._results.pop(statement_id, None)
        if held is None:
            return
        self._result_bytes -= held
        stmt = self._statements.get(statement_id)
        if stmt is None or evicted_at is None:
            return
        for sub in stmt.subs:
            if sub.rows:
                sub.rows = []
                sub.evicted_at = evicted_at

    def lookup(self, ref: StatementRef, owner: str | None) -> tuple[Statement, Sub | None]:
        """The statement ``ref`` names and its sub-statement, if ``owner`` (when given) owns it.

        Lock held.
        """
        stmt = self._statements.get(ref.statement_id)
        if stmt is None:
            raise not_found(ref.given)
        if owner is not None and stmt.principal != owner:
            raise invalid(f"Statement {ref.given} was submitted by another principal")
        if ref.number is None:
            return stmt, None
        if not stmt.is_batch or not 1 <= ref.number <= len(stmt.subs):
            raise not_found(ref.given)
        return stmt, stmt.subs[ref.number - 1]

    def newest_first(self) -> Iterator[Statement]:
        """Lock held while iterating."""
        return reversed(self._statements.values())

    def live(self) -> list[Statement]:
        """The statements not yet terminal (lock held)."""
        return [s for s in self._statements.values() if not s.terminal]

    def count_named(self, prefix: str) -> int:
        with self._cond:
            return sum(
                1 for s in self._statements.values() if s.name is not None and s.name.startswith(prefix)
            )

    def sub_ended(self, stmt: Statement, sub: Sub) -> None:
        """A sub-statement of ``stmt`` has just ended: its event, with ``sub-events``."""
        with self._cond:
            event = self._sub_event(stmt, sub, time.time())
        if event is not None:
            self._events.publish(event)

    def _sub_event(self, stmt: Statement, sub: Sub, now: float) -> RedshiftEvent | None:
        if not (stmt.with_event and stmt.is_batch and self._faults.sub_events):
            return None
        return self._events.sub_status_change(stmt, sub, now)

    def end(self, stmt: Statement, status: str, error: str | None = None) -> None:
        """Make ``stmt`` terminal (once) and publish its event after it is visible.

        The sub-statements it ends with it (ABORTED ones) publish theirs first (``sub-events``);
        with ``describe-lag``, DescribeStatement keeps showing what it was until now for a while.
        """
        with self._cond:
            now = time.time()
            if stmt.terminal:
                return
            ending = [sub for sub in stmt.subs if sub.status not in TERMINAL]
            lag = self._faults.describe_lag
            if lag > 0:
                stmt.lag(lag, now)
            stmt.end(status, error, now)
            self._active -= 1
            self._ended[stmt.id] = now
            self._keep_results(stmt)
            self._cond.notify_all()
            events = [e for sub in ending if (e := self._sub_event(stmt, sub, now)) is not None]
            if stmt.with_event:
                events.append(self._events.status_change(stmt, now))
        for event in events:
            self._events.publish(event)
