"""Drive both designs on one local stack and read what each run cost from its durable history.

One ``LocalStack`` (embedded PostgreSQL, Data API emulator, DynamoDB, event bus, durable
runtime serving ``durable_fn``) plus a second ``DurableRuntime`` serving the article's polling
handler (``bench/polling_reference.py``) against the same emulator and the same SQL files.
Both runtimes run with ``skip_time=False``: waits and callback timeouts take real seconds, so
"statement end → resumed" is a wall-clock measurement.

The fallback path (every event lost) runs at the same time as the event path: the Redshift
emulator's events go through :class:`EventRouter` (the stack's ``route_events`` hook), which
hands the events of fallback runs to a second ``EventBus`` whose faults are ``Faults(drop=1.0)``
and all other events to the stack's own bus, unchanged. Handlers are timed through the stack's
``wrap_handler`` / ``wrap_listener`` hooks.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from aws_durable_execution_sdk_python.serdes import EXTENDED_TYPES_SERDES
from botocore.config import Config

from bench import model
from bench.emulator_bench import MemorySampler

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"}
REPO_ROOT = Path(__file__).resolve().parents[1]
POLLING_FUNCTION = "polling-reference"

_started = time.monotonic()


def progress(message: str) -> None:
    """One progress line on stderr (stdout is kept for the results)."""
    print(f"[bench {time.monotonic() - _started:6.1f}s] {message}", file=sys.stderr, flush=True)


# -- timing the handlers --------------------------------------------------------------------


class HandlerTimer:
    """Wraps Lambda handlers to record how long each invocation really ran (ms), per execution.

    The runner's own InvocationCompleted timestamps start before the invocation waits for a
    free worker thread, so under load they include queueing; these do not.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: Execution ARN → (start epoch seconds, duration ms) of each invocation.
        self.by_execution: dict[str, list[tuple[float, float]]] = {}
        self.listener_ms: list[float] = []

    def wrap(self, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def timed(event: Any, context: Any) -> Any:
            arn = getattr(event, "durable_execution_arn", None)
            if arn is None and isinstance(event, dict):
                arn = event.get("DurableExecutionArn")
            wall, started = time.time(), time.perf_counter()
            try:
                return handler(event, context)
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                with self._lock:
                    self.by_execution.setdefault(str(arn), []).append((wall, elapsed))

        return timed

    def wrap_listener(self, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def timed(event: Any, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                with self._lock:
                    self.listener_ms.append((time.perf_counter() - started) * 1000)

        return timed


# -- routing events: drop the fallback runs' events only ------------------------------------


class EventRouter:
    """Events of runs in ``dropped`` go to a bus with ``Faults(drop=1.0)``; others to the stack's.

    The stack's ``route_events`` hook installs it between the Data API emulator and the bus.
    """

    def __init__(self, template: Path) -> None:
        from rsbatch.local.event_bus import EventBus
        from rsbatch.local.faults import Faults
        from rsbatch.local.template import load_template, status_rule_pattern

        pattern = status_rule_pattern(load_template(template))
        self._deliver: Callable[[dict[str, Any]], None] | None = None
        self.faulty = EventBus(pattern, self._forward, Faults(drop=1.0))
        self.dropped: set[str] = set()
        self._lock = threading.Lock()

    def route(self, deliver: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        """The ``route_events`` hook: ``deliver`` is the stack bus's publish."""
        self._deliver = deliver
        return self.publish

    def drop_events_of(self, run: str) -> None:
        with self._lock:
            self.dropped.add(run)

    def publish(self, event: dict[str, Any]) -> None:
        name = str((event.get("detail") or {}).get("statementName") or "")
        with self._lock:
            faulty = name in self.dropped
        if faulty:
            self.faulty.publish(event)
        else:
            self._forward(event)

    def _forward(self, event: dict[str, Any]) -> None:
        assert self._deliver is not None, "route() was not called: pass it as the stack's route_events hook"
        self._deliver(event)

    def close(self) -> None:
        self.faulty.close()


# -- what one run cost ----------------------------------------------------------------------


@dataclass
class RunSpec:
    design: model.Design
    nominal_s: int
    sleep_s: float
    sql_file: str  # relative to the SQL root


@dataclass
class Started:
    spec: RunSpec
    execution_arn: str
    started_at: float  # time.time()
    run_key: str | None = None


@dataclass
class Measured:
    design: model.Design
    nominal_s: int
    status: str
    execution_arn: str
    statement_id: str | None = None
    statement_s: float | None = None  # Redshift CreatedAt → UpdatedAt
    durable_operations: int = 0
    invocations: int = 0
    checkpoint_bytes: int = 0
    resume_latency_ms: float | None = None
    wall_time_s: float | None = None
    handler_ms: list[float] = field(default_factory=list)
    #: Polling: checks made; fallback: rounds that timed out; event path: 0.
    repeats: int = 0
    repeat_bytes: int = 0
    #: Polling only: mean seconds between two checks (interval + the cycle's overhead).
    check_period_s: float | None = None
    #: Statement end → the callback recorded by the runtime (callback design, event path).
    callback_latency_ms: float | None = None
    #: Statement end → the first handler invocation that starts after it (callback design).
    invocation_latency_ms: float | None = None
    resumed_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["handler_ms"] = [round(x, 1) for x in self.handler_ms]
        return data


def _payload_bytes(node: Any) -> int:
    """Bytes of every Input/Result/Error payload below ``node`` (an event's details)."""
    total = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("Input", "Result", "Error") and isinstance(value, dict) and "Payload" in value:
                payload = value["Payload"]
                text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
                total += len(text.encode("utf-8"))
            else:
                total += _payload_bytes(value)
    elif isinstance(node, list):
        total += sum(_payload_bytes(item) for item in node)
    return total


def _event_bytes(event: dict[str, Any]) -> int:
    return sum(_payload_bytes(v) for k, v in event.items() if k.endswith("Details"))


def _result(event: dict[str, Any]) -> Any:
    for key, value in event.items():
        if key.endswith("Details") and isinstance(value, dict):
            payload = (value.get("Result") or {}).get("Payload")
            if isinstance(payload, str):
                try:
                    return EXTENDED_TYPES_SERDES.deserialize(payload, None)  # type: ignore[arg-type]
                except Exception:
                    return json.loads(payload)
    return None


def _kind(step: dict[str, Any]) -> str | None:
    """The kind of one of our steps (submit, check, finish…), from the one naming helper."""
    from rsbatch_core.runkey import StepName

    parsed = StepName.parse(str(step.get("Name", "")))
    return parsed.kind if parsed else None


def _ts(event: dict[str, Any]) -> float:
    stamp = event["EventTimestamp"]
    return stamp.timestamp() if isinstance(stamp, datetime) else float(stamp)


def measure(
    started: Started, executor: Any, redshift: Any, timer: HandlerTimer, interval_s: float
) -> Measured:
    """Read one finished run from its durable history and from the Data API."""
    from rsbatch.report import durable_operations, invocations

    arn = started.execution_arn
    design = started.spec.design
    details = executor.get_execution_details(arn)
    events = [e.to_dict() for e in executor.get_execution_history(arn, include_execution_data=True).events]
    out = Measured(
        design=design,
        nominal_s=started.spec.nominal_s,
        status=str(details.status),
        execution_arn=arn,
        durable_operations=durable_operations(events),
        invocations=invocations(events),
        checkpoint_bytes=sum(_event_bytes(e) for e in events),
        handler_ms=[ms for _, ms in timer.by_execution.get(arn, [])],
    )
    times = {e["EventType"]: _ts(e) for e in events if str(e["EventType"]).startswith("Execution")}
    if "ExecutionStarted" in times:
        end = next((t for k, t in times.items() if k != "ExecutionStarted"), None)
        out.wall_time_s = round(end - times["ExecutionStarted"], 3) if end else None

    steps = [e for e in events if e["EventType"] == "StepSucceeded"]
    if design == "polling":
        submit = next((s for s in steps if s.get("Name") == "execute_batch_query"), None)
        out.statement_id = _result(submit) if submit else None
        checks = [s for s in steps if s.get("Name") == "check_query_status"]
        out.repeats = len(checks)
        out.repeat_bytes = sum(_event_bytes(s) for s in checks)
        if len(checks) > 1:
            stamps = [_ts(s) for s in checks]
            out.check_period_s = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    else:
        submit = next((s for s in steps if _kind(s) == "submit"), None)
        result = _result(submit) if submit else None
        out.statement_id = result.get("statement_id") if isinstance(result, dict) else None
        checks = [s for s in steps if _kind(s) == "check"]
        timed_out = [e for e in events if e["EventType"] == "CallbackTimedOut"]
        out.repeats = len(checks)
        out.repeat_bytes = sum(_event_bytes(e) for e in checks + timed_out)
        finish = next((s for s in steps if _kind(s) == "finish"), None)
        summary = _result(finish) if finish else None
        if isinstance(summary, dict):
            out.resumed_by = summary.get("resumed_by")

    if not out.statement_id:
        return out
    desc = redshift.describe_statement(Id=out.statement_id)
    ended = desc["UpdatedAt"].timestamp()
    out.statement_s = round(ended - desc["CreatedAt"].timestamp(), 3)
    out.resume_latency_ms = _resume_latency_ms(design, steps, ended)
    callback_done = next(
        (e for e in events if e["EventType"] == "CallbackSucceeded" and _ts(e) >= ended), None
    )
    if callback_done:
        out.callback_latency_ms = round((_ts(callback_done) - ended) * 1000, 1)
    if design != "polling":
        starts = [t for t, _ in timer.by_execution.get(arn, []) if t >= ended]
        out.invocation_latency_ms = round((min(starts) - ended) * 1000, 1) if starts else None
    return out


def _resume_latency_ms(design: model.Design, steps: list[dict[str, Any]], ended: float) -> float | None:
    """Statement end → the checkpoint of the first step that acted on the end.

    Polling: the check that returned ``completed``; callback: ``finish`` (event path) or the
    check that saw a terminal state (fallback). Each of these steps made one DescribeStatement.
    """
    for step in steps:
        stamp = _ts(step)
        if stamp < ended:
            continue
        name = str(step.get("Name", ""))
        kind = _kind(step)
        result = _result(step)
        if design == "polling":
            if name == "check_query_status" and isinstance(result, dict) and result.get("completed"):
                return round((stamp - ended) * 1000, 1)
        elif kind == "finish" or (
            kind == "check"
            and isinstance(result, dict)
            and result.get("status") in ("FINISHED", "FAILED", "ABORTED")
        ):
            return round((stamp - ended) * 1000, 1)
    return None


# -- the bench: stack + polling runtime -----------------------------------------------------


@dataclass
class BenchOptions:
    home: Path
    interval_s: int = 10
    #: The fallback runs' callback timeout and cap: the defaults (900 s, 4 h) divided by 90.
    fallback_timeout_s: int = 10
    fallback_cap_s: int = 160


class Bench:
    """The local stack, the polling runtime, clients and timers; a context manager."""

    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        self.sql_root = options.home / "sql"
        self.timer = HandlerTimer()
        self.stack: Any = None
        self.polling_runtime: Any = None
        self.router: EventRouter | None = None
        self._restore: list[Callable[[], None]] = []
        self._sql_files: dict[float, str] = {}
        self._names = 0
        self._lock = threading.Lock()

    # -- SQL ---------------------------------------------------------------------------------

    def sleep_sql(self, seconds: float) -> str:
        """A batch of one ``SELECT pg_sleep(seconds)``, relative to the SQL root."""
        seconds = round(seconds, 3)
        with self._lock:
            if seconds not in self._sql_files:
                rel = f"bench/sleep_{int(seconds * 1000)}ms.sql"
                path = self.sql_root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"SELECT pg_sleep({seconds});\n", encoding="utf-8")
                self._sql_files[seconds] = rel
            return self._sql_files[seconds]

    def _prepare_sql_root(self) -> None:
        """Demo schema/data next to our files, so the stack's demo seeding keeps working."""
        local = self.sql_root / "local"
        local.mkdir(parents=True, exist_ok=True)
        for name in ("schema.sql", "data.sql"):
            shutil.copy(REPO_ROOT / "sql" / "local" / name, local / name)
        # The seed's mart refresh: what the retry-costs rows run.
        shutil.copy(REPO_ROOT / "sql" / "query.sql", self.sql_root / "query.sql")

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Bench:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _set_env(self, key: str, value: str) -> None:
        previous = os.environ.get(key)
        os.environ[key] = value

        def restore() -> None:
            if previous is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = previous

        self._restore.append(restore)

    def _start(self) -> None:
        from bench import polling_reference
        from rsbatch.local.durable_runtime import DurableRuntime
        from rsbatch.local.stack import REPO_ROOT, LocalStack, StackHooks, StackOptions

        self._prepare_sql_root()
        # Scaled-down fallback: the cap is read from the environment when the handler first runs.
        self._set_env("RSBATCH_MAX_CALLBACK_TIMEOUT_SECONDS", str(self.options.fallback_cap_s))
        self.router = EventRouter(REPO_ROOT / "template.yaml")
        hooks = StackHooks(
            wrap_handler=self.timer.wrap,
            wrap_listener=self.timer.wrap_listener,
            route_events=self.router.route,
        )
        progress("starting the local stack (embedded PostgreSQL, Data API, DynamoDB, bus, durable runtime)")
        self.stack = LocalStack(
            StackOptions(
                home=self.options.home / "stack",
                sql_root=self.sql_root,
                execution_timeout_seconds=3600,
                hooks=hooks,
            )
        ).start()
        self.polling_runtime = DurableRuntime(
            self.timer.wrap(polling_reference.lambda_handler),
            function_name=POLLING_FUNCTION,
            execution_timeout_seconds=3600,
        )
        config = Config(max_pool_connections=64, retries={"mode": "standard", "max_attempts": 3})
        self.lambda_ours = boto3.client("lambda", endpoint_url=self.stack.runtime.endpoint_url, config=config)
        self.lambda_polling = boto3.client(
            "lambda", endpoint_url=self.polling_runtime.endpoint_url, config=config
        )
        self.redshift = boto3.client("redshift-data", config=config)
        progress(
            f"stack up: Data API {self.stack.redshift.endpoint_url}, "
            f"callback design {self.stack.runtime.endpoint_url}, "
            f"polling design {self.polling_runtime.endpoint_url}"
        )

    def close(self) -> None:
        if self.router:
            self.router.close()
            self.router = None
        if self.polling_runtime:
            try:
                self.polling_runtime.stop()
            finally:
                self.polling_runtime = None
        if self.stack:
            try:
                self.stack.stop()
            finally:
                self.stack = None
        while self._restore:
            self._restore.pop()()

    # -- runs --------------------------------------------------------------------------------

    def _name(self) -> str:
        with self._lock:
            self._names += 1
            return f"bench-{self._names}-{uuid.uuid4().hex[:8]}"

    def start(self, spec: RunSpec) -> Started:
        """Async-invoke the design's function (a named execution, so a retried Invoke is idempotent)."""
        from rsbatch_core.runkey import run_key

        if spec.design == "polling":
            payload: dict[str, Any] = {
                "sql_file_path": str(self.sql_root / spec.sql_file),
                "poll_interval_seconds": self.options.interval_s,
            }
            client, function = self.lambda_polling, POLLING_FUNCTION
        else:
            payload = {"sql_file": spec.sql_file}
            if spec.design == "callback-fallback":
                payload["callback_timeout_seconds"] = self.options.fallback_timeout_s
            client, function = self.lambda_ours, self.stack.runtime.function_name
        response = client.invoke(
            FunctionName=function,
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
            DurableExecutionName=self._name(),
        )
        arn = str(response["DurableExecutionArn"])
        started = Started(spec=spec, execution_arn=arn, started_at=time.time())
        if spec.design != "polling":
            started.run_key = run_key(arn)
            if spec.design == "callback-fallback":
                assert self.router is not None
                self.router.drop_events_of(started.run_key)
        return started

    def start_all(self, specs: list[RunSpec], gap_s: float) -> list[Started]:
        """Start the runs ``gap_s`` apart (0: all at once, from 32 threads)."""
        if gap_s <= 0:
            with ThreadPoolExecutor(max_workers=32) as pool:
                return list(pool.map(self.start, specs))
        started = []
        for spec in specs:
            started.append(self.start(spec))
            time.sleep(gap_s)
        return started

    def runtime_for(self, design: model.Design) -> Any:
        return self.polling_runtime if design == "polling" else self.stack.runtime

    def status(self, started: Started) -> str:
        return str(
            self.runtime_for(started.spec.design).executor.get_execution_details(started.execution_arn).status
        )

    def wait_all(self, runs: list[Started], deadline_s: float, label: str, every_s: float = 15.0) -> None:
        """Wait until every run is terminal or the deadline passes; a progress line every ``every_s``."""
        start = time.monotonic()
        last = start
        pending = list(runs)
        while pending and time.monotonic() - start < deadline_s:
            pending = [r for r in pending if self.status(r) not in TERMINAL]
            if time.monotonic() - last >= every_s:
                last = time.monotonic()
                by_design: dict[str, list[int]] = {}
                for r in runs:
                    counts = by_design.setdefault(r.spec.design, [0, 0])
                    counts[1] += 1
                    counts[0] += r not in pending
                detail = ", ".join(f"{d} {done}/{total}" for d, (done, total) in by_design.items())
                progress(f"{label}: {len(runs) - len(pending)}/{len(runs)} runs ended ({detail})")
            if pending:
                time.sleep(0.25)

    def measure(self, started: Started) -> Measured:
        runtime = self.runtime_for(started.spec.design)
        return measure(started, runtime.executor, self.redshift, self.timer, self.options.interval_s)

    # -- scale -------------------------------------------------------------------------------

    def scale(self, runs: int, sleep_s: float, deadline_s: float) -> dict[str, Any]:
        """``runs`` callback-design runs started at once; lost = not SUCCEEDED by the deadline."""
        sql = self.sleep_sql(sleep_s)
        spec = RunSpec(design="callback", nominal_s=int(sleep_s), sleep_s=sleep_s, sql_file=sql)
        assert self.stack is not None
        overflows_before = listen_overflows()
        gate = self.stack.runtime.invocation_gate
        overrun_before = gate.overrun if gate else 0
        cpu_before = os.times()
        start_errors: list[str] = []
        started: list[Started] = []
        t0 = time.time()
        # Sampling /proc costs CPU under the GIL: every 0.5 s, not emulator_bench's 0.05 s.
        with MemorySampler(self.stack.warehouse.pid, interval=0.5) as memory:

            def go(_: int) -> Started | None:
                try:
                    return self.start(spec)
                except Exception as exc:
                    start_errors.append(f"{type(exc).__name__}: {exc}")
                    return None

            with ThreadPoolExecutor(max_workers=32) as pool:
                started = [s for s in pool.map(go, range(runs)) if s is not None]  # all at once
            t_started = time.time()
            progress(f"scale: {len(started)}/{runs} runs started in {t_started - t0:.1f} s")
            self.wait_all(started, deadline_s, "scale", every_s=5.0)
        cpu_after = os.times()
        ends: list[float] = []
        measured: list[Measured] = []
        for s in started:
            m = self.measure(s)
            measured.append(m)
            if m.status == "SUCCEEDED" and m.wall_time_s is not None:
                ends.append(s.started_at + m.wall_time_s)
        completed = sum(1 for m in measured if m.status == "SUCCEEDED")
        latencies = sorted(m.resume_latency_ms for m in measured if m.resume_latency_ms is not None)
        callback_ms = sorted(m.callback_latency_ms for m in measured if m.callback_latency_ms is not None)
        invocation_ms = sorted(
            m.invocation_latency_ms for m in measured if m.invocation_latency_ms is not None
        )
        handler = sorted(x for m in measured for x in m.handler_ms)
        span = (max(ends) - t0) if ends else None
        return {
            "runs": runs,
            "statement": f"SELECT pg_sleep({sleep_s:g})",
            "completed": completed,
            "lost": runs - completed,
            "invocation_workers": self.stack.runtime.invocation_workers,
            "invocation_slots": self.stack.runtime.invocation_slots,
            "start_errors": len(start_errors),
            "resume_latency_p50_ms": percentile(latencies, 0.50),
            "resume_latency_p99_ms": percentile(latencies, 0.99),
            "runs_per_second": round(completed / span, 2) if span else None,
            "peak_memory_mb": round(memory.peak_pss_kb / 1024, 1),
            "peak_memory_rss_sum_mb": round(memory.peak_rss_kb / 1024, 1),
            "diagnostics": {
                "start_s": round(t_started - t0, 2),
                "all_done_s": round(span, 2) if span else None,
                "end_to_callback_recorded_p50_ms": percentile(callback_ms, 0.50),
                "end_to_callback_recorded_p99_ms": percentile(callback_ms, 0.99),
                "end_to_invocation_started_p50_ms": percentile(invocation_ms, 0.50),
                "end_to_invocation_started_p99_ms": percentile(invocation_ms, 0.99),
                "handler_ms_p50": percentile(handler, 0.50),
                "handler_ms_p99": percentile(handler, 0.99),
                "handler_ms_sum_s": round(sum(handler) / 1000, 1),
                "process_cpu_s": round(
                    (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system), 1
                ),
                "tcp_listen_overflows": listen_overflows() - overflows_before,
                "gate_overrun": gate.overrun - overrun_before if gate else None,
                "gate_max_wait_s": gate.max_wait_s if gate else None,
                "start_error_samples": start_errors[:3],
            },
        }


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted ``values`` (None if empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def listen_overflows() -> int:
    """TcpExt ListenOverflows of this network namespace (accept queues that were full)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return 0
    for header, values in zip(lines[::2], lines[1::2], strict=False):
        if header.startswith("TcpExt:"):
            fields = dict(zip(header.split()[1:], values.split()[1:], strict=False))
            return int(fields.get("ListenOverflows", 0))
    return 0


@contextmanager
def stdout_to(path: Path) -> Iterator[None]:
    """Send stdout (the Lambdas' EMF metric lines) to a file while the stack runs."""
    from contextlib import redirect_stdout

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as stream, redirect_stdout(stream):
        yield
