"""Turn measured runs into rows, model rows, targets and the three outputs (JSON, PNG, Markdown).

Every row says where its figures come from: ``"source": "measured"`` (read from the durable
histories of real runs on the local stack) or ``"model"`` (``bench/model.py``, with the payload
sizes, per-cycle overhead, handler durations and event-path latency it was fed from the
measured runs).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import model
from bench.harness import Measured, median

MODEL_DURATIONS = (3600, 6 * 3600, 24 * 3600)
LATENCY_TARGET_MS = 300.0
OPS_RATIO_TARGET = 100.0
TIME_TARGET_S = 600.0
DESIGN_LABELS: dict[model.Design, str] = {
    "callback": "rsbatch (callback, event path)",
    "callback-fallback": "rsbatch (all events dropped: fallback)",
    "polling": "article (poll every 10 s)",
}

SHORT_LABELS: dict[model.Design, str] = {
    "callback": "rsbatch\nevent path",
    "callback-fallback": "rsbatch, events dropped\n(fallback, T=10 s)",
    "polling": "article\n(poll every 10 s)",
}

PRICE_SOURCES = {
    "durable_operations": (
        "$8.00 per million: aws.amazon.com/lambda/pricing as transcribed on 2026-09-20 "
        "(api-evangelist/aws-lambda plans/aws-lambda-plans-pricing.yml, 'Durable Functions operations "
        "$8.00/M'); DESIGN.md section 5 ('about $8 per million')"
    ),
    "data_written_and_retained": (
        "$0.25 per GB written, $0.15 per GB-month retained: AWS's launch price list for Lambda durable "
        "functions (Dec 2025) as recalled; NOT found in the searchable sources on 2026-11-27, verify at "
        "aws.amazon.com/lambda/pricing. Immaterial here: under $0.001 per 1,000 runs for every design"
    ),
    "lambda_compute": (
        "$0.20 per million requests, $0.0000166667 per GB-second (x86, first tier, us-east-1): "
        "aws.amazon.com/lambda/pricing (api-evangelist transcription, modified 2026-05-05)"
    ),
    "dynamodb": (
        "on-demand $0.625 per million write and $0.125 per million read request units since "
        "2024-11-01 (airbyte.com DynamoDB pricing guide, 2025-07-21)"
    ),
}


@dataclass
class Fitted:
    """What the model takes from the measured runs."""

    payloads: model.Payloads
    polling: model.PollingDesign
    times: model.InvocationTimes
    event_latency_ms: float | None
    notes: dict[str, Any] = field(default_factory=dict)


def _runs(measured: list[Measured], design: model.Design) -> list[Measured]:
    return [m for m in measured if m.design == design and m.status == "SUCCEEDED"]


def _med_int(values: Iterable[float], default: int) -> int:
    items = list(values)
    return round(statistics.median(items)) if items else default


def counts_of(m: Measured) -> model.Counts:
    """A measured run in the model's units (the callback design's extras counted as the code does)."""
    return model.Counts(
        design=m.design,
        duration_s=m.statement_s or float(m.nominal_s),
        durable_operations=m.durable_operations,
        invocations=m.invocations,
        checkpoint_bytes=m.checkpoint_bytes,
        resume_latency_ms=m.resume_latency_ms,
        listener_invocations=1 if m.design == "callback" else 0,
        dynamodb_writes={"callback": 3, "callback-fallback": 3 + m.repeats}.get(m.design, 0),
        dynamodb_reads=1 if m.design == "callback" else 0,
    )


def fit(measured: list[Measured], interval_s: float, listener_ms: list[float]) -> Fitted:
    defaults = model.Payloads()
    cb, poll, fb = (_runs(measured, d) for d in ("callback", "polling", "callback-fallback"))
    payloads = model.Payloads(
        callback_base=_med_int((m.checkpoint_bytes for m in cb), defaults.callback_base),
        polling_base=_med_int((m.checkpoint_bytes - m.repeat_bytes for m in poll), defaults.polling_base),
        polling_per_check=_med_int(
            (m.repeat_bytes / m.repeats for m in poll if m.repeats), defaults.polling_per_check
        ),
        fallback_base=_med_int((m.checkpoint_bytes - m.repeat_bytes for m in fb), defaults.fallback_base),
        fallback_per_round=_med_int(
            (m.repeat_bytes / m.repeats for m in fb if m.repeats), defaults.fallback_per_round
        ),
    )
    periods = [m.check_period_s for m in poll if m.check_period_s is not None]
    overhead = max(0.0, statistics.median(periods) - interval_s) if periods else 0.0
    defaults_t = model.InvocationTimes()

    def handler_median(runs: list[Measured], default: float) -> float:
        values = [x for m in runs for x in m.handler_ms]
        return round(statistics.median(values), 1) if values else default

    times = model.InvocationTimes(
        callback_ms=handler_median(cb, defaults_t.callback_ms),
        polling_ms=handler_median(poll, defaults_t.polling_ms),
        fallback_ms=handler_median(fb, defaults_t.fallback_ms),
        listener_ms=round(statistics.median(listener_ms), 1) if listener_ms else defaults_t.listener_ms,
    )
    latencies = [m.resume_latency_ms for m in cb if m.resume_latency_ms is not None]
    return Fitted(
        payloads=payloads,
        polling=model.PollingDesign(interval_s=interval_s, overhead_s=round(overhead, 3)),
        times=times,
        event_latency_ms=median(latencies),
        notes={"poll_cycle_overhead_s": round(overhead, 3)},
    )


def callback_design(fitted: Fitted, timeout_s: float, cap_s: float) -> model.CallbackDesign:
    return model.CallbackDesign(timeout_s=timeout_s, cap_s=cap_s, event_latency_ms=fitted.event_latency_ms)


def _row(
    design: model.Design,
    duration_s: int,
    c: model.Counts,
    fitted: Fitted,
    prices: model.Prices,
    source: str,
    **extra: Any,
) -> dict[str, Any]:
    cost = model.cost_per_1000_runs(c, prices, fitted.times)
    return {
        "design": design,
        "duration_s": duration_s,
        "durable_operations": c.durable_operations,
        "invocations": c.invocations,
        "checkpoint_bytes": c.checkpoint_bytes,
        "resume_latency_p50_ms": None if c.resume_latency_ms is None else round(c.resume_latency_ms, 1),
        "cost_per_1000_runs_usd": round(cost.total, 4),
        "source": source,
        "cost_breakdown_usd": {
            "durable_operations": round(cost.operations, 5),
            "data_written_and_retained": round(cost.data, 7),
            "invocation_compute": round(cost.compute, 5),
            "listener_and_registry": round(cost.other, 5),
        },
        **extra,
    }


def measured_rows(
    measured: list[Measured],
    fitted: Fitted,
    prices: model.Prices,
    scaled: model.CallbackDesign,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One measured and one model row per (design, nominal duration); the model at each run's own duration."""
    rows: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    nominal = sorted({m.nominal_s for m in measured})
    for design in model.DESIGNS:
        for n in nominal:
            runs = [m for m in _runs(measured, design) if m.nominal_s == n]
            if not runs:
                continue
            latencies = [m.resume_latency_ms for m in runs if m.resume_latency_ms is not None]
            statement = [m.statement_s for m in runs if m.statement_s is not None]
            counts = model.Counts(
                design=design,
                duration_s=n,
                durable_operations=_med_int((m.durable_operations for m in runs), 0),
                invocations=_med_int((m.invocations for m in runs), 0),
                checkpoint_bytes=_med_int((m.checkpoint_bytes for m in runs), 0),
                resume_latency_ms=median(latencies),
                listener_invocations=1 if design == "callback" else 0,
                dynamodb_writes=(3 if design == "callback" else 3 + _med_int((m.repeats for m in runs), 0))
                if design != "polling"
                else 0,
                dynamodb_reads=1 if design == "callback" else 0,
            )
            extra = {
                "runs": len(runs),
                "statement_s": [min(statement), max(statement)] if statement else None,
                "wall_time_s": median([m.wall_time_s for m in runs if m.wall_time_s is not None]),
            }
            rows.append(_row(design, n, counts, fitted, prices, "measured", **extra))
            predicted = [
                model.counts(design, m.statement_s or float(n), fitted.polling, scaled, fitted.payloads)
                for m in runs
            ]
            for m, p in zip(runs, predicted, strict=True):
                checks.append(
                    {
                        "design": design,
                        "statement_s": m.statement_s,
                        "measured": [m.durable_operations, m.invocations],
                        "model": [p.durable_operations, p.invocations],
                        "match": [m.durable_operations, m.invocations]
                        == [p.durable_operations, p.invocations],
                    }
                )
            modelled = model.Counts(
                design=design,
                duration_s=n,
                durable_operations=_med_int((p.durable_operations for p in predicted), 0),
                invocations=_med_int((p.invocations for p in predicted), 0),
                checkpoint_bytes=_med_int((p.checkpoint_bytes for p in predicted), 0),
                resume_latency_ms=median(
                    [p.resume_latency_ms for p in predicted if p.resume_latency_ms is not None]
                ),
                listener_invocations=predicted[0].listener_invocations,
                dynamodb_writes=_med_int((p.dynamodb_writes for p in predicted), 0),
                dynamodb_reads=predicted[0].dynamodb_reads,
            )
            note = _settings_note(design, fitted, scaled)
            rows.append(_row(design, n, modelled, fitted, prices, "model", settings=note))
    return rows, checks


