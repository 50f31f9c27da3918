"""The whole local stack in one process: warehouse, Redshift Data API, DynamoDB, durable runtime, bus.

The Lambda code runs unchanged: the stack only points boto3 at local
endpoints through the standard `AWS_ENDPOINT_URL_<SERVICE>` variables and
sets the `RSBATCH_*` settings a deployed function gets from its template.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import boto3

from rsbatch.local import restart
from rsbatch.local.durable_runtime import ACCOUNT_ID, REGION, DurableRuntime
from rsbatch.local.dynamodb import DynamoDBServer
from rsbatch.local.event_bus import EventBus
from rsbatch.local.faults import CrashAfterSubmit, Faults, FaultyListener
from rsbatch.local.redshift_data import RedshiftDataEmulator, leftovers
from rsbatch.local.s3_folder import S3FolderServer
from rsbatch.local.template import load_template, runs_table_definition, status_rule_pattern
from rsbatch.local.warehouse import Warehouse
from rsbatch.logs import LambdaLogFile, as_function, quiet_servers
from rsbatch_core.sqlfile import split_statements

REPO_ROOT = Path(__file__).resolve().parents[3]
TABLE_NAME = "rsbatch-runs"
WORKGROUP = "local"
SQL_BUCKET = "rsbatch-local-sql"
#: Access key ids the emulator sees: the Lambdas (in this process) vs an operator's terminal.
FUNCTION_KEY = "rsbatch-function"
OPERATOR_KEY = "rsbatch-operator"


Handler = Callable[[Any, Any], Any]
Publish = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class StackHooks:
    """Seams for harnesses (the benchmark): wrap what the stack runs instead of patching modules."""

    wrap_handler: Callable[[Handler], Handler] | None = None  # the durable function's handler
    wrap_listener: Callable[[Handler], Handler] | None = None  # the status listener's handler
    #: Given the bus's publish, what the Data API emulator should publish its events to.
    route_events: Callable[[Publish], Publish] | None = None


@dataclass(frozen=True)
class StackOptions:
    home: Path
    sql_root: Path = REPO_ROOT / "sql"
    pipeline_root: Path = REPO_ROOT / "pipelines"
    template: Path = REPO_ROOT / "template.yaml"
    events: Faults = field(default_factory=Faults)
    hooks: StackHooks = field(default_factory=StackHooks)
    postgres_url: str | None = None
    callback_timeout_seconds: int = 900
    execution_timeout_seconds: int = 3600
    seed_demo: bool = True
    #: Handler invocations the durable runtime runs at once (None: RSBATCH_LOCAL_INVOCATION_WORKERS
    #: or `durable_runtime.DEFAULT_INVOCATION_WORKERS`).
    invocation_workers: int | None = None
    #: Of those, how many run the handler at once, resumes first (None: RSBATCH_LOCAL_INVOCATION_SLOTS
    #: or `durable_runtime.DEFAULT_INVOCATION_SLOTS`; 0: no gate).
    invocation_slots: int | None = None


class StackAlreadyRunning(RuntimeError):
    """A second stack in one process would rebind the first one's Lambda code (see LocalStack)."""


