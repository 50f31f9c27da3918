"""A model of what each design costs as a function of the statement's duration.

Three designs wait for the same Redshift batch:

- ``polling``: the article's durable function (``bench/polling_reference.py``): one
  ``step(execute_batch_query)``, then ``step(check_query_status)`` + ``wait(interval)`` until
  a check sees the end. Checks run at 0, P, 2P, … after the submit (P = interval + the
  overhead of one poll cycle), so a statement of ``d`` seconds takes ``n = ceil(d / P) + 1``
  checks (the first one finds it running): ``2n`` durable operations (n checks, n - 1 waits,
  the submit) and ``n`` handler invocations (every wait ends one; each new one replays the
  history). It notices the end on
  average P/2 late.
- ``callback`` (event path): callback + submit step + finish step = 3 operations, 2 invocations,
  whatever the duration; it resumes as soon as the event's callback arrives.
- ``callback-fallback`` (every event lost): rounds of callbacks whose timeout doubles, T, 2T, 4T,
  … capped at C (``Settings.callback_timeout_seconds`` = 900 s, ``max_callback_timeout_seconds``
  = 4 h). Round k ends at ``S_k = T_1 + … + T_k``; the first round that ends after the
  statement is the last: ``m = min{k : S_k >= d}`` time-outs, ``2m + 3`` operations (m + 1
  callbacks, m checks, submit, finish) and ``m + 1`` invocations. Before the cap
  ``S_k = T (2^k - 1)``, so ``m = ceil(log2(d / T + 1))``: logarithmic; past the cap one more
  round (two operations) per C seconds.

Bytes checkpointed are the payloads the service stores: the execution's input and output,
every step's result (or error) and every callback's result (or error). The model is
``base + repeats * per_repeat`` with the sizes measured by the bench (defaults below come
from a measured run).

Everything here is pure arithmetic; ``tests/unit/test_bench_model.py`` pins it to the
semantics the bench measures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

Design = Literal["callback", "polling", "callback-fallback"]
DESIGNS: tuple[Design, ...] = ("callback", "polling", "callback-fallback")

GIB = 1024**3


@dataclass(frozen=True)
class PollingDesign:
    """The article's loop: ``interval_s`` between checks, ``max_attempts`` checks at most."""

    interval_s: float = 10.0
    #: Seconds one poll cycle adds to the interval (invocation, replay, check, checkpoint).
    overhead_s: float = 0.0
    #: The article stops after 360 checks (~1 h) and raises; None = as many as needed.
    max_attempts: int | None = None

    @property
    def period_s(self) -> float:
        return self.interval_s + self.overhead_s


@dataclass(frozen=True)
class CallbackDesign:
    """rsbatch's rounds of callbacks (see ``rsbatch_core.flow``)."""

    timeout_s: float = 900.0
    cap_s: float = 4 * 3600.0
    #: Statement end → resumed on the event path (measured; the model carries it over).
    event_latency_ms: float | None = None


@dataclass(frozen=True)
class Payloads:
    """Checkpointed payload bytes: a fixed part plus one part per repeated operation."""

    callback_base: int = 1300
    polling_base: int = 420
    polling_per_check: int = 60
    fallback_base: int = 1240
    fallback_per_round: int = 150


@dataclass(frozen=True)
class Counts:
    """What one run of one design costs in durable-execution units."""

    design: Design
    duration_s: float
    durable_operations: int
    invocations: int
    checkpoint_bytes: int
    resume_latency_ms: float | None
    #: Calls of the status-listener Lambda (event path only).
    listener_invocations: int = 0
    dynamodb_writes: int = 0
    dynamodb_reads: int = 0
    #: False when the design as written would give up before the statement ends.
    completes: bool = True


# -- the three designs ----------------------------------------------------------------------


def polling_checks(duration_s: float, design: PollingDesign = PollingDesign()) -> int:
    """Checks the polling loop makes for a statement of ``duration_s`` (the last one sees the end)."""
    if duration_s < 0:
        raise ValueError("duration must be >= 0")
    return math.ceil(duration_s / design.period_s) + 1


def polling(
    duration_s: float, design: PollingDesign = PollingDesign(), sizes: Payloads = Payloads()
) -> Counts:
    n = polling_checks(duration_s, design)
    completes = design.max_attempts is None or n <= design.max_attempts
    if not completes:
        assert design.max_attempts is not None
        n_done = design.max_attempts  # the loop's last check, its last wait, then it raises
        return Counts(
            design="polling",
            duration_s=duration_s,
            durable_operations=2 * n_done + 1,
            invocations=n_done + 1,
            checkpoint_bytes=sizes.polling_base + n_done * sizes.polling_per_check,
            resume_latency_ms=None,
            completes=False,
        )
    return Counts(
        design="polling",
        duration_s=duration_s,
        durable_operations=2 * n,
        invocations=n,
        checkpoint_bytes=sizes.polling_base + n * sizes.polling_per_check,
        resume_latency_ms=design.period_s / 2 * 1000,
    )