def model_rows(
    fitted: Fitted,
    prices: model.Prices,
    production: model.CallbackDesign,
    durations: Iterable[int] = MODEL_DURATIONS,
) -> list[dict[str, Any]]:
    rows = []
    for design in model.DESIGNS:
        for d in durations:
            c = model.counts(design, d, fitted.polling, production, fitted.payloads)
            extra: dict[str, Any] = {"settings": _settings_note(design, fitted, production)}
            if design == "polling":
                as_written = model.polling(d, model.PollingDesign(fitted.polling.interval_s, 0.0, 360))
                extra["article_as_written_completes"] = as_written.completes
            rows.append(_row(design, d, c, fitted, prices, "model", **extra))
    return rows


def _settings_note(design: model.Design, fitted: Fitted, cb: model.CallbackDesign) -> str:
    if design == "polling":
        p = fitted.polling
        return f"interval {p.interval_s:g} s + {p.overhead_s:.2f} s measured cycle overhead"
    if design == "callback":
        return f"event path; resume latency = measured p50 ({fitted.event_latency_ms} ms)"
    return f"callback timeout {cb.timeout_s:g} s doubling to a cap of {cb.cap_s:g} s"


# -- targets --------------------------------------------------------------------------------


def targets(
    rows: list[dict[str, Any]],
    measured: list[Measured],
    scale: dict[str, Any] | None,
    production: model.CallbackDesign,
    scaled: model.CallbackDesign,
    interval_s: float,
    elapsed_s: float,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def at(design: str, d: int) -> dict[str, Any]:
        return next(
            r for r in rows if r["design"] == design and r["duration_s"] == d and r["source"] == "model"
        )

    poll, cb = at("polling", 3600), at("callback", 3600)
    ops_ratio = poll["durable_operations"] / cb["durable_operations"]
    inv_ratio = poll["invocations"] / cb["invocations"]
    out.append(
        {
            "target": "1-h statement: >= 100x fewer durable operations and invocations than polling",
            "value": f"{ops_ratio:.0f}x operations "
            f"({poll['durable_operations']} vs {cb['durable_operations']}), "
            f"{inv_ratio:.0f}x invocations ({poll['invocations']} vs {cb['invocations']}) [model]",
            "pass": ops_ratio >= OPS_RATIO_TARGET and inv_ratio >= OPS_RATIO_TARGET,
        }
    )

    cb_lat = [m.resume_latency_ms for m in _runs(measured, "callback") if m.resume_latency_ms is not None]
    poll_lat = [m.resume_latency_ms for m in _runs(measured, "polling") if m.resume_latency_ms is not None]
    p50 = median(cb_lat)
    poll_p50 = median(poll_lat)
    out.append(
        {
            "target": f"resume latency p50 < {LATENCY_TARGET_MS:.0f} ms locally (polling: ~interval/2)",
            "value": f"callback p50 {p50} ms (n={len(cb_lat)}), "
            f"polling p50 {poll_p50} ms (n={len(poll_lat)}; "
            f"interval/2 = {interval_s / 2 * 1000:.0f} ms) [measured]",
            "pass": p50 is not None and p50 < LATENCY_TARGET_MS,
        }
    )

    fb = _runs(measured, "callback-fallback")
    measured_ok = all(m.durable_operations <= model.log_bound(m.statement_s or 1.0, scaled) for m in fb)
    cap_at = model.cap_reached_after_s(production)
    grid = [production.timeout_s * 1.5**k for k in range(40)]
    model_ok = all(
        model.fallback(d, production).durable_operations <= model.log_bound(d, production)
        for d in grid
        if d <= cap_at
    )
    points = ", ".join(
        f"{_human(d)}: {model.fallback(d, production).durable_operations} ops "
        f"(log bound {model.log_bound(d, production)})"
        for d in MODEL_DURATIONS
    )
    measured_points = ", ".join(
        f"{m.statement_s:.0f} s: {m.durable_operations}" for m in sorted(fb, key=lambda m: m.statement_s or 0)
    )
    out.append(
        {
            "target": "fallback operations grow no faster than log(duration) until the cap",
            "value": f"measured (T={scaled.timeout_s:g} s, cap {scaled.cap_s:g} s): "
            f"{measured_points or 'none'}; "
            f"model (T=900 s, cap 4 h): {points}; the cap is reached after {cap_at / 3600:.2f} h, then "
            f"+2 operations per {production.cap_s / 3600:g} h (linear) up to Redshift's 24-h limit",
            "pass": bool(fb) and measured_ok and model_ok,
        }
    )
    if scale is not None:
        out.append(
            {
                "target": f"{scale['runs']} concurrent runs: none lost",
                "value": f"{scale['completed']} completed, {scale['lost']} lost [measured]",
                "pass": scale["lost"] == 0,
            }
        )
        p50, p99 = scale.get("resume_latency_p50_ms"), scale.get("resume_latency_p99_ms")
        out.append(
            {
                "target": f"{scale['runs']} concurrent runs: resume p50 < {BURST_P50_MS:,} ms, "
                f"p99 < {BURST_P99_MS:,} ms",
                "value": f"p50 {_fmt_ms(p50)}, p99 {_fmt_ms(p99)} [measured]",
                "pass": p50 is not None and p99 is not None and p50 < BURST_P50_MS and p99 < BURST_P99_MS,
            }
        )
    failed = [m for m in measured if m.status != "SUCCEEDED"]
    out.append(
        {
            "target": "every design-comparison run succeeded",
            "value": f"{len(measured) - len(failed)}/{len(measured)} succeeded",
            "pass": not failed,
        }
    )
    out.append(
        {
            "target": f"whole bench < {TIME_TARGET_S / 60:.0f} min on this machine",
            "value": f"{elapsed_s:.0f} s",
            "pass": elapsed_s < TIME_TARGET_S,
        }
    )
    return out


def _human(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:.0f} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:g} s"


