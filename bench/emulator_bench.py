"""Benchmark of the local Redshift Data API emulator (not a test).

Run: ``python -m bench.emulator_bench [--latency-runs 200] [--concurrency 50]``.

Measures, on a fresh embedded PostgreSQL in a temporary home:

- cold start of the warehouse (initdb + start) and of the emulator;
- submit → FINISHED latency of ``SELECT 1`` (ExecuteStatement, then DescribeStatement with
  ``WaitTimeSeconds`` long poll), p50/p99;
- 50 concurrent ``pg_sleep(1)`` statements: wall time (1 s is perfect parallelism);
- throughput of trivial statements driven by 50 concurrent clients;
- peak memory of this process plus every postgres process, sampled from /proc: RSS (counts
  shared buffers once per process, so it overstates) and PSS (shared pages split fairly).

- the memory five 200k-row results add to the emulator's process (RSS, each budget in a
  fresh process): without a result budget, and within the default one
  (``RSBATCH_LOCAL_RESULT_MEMORY_MB``, 128), where the oldest results are dropped;

- the Redshift → PostgreSQL shim's own time per statement (``to_postgres``, no server) on the
  repository's SQL (``sql/``) and the shim's rule examples, p50/p99.

Targets: p50 < 20 ms, peak < 300 MB, shim p50 < 1 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from rsbatch.local.dialect import UnsupportedSql, to_postgres
from rsbatch.local.dialect.rules import REFUSED, RULES
from rsbatch.local.redshift_data import RedshiftDataEmulator
from rsbatch.local.warehouse import Warehouse

TERMINAL = {"FINISHED", "FAILED", "ABORTED"}
LATENCY_TARGET_MS = 20.0
MEMORY_TARGET_MB = 300.0
SHIM_TARGET_MS = 1.0
SQL_ROOT = Path(__file__).resolve().parents[1] / "sql"


def _proc_kb(pid: int, path: str, field: str) -> int:
    """A ``Field:  N kB`` line of /proc/<pid>/<path>, 0 if the process is gone."""
    try:
        with open(f"/proc/{pid}/{path}", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _children(parent: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            pids.append(int(entry))
    return pids


class MemorySampler:
    """Samples RSS and PSS of this process + postmaster + backends until stopped."""

    def __init__(self, postmaster: int | None, interval: float = 0.05) -> None:
        self.postmaster = postmaster
        self.interval = interval
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def sample(self) -> None:
        pids = [os.getpid()]
        if self.postmaster is not None:
            pids += [self.postmaster, *_children(self.postmaster)]
        rss = sum(_proc_kb(pid, "status", "VmRSS:") for pid in pids)
        pss = sum(_proc_kb(pid, "smaps_rollup", "Pss:") for pid in pids)
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.peak_pss_kb = max(self.peak_pss_kb, pss)
        self.peak_processes = max(self.peak_processes, len(pids))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def _client(endpoint: str, pool: int) -> Any:
    return boto3.client(
        "redshift-data",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(max_pool_connections=pool, retries={"total_max_attempts": 1}),
    )


def _submit_and_wait(client: Any, sql: str) -> float:
    """Seconds from ExecuteStatement to a FINISHED DescribeStatement (long poll)."""
    started = time.perf_counter()
    statement_id = client.execute_statement(Sql=sql, Database="dev", WorkgroupName="local")["Id"]
    while True:
        status = client.describe_statement(Id=statement_id, WaitTimeSeconds=10)["Status"]
        if status in TERMINAL:
            break
    elapsed = time.perf_counter() - started
    if status != "FINISHED":
        raise RuntimeError(f"{sql!r} ended {status}")
    return elapsed


def _verdict(value: float, target: float, unit: str) -> str:
    return f"target < {target:.0f} {unit}: {'ok' if value < target else 'MISSED'}"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def statement_mix() -> list[str]:
    """A realistic mix: every statement of the repository's SQL files plus the shim's rule examples."""
    from rsbatch_core.sqlfile import split_statements

    statements = [s for f in sorted(SQL_ROOT.rglob("*.sql")) for s in split_statements(f.read_text("utf-8"))]
    return statements + [r.example for r in RULES if r.status != REFUSED]


def shim_latency(rounds: int = 20) -> list[tuple[str, str, str]]:
    """Time of ``to_postgres`` per statement, over ``rounds`` passes of the mix (first pass warms up)."""
    mix = statement_mix()
    times: list[float] = []
    for round_ in range(rounds + 1):
        for sql in mix:
            started = time.perf_counter()
            with contextlib.suppress(UnsupportedSql):  # a refusal is timed too
                to_postgres(sql)
            if round_:
                times.append((time.perf_counter() - started) * 1000)
    p50 = statistics.median(times)
    n = f"n={len(times)}, {len(mix)} statements"
    return [
        (f"shim to_postgres p50 ({n})", f"{p50:.3f} ms", _verdict(p50, SHIM_TARGET_MS, "ms")),
        (f"shim to_postgres p99 ({n})", f"{_percentile(times, 0.99):.3f} ms", ""),
    ]


RESULT_ROWS = 200_000
RESULTS = 5
RESULT_SQL = (
    "SELECT g AS id, 'customer ' || g AS name, now() - g * interval '1 minute' AS seen, g * 1.5 AS amount"
    f" FROM generate_series(1, {RESULT_ROWS}) AS g"
)


def _rss_mb() -> float:
    return _proc_kb(os.getpid(), "status", "VmRSS:") / 1024


def result_memory_child(home: str, budget_mb: int) -> dict[str, float]:
    """In a fresh process: RSS before and after RESULTS results of RESULT_ROWS rows are kept."""
    import gc
    import json

    warehouse = Warehouse(Path(home))
    warehouse.start()
    try:
        with RedshiftDataEmulator(warehouse, result_memory_bytes=budget_mb * 1024 * 1024) as emulator:
            client = _client(emulator.endpoint_url, 4)
            _submit_and_wait(client, "SELECT 1")
            gc.collect()
            before = _rss_mb()
            for _ in range(RESULTS):
                _submit_and_wait(client, RESULT_SQL)
            gc.collect()
            out = {"before": before, "after": _rss_mb(), "kept_estimate": emulator.result_bytes / 2**20}
    finally:
        warehouse.stop()
    print(json.dumps(out))
    return out


def result_memory(home: str) -> list[tuple[str, str, str]]:
    """Growth of the emulator's process with five 200k-row results, unbounded vs the default budget."""
    import json
    import subprocess
    import sys

    from rsbatch.local.redshift_data.emulator import DEFAULT_RESULT_MEMORY_MB

    rows = []
    for label, budget in (
        ("no budget", 1 << 20),
        (f"budget {DEFAULT_RESULT_MEMORY_MB} MB", DEFAULT_RESULT_MEMORY_MB),
    ):
        code = (
            f"from bench.emulator_bench import result_memory_child; result_memory_child({home!r}, {budget})"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        m = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(
            (
                f"{RESULTS} x {RESULT_ROWS // 1000}k-row results, {label}",
                f"+{m['after'] - m['before']:.0f} MB",
                f"RSS {m['before']:.0f} → {m['after']:.0f} MB; kept (estimate) {m['kept_estimate']:.0f} MB",
            )
        )
    return rows


def run(latency_runs: int, concurrency: int, throughput_statements: int) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = shim_latency()
    with tempfile.TemporaryDirectory(prefix="rsbatch-bench-") as home:
        started = time.perf_counter()
        warehouse = Warehouse(Path(home))
        warehouse.start()
        rows.append(("warehouse cold start (initdb)", f"{time.perf_counter() - started:.2f} s", ""))
        try:
            with (
                MemorySampler(warehouse.pid) as memory,
                RedshiftDataEmulator(warehouse, max_workers=max(64, concurrency)) as emulator,
            ):
                client = _client(emulator.endpoint_url, concurrency + 4)
                for _ in range(20):  # warm-up: connections, imports, pools
                    _submit_and_wait(client, "SELECT 1")

                latencies = [_submit_and_wait(client, "SELECT 1") * 1000 for _ in range(latency_runs)]
                p50 = statistics.median(latencies)
                rows.append(
                    (
                        f"SELECT 1 submit→FINISHED p50 (n={latency_runs})",
                        f"{p50:.1f} ms",
                        _verdict(p50, LATENCY_TARGET_MS, "ms"),
                    )
                )
                rows.append(
                    (
                        f"SELECT 1 submit→FINISHED p99 (n={latency_runs})",
                        f"{_percentile(latencies, 0.99):.1f} ms",
                        "",
                    )
                )

                with ThreadPoolExecutor(max_workers=concurrency) as pool:
                    started = time.perf_counter()
                    list(
                        pool.map(lambda _: _submit_and_wait(client, "SELECT pg_sleep(1)"), range(concurrency))
                    )
                    wall = time.perf_counter() - started
                    rows.append(
                        (f"{concurrency} concurrent pg_sleep(1)", f"{wall:.2f} s", "1.00 s = fully parallel")
                    )

                    started = time.perf_counter()
                    list(
                        pool.map(lambda _: _submit_and_wait(client, "SELECT 1"), range(throughput_statements))
                    )
                    wall = time.perf_counter() - started
                    rows.append(
                        (
                            f"throughput, {concurrency} concurrent clients",
                            f"{throughput_statements / wall:.0f} stmt/s",
                            f"{throughput_statements} x SELECT 1 submit→FINISHED",
                        )
                    )
            peak_pss = memory.peak_pss_kb / 1024
            rows.append(
                (
                    "peak memory, PSS (bench + postgres)",
                    f"{peak_pss:.0f} MB",
                    _verdict(peak_pss, MEMORY_TARGET_MB, "MB"),
                )
            )
            rows.append(
                (
                    "peak memory, RSS sum (overcounts shared)",
                    f"{memory.peak_rss_kb / 1024:.0f} MB",
                    f"{memory.peak_processes} processes at peak",
                )
            )
        finally:
            warehouse.stop()
        rows += result_memory(home)
    return rows


def main(argv: list[str] | None = None) -> list[tuple[str, str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency-runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--throughput-statements", type=int, default=1000)
    args = parser.parse_args(argv)
    rows = run(args.latency_runs, args.concurrency, args.throughput_statements)
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    print("Redshift Data API emulator benchmark")
    for name, value, note in rows:
        print(f"  {name:<{width[0]}}  {value:>{width[1]}}  {note}")
    return rows


if __name__ == "__main__":
    main()
