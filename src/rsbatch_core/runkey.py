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


def client_token(run: str) -> str:
    """A ClientToken (≤ 64 chars): a retried submit of the same batch returns the same statement.

    Each batch of a chain has its own run key, hence its own token.
    """
    return hashlib.sha256(f"{run}/submit".encode()).hexdigest()


def is_ours(statement_name: str | None) -> bool:
    return bool(statement_name) and str(statement_name).startswith(RUN_PREFIX)


def batch_key(run: str, index: int) -> str:
    """Batch `index` (1-based) of a chain: its own registry item and StatementName.

    The first batch is the run itself, so a single-file run has one key: `run`, `run-2`, `run-3`…
    """
    return run if index == 1 else f"{run}-{index}"


@dataclass(frozen=True)
class StepName:
    """A durable operation's name, `kind[-bN][-round]`: `submit`, `wait-1`, `check-b2-3`, `finish-b2`."""

    kind: str
    batch: int = 1
    round: int | None = None

    def __str__(self) -> str:
        name = self.kind if self.batch == 1 else f"{self.kind}-b{self.batch}"
        return name if self.round is None else f"{name}-{self.round}"

    @classmethod
    def parse(cls, name: str) -> StepName | None:
        """The parts of a name `__str__` made; None for any other name."""
        match = _STEP_NAME.fullmatch(name)
        if not match:
            return None
        kind, batch, round_no = match.groups()
        return cls(kind, int(batch) if batch else 1, int(round_no) if round_no else None)


def step_name(kind: str, batch: int = 1, round_no: int | None = None) -> str:
    """The one spelling of every durable operation's name (replays must find the same names)."""
    return str(StepName(kind, batch, round_no))


#: Only what `StepName.__str__` makes: no `-b1`, no leading zeros.
_STEP_NAME = re.compile(r"([a-z]+)(?:-b([2-9]|[1-9][0-9]+))?(?:-([1-9][0-9]*))?")
