"""A pipeline run measured on the local stack, and the same graph priced as Step Functions.

A 10-step, 3-level pipeline (stage → six marts → three reports) whose steps are `pg_sleep`s
of known length runs as ONE durable execution. Measured: wall time (the pipeline item's
created → ended) against its critical path and against the sum of its steps, both from the
emulator's own statement timestamps (CreatedAt → UpdatedAt of each step's statement); durable
operations and invocations from the execution's history.

Modelled beside it: the same graph as a Step Functions Standard workflow whose tasks are
`arn:aws:states:::lambda:invoke.waitForTaskToken` (a Lambda submits the statement, the listener
sends SendTaskSuccess). Standard workflows bill per state transition: "Step Functions counts a
state transition each time a step of your workflow is executed", $0.025 per 1,000 state
transitions in US East (N. Virginia) (https://aws.amazon.com/step-functions/pricing/). The
workflow is the graph's natural nesting: a Pass-free chain stage → Parallel of three branches,
each a Parallel of two marts → its report; every state entered is one transition.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.model import Prices

ROOT = Path(__file__).resolve().parents[1]

#: step → (seconds of pg_sleep, after)
GRAPH: dict[str, tuple[float, list[str]]] = {
    "stage": (1.0, []),
    "m1": (1.0, ["stage"]),
    "m2": (2.0, ["stage"]),
    "m3": (0.5, ["stage"]),
    "m4": (1.5, ["stage"]),
    "m5": (0.5, ["stage"]),
    "m6": (1.0, ["stage"]),
    "r1": (0.5, ["m1", "m2"]),
    "r2": (1.0, ["m3", "m4"]),
    "r3": (0.5, ["m5", "m6"]),
}

#: Step Functions: 10 tasks + 1 outer Parallel + 3 inner Parallels (one per report's branch).
SFN_TRANSITIONS = len(GRAPH) + 1 + 3
SFN_USD_PER_TRANSITION = 0.025 / 1000  # US East (N. Virginia), the pricing page above
#: Each task's Lambda (submits with the task token) and each statement's listener call.
SFN_LAMBDA_INVOCATIONS = 2 * len(GRAPH)


def critical_path(durations: dict[str, float]) -> float:
    """The longest chain of measured step durations through the graph."""
    finish: dict[str, float] = {}
    for step, (_, after) in GRAPH.items():  # GRAPH is in topological order
        finish[step] = max((finish[a] for a in after), default=0.0) + durations[step]
    return max(finish.values())


def _write(home: Path) -> tuple[Path, Path]:
    sql_root, pipelines = home / "sql", home / "pipelines"
    shutil.copytree(ROOT / "sql", sql_root)
    (sql_root / "bench").mkdir()
    steps: dict[str, Any] = {}
    for step, (seconds, after) in GRAPH.items():
        (sql_root / "bench" / f"{step}.sql").write_text(f"SELECT pg_sleep({seconds});\n")
        steps[step] = {"sql": f"bench/{step}.sql", "after": after}
    pipelines.mkdir()
    body = {"max_parallel": 10, "steps": steps}
    (pipelines / "bench10.yaml").write_text(yaml.safe_dump(body, sort_keys=False))
    return sql_root, pipelines


def measure(replicas: int = 2) -> dict[str, Any]:
    """Boot a local stack, run the pipeline `replicas` times; the median run's figures."""
    from rsbatch.local.stack import LocalStack, StackOptions
    from rsbatch.local_run import follow_pipeline, operator_for
    from rsbatch_core.models import RunSummary

    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rsbatch-pipeline-bench-") as tmp:
        home = Path(tmp)
        sql_root, pipelines = _write(home)
        with LocalStack(StackOptions(home=home, sql_root=sql_root, pipeline_root=pipelines)) as stack:
            operator = operator_for(stack)
            for _ in range(replicas):
                began = time.time()
                started = operator.start_pipeline("bench10")
                record, ops, calls = follow_pipeline(operator, started, timeout=60)
                durations: dict[str, float] = {}
                first = last = None
                for step in GRAPH:
                    item = operator.registry.get(f"{started.run}.{step}")
                    assert item is not None and item.summary is not None, step
                    attempt = RunSummary.model_validate_json(item.summary).attempts[-1]
                    assert attempt.started_at is not None and attempt.ended_at is not None
                    durations[step] = attempt.ended_at - attempt.started_at
                    first = attempt.started_at if first is None else min(first, attempt.started_at)
                    last = attempt.ended_at if last is None else max(last, attempt.ended_at)
                wall = record.updated_at.timestamp() - record.created_at.timestamp()
                runs.append(
                    {
                        "status": record.status.value,
                        "wall_s": round(wall, 2),
                        "statements_span_s": round((last or 0) - (first or 0), 2),
                        "critical_path_s": round(critical_path(durations), 2),
                        "sum_of_steps_s": round(sum(durations.values()), 2),
                        "durable_operations": ops,
                        "invocations": calls,
                        "client_wall_s": round(time.time() - began, 2),
                    }
                )
    runs.sort(key=lambda r: r["wall_s"])
    median = runs[len(runs) // 2]
    prices = Prices()
    rsbatch_usd = (
        median["durable_operations"] * prices.durable_operation_usd
        + (median["invocations"] + len(GRAPH)) * prices.request_usd  # + one listener call per step
    )
    sfn_usd = SFN_TRANSITIONS * SFN_USD_PER_TRANSITION + SFN_LAMBDA_INVOCATIONS * prices.request_usd
    target = median["critical_path_s"] * 1.10 + 1.0
    return {
        **median,
        "steps": len(GRAPH),
        "levels": 3,
        "replicas": replicas,
        "target_wall_s": round(target, 2),
        "pass": median["status"] == "SUCCEEDED" and median["wall_s"] <= target,
        "per_1000_runs_usd": {
            "rsbatch_operations_and_requests": round(1000 * rsbatch_usd, 4),
            "step_functions_standard": round(1000 * sfn_usd, 4),
        },
        "step_functions_transitions": SFN_TRANSITIONS,
        "notes": "rsbatch: durable operations at $8/M + Lambda requests (handler invocations and one "
        "listener call per step), compute left out on both sides (the same few ms of work); Step "
        "Functions: state transitions at $0.025/1,000 + a Lambda request per task and per event",
        "runs": runs,
    }


def text(row: dict[str, Any]) -> str:
    usd = row["per_1000_runs_usd"]
    verdict = "PASS" if row["pass"] else "FAIL"
    return (
        f"  {row['steps']} steps, {row['levels']} levels: wall {row['wall_s']} s vs critical path "
        f"{row['critical_path_s']} s (target ≤ {row['target_wall_s']} s: {verdict}) "
        f"vs sum of steps {row['sum_of_steps_s']} s\n"
        f"  durable operations {row['durable_operations']}, invocations {row['invocations']} per run\n"
        f"  per 1,000 runs: rsbatch ${usd['rsbatch_operations_and_requests']} vs Step Functions Standard "
        f"${usd['step_functions_standard']} ({row['step_functions_transitions']} transitions/run)"
    )


if __name__ == "__main__":
    result = measure()
    print(text(result))
