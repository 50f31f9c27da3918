"""A run's log lines from both Lambdas, in order: CloudWatch Logs on AWS, the log file locally.

Every line the core writes while it works on a run carries the run key as
Powertools' correlation id (`rsbatch_core.observability.bind_run`): the
durable function binds the run key, the listener the statement name, which
is the run key or a batch key of it (`RUN-2`, …). So one filter finds a run's
lines in both functions' log groups (FilterLogEvents, one call per group,
`{ $.correlation_id = "RUN*" }`, a JSON filter pattern with a trailing
wildcard — CloudWatch Logs User Guide, "Filter pattern syntax"), checked
again here so that no other run's lines slip in. Locally the stack writes
the same JSON lines to one file (`rsbatch.logs.LambdaLogFile`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from rsbatch_core.errors import BadInputError

#: Keys of a Powertools line that every line has; the rest are shown as `key=value`.
STANDARD_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "run",
        "correlation_id",
        "xray_trace_id",
        "sampling_rate",
    }
)
#: A line is at most this long in the terminal, a message field at most this in JSON.
MAX_TEXT = 2000


def belongs(run: str, correlation_id: object) -> bool:
    """The run's own key, or a key derived from it (`RUN-2`, `RUN.step`), never another run's."""
    if not isinstance(correlation_id, str) or not correlation_id.startswith(run):
        return False
    rest = correlation_id[len(run) :]
    return not rest or not rest[0].isalnum()


@dataclass(frozen=True, order=True)
class LogLine:
    """One line of a run's log: when, which function, and Powertools' fields."""

    timestamp: datetime
    function: str
    fields: dict[str, Any] = field(compare=False)

    @property
    def level(self) -> str:
        return str(self.fields.get("level", ""))

    @property
    def message(self) -> str:
        return str(self.fields.get("message", ""))

    def extras(self) -> dict[str, Any]:
        return {k: v for k, v in self.fields.items() if k not in STANDARD_KEYS}

    def text(self) -> str:
        extra = " ".join(f"{k}={_short(v)}" for k, v in self.extras().items())
        stamp = self.timestamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = f"{stamp}  {self.function:<17} {self.level:<7} {self.message}"
        return (f"{line}  {extra}" if extra else line)[:MAX_TEXT]

    def to_json(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp.isoformat(timespec="milliseconds"),
            "function": self.function,
            "level": self.level,
            "message": self.message[:MAX_TEXT],
            "fields": self.extras(),
        }


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def parse_powertools(text: str) -> dict[str, Any] | None:
    """A Powertools JSON line, or None for anything else (the SDK's plain lines, EMF documents)."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        fields = json.loads(text)
    except json.JSONDecodeError:
        return None
    return fields if isinstance(fields, dict) and "message" in fields else None


def powertools_time(stamp: object) -> datetime | None:
    """Powertools' default timestamp, `2026-12-02 10:21:59,266+0000`."""
    try:
        return datetime.strptime(str(stamp), "%Y-%m-%d %H:%M:%S,%f%z").astimezone(UTC)
    except ValueError:
        return None


class RunLogs(Protocol):
    """Where a run's lines come from: `read` returns the lines not returned before, in order."""

    def read(self, run: str, since: datetime) -> list[LogLine]: ...


class CloudWatchRunLogs:
    """FilterLogEvents on each function's log group, merged by time."""

    def __init__(self, logs: Any, groups: tuple[str, ...]) -> None:
        self.logs = logs
        self.groups = groups
        self._seen: set[str] = set()
        self._next_start: dict[str, int] = {}

    def read(self, run: str, since: datetime) -> list[LogLine]:
        lines: list[LogLine] = []
        for group in self.groups:
            lines += self._read_group(group, run, since)
        return sorted(lines)

    def _read_group(self, group: str, run: str, since: datetime) -> list[LogLine]:
        start = max(self._next_start.get(group, 0), int(since.timestamp() * 1000))
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "startTime": start,
            "filterPattern": f'{{ $.correlation_id = "{run}*" }}',
        }
        function = group.rsplit("/", 1)[-1]
        lines: list[LogLine] = []
        while True:
            page = self.logs.filter_log_events(**kwargs)
            for event in page.get("events", []):
                if event["eventId"] in self._seen:
                    continue  # a follow re-reads from the last timestamp seen
                self._seen.add(event["eventId"])
                self._next_start[group] = max(self._next_start.get(group, 0), event["timestamp"])
                fields = parse_powertools(event.get("message", ""))
                if fields is None or not belongs(run, fields.get("correlation_id")):
                    continue
                when = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
                lines.append(LogLine(when, function, fields))
            if not page.get("nextToken"):
                return lines
            kwargs["nextToken"] = page["nextToken"]


class FileRunLogs:
    """The local stack's log file (both Lambdas in one process, each line naming its function)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def read(self, run: str, since: datetime) -> list[LogLine]:
        if not self.path.is_file():
            return []
        with self.path.open("rb") as stream:
            stream.seek(self._offset)
            chunk = stream.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written is read next time
        self._offset += len(complete)
        lines: list[LogLine] = []
        for raw in complete.decode("utf-8", errors="replace").splitlines():
            fields = parse_powertools(raw)
            if fields is None or not belongs(run, fields.get("correlation_id")):
                continue
            when = powertools_time(fields.get("timestamp"))
            if when is None or when < since:
                continue
            lines.append(LogLine(when, str(fields.get("function_name") or fields.get("service")), fields))
        return sorted(lines)


def follow(
    source: RunLogs,
    run: str,
    since: datetime,
    *,
    ended: Callable[[], bool],
    poll_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[LogLine]:
    """The run's lines as they come, until the run has ended and one more read found nothing new."""
    while True:
        done = ended()  # asked before reading, so the last lines written before the end are read
        lines = source.read(run, since)
        yield from lines
        if done and not lines:
            return
        sleep(poll_seconds)


def source_for(target: Any) -> RunLogs:
    """The local stack's file, or both log groups, of a `rsbatch.config.Target`."""
    if target.log_file:
        return FileRunLogs(Path(target.log_file))
    if not target.log_groups:
        raise BadInputError(
            "no log groups to read: the stack has no DurableLogGroupName/StatusListenerLogGroupName "
            "outputs (redeploy) and RSBATCH_LOG_GROUPS is not set"
        )
    return CloudWatchRunLogs(target.session.client("logs"), target.log_groups)
