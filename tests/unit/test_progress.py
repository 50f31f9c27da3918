"""Live progress: a snapshot's text, the plain lines a log gets, and what is gathered from AWS's shapes."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rsbatch.progress import ProgressView, RoundInfo, Snapshot, StatementProgress, SubProgress, clock, lines
from rsbatch.watching import current_round, statement_progress

T0 = datetime(2026, 12, 2, 15, 0, 0, tzinfo=UTC)


def waiting(**changes: object) -> Snapshot:
    redshift = StatementProgress(
        statement_id="s-1",
        status="STARTED",
        subs=(
            SubProgress(1, "FINISHED", 0.2, 10),
            SubProgress(2, "STARTED", 4.0, None),
            SubProgress(3, "SUBMITTED"),
        ),
        described_at=T0 + timedelta(seconds=60),
    )
    base = Snapshot(
        run="rsbatch-abc",
        taken_at=T0 + timedelta(seconds=60),
        execution_status="RUNNING",
        started_at=T0,
        registry_status="WAITING",
        statement_id="s-1",
        round=RoundInfo("wait-2", 1, 1, 2, 120, T0 + timedelta(seconds=30)),
        redshift=redshift,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_waiting_run_shows_elapsed_round_with_timeout_and_statement_k_of_n() -> None:
    text = lines(waiting(), now=T0 + timedelta(seconds=62))
    assert text == [
        "rsbatch-abc WAITING 1m02s",
        "round 2 (wait-2): 32s of 2m00s",
        "Redshift STARTED: statement 2 of 3 started, 6s, rows -",  # 4 s described + 2 s since
    ]


def test_rows_and_a_round_without_a_known_timeout() -> None:
    done = StatementProgress("s-1", "FINISHED", (SubProgress(1, "FINISHED", 1.5, 42),), described_at=T0)
    snapshot = waiting(round=RoundInfo("wait-b2-1", 2, 1, 1, None, T0), redshift=done, batch=2)
    assert lines(snapshot, now=T0 + timedelta(seconds=5)) == [
        "rsbatch-abc WAITING 5s, batch 2",
        "round 1 (wait-b2-1): 5s",
        "Redshift FINISHED: statement 1 of 1 finished, 1s, rows 42",
    ]


def test_without_redshift_s_view_the_note_says_why() -> None:
    snapshot = waiting(redshift=None, note="not submitted yet", round=None)
    assert lines(snapshot, now=T0 + timedelta(seconds=1))[1:] == ["Redshift: not submitted yet"]


def test_clock_grows_in_units() -> None:
    assert [clock(s) for s in (None, 0, 59.9, 61, 3723)] == ["-", "0s", "59s", "1m01s", "1h02m03s"]


def test_plain_view_writes_a_timestamped_line_per_change_not_per_poll() -> None:
    stream = io.StringIO()
    view = ProgressView(live=False, stream=stream, heartbeat_s=3600)
    with view:
        view.show(waiting())
        view.show(waiting(taken_at=T0 + timedelta(seconds=61)))  # only the clock moved
        nxt = StatementProgress(
            "s-1",
            "STARTED",
            (SubProgress(1, "FINISHED"), SubProgress(2, "FINISHED"), SubProgress(3, "STARTED")),
        )
        view.show(waiting(redshift=nxt))
    written = stream.getvalue().splitlines()
    assert len(written) == 2 and "\x1b" not in stream.getvalue()
    assert "statement 2 of 3" in written[0] and "statement 3 of 3" in written[1]
    assert all(line[2] == ":" and " | round 2 (wait-2): " in line for line in written)


def test_describe_statement_sub_statements_become_progress() -> None:
    # DescribeStatement as the inspect action returns it (JSON: timestamps are strings).
    now = T0 + timedelta(seconds=10)
    description = {
        "Id": "s-1",
        "Status": "STARTED",
        "SubStatements": [
            {"Id": "s-1:1", "Status": "FINISHED", "Duration": 250_000_000, "ResultRows": 3},
            {"Id": "s-1:2", "Status": "STARTED", "Duration": 0, "ResultRows": -1, "UpdatedAt": str(T0)},
        ],
    }
    progress = statement_progress(description, now)
    assert progress.current == SubProgress(2, "STARTED", 10.0, None)
    assert progress.subs[0] == SubProgress(1, "FINISHED", 0.25, 3)


def test_the_round_is_the_newest_callback_started_named_wait() -> None:
    events = [
        {
            "EventType": "CallbackStarted",
            "Name": "wait-1",
            "EventTimestamp": T0,
            "CallbackStartedDetails": {"Timeout": 60},
        },
        {"EventType": "StepSucceeded", "Name": "check-2", "EventTimestamp": T0 + timedelta(seconds=61)},
        {
            "EventType": "CallbackStarted",
            "Name": "wait-2",
            "EventTimestamp": T0 + timedelta(seconds=61),
            "CallbackStartedDetails": {"Timeout": 120},
        },
        {
            "EventType": "CallbackStarted",
            "Name": "something-else",
            "EventTimestamp": T0 + timedelta(seconds=70),
        },
    ]
    found = current_round(list(reversed(events)))
    assert found == RoundInfo("wait-2", 1, 1, 2, 120, T0 + timedelta(seconds=61))
    assert current_round([]) is None