class LocalStack:
    """Start everything, hand out the environment, stop everything (in reverse).

    One started stack per process: the Lambda code keeps its clients per container
    (`durable_fn.app.services()` is cached, as on AWS), and this process is the container, so a
    second stack's `cold_start()` would point the first stack's handlers at the second stack's
    endpoints, and at nothing once it stops. `start()` refuses instead.
    """

    #: The stack this process currently hosts, if any.
    _running: ClassVar[LocalStack | None] = None

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.warehouse = Warehouse(options.home, url=options.postgres_url)
        self.redshift: RedshiftDataEmulator | None = None
        self.dynamodb: DynamoDBServer | None = None
        self.runtime: DurableRuntime | None = None
        self.bus: EventBus | None = None
        self.s3: S3FolderServer | None = None
        self.listener: FaultyListener | None = None
        self.submits: CrashAfterSubmit | None = None
        self._saved_env: dict[str, str | None] = {}
        self._logs = LambdaLogFile(self.log_file)
        self.restart_notes: list[str] = []

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> LocalStack:
        running = LocalStack._running
        if running is not None and running is not self:
            raise StackAlreadyRunning(
                f"a local stack (home {running.options.home}) is already running in this process; "
                "stop it first: the Lambda code's cached clients would point at one stack only"
            )
        LocalStack._running = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        pattern = status_rule_pattern(load_template(self.options.template))
        quiet_servers()
        self.warehouse.start()
        previous = restart.take_over(self.options.home, leftovers.application_name())
        # As on AWS, only the identity that submitted a statement may describe or cancel it.
        self.redshift = RedshiftDataEmulator(
            self.warehouse, account=ACCOUNT_ID, region=REGION, enforce_owner=True
        )
        self.redshift.start()
        #: What `local up` says about the stack before this one (restart.py).
        self.restart_notes = restart.notes(previous, self.warehouse.orphan_stopped, self.redshift.leftovers)
        self.dynamodb = DynamoDBServer().start()
        (self.s3_root / SQL_BUCKET).mkdir(parents=True, exist_ok=True)
        self.s3 = S3FolderServer(self.s3_root).start()
        self._apply_env()
        self._create_table()
        if self.options.seed_demo:
            self.seed_demo()

        import durable_fn.app
        import status_listener.app

        self._logs.open()
        # EMF metrics are printed to stdout for CloudWatch; locally that is the CLI's stdout.
        self._saved_env.setdefault(
            "POWERTOOLS_METRICS_DISABLED", os.environ.get("POWERTOOLS_METRICS_DISABLED")
        )
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        hooks = self.options.hooks
        durable_fn.app.cold_start()
        status_listener.app.cold_start()
        handler: Handler = durable_fn.app.handler
        self.runtime = DurableRuntime(
            hooks.wrap_handler(handler) if hooks.wrap_handler else handler,
            execution_timeout_seconds=self.options.execution_timeout_seconds,
            invocation_workers=self.options.invocation_workers,
            invocation_slots=self.options.invocation_slots,
        )
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = self.runtime.endpoint_url
        # The Lambda faults wrap what the stack hands out: the listener, the function's Data API adapter.
        services = durable_fn.app.services()
        self.submits = CrashAfterSubmit(services.redshift)
        services.redshift = self.submits
        listener: Handler = as_function("rsbatch-listener", status_listener.app.handler)
        if hooks.wrap_listener:
            listener = hooks.wrap_listener(listener)
        context = lambda_context("rsbatch-listener")
        self.listener = FaultyListener(lambda event: listener(event, context), status_listener.app.cold_start)
        self.bus = EventBus(pattern, self.listener)
        self.set_faults(self.options.events)
        publish: Publish = self.bus.publish
        self.redshift.subscribe(hooks.route_events(publish) if hooks.route_events else publish)

    def set_faults(self, faults: Faults) -> None:
        """Change every fault knob (events, Lambdas, warehouse) from now on: tests and rehearsals."""
        assert self.bus and self.listener and self.submits and self.redshift, "the stack is not started"
        self.bus.set_faults(faults)
        self.listener.set(faults)
        self.submits.set(faults)
        self.redshift.set_faults(faults)

    def stop(self) -> None:
        """Stop in reverse order; safe to call twice or after a failed start."""
        if self.bus:
            self.bus.close()
        if self.runtime:
            with contextlib.suppress(Exception):
                self.runtime.stop()
        if self.redshift:
            with contextlib.suppress(Exception):
                self.redshift.stop()
        if self.dynamodb:
            with contextlib.suppress(Exception):
                self.dynamodb.stop()
        if self.s3:
            self.s3.stop()
        self.warehouse.stop()
        restart.release(self.options.home)
        self._restore_env()
        self._logs.close()
        self.bus = self.runtime = self.redshift = self.dynamodb = self.s3 = None
        self.listener = self.submits = None
        if LocalStack._running is self:
            LocalStack._running = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def s3_root(self) -> Path:
        """The folder standing in for S3: `<home>/s3/<bucket>/<key>`."""
        return self.options.home / "s3"

    @property
    def log_file(self) -> Path:
        return self.options.home / "logs" / "lambda.log"

    # -- environment -------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Every variable a second terminal (or the Lambda code) needs to use this stack."""
        assert self.redshift and self.dynamodb and self.s3
        env = {
            "AWS_ENDPOINT_URL_S3": self.s3.endpoint_url,
            "AWS_ENDPOINT_URL_REDSHIFT_DATA": self.redshift.endpoint_url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.endpoint_url,
            "AWS_ACCESS_KEY_ID": OPERATOR_KEY,
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "RSBATCH_TABLE": TABLE_NAME,
            "RSBATCH_WORKGROUP": WORKGROUP,
            "RSBATCH_DATABASE": "dev",
            "RSBATCH_SQL_ROOT": str(self.options.sql_root),
            "RSBATCH_PIPELINE_ROOT": str(self.options.pipeline_root),
            "RSBATCH_CALLBACK_TIMEOUT_SECONDS": str(self.options.callback_timeout_seconds),
            "RSBATCH_EXECUTION_TIMEOUT_SECONDS": str(self.options.execution_timeout_seconds),
            "RSBATCH_SQL_BUCKET": SQL_BUCKET,
            "RSBATCH_LOG_FILE": str(self.log_file.resolve()),  # `rsbatch logs` reads it
        }
        if self.runtime:
            env["AWS_ENDPOINT_URL_LAMBDA"] = self.runtime.endpoint_url
            env["RSBATCH_FUNCTION"] = self.runtime.function_name
        return env

    def _apply_env(self) -> None:
        """This process is the Lambdas' world: it gets the function's identity, not the operator's."""
        for key, value in {**self.env(), "AWS_ACCESS_KEY_ID": FUNCTION_KEY}.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        self._saved_env.setdefault("AWS_ENDPOINT_URL_LAMBDA", os.environ.get("AWS_ENDPOINT_URL_LAMBDA"))

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    # -- data --------------------------------------------------------------

    def _create_table(self) -> None:
        """The registry table with the keys and indexes template.yaml gives it."""
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**runs_table_definition(load_template(self.options.template), TABLE_NAME))

    def seed_demo(self) -> None:
        """Create the demo schema and data (sql/local/) through the emulator, once per warehouse."""
        statements: list[str] = []
        for name in ("schema.sql", "data.sql"):
            statements += split_statements((self.options.sql_root / "local" / name).read_text("utf-8"))
        self.run_sql(statements)

    def run_sql(self, statements: list[str], timeout: float = 60) -> dict[str, Any]:
        """Run statements as one batch through the Data API emulator and wait for the end."""
        client = boto3.client("redshift-data", region_name=REGION)
        statement_id = client.batch_execute_statement(
            Sqls=statements, WorkgroupName=WORKGROUP, Database="dev"
        )["Id"]
        deadline = time.monotonic() + timeout
        while True:
            desc: dict[str, Any] = client.describe_statement(Id=statement_id, WaitTimeSeconds=10)
            if desc["Status"] in ("FINISHED", "FAILED", "ABORTED"):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the demo SQL did not finish in time")
        if desc["Status"] != "FINISHED":
            raise RuntimeError(f"SQL batch ended {desc['Status']}: {desc.get('Error')}")
        return desc


def lambda_context(function_name: str) -> Any:
    """What Powertools reads from a Lambda context; the listener runs in-process."""
    return SimpleNamespace(
        function_name=function_name,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}",
        memory_limit_in_mb=128,
        aws_request_id="local",
        log_group_name=f"/aws/lambda/{function_name}",
        log_stream_name="local",
        get_remaining_time_in_millis=lambda: 60_000,
    )
