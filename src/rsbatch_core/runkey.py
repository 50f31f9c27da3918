"""Names that must be the same on every replay: run and batch keys, ClientTokens, step names."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from rsbatch_core.settings import RUN_PREFIX


def run_key(execution_arn: str) -> str:
    """The run's key: our prefix (the EventBridge rule matches it) + a hash of the execution.

    It travels in `StatementName`, so the listener finds the run from the event alone.
    """
    return RUN_PREFIX + hashlib.sha256(execution_arn.encode("utf-8")).hexdigest()[:24]


def client_token(run: str, attempt: int = 1) -> str:
    """A ClientToken (≤ 64 chars): a retried submit of the same batch returns the same statement.

    Each batch of a chain has its own run key, and each attempt of a batch its own token
    (a rerun after a conflict must be a new statement, its step retries the same one).
    """
    key = f"{run}/submit" if attempt == 1 else f"{run}/submit/{attempt}"
    return hashlib.sha256(key.encode()).hexdigest()


def is_ours(statement_name: str | None) -> bool:
    return bool(statement_name) and str(statement_name).startswith(RUN_PREFIX)


def batch_key(run: str, index: int) -> str:
    """Batch `index` (1-based) of a chain: its own registry item and StatementName.

    The first batch is the run itself, so a single-file run has one key: `run`, `run-2`, `run-3`…
    """
    return run if index == 1 else f"{run}-{index}"


@dataclass(frozen=True)
class StepName:
    """A durable operation's name, `kind[-bN][-aK][-round]`: `submit`, `wait-1`, `check-b2-3`, `finish-a2`.

    `bN` is batch N of a chain, `aK` attempt K of a batch rerun after a conflict; both are left
    out when 1, so a healthy single run's names never change.
    """

    kind: str
    batch: int = 1
    round: int | None = None
    attempt: int = 1

    def __str__(self) -> str:
        name = self.kind if self.batch == 1 else f"{self.kind}-b{self.batch}"
        name = name if self.attempt == 1 else f"{name}-a{self.attempt}"
        return name if self.round is None else f"{name}-{self.round}"

    @classmethod
    def parse(cls, name: str) -> StepName | None:
        """The parts of a name `__str__` made; None for any other name."""
        match = _STEP_NAME.fullmatch(name)
        if not match:
            return None
        kind, batch, attempt, round_no = match.groups()
        return cls(
            kind,
            int(batch) if batch else 1,
            int(round_no) if round_no else None,
            int(attempt) if attempt else 1,
        )


def step_name(kind: str, batch: int = 1, round_no: int | None = None, attempt: int = 1) -> str:
    """The one spelling of every durable operation's name (replays must find the same names)."""
    return str(StepName(kind, batch, round_no, attempt))


#: Only what `StepName.__str__` makes: no `-b1`, no leading zeros.
_STEP_NAME = re.compile(r"([a-z]+)(?:-b([2-9]|[1-9][0-9]+))?(?:-a([2-9]|[1-9][0-9]+))?(?:-([1-9][0-9]*))?")