# -- output ---------------------------------------------------------------------------------


def prices_json(prices: model.Prices, fitted: Fitted) -> dict[str, Any]:
    t = fitted.times
    return {
        "region": "us-east-1",
        "durable_operation_usd_per_million": round(prices.durable_operation_usd * 1e6, 2),
        "data_written_usd_per_gb": prices.data_written_usd_per_gb,
        "data_retained_usd_per_gb_month": prices.data_retained_usd_per_gb_month,
        "retention_days": prices.retention_days,
        "lambda_request_usd_per_million": round(prices.request_usd * 1e6, 2),
        "lambda_gb_second_usd": prices.gb_second_usd,
        "memory_mb": prices.memory_mb,
        "architecture": "x86_64",
        "invocation_ms_assumed": {
            "callback": t.callback_ms,
            "polling": t.polling_ms,
            "callback-fallback": t.fallback_ms,
            "status_listener": t.listener_ms,
            "basis": "median handler duration measured on the local stack (in-process, warm); AWS adds "
            "network latency to each Data API/DynamoDB call",
        },
        "dynamodb_write_usd_per_million": round(prices.dynamodb_write_usd * 1e6, 3),
        "dynamodb_read_usd_per_million": round(prices.dynamodb_read_usd * 1e6, 3),
        "counted": {
            "checkpoint_bytes": "UTF-8 bytes of every payload in the durable history: the execution's input "
            "and output, each step's result or error, each callback's result or error (operation metadata "
            "not counted, so a lower bound of data written)",
            "callback_design_extras": "one status-listener invocation per run on the event path; DynamoDB "
            "registry: 3 writes + 1 read (event path), 3 + rounds writes (fallback)",
            "not_counted": "Redshift compute (the same for both designs), the Data API (no charge), "
            "EventBridge (AWS service events on the default bus), CloudWatch logs",
        },
        "sources": PRICE_SOURCES,
    }


