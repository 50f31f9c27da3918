"""`rsbatch`: run long Redshift SQL batches on a Lambda durable function, and operate them.

One module per group of commands; importing them registers their commands on `main`.
"""

from rsbatch.cli import act, dashboard, local, logs, pipeline, run, runs, sql
from rsbatch.cli.base import main

__all__ = ["act", "dashboard", "local", "logs", "main", "pipeline", "run", "runs", "sql"]
