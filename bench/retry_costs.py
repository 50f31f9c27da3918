"""What a retry costs, measured on the bench's stack: a rerun after a conflict, and a step retry.

Each case is one run of the seed's mart refresh with one fault knob set; its durable operations
and invocations are read from the execution's history (the run report's own counters) and
compared with a healthy run's.
"""

from __future__ import annotations

from typing import Any

from rsbatch.local.faults import Faults
from rsbatch.local_run import follow, operator_for
from rsbatch.operations import RunOptions

#: name → (fault, what it exercises)
CASES: dict[str, tuple[Faults, str]] = {
    "healthy": (Faults(), "no fault"),
    "rerun after a conflict": (Faults(conflict=1), "attempt 1 fails with 1023, a durable backoff, attempt 2"),
    "step retry": (Faults(crash_after_submit=1), "the submit step fails once and is retried (durable wait)"),
}


def measure(stack: Any) -> list[dict[str, Any]]:
    """One run per case, one after the other, on a started LocalStack."""
    operator = operator_for(stack)
    rows: list[dict[str, Any]] = []
    for name, (faults, what) in CASES.items():
        stack.set_faults(faults)
        try:
            started = operator.start("query.sql", None, None, RunOptions(retry_backoff=1))
            report = follow(operator, started, timeout=120, quiet=True)
        finally:
            stack.set_faults(Faults())
        if report.status.value != "SUCCEEDED":  # every case recovers; a failed one measures nothing
            error = report.error.message if report.error else "no error recorded"
            raise RuntimeError(f"retry costs: the {name!r} run ended {report.status.value}: {error}")
        rows.append(
            {
                "case": name,
                "what": what,
                "status": report.status.value,
                "attempts": len(report.attempts),
                "durable_operations": report.durable_operations,
                "invocations": report.invocations,
            }
        )
    healthy = rows[0]
    for row in rows:
        row["added_operations"] = row["durable_operations"] - healthy["durable_operations"]
        row["added_invocations"] = row["invocations"] - healthy["invocations"]
    return rows