def round_ends(design: CallbackDesign, until_s: float) -> list[float]:
    """``S_1, S_2, …``: when each round of waiting times out, up to the first one >= ``until_s``."""
    ends: list[float] = []
    total, timeout = 0.0, design.timeout_s
    while not ends or ends[-1] < until_s:
        total += min(timeout, design.cap_s)
        ends.append(total)
        timeout = min(timeout * 2, design.cap_s)
    return ends


def fallback_timeouts(duration_s: float, design: CallbackDesign = CallbackDesign()) -> int:
    """Rounds that time out before a check sees the end (every event lost)."""
    return len(round_ends(design, duration_s))


def callback(
    duration_s: float, design: CallbackDesign = CallbackDesign(), sizes: Payloads = Payloads()
) -> Counts:
    """The event path: constant."""
    return Counts(
        design="callback",
        duration_s=duration_s,
        durable_operations=3,
        invocations=2,
        checkpoint_bytes=sizes.callback_base,
        resume_latency_ms=design.event_latency_ms,
        listener_invocations=1,
        dynamodb_writes=3,  # register, set statement, finish
        dynamodb_reads=1,  # the listener's lookup
    )


def fallback(
    duration_s: float, design: CallbackDesign = CallbackDesign(), sizes: Payloads = Payloads()
) -> Counts:
    """Every event lost: rounds of doubling callback timeouts, one check after each."""
    ends = round_ends(design, duration_s)
    m = len(ends)
    return Counts(
        design="callback-fallback",
        duration_s=duration_s,
        durable_operations=2 * m + 3,
        invocations=m + 1,
        checkpoint_bytes=sizes.fallback_base + m * sizes.fallback_per_round,
        resume_latency_ms=(ends[-1] - duration_s) * 1000,
        dynamodb_writes=3 + m,  # register, set statement, one re-arm per round, finish
    )


def log_bound(duration_s: float, design: CallbackDesign = CallbackDesign()) -> int:
    """``2 ceil(log2(d / T + 1)) + 3``: the fallback's operations while the cap is not reached."""
    return 2 * math.ceil(math.log2(duration_s / design.timeout_s + 1)) + 3


def cap_reached_after_s(design: CallbackDesign = CallbackDesign()) -> float:
    """The first round end whose timeout is the cap: past it, rounds are C seconds apart."""
    total, timeout = 0.0, design.timeout_s
    while timeout < design.cap_s:
        total += timeout
        timeout *= 2
    return total


def counts(
    design: Design,
    duration_s: float,
    polling_design: PollingDesign = PollingDesign(),
    callback_design: CallbackDesign = CallbackDesign(),
    sizes: Payloads = Payloads(),
) -> Counts:
    if design == "polling":
        return polling(duration_s, polling_design, sizes)
    if design == "callback":
        return callback(duration_s, callback_design, sizes)
    return fallback(duration_s, callback_design, sizes)


# -- dollars --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prices:
    """US East (N. Virginia) list prices; ``sources`` says where each one comes from."""

    durable_operation_usd: float = 8.00 / 1_000_000
    data_written_usd_per_gb: float = 0.25
    data_retained_usd_per_gb_month: float = 0.15
    retention_days: int = 14
    request_usd: float = 0.20 / 1_000_000
    gb_second_usd: float = 0.0000166667
    memory_mb: int = 256
    listener_memory_mb: int = 256
    dynamodb_write_usd: float = 0.625 / 1_000_000
    dynamodb_read_usd: float = 0.125 / 1_000_000
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InvocationTimes:
    """Billed duration of one handler invocation (ms), per design, and of one listener call."""

    callback_ms: float = 100.0
    polling_ms: float = 100.0
    fallback_ms: float = 100.0
    listener_ms: float = 100.0

    def handler_ms(self, design: Design) -> float:
        return {"callback": self.callback_ms, "polling": self.polling_ms}.get(design, self.fallback_ms)


@dataclass(frozen=True)
class Cost:
    """Dollars per 1,000 runs, by component."""

    operations: float
    data: float
    compute: float
    other: float  # the listener Lambda and the DynamoDB registry (callback design only)

    @property
    def total(self) -> float:
        return self.operations + self.data + self.compute + self.other


def cost_per_1000_runs(
    c: Counts, prices: Prices = Prices(), times: InvocationTimes = InvocationTimes()
) -> Cost:
    runs = 1000
    gb = c.checkpoint_bytes / GIB
    data = gb * (
        prices.data_written_usd_per_gb + prices.data_retained_usd_per_gb_month * prices.retention_days / 30
    )
    compute = c.invocations * (
        prices.request_usd
        + times.handler_ms(c.design) / 1000 * prices.memory_mb / 1024 * prices.gb_second_usd
    )
    listener = c.listener_invocations * (
        prices.request_usd
        + times.listener_ms / 1000 * prices.listener_memory_mb / 1024 * prices.gb_second_usd
    )
    registry = c.dynamodb_writes * prices.dynamodb_write_usd + c.dynamodb_reads * prices.dynamodb_read_usd
    return Cost(
        operations=runs * c.durable_operations * prices.durable_operation_usd,
        data=runs * data,
        compute=runs * compute,
        other=runs * (listener + registry),
    )


def with_measured_overhead(design: PollingDesign, overhead_s: float) -> PollingDesign:
    return replace(design, overhead_s=max(0.0, overhead_s))
