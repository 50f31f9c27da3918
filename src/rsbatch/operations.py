"""What an operator does to runs: start, list, show, resume by hand, reconcile, cancel.

Works the same against AWS and the local stack: only the boto3 endpoints differ.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from rsbatch.config import Target
from rsbatch.report import durable_operations
from rsbatch_core.callbacks import CallbackSender, Delivery
from rsbatch_core.classify import error_code
from rsbatch_core.errors import BadInputError, RsbatchError
from rsbatch_core.models import PIPELINE_ITEM, CallbackPayload, DecidedBy, RunRecord, RunStatus, StepStatus
from rsbatch_core.registry import RUN_ITEM, RunPage, RunRegistry
from rsbatch_core.runkey import run_key


class OperatorError(RsbatchError):
    """The command ran but could not do what was asked (exit code 1)."""


@dataclass(frozen=True)
class RunOptions:
    """Batch options of a run, as the durable function's input names them."""

    parameters: dict[str, str] = field(default_factory=dict)
    execution_mode: str = "TRANSACTION"
    max_rows: int | None = None
    session_keep_alive: int | None = None
    retries: int | None = None  # attempts of a batch that lost a conflict (the input's retry.max_attempts)
    retry_auto_commit: bool = False
    retry_backoff: int | None = None  # the input's retry.backoff_seconds
    statement_timeout: int | None = None
    query_group: str | None = None
    results: str = "last"  # "all": keep the rows of every statement that returned rows
    result_format: str = "JSON"  # "CSV": submit with ResultFormat=CSV, read with GetStatementResultV2

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.results != "last":
            out["results"] = self.results
        if self.result_format != "JSON":
            out["result_format"] = self.result_format
        retry: dict[str, Any] = {}
        if self.retries is not None:
            retry["max_attempts"] = self.retries
        if self.retry_auto_commit:
            retry["auto_commit"] = True
        if self.retry_backoff is not None:
            retry["backoff_seconds"] = self.retry_backoff
        if retry:
            out["retry"] = retry
        if self.statement_timeout:
            out["statement_timeout_seconds"] = self.statement_timeout
        if self.query_group:
            out["query_group"] = self.query_group
        if self.session_keep_alive:
            out["session_keep_alive_seconds"] = self.session_keep_alive
        if self.parameters:
            out["parameters"] = self.parameters
        if self.execution_mode != "TRANSACTION":
            out["execution_mode"] = self.execution_mode
        if self.max_rows is not None:
            out["max_rows"] = self.max_rows
        return out


def unqualified(function: str) -> str:
    """A function name or (partial) ARN without its version or alias: `fn:live` → `fn`."""
    parts = function.split(":")
    if "function" in parts:
        return ":".join(parts[: parts.index("function") + 2])
    return parts[0]