def _fmt_int(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "-"


def _fmt_ms(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:,.1f} s" if value >= 10_000 else f"{value:,.0f} ms"


def _fmt_usd(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


TABLE_HEADER = (
    "statement",
    "design",
    "source",
    "durable ops",
    "invocations",
    "bytes",
    "resume p50",
    "$ / 1,000 runs",
)


def table_rows(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    ordered = sorted(rows, key=lambda r: (r["duration_s"], model.DESIGNS.index(r["design"]), r["source"]))
    return [
        (
            _human(r["duration_s"]),
            r["design"],
            r["source"],
            _fmt_int(r["durable_operations"]),
            _fmt_int(r["invocations"]),
            _fmt_int(r["checkpoint_bytes"]),
            _fmt_ms(r["resume_latency_p50_ms"]),
            _fmt_usd(r["cost_per_1000_runs_usd"]),
        )
        for r in ordered
    ]


def text_table(rows: list[dict[str, Any]]) -> str:
    body = table_rows(rows)
    widths = [max(len(x) for x in col) for col in zip(TABLE_HEADER, *body, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(TABLE_HEADER, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in body:
        lines.append(
            "  ".join(
                c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def markdown(results: dict[str, Any], png_name: str) -> str:
    rows = results["rows"] + results["fallback_rows"]
    lines = [
        "<!-- generated by `make bench` (python -m bench); do not edit by hand -->",
        "",
        "Both designs run on the local stack against the same Redshift Data API emulator and the same "
        "`SELECT pg_sleep(N)` batches: rsbatch's durable function (callback, resumed by the completion "
        "event), the same with every event dropped (fallback: callback timeouts doubling, then a "
        "describe), and the article's polling function (`step(check)` + `wait(10 s)`). *measured* rows "
        "are read from the runs' durable execution histories; *model* rows come from `bench/model.py` "
        "(fed with the measured payload sizes and durations) and are checked against the measured runs "
        f"({results['model_check_summary']}). Measured statements last N to N + 10 s (spread over one poll "
        "interval so the polling latency is sampled fairly); the measured fallback uses the default "
        "timeouts divided by 90 (10 s doubling to 160 s), the modelled one the defaults (900 s to 4 h).",
        "",
        "| " + " | ".join(TABLE_HEADER) + " |",
        "|" + "|".join("---" if i < 3 else "---:" for i in range(len(TABLE_HEADER))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(rows)]
    gives_up = [r for r in rows if r.get("article_as_written_completes") is False]
    if gives_up:
        lines += [
            "",
            "The polling rows for 1 h and longer model the article's loop with as many polls as the "
            'statement needs: as written (at most 360 polls of 10 s) it raises "timed out" before the '
            f"statement ends ({', '.join(_human(r['duration_s']) for r in gives_up)}), and its 3,700-s "
            "ExecutionTimeout would stop it too.",
        ]
    scale = results.get("scale")
    if scale and scale.get("runs"):
        lines += [
            "",
            f"Scale ({scale['statement']}, {scale['runs']} runs started at once on the local stack): "
            f"{scale['completed']} completed, {scale['lost']} lost, resume latency p50 "
            f"{_fmt_ms(scale['resume_latency_p50_ms'])} / p99 {_fmt_ms(scale['resume_latency_p99_ms'])}, "
            f"{scale['runs_per_second']} runs/s, peak memory {scale['peak_memory_mb']:.0f} MB "
            "(PSS of the bench process + PostgreSQL).",
            "",
            _burst_limit(scale),
        ]
    lines += ["", "| target | result | |", "|---|---|---|"]
    lines += [
        f"| {t['target']} | {t['value']} | {'pass' if t['pass'] else '**FAIL**'} |"
        for t in results["targets"]
    ]
    p = results["prices"]
    lines += [
        "",
        f"Prices (us-east-1): durable operations ${p['durable_operation_usd_per_million']:g}/million, data "
        f"written ${p['data_written_usd_per_gb']:g}/GB + retained "
        f"${p['data_retained_usd_per_gb_month']:g}/GB-month for {p['retention_days']} days, Lambda "
        f"${p['lambda_request_usd_per_million']:g}/million requests + ${p['lambda_gb_second_usd']:.10f}/GB-s "
        f"at {p['memory_mb']} MB x86 for every invocation, replays included "
        f"(measured median durations: callback {p['invocation_ms_assumed']['callback']} ms, polling "
        f"{p['invocation_ms_assumed']['polling']} ms); the callback design also pays its status-listener "
        "invocation and DynamoDB registry requests. Sources and what is counted: `bench/results/latest.json` "
        "(`prices`).",
        "",
        f"![Operations, cost and resume latency of both designs]({png_name})",
        "",
        "Reproduce: `make bench` (or `.venv/bin/python -m bench`; `--quick` for a one-minute smoke run). "
        f"This run took {results['elapsed_s']:.0f} s on {results['machine']}.",
        "",
    ]
    return "\n".join(lines)


def plot(
    results: dict[str, Any],
    measured: list[Measured],
    fitted: Fitted,
    production: model.CallbackDesign,
    scaled: model.CallbackDesign,
    prices: model.Prices,
    path: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors: dict[model.Design, str] = {
        "callback": "tab:blue",
        "polling": "tab:red",
        "callback-fallback": "tab:orange",
    }
    grid = [5 * (86400 / 5) ** (k / 199) for k in range(200)]
    fig, (ax_ops, ax_cost, ax_lat) = plt.subplots(1, 3, figsize=(17, 5.2))

    def curve(design: model.Design, cb: model.CallbackDesign) -> tuple[list[float], list[float]]:
        cs = [model.counts(design, d, fitted.polling, cb, fitted.payloads) for d in grid]
        return [float(c.durable_operations) for c in cs], [
            model.cost_per_1000_runs(c, prices, fitted.times).total for c in cs
        ]

    for design in model.DESIGNS:
        ops, cost = curve(design, production)
        label = f"{DESIGN_LABELS[design]}, model"
        ax_ops.plot(grid, ops, color=colors[design], label=label)
        ax_cost.plot(grid, cost, color=colors[design], label=label)
    measured_max = max((m.statement_s or 0.0 for m in measured), default=0.0) * 1.5
    short = [d for d in grid if d <= measured_max]
    ops_s, cost_s = curve("callback-fallback", scaled)
    scaled_label = (
        f"fallback, model with the measured settings (T={scaled.timeout_s:g} s, cap {scaled.cap_s:g} s)"
    )
    ax_ops.plot(short, ops_s[: len(short)], color=colors["callback-fallback"], ls=":", label=scaled_label)
    ax_cost.plot(short, cost_s[: len(short)], color=colors["callback-fallback"], ls=":", label=scaled_label)
    for design in model.DESIGNS:
        runs = [m for m in _runs(measured, design) if m.statement_s is not None]
        xs = [m.statement_s or 0.0 for m in runs]
        ax_ops.scatter(
            xs, [m.durable_operations for m in runs], color=colors[design], s=22, edgecolor="black", zorder=3
        )
        ax_cost.scatter(
            xs,
            [model.cost_per_1000_runs(counts_of(m), prices, fitted.times).total for m in runs],
            color=colors[design],
            s=22,
            edgecolor="black",
            zorder=3,
        )
    ax_ops.scatter([], [], color="white", edgecolor="black", s=22, label="measured runs (local stack)")
    for ax, title, ylabel in (
        (ax_ops, "Durable operations per run", "durable operations"),
        (ax_cost, "Cost per 1,000 runs (model prices)", "USD per 1,000 runs"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("statement duration (s), log")
        ax.set_ylabel(ylabel + ", log")
        ax.set_title(title)
        for d, text in ((3600, "1 h"), (21600, "6 h"), (86400, "24 h")):
            ax.axvline(d, color="grey", lw=0.6, ls="--")
            ax.text(d, ax.get_ylim()[0], f" {text}", ha="left", va="bottom", fontsize=8, color="grey")
        ax.grid(True, which="major", alpha=0.3)
    ax_ops.legend(fontsize=7, loc="upper left")

    data = []
    labels = []
    for design in model.DESIGNS:
        values = [
            m.resume_latency_ms / 1000 for m in _runs(measured, design) if m.resume_latency_ms is not None
        ]
        if values:
            data.append([max(v, 1e-3) for v in values])
            labels.append(f"{SHORT_LABELS[design]}\n(n={len(values)})")
    if data:
        ax_lat.boxplot(data, vert=True, showfliers=False)
        for i, values in enumerate(data, start=1):
            jitter = [i + (k % 7 - 3) * 0.03 for k in range(len(values))]
            design = [d for d in model.DESIGNS if _runs(measured, d)][i - 1]
            ax_lat.scatter(jitter, values, s=14, color=colors[design], alpha=0.8, zorder=3)
        ax_lat.set_xticks(range(1, len(labels) + 1), labels, fontsize=8)
    ax_lat.axhline(LATENCY_TARGET_MS / 1000, color="tab:blue", ls="--", lw=0.8, label="target 300 ms")
    ax_lat.axhline(fitted.polling.interval_s / 2, color="tab:red", ls="--", lw=0.8, label="interval / 2")
    ax_lat.set_yscale("log")
    ax_lat.set_ylabel("statement end → function resumed (s), log")
    ax_lat.set_title("Resume latency, measured on the local stack")
    ax_lat.legend(fontsize=8)
    ax_lat.grid(True, axis="y", alpha=0.3)
    fig.suptitle("rsbatch callback design vs the article's polling design (lines: model, points: measured)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")


def summarize_checks(checks: list[dict[str, Any]]) -> str:
    if not checks:
        return "no measured runs"
    parts = []
    for design in model.DESIGNS:
        mine = [c for c in checks if c["design"] == design]
        if mine:
            parts.append(f"{design} {sum(c['match'] for c in mine)}/{len(mine)}")
    return "operations and invocations equal to the model for " + ", ".join(parts) + " runs"


#: Issue 15's burst goal for the local stack (200 runs at once on a 2-core machine).
BURST_P50_MS = 500
BURST_P99_MS = 2_000


def _burst_limit(scale: dict[str, Any]) -> str:
    """What limits the burst, from the scale run's diagnostics (docs/ARCHITECTURE.md section 6)."""
    d = scale.get("diagnostics") or {}
    busy = (
        f"{d['process_cpu_s'] / d['all_done_s']:.0%}"
        if d.get("process_cpu_s") is not None and d.get("all_done_s")
        else "?"
    )
    text = (
        "What limits the burst: with the SDK runner's default invocation pool (min(32, cpu_count + 4) "
        "= 6 threads here) resume p50 was 3.4-5.1 s, p99 4.1-6.9 s, almost all of it a finished "
        "statement's run waiting for an invocation thread (callback recorded 15 ms after the statement "
        "ended, the resuming invocation started 3.4 s after), while each thread spent its ~130 ms "
        "invocation mostly waiting (HTTP to the emulators, the SDK's checkpoint batching). "
        f"The stack now gives the runner {scale.get('invocation_workers', '?')} invocation workers "
        "(RSBATCH_LOCAL_INVOCATION_WORKERS), of which "
        f"{scale.get('invocation_slots', '?')} run at once behind a gate that lets resumes in first and "
        "gives first invocations a quarter of the slots (RSBATCH_LOCAL_INVOCATION_SLOTS; "
        f"{d.get('gate_overrun', '?')} invocations waited past its {d.get('gate_max_wait_s', '?')} s bound). "
        "The remaining limit is the one interpreter: this run's process "
        f"used {d.get('process_cpu_s', '?')} CPU-s in {d.get('all_done_s', '?')} s ({busy} of one core, "
        "the GIL's ceiling), mostly botocore building and parsing the Lambdas' requests; statement end "
        f"→ callback recorded is p50 {_fmt_ms(d.get('end_to_callback_recorded_p50_ms'))}, end → "
        f"invocation started p50 {_fmt_ms(d.get('end_to_invocation_started_p50_ms'))}. "
        "Worker processes for the handler were tried and were slower on 2 cores "
        "(p50 1.7-2.0 s): the checkpoints become HTTP requests, the total CPU grows ~25 % and both cores "
        "saturate (docs/ARCHITECTURE.md section 6)."
    )
    return text
