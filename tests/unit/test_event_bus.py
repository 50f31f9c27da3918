"""The local event bus: rule matching, async-invoke retries, and the fault knobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rsbatch.local.event_bus import EventBus
from rsbatch.local.event_pattern import UnsupportedPatternError, matches
from rsbatch.local.faults import Faults, FaultyListener

PATTERN = {
    "source": ["aws.redshift-data"],
    "detail-type": ["Redshift Data Statement Status Change"],
    "detail": {"statementName": [{"prefix": "rsbatch-"}], "state": ["FINISHED", "FAILED", "ABORTED"]},
}


def event(name: str = "rsbatch-abc", state: str = "FINISHED") -> dict[str, Any]:
    return {
        "source": "aws.redshift-data",
        "detail-type": "Redshift Data Statement Status Change",
        "detail": {"statementName": name, "state": state, "statementId": "s-1"},
    }


def test_pattern_matches_only_our_terminal_events() -> None:
    assert matches(PATTERN, event())
    assert not matches(PATTERN, event(name="someone-else"))
    assert not matches(PATTERN, event(state="STARTED"))
    assert not matches(PATTERN, {**event(), "source": "aws.s3"})
    assert not matches(PATTERN, {"source": "aws.redshift-data"})


def test_pattern_filters() -> None:
    assert matches({"a": [{"anything-but": ["x"]}]}, {"a": "y"})
    assert not matches({"a": [{"anything-but": ["x"]}]}, {"a": "x"})
    assert matches({"a": [{"exists": False}]}, {})
    assert matches({"a": [{"suffix": ".sql"}]}, {"a": "q.sql"})
    with pytest.raises(UnsupportedPatternError):
        matches({"a": [{"numeric": [">", 1]}]}, {"a": 2})


def test_duplicates_and_drops_are_counted() -> None:
    got: list[dict[str, Any]] = []
    bus = EventBus(PATTERN, got.append, Faults(duplicate=3))
    bus.publish(event())
    bus.publish(event(name="other"))
    assert bus.drain(5)
    assert len(got) == 3 and bus.stats.matched == 1

    dropping = EventBus(PATTERN, got.append, Faults(drop=1.0))
    dropping.publish(event())
    assert dropping.drain(5) and dropping.stats.dropped == 1 and len(got) == 3


def failing(target: Callable[[dict[str, Any]], Any], faults: Faults) -> FaultyListener:
    """The listener as the stack hands it to the bus, with its Lambda faults applied."""
    listener = FaultyListener(target, cold_start=lambda: None)
    listener.set(faults)
    return listener


def test_listener_failures_are_retried_then_dead_lettered() -> None:
    got: list[dict[str, Any]] = []
    recovering = EventBus(PATTERN, failing(got.append, Faults(listener_failures=2)), retry_backoff=0.01)
    recovering.publish(event())
    assert recovering.drain(5)
    assert len(got) == 1 and recovering.stats.failed_attempts == 2 and not recovering.stats.dead_letters

    broken = EventBus(PATTERN, failing(got.append, Faults(listener_failures=5)), retry_backoff=0.01)
    broken.publish(event())
    assert broken.drain(5)
    assert len(got) == 1 and len(broken.stats.dead_letters) == 1