def parse_params(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--param k=v` (repeatable) → {k: v}; a pair without `=` or a repeated name is bad input."""
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise BadInputError(f"--param {pair!r}: use NAME=VALUE")
        if name in params:
            raise BadInputError(f"--param {name} given twice")
        params[name] = value
    return params


@dataclass(frozen=True)
class Started:
    run: str
    execution_arn: str
    new: bool


@dataclass(frozen=True)
class ShownRun:
    """`rsbatch show`: the registry item, the durable execution, and with `--live` Redshift's view.

    Without `--live` nothing runs as the function: the registry and the execution are read with
    the operator's own credentials; the statement is what the registry recorded of it.
    """

    record: RunRecord
    statement: dict[str, Any] | None  # DescribeStatement, as the function saw it (--live only)
    execution: dict[str, Any]  # GetDurableExecution, with the history's operation count
    live: bool = False
    note: str | None = None  # why Redshift's view is missing (the statement expired…)

    def to_json(self) -> dict[str, Any]:
        return {
            "run": json.loads(self.record.model_dump_json()),
            "statement": self.statement,
            "execution": self.execution,
            "live": self.live,
            "note": self.note,
        }


@dataclass(frozen=True)
class ReconcileAction:
    run: str
    statement_id: str
    state: str
    action: str  # "succeed" | "fail" | "skip" | "wake" | "close" | "error"
    delivery: str | None
    note: str | None = None


@dataclass(frozen=True)
class Reconciled:
    """What a reconcile did: its actions (the first MAX_LISTED), counts of all, pages walked."""

    actions: list[ReconcileAction]
    counts: dict[str, int]
    pages: int
    looked_at: int
    truncated: bool
    execution_arn: str


@dataclass(frozen=True)
class Progress:
    """A long reconcile, as the CLI reports it while waiting."""

    pages: int
    elapsed: float


#: The action client never retries an Invoke (a retried synchronous Invoke would start the
#: action again) and waits as long as Lambda may run it (15 min, the synchronous maximum).
ACTION_CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=900, connect_timeout=10
)
#: How often a waiting reconcile polls its execution.
POLL_SECONDS = 1.0


class Operator:
    def __init__(self, target: Target) -> None:
        session = target.session
        self.target = target
        self.lambda_ = session.client("lambda")
        self.invoker = session.client("lambda", config=ACTION_CLIENT_CONFIG)
        self.registry = RunRegistry(target.table, dynamodb=session.resource("dynamodb"))
        self.sender = CallbackSender(self.lambda_)

    # -- start -------------------------------------------------------------

    def start(
        self,
        sql_file: str | list[str],
        name: str | None,
        callback_timeout: int | None,
        options: RunOptions | None = None,
    ) -> Started:
        """Async invoke with DurableExecutionName; Lambda itself keeps a name to one execution.

        AWS's idempotency rules (Lambda's durable-execution-idempotency page, and
        the model's DurableExecutionName): the same name with the same input
        returns the execution it already started, running or ended; the same
        name with another input is DurableExecutionAlreadyStartedException,
        reported here naming the existing run. The name is looked up first
        only to tell the person whether the run is new.
        A list of SQL files is a chain: each batch in order, stopping at the first failure.
        """
        if not sql_file:
            raise BadInputError("give at least one SQL file")
        payload: dict[str, Any] = (
            {"batches": sql_file}
            if isinstance(sql_file, list) and len(sql_file) > 1
            else {"sql_file": sql_file[0] if isinstance(sql_file, list) else sql_file}
        )
        if callback_timeout:
            payload["callback_timeout_seconds"] = callback_timeout
        payload |= (options or RunOptions()).payload()
        kwargs: dict[str, Any] = {
            "FunctionName": self.target.function,
            "InvocationType": "Event",
            "Payload": json.dumps(payload).encode(),
        }
        before = self._execution_named(name) if name else None
        if name:
            kwargs["DurableExecutionName"] = name
        try:
            response = self.lambda_.invoke(**kwargs)
        except ClientError as exc:
            if not name or error_code(exc) != "DurableExecutionAlreadyStartedException":
                raise
            existing = before or self._execution_named(name)
            which = f"run {run_key(existing)} ({existing})" if existing else "another run"
            raise OperatorError(
                f"already started: the name {name!r} belongs to {which}, started with a different "
                "input; nothing new was started. Use another --name, or `rsbatch show` that run"
            ) from None
        arn = response.get("DurableExecutionArn")
        if not arn:
            raise OperatorError("the invoke returned no DurableExecutionArn: is the function durable?")
        return Started(run=run_key(arn), execution_arn=arn, new=arn != before)

    def start_pipeline(
        self,
        pipeline: str,
        parameters: dict[str, str] | None = None,
        *,
        name: str | None = None,
        run_date: str | None = None,
        skip_steps: list[str] | None = None,
        redrive_of: str | None = None,
        callback_timeout: int | None = None,
    ) -> Started:
        """Start one pipeline run: one durable execution (the manifest is checked before, by the CLI)."""
        payload: dict[str, Any] = {"pipeline": pipeline, "parameters": parameters or {}}
        if run_date:
            payload["run_date"] = run_date
        if skip_steps:
            payload["skip_steps"] = skip_steps
        if redrive_of:
            payload["redrive_of"] = redrive_of
        if callback_timeout:
            payload["callback_timeout_seconds"] = callback_timeout
        kwargs: dict[str, Any] = {
            "FunctionName": self.target.function,
            "InvocationType": "Event",
            "Payload": json.dumps(payload).encode(),
        }
        if name:
            kwargs["DurableExecutionName"] = name
        arn = self.lambda_.invoke(**kwargs).get("DurableExecutionArn")
        if not arn:
            raise OperatorError("the invoke returned no DurableExecutionArn: is the function durable?")
        return Started(run=run_key(arn), execution_arn=arn, new=True)

    def redrive(self, ref: str, callback_timeout: int | None = None) -> Started:
        """A new run of the same pipeline and parameters that skips the steps that succeeded in `ref`
        (and those it skipped itself): the failed and never-started ones run again."""
        record = self.find(ref)
        info = record.pipeline_info()
        if not record.is_pipeline or info is None:
            raise BadInputError(f"run {record.run_key} is not a pipeline run: only pipelines are redriven")
        if record.status is RunStatus.WAITING:
            raise OperatorError(f"pipeline run {record.run_key} is still running; redrive it once it ended")
        if record.status is RunStatus.SUCCEEDED:
            raise OperatorError(f"pipeline run {record.run_key} succeeded: nothing to redrive")
        done = {StepStatus.SUCCEEDED, StepStatus.SKIPPED}
        skip = [n for n, s in record.step_states().items() if s.state in done]
        return self.start_pipeline(
            info.name,
            info.parameters,
            run_date=info.run_date,
            skip_steps=skip,
            redrive_of=record.run_key,
            callback_timeout=callback_timeout,
        )

    def _execution_named(self, name: str) -> str | None:
        """The ARN of the execution called `name`, on any version of the function (no qualifier)."""
        found = self.lambda_.list_durable_executions_by_function(
            FunctionName=unqualified(self.target.function), DurableExecutionName=name
        ).get("DurableExecutions", [])
        return str(found[0]["DurableExecutionArn"]) if found else None

    # -- read --------------------------------------------------------------

    def find(self, ref: str) -> RunRecord:
        return self.registry.find(ref)

    def runs(
        self,
        status: RunStatus | None,
        since: timedelta | None,
        limit: int = 50,
        token: str | None = None,
        *,
        pipelines: bool = False,
    ) -> RunPage:
        """One page of runs (or pipeline runs), newest first: a Query of one registry index, never a Scan."""
        cutoff = datetime.now(UTC) - since if since else None
        kind = PIPELINE_ITEM if pipelines else RUN_ITEM
        page = self.registry.runs(status=status, since=cutoff, limit=limit, token=token, item_type=kind)
        if not pipelines:
            return page
        # The listing indexes do not project the steps map: one GetItem per pipeline of the page.
        full = [self.registry.get(r.run_key) or r for r in page.records]
        return replace(page, records=full)

    def execution(self, arn: str) -> dict[str, Any]:
        response: dict[str, Any] = self.lambda_.get_durable_execution(DurableExecutionArn=arn)
        response.pop("ResponseMetadata", None)
        return response

    def history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"DurableExecutionArn": arn}
        while True:
            page = self.lambda_.get_durable_execution_history(**kwargs)
            events += page.get("Events", [])
            if not page.get("NextMarker"):
                return events
            kwargs["Marker"] = page["NextMarker"]

    def action(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run a short operator action as the durable function (it owns the statements), synchronously.

        Never retried (ACTION_CLIENT_CONFIG): an Invoke that timed out may still be running.
        """
        response = self.invoker.invoke(
            FunctionName=self.target.function,
            InvocationType="RequestResponse",
            Payload=json.dumps(payload).encode(),
        )
        body = response["Payload"].read()
        result: Any = json.loads(body) if body else {}
        if response.get("FunctionError") or not isinstance(result, dict):
            message = result.get("errorMessage") if isinstance(result, dict) else str(result)
            raise OperatorError(f"action {payload['action']} failed: {message}")
        return _action_result(payload["action"], result)

    def show(self, ref: str, live: bool = False) -> ShownRun:
        """The registry item and the execution, read with the operator's credentials; Redshift's
        own view of the statement only with `live` (an inspect action, run as the function)."""
        record = self.find(ref)
        statement: dict[str, Any] | None = None
        note: str | None = None
        if live and record.statement_id:
            inspected = self.action({"action": "inspect", "run": record.run_key})
            statement, note = inspected.get("statement"), inspected.get("note")
        try:
            execution = self.execution(record.execution_arn)
            execution["Operations"] = durable_operations(self.history(record.execution_arn))
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            execution = {"Status": "UNKNOWN", "Note": "Lambda no longer keeps this execution (retention)"}
        return ShownRun(record=record, statement=statement, execution=execution, live=live, note=note)

    # -- act ---------------------------------------------------------------

    def succeed(self, ref: str, result: str | None, force: bool) -> RunRecord:
        """Resume a run as succeeded; only once its statement FINISHED, unless forced."""
        record = self._waiting(ref, force)
        if record.statement_id and not force:
            status = self.action({"action": "inspect", "run": record.run_key})["statement"].get("Status")
            if status != "FINISHED":
                raise OperatorError(
                    f"run {record.run_key}: its statement is {status}, not FINISHED; succeeding it now "
                    "could report data that never commits. Wait, `rsbatch fail` it, or use --force"
                )
        payload = CallbackPayload(decided_by=DecidedBy.PERSON, result=result)
        self._delivered(record, self.sender.succeed(record.callback_id, payload))
        return record

    def fail(self, ref: str, message: str, error_type: str, force: bool) -> tuple[RunRecord, str]:
        """Fail a run by hand: "sent" (its callback), or with --force, "recorded" for an item no
        callback can reach any more (its execution ended, its statement expired)."""
        record = self._waiting(ref, force)
        payload = CallbackPayload(decided_by=DecidedBy.PERSON, message=message, error_type=error_type)
        delivery = Delivery.ALREADY_CLOSED
        if record.callback_id:
            try:
                delivery = self.sender.fail(record.callback_id, error_type, payload)
            except ClientError as exc:
                if not force or error_code(exc) not in (
                    "ResourceNotFoundException",
                    "InvalidParameterValueException",
                ):
                    raise
        if delivery is Delivery.ALREADY_CLOSED and force and record.status is RunStatus.WAITING:
            self.registry.abandon(
                record.run_key, f"{error_type}: {message} (failed by hand; no callback could reach it)"
            )
            return record, "recorded"
        self._delivered(record, delivery)
        return record, "sent"

    def cancel(self, ref: str) -> RunRecord:
        record = self.find(ref)
        self.action({"action": "cancel", "run": record.run_key})
        return record

    def reconcile(
        self,
        older_than: timedelta,
        dry_run: bool,
        on_progress: Callable[[Progress], None] | None = None,
        timeout: float | None = None,
    ) -> Reconciled:
        """Reconcile every WAITING run older than `older_than`, as the durable function.

        An asynchronous Invoke with a DurableExecutionName (a retry finds the same execution,
        never a second one), then the execution is polled until it ends, however long that is,
        reporting the pages done so far.
        """
        payload = {
            "action": "reconcile",
            "older_than_seconds": int(older_than.total_seconds()),
            "dry_run": dry_run,
        }
        name = f"reconcile-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        response = self.invoker.invoke(
            FunctionName=self.target.function,
            InvocationType="Event",
            DurableExecutionName=name,
            Payload=json.dumps(payload).encode(),
        )
        arn = response.get("DurableExecutionArn")
        if not arn:
            raise OperatorError("the invoke returned no DurableExecutionArn: is the function durable?")
        result = self._await(arn, "reconcile", on_progress, timeout)
        return Reconciled(
            actions=[
                ReconcileAction(
                    a["run"], a["statement_id"], a["state"], a["action"], a["delivery"], a.get("note")
                )
                for a in result["actions"]
            ],
            counts=dict(result.get("counts", {})),
            pages=int(result.get("pages", 0)),
            looked_at=int(result.get("looked_at", 0)),
            truncated=bool(result.get("truncated")),
            execution_arn=arn,
        )

    def _await(
        self,
        arn: str,
        action: str,
        on_progress: Callable[[Progress], None] | None,
        timeout: float | None,
    ) -> dict[str, Any]:
        """Poll an action's execution until it ends; its Result (≤ 1 MB for an async invoke)."""
        began = time.monotonic()
        while True:
            execution = self.lambda_.get_durable_execution(DurableExecutionArn=arn)
            status = execution.get("Status")
            if status != "RUNNING":
                break
            if on_progress is not None:
                on_progress(Progress(pages=self._pages_done(arn), elapsed=time.monotonic() - began))
            if timeout is not None and time.monotonic() - began > timeout:
                raise OperatorError(f"action {action} still running after {timeout:.0f} s: {arn}")
            time.sleep(POLL_SECONDS)
        if status != "SUCCEEDED":
            error = execution.get("Error") or {}
            message = error.get("ErrorMessage") or error.get("ErrorType") or status
            raise OperatorError(f"action {action} {str(status).lower()}: {message} ({arn})")
        result: Any = json.loads(execution.get("Result") or "{}")
        if not isinstance(result, dict):
            raise OperatorError(f"action {action} returned {str(result)[:200]!r}")
        return _action_result(action, result)

    def _pages_done(self, arn: str) -> int:
        """The newest `reconcile-page-N` in the last few history events (one short read)."""
        page = self.lambda_.get_durable_execution_history(
            DurableExecutionArn=arn, ReverseOrder=True, MaxItems=10
        )
        for event in page.get("Events", []):
            parsed = re.fullmatch(r"reconcile-page-([0-9]+)", str(event.get("Name", "")))
            if parsed:
                done = event.get("EventType") == "StepSucceeded"
                return int(parsed.group(1)) - (0 if done else 1)
        return 0

    def backfill(self) -> int:
        """The one-off migration of items written before the registry's indexes (a Scan, once)."""
        return self.registry.backfill()

    def _waiting(self, ref: str, force: bool) -> RunRecord:
        record = self.find(ref)
        if record.status is not RunStatus.WAITING and not force:
            raise OperatorError(
                f"run {record.run_key} is {record.status.value}, not WAITING; use --force to send anyway"
            )
        return record

    @staticmethod
    def _delivered(record: RunRecord, delivery: Delivery) -> None:
        if delivery is Delivery.ALREADY_CLOSED:
            raise OperatorError(
                f"run {record.run_key}: its callback is already closed (the run resumed, or a round of "
                "waiting just ended and re-armed it); check `rsbatch show` and try again"
            )


def _action_result(action: str, result: dict[str, Any]) -> dict[str, Any]:
    """An action's `{"ok": …}`: the result, or its error as the right exception."""
    if not result.get("ok"):
        error = result.get("error") or {}
        if error.get("type") == "BadInput":
            raise BadInputError(str(error.get("message")))
        raise OperatorError(str(error.get("message") or f"action {action} failed"))
    return result


#: Longer than any run is kept (the registry's retention is at most 3650 days).
MAX_DURATION = timedelta(days=3650)


def parse_duration(text: str) -> timedelta:
    """`90s`, `10m`, `2h`, `1d` (or bare seconds) → timedelta, at most ten years."""
    match = re.fullmatch(r"([0-9]{1,12})([smhd]?)", text.strip().lower())
    if not match:
        raise BadInputError(f"bad duration {text!r}: use e.g. 90s, 10m, 2h, 1d")
    seconds = int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise BadInputError(f"duration {text!r} is longer than {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)
