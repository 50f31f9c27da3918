"""The benchmark's model (bench/model.py) against the semantics the bench measures.

The measured figures quoted here come from runs on the local stack (`make bench`): the
article's polling function and rsbatch's durable function on `SELECT pg_sleep(N)` batches.
"""

from __future__ import annotations

import math

import pytest

from bench import model

POLL = model.PollingDesign(interval_s=10)
DEFAULTS = model.CallbackDesign()  # 900 s doubling to a 4-h cap: Settings' defaults
SCALED = model.CallbackDesign(timeout_s=10, cap_s=160)  # what the bench runs: the defaults / 90


@pytest.mark.parametrize(
    ("duration_s", "operations", "invocations"),
    [
        (7.55, 4, 2),  # measured: check (running), wait, check (finished)
        (12.56, 6, 3),  # measured
        (120, 26, 13),  # checks at 0, 10, …, 120 s: 13 checks, 12 waits, the submit
        (3600, 722, 361),  # the design notes' "~720 operations and ~360 invocations"
    ],
)
def test_polling_pays_two_operations_and_one_invocation_per_interval(
    duration_s: float, operations: int, invocations: int
) -> None:
    c = model.polling(duration_s, POLL)

    assert (c.durable_operations, c.invocations) == (operations, invocations)
    assert c.resume_latency_ms == 5000  # interval / 2 on average


def test_poll_cycle_overhead_stretches_the_period() -> None:
    slow = model.PollingDesign(interval_s=10, overhead_s=0.5)

    assert model.polling_checks(120, slow) == 13  # 12 * 10.5 = 126 s > 120 s: the 13th check sees it
    assert model.polling_checks(3600, slow) == math.ceil(3600 / 10.5) + 1


def test_the_article_as_written_gives_up_before_a_one_hour_statement_ends() -> None:
    as_written = model.PollingDesign(interval_s=10, max_attempts=360)

    assert model.polling(3580, as_written).completes
    one_hour = model.polling(3600, as_written)
    assert not one_hour.completes
    assert (one_hour.durable_operations, one_hour.invocations) == (721, 361)
    assert one_hour.resume_latency_ms is None


@pytest.mark.parametrize("duration_s", [1, 5, 120, 3600, 6 * 3600, 24 * 3600])
def test_the_event_path_costs_the_same_whatever_the_duration(duration_s: float) -> None:
    c = model.callback(duration_s, DEFAULTS)

    assert (c.durable_operations, c.invocations) == (3, 2)  # measured: callback, submit, finish
    assert c.listener_invocations == 1


def test_one_hour_target_is_met_by_the_model() -> None:
    poll, ours = model.polling(3600, POLL), model.callback(3600, DEFAULTS)

    assert poll.durable_operations / ours.durable_operations >= 100
    assert poll.invocations / ours.invocations >= 100


def test_fallback_rounds_double_until_the_cap() -> None:
    assert model.round_ends(DEFAULTS, 86400)[:7] == [900, 2700, 6300, 13500, 27900, 42300, 56700]
    assert model.cap_reached_after_s(DEFAULTS) == 13500  # 900 + 1800 + 3600 + 7200
    assert model.round_ends(SCALED, 125) == [10, 30, 70, 150]


@pytest.mark.parametrize(
    ("duration_s", "operations", "invocations", "noticed_after_s"),
    [
        (7.6, 5, 2, 10),  # measured: wait-1 times out at 10 s, check-2 sees FINISHED
        (12.6, 7, 3, 30),  # measured
        (35, 9, 4, 70),
        (125, 11, 5, 150),
    ],
)
def test_fallback_with_the_benchs_scaled_timeouts(
    duration_s: float, operations: int, invocations: int, noticed_after_s: float
) -> None:
    c = model.fallback(duration_s, SCALED)

    assert (c.durable_operations, c.invocations) == (operations, invocations)
    assert c.resume_latency_ms == pytest.approx((noticed_after_s - duration_s) * 1000)
    assert c.listener_invocations == 0


def test_fallback_with_the_default_timeouts_at_one_six_and_twenty_four_hours() -> None:
    ops = {d: model.fallback(d * 3600, DEFAULTS).durable_operations for d in (1, 6, 24)}
    invocations = {d: model.fallback(d * 3600, DEFAULTS).invocations for d in (1, 6, 24)}

    assert ops == {1: 9, 6: 13, 24: 23}
    assert invocations == {1: 4, 6: 6, 24: 11}
    assert ops[1] <= 9 and model.polling(3600, POLL).durable_operations / ops[1] > 80


def test_fallback_operations_grow_no_faster_than_log_until_the_cap() -> None:
    cap_at = model.cap_reached_after_s(DEFAULTS)
    durations = [DEFAULTS.timeout_s * 1.1**k / 20 for k in range(200)]
    before_cap = [d for d in durations if d <= cap_at]
    assert len(before_cap) > 50

    for d in before_cap:
        c = model.fallback(d, DEFAULTS)
        assert c.durable_operations == model.log_bound(d, DEFAULTS)  # exactly 2 ceil(log2(d/T + 1)) + 3
        # doubling the duration adds at most one round: two operations
        assert model.fallback(2 * d, DEFAULTS).durable_operations - c.durable_operations <= 2


def test_past_the_cap_the_fallback_adds_one_round_per_cap() -> None:
    first = model.fallback(30_000, DEFAULTS).durable_operations
    later = model.fallback(30_000 + 4 * DEFAULTS.cap_s, DEFAULTS).durable_operations

    assert later - first == 2 * 4


def test_checkpoint_bytes_grow_with_the_repeated_operations() -> None:
    sizes = model.Payloads(
        callback_base=1800, polling_base=320, polling_per_check=80, fallback_base=1770, fallback_per_round=156
    )

    assert model.polling(120, POLL, sizes).checkpoint_bytes == 320 + 13 * 80
    assert model.callback(86400, DEFAULTS, sizes).checkpoint_bytes == 1800
    assert model.fallback(3600, DEFAULTS, sizes).checkpoint_bytes == 1770 + 3 * 156


def test_cost_components() -> None:
    prices = model.Prices()
    times = model.InvocationTimes(callback_ms=200, polling_ms=100, fallback_ms=200, listener_ms=100)
    poll = model.cost_per_1000_runs(model.polling(3600, POLL), prices, times)
    ours = model.cost_per_1000_runs(model.callback(3600, DEFAULTS), prices, times)

    assert poll.operations == pytest.approx(722 * 8.00 / 1000)  # $8 per million, 1,000 runs
    gb_s = 0.1 * 256 / 1024
    assert poll.compute == pytest.approx(361 * (0.20e-6 + gb_s * 0.0000166667) * 1000)
    assert poll.other == 0
    assert ours.operations == pytest.approx(3 * 8.00 / 1000)
    assert ours.other > 0  # the listener and the registry are counted against us
    assert poll.total / ours.total > 100
    assert 0 < ours.data < 0.001


def test_the_pipeline_benchs_critical_path_is_the_longest_chain_not_the_sum() -> None:
    from bench.pipeline_costs import GRAPH, critical_path

    planned = {step: seconds for step, (seconds, _) in GRAPH.items()}
    assert critical_path(planned) == 3.5  # stage 1 + m2 2 + r1 0.5 (= stage + m4 1.5 + r2 1)
    assert sum(planned.values()) == 9.5
