"""`make bench`: rsbatch's callback design against the article's polling design, measured and modelled.

Runs, in one process and in this order:

1. the Redshift Data API emulator micro-benchmark (``bench/emulator_bench.py``);
2. the design comparison on one local stack: ``SELECT pg_sleep(N)`` batches of N = 5, 30, 120 s
   (each N spread over one poll interval), run at the same time by rsbatch's durable function
   (event path), by the same function with every event dropped (fallback; callback timeouts
   scaled down 90x: 10 s doubling to 160 s, like 900 s to 4 h) and by the article's polling
   function (``bench/polling_reference.py``, 10-s interval);
3. the scale run: 200 runs of the callback design started at once;
4. the model (``bench/model.py``) for 1 h, 6 h and 24 h, checked against the measured runs;
5. the registry's read cost (``bench/registry_bench.py``): items read and wall time of `runs --since
   2h`, `runs --status WAITING`, `reconcile --dry-run` and a lookup by statement id, at 1,000 and
   10,000 runs in the table (the old Scan alongside at 1,000).

Writes ``latest.json``, ``latest.png`` and ``latest.md`` to ``--out`` (default ``bench/results``),
prints the table and the targets on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench import emulator_bench, model, pipeline_costs, registry_bench, report, retry_costs
from bench.harness import Bench, BenchOptions, Measured, RunSpec, Started, progress, stdout_to

DURATIONS = (5, 30, 120)
QUICK_DURATIONS = (5,)
RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short statements only, fewer runs (smoke test)")
    parser.add_argument("--skip-scale", action="store_true", help="skip the 200-concurrent-runs scale test")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.json/.png/.md go")
    parser.add_argument("--interval", type=int, default=10, help="the polling design's interval (s)")
    parser.add_argument("--replicas", type=int, default=None, help="runs per design and duration")
    parser.add_argument("--scale-runs", type=int, default=None, help="concurrent runs of the scale test")
    parser.add_argument("--skip-emulator", action="store_true", help="skip the emulator micro-benchmark")
    parser.add_argument("--skip-registry", action="store_true", help="skip the registry read-cost part")
    parser.add_argument("--skip-pipeline", action="store_true", help="skip the 10-step pipeline part")
    parser.add_argument(
        "--registry-sizes", type=int, nargs="+", default=None, help="runs in the registry table (1000 10000)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def plan(bench: Bench, durations: tuple[int, ...], replicas: int, interval_s: int) -> list[RunSpec]:
    """Statements of N to N + interval seconds that end at evenly spread phases of the poll cycle.

    Run i of a nominal N ends (i + 1/2) * interval / replicas seconds after a multiple of the
    interval, so the polling design's latency is sampled over its whole cycle and no statement
    ends right at a poll (or at a fallback round's end), where one more or less poll would be a
    coin toss.
    """
    specs = []
    for design in model.DESIGNS:
        for n in durations:
            for i in range(replicas):
                phase = (i + 0.5) * interval_s / replicas
                sleep_s = round(n + (phase - n) % interval_s, 3)
                specs.append(
                    RunSpec(design=design, nominal_s=n, sleep_s=sleep_s, sql_file=bench.sleep_sql(sleep_s))
                )
    return specs


def comparison(bench: Bench, specs: list[RunSpec], deadline_s: float, gap_s: float) -> list[Measured]:
    """All designs at once; starts interleaved and ``gap_s`` apart so first invocations do not pile up."""
    progress(f"design comparison: starting {len(specs)} runs, {gap_s:g} s apart ({_describe(specs)})")
    order = sorted(specs, key=lambda s: (s.sleep_s, model.DESIGNS.index(s.design)))
    started: list[Started] = bench.start_all(order, gap_s)
    bench.wait_all(started, deadline_s, "comparison")
    measured = [bench.measure(s) for s in started]
    bad = [m for m in measured if m.status != "SUCCEEDED"]
    progress(f"design comparison done: {len(measured) - len(bad)}/{len(measured)} runs succeeded")
    for m in bad:
        progress(f"  run {m.execution_arn} ({m.design}, {m.nominal_s} s) ended {m.status}")
    return measured


def _describe(specs: list[RunSpec]) -> str:
    by: dict[str, int] = {}
    for s in specs:
        by[s.design] = by.get(s.design, 0) + 1
    return ", ".join(f"{n} {d}" for d, n in by.items())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import matplotlib  # noqa: F401 (fail now, not after four minutes of measuring)
    except ImportError:
        print("python -m bench needs matplotlib (pip install matplotlib==3.11.2)", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    t0 = time.monotonic()
    durations = QUICK_DURATIONS if args.quick else DURATIONS
    replicas = args.replicas or (3 if args.quick else 5)  # odd: a median is one run's figures
    scale_runs = args.scale_runs or (20 if args.quick else 200)
    scaled = model.CallbackDesign(timeout_s=10, cap_s=160)
    production = model.CallbackDesign()

    emulator_rows: list[tuple[str, str, str]] = []
    if not args.skip_emulator:
        progress("emulator micro-benchmark (bench/emulator_bench.py)")
        quick = ["--latency-runs", "50", "--throughput-statements", "200"] if args.quick else []
        emulator_rows = emulator_bench.main(quick)
        sys.stdout.flush()

    registry_rows: list[dict[str, Any]] = []
    if not args.skip_registry:
        progress("registry read cost (bench/registry_bench.py)")
        sizes = args.registry_sizes or ([1_000] if args.quick else list(registry_bench.SIZES))
        registry_rows = registry_bench.main(["--sizes", *map(str, sizes)])
        sys.stdout.flush()

    pipeline: dict[str, Any] | None = None
    if not args.skip_pipeline:
        progress("pipeline: 10 steps, 3 levels, one durable execution (bench/pipeline_costs.py)")
        pipeline = pipeline_costs.measure(replicas=1 if args.quick else 3)
        sys.stdout.flush()

    scale: dict[str, Any] | None = None
    listener_ms: list[float] = []
    router_stats: dict[str, int] = {}
    retries: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rsbatch-bench-") as tmp:
        home = Path(tmp)
        options = BenchOptions(home=home, interval_s=args.interval, fallback_timeout_s=10, fallback_cap_s=160)
        with stdout_to(home / "emf-metrics.log"), Bench(options) as bench:
            specs = plan(bench, durations, replicas, args.interval)
            longest = max(s.sleep_s for s in specs)
            deadline = (
                max(model.round_ends(scaled, longest)[-1], longest + 2 * args.interval)
                + 90
                + 0.25 * len(specs)
            )
            measured = comparison(bench, specs, deadline, gap_s=0.25)
            listener_ms = list(bench.timer.listener_ms)
            if bench.router:
                stats = bench.router.faulty.stats
                router_stats = {
                    "fallback_events_matched": stats.matched,
                    "fallback_events_dropped": stats.dropped,
                }
            progress("retry costs: a rerun after a conflict, a step retry")
            retries = retry_costs.measure(bench.stack)
            if not args.skip_scale:
                progress(f"scale: {scale_runs} callback runs of pg_sleep(1) at once")
                scale = bench.scale(scale_runs, 1.0, deadline_s=240)
                progress(
                    f"scale done: {scale['completed']}/{scale_runs} completed, {scale['lost']} lost, "
                    f"{scale['runs_per_second']} runs/s"
                )
        progress("local stack stopped")

    fitted = report.fit(measured, args.interval, listener_ms)
    scaled = report.callback_design(fitted, scaled.timeout_s, scaled.cap_s)
    production = report.callback_design(fitted, production.timeout_s, production.cap_s)
    prices = model.Prices(sources=report.PRICE_SOURCES)
    rows, checks = report.measured_rows(measured, fitted, prices, scaled)
    rows += report.model_rows(fitted, prices, production)
    elapsed = time.monotonic() - t0
    results: dict[str, Any] = {
        "rows": [r for r in rows if r["design"] != "callback-fallback"],
        "fallback_rows": [r for r in rows if r["design"] == "callback-fallback"],
        "scale": scale or {"runs": 0, "skipped": True},
        "prices": report.prices_json(prices, fitted),
        "model_check": checks,
        "model_check_summary": report.summarize_checks(checks),
        "model_inputs": {
            "payloads": vars(fitted.payloads),
            "polling": vars(fitted.polling),
            "callback_production": {"timeout_s": production.timeout_s, "cap_s": production.cap_s},
            "callback_measured": {"timeout_s": scaled.timeout_s, "cap_s": scaled.cap_s},
            "event_latency_ms": fitted.event_latency_ms,
            **fitted.notes,
        },
        "runs": [m.to_json() for m in measured],
        "events": router_stats,
        "retry_costs": retries,
        "pipeline": pipeline or {"skipped": True},
        "emulator": [{"metric": a, "value": b, "note": c} for a, b, c in emulator_rows],
        "registry": registry_rows,
        "config": {
            "quick": args.quick,
            "durations_s": list(durations),
            "replicas": replicas,
            "interval_s": args.interval,
            "scale_runs": 0 if args.skip_scale else scale_runs,
        },
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
    }
    results["elapsed_s"] = round(elapsed, 1)
    results["targets"] = report.targets(rows, measured, scale, production, scaled, args.interval, elapsed)
    if pipeline:
        results["targets"].append(
            {
                "target": "pipeline wall time within 10 % + 1 s of its critical path",
                "value": f"{pipeline['wall_s']} s vs {pipeline['critical_path_s']} s",
                "pass": pipeline["pass"],
            }
        )
    out: Path = args.out
    report.write_json(results, out / "latest.json")
    report.plot(results, measured, fitted, production, scaled, prices, out / "latest.png")
    png = out.resolve() / "latest.png"
    root = RESULTS.parent.parent
    png_link = str(png.relative_to(root)) if png.is_relative_to(root) else png.name
    markdown = report.markdown(results, png_link)
    if registry_rows:
        markdown += "\n\n```\n" + registry_bench.text_table(registry_rows) + "\n```\n"
    if pipeline:
        markdown += (
            "\n\nPipeline (bench/pipeline_costs.py):\n\n```\n" + pipeline_costs.text(pipeline) + "\n```\n"
        )
    (out / "latest.md").write_text(markdown, encoding="utf-8")
    progress(f"wrote {out / 'latest.json'}, {out / 'latest.png'}, {out / 'latest.md'}")

    print()
    print("Callback design vs polling design (measured on the local stack; model for long statements)")
    print(report.text_table(results["rows"] + results["fallback_rows"]))
    if scale and scale.get("runs"):
        print()
        print(
            f"Scale: {scale['runs']} runs of {scale['statement']} at once: {scale['completed']} completed, "
            f"{scale['lost']} lost, resume latency p50 {scale['resume_latency_p50_ms']} ms / p99 "
            f"{scale['resume_latency_p99_ms']} ms, {scale['runs_per_second']} runs/s, "
            f"peak memory {scale['peak_memory_mb']} MB (PSS, bench + PostgreSQL)"
        )
    print()
    print("What a retry costs (durable operations and invocations, against a healthy run)")
    print(
        "\n".join(
            f"  {r['case']:<24} {r['status']:<9} attempts {r['attempts']}  ops {r['durable_operations']} "
            f"(+{r['added_operations']})  invocations {r['invocations']} (+{r['added_invocations']})"
            for r in retries
        )
    )
    if pipeline:
        print()
        print("A pipeline run (one durable execution) vs the same graph on Step Functions Standard")
        print(pipeline_costs.text(pipeline))
    print()
    print("Targets")
    for t in results["targets"]:
        print(f"  [{'PASS' if t['pass'] else 'FAIL'}] {t['target']}: {t['value']}")
    print(f"\nTotal: {time.monotonic() - t0:.0f} s. Model check: {results['model_check_summary']}.")
    missed = [t for t in results["targets"] if not t["pass"]]
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
