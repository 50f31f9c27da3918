"""Raw responses as a local server put them on the wire, before botocore's parser drops anything.

Both response contracts (the emulator's and the local Lambda endpoint's) validate these bodies
against botocore's output and error shapes; parsing would hide unknown or misspelt members.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from botocore.model import OperationModel


@dataclass(frozen=True)
class Exchange:
    """One raw response: what the server answered for one call."""

    operation: str
    status: int
    headers: dict[str, str]
    body: Any


class Recorder:
    """A botocore ``before-parse`` handler: each raw response, its JSON body decoded when it has one."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def __call__(self, operation_model: OperationModel, response_dict: dict[str, Any], **_: Any) -> None:
        raw = response_dict["body"]
        body: Any = None  # a streamed payload (Invoke's) is the function's, and left unread
        if isinstance(raw, bytes):
            body = json.loads(raw) if raw else {}
        self.exchanges.append(
            Exchange(operation_model.name, response_dict["status_code"], dict(response_dict["headers"]), body)
        )

    def by_operation(self) -> dict[str, list[Exchange]]:
        grouped: dict[str, list[Exchange]] = defaultdict(list)
        for exchange in self.exchanges:
            grouped[exchange.operation].append(exchange)
        return dict(grouped)
