"""The durable function's handler in worker processes, so a burst's botocore work spreads over cores.

In-process, every handler invocation shares the stack's one interpreter: under a burst of
runs the GIL is the limit (docs/ARCHITECTURE.md §6, "A burst"), mostly botocore building,
signing and parsing the Lambda's own requests. `ProcessHandler` is a handler the SDK's
runner calls like any other; it hands the invocation (its JSON event, as Lambda would
deliver it) to one of N spawned worker processes. Each worker imports `durable_fn.app` as
a Lambda sandbox would, with the stack's environment, and runs many invocations at once on
its own threads; the handler has no service client injected, so the SDK builds its own
boto3 Lambda client and checkpoints over the stack's Lambda endpoint
(`AWS_ENDPOINT_URL_LAMBDA`), as on AWS.

What only in-process invocation allows is refused in this mode (`stack.py`): the
`crash-after-submit` fault wraps the function's Data API adapter in the stack's process.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rsbatch_core.errors import BadInputError

if TYPE_CHECKING:
    from rsbatch.local.faults import Faults

INVOCATION_PROCESSES_ENV = "RSBATCH_LOCAL_INVOCATION_PROCESSES"
#: 0: invocations run on the runner's threads in the stack's process (the default).
DEFAULT_INVOCATION_PROCESSES = 0
#: Invocations one worker process runs at once (each mostly waits on HTTP).
THREADS_PER_PROCESS = 128
#: How long a spawned worker may take to import the function and say it is ready.
READY_TIMEOUT_S = 60.0


def invocation_processes(given: int | None) -> int:
    """The number of worker processes: ``given``, else the environment's, else 0 (in-process)."""
    if given is None:
        text = os.environ.get(INVOCATION_PROCESSES_ENV, "").strip()
        if not text:
            return DEFAULT_INVOCATION_PROCESSES
        try:
            given = int(text)
        except ValueError:
            raise BadInputError(f"{INVOCATION_PROCESSES_ENV} must be a whole number, not {text!r}") from None
    if given < 0:
        raise BadInputError(
            f"the local stack's invocation processes must be 0 (in-process) or more, not {given}"
        )
    return given


def refuse_in_processes(faults: Faults, processes: int) -> None:
    """Refuse a fault that wraps the handler's own objects in the stack's process.

    Every other knob works in process mode: the event and warehouse faults live in the bus and
    the Data API emulator, and the listener (`fail`, `restart`) still runs in the stack's process.
    """
    if processes and faults.crash_after_submit:
        raise BadInputError(
            "the crash-after-submit fault wraps the durable function in the stack's process: "
            f"it cannot be used with {INVOCATION_PROCESSES_ENV}={processes} (use 0)"
        )


class WorkerError(RuntimeError):
    """The handler raised in a worker process; the message carries its traceback."""


class ProcessHandler:
    """A durable handler whose invocations run in ``count`` worker processes."""

    def __init__(self, count: int, function_name: str = "rsbatch-durable") -> None:
        self.count = count
        self.function_name = function_name
        self._ids = itertools.count()
        self._pending: dict[int, Future[Any]] = {}
        self._lock = threading.Lock()
        self._workers: list[tuple[multiprocessing.process.BaseProcess, Connection, threading.Lock]] = []
        self._readers: list[threading.Thread] = []
        self._next = itertools.count()
        self._served: dict[int, int] = {}

    @property
    def pids(self) -> list[int]:
        return [p.pid for p, _, _ in self._workers if p.pid is not None]

    def served_by(self) -> dict[int, int]:
        """Invocations answered so far, by worker pid."""
        with self._lock:
            return dict(self._served)

    def start(self, env: dict[str, str], log_file: Path) -> None:
        """Spawn the workers (fresh interpreters: the stack's process has threads, so no fork)."""
        context = multiprocessing.get_context("spawn")
        for index in range(self.count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve,
                args=(theirs, env, str(log_file), self.function_name),
                name=f"rsbatch-invocations-{index}",
                daemon=True,
            )
            process.start()
            theirs.close()
            self._workers.append((process, ours, threading.Lock()))
        for worker, conn, _ in self._workers:
            if not conn.poll(READY_TIMEOUT_S):
                raise RuntimeError(f"invocation worker {worker.pid} did not start in {READY_TIMEOUT_S:g} s")
            ready = conn.recv()
            if ready != "ready":
                raise RuntimeError(f"invocation worker {worker.pid} failed to start: {ready}")
            reader = threading.Thread(
                target=self._read, args=(conn, worker.pid), name="invocation-results", daemon=True
            )
            reader.start()
            self._readers.append(reader)

    def __call__(self, event: Any, context: Any) -> Any:
        """Run one invocation in a worker; the runner's thread waits for its result."""
        payload = event if isinstance(event, dict) else event.to_json_dict()
        task = next(self._ids)
        future: Future[Any] = Future()
        with self._lock:
            self._pending[task] = future
        _, conn, send_lock = self._workers[next(self._next) % len(self._workers)]
        with send_lock:
            conn.send((task, json.dumps(payload)))
        return future.result()

    def _read(self, conn: Connection, pid: int | None) -> None:
        while True:
            try:
                task, ok, value = conn.recv()
            except (EOFError, OSError):
                with self._lock:
                    pending, self._pending = self._pending, {}
                for future in pending.values():
                    future.set_exception(WorkerError("an invocation worker process ended"))
                return
            with self._lock:
                future = self._pending.pop(task)
                self._served[pid or 0] = self._served.get(pid or 0, 0) + 1
            if ok:
                future.set_result(value)
            else:
                future.set_exception(WorkerError(value))

    def stop(self) -> None:
        for process, conn, send_lock in self._workers:
            try:
                with send_lock:
                    conn.send(None)
            except OSError:
                pass
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
            conn.close()
        for reader in self._readers:
            reader.join(timeout=5)
        self._workers, self._readers = [], []


def _serve(conn: Connection, env: dict[str, str], log_file: str, function_name: str) -> None:
    """A worker process: import the function as a Lambda sandbox does, then run invocations."""
    try:
        os.environ.clear()
        os.environ.update(env)
        import durable_fn.app
        from rsbatch.local.stack import lambda_context
        from rsbatch.logs import LambdaLogFile

        logs = LambdaLogFile(Path(log_file), durable_function=function_name)
        logs.open()
        durable_fn.app.cold_start()
        handler = durable_fn.app.handler
        context = lambda_context(function_name)
    except BaseException:
        conn.send(traceback.format_exc())
        return
    conn.send("ready")
    send_lock = threading.Lock()

    def run(task: int, payload: str) -> None:
        try:
            result: tuple[int, bool, Any] = (task, True, handler(json.loads(payload), context))
        except BaseException:
            result = (task, False, traceback.format_exc())
        with send_lock:
            conn.send(result)

    with ThreadPoolExecutor(max_workers=THREADS_PER_PROCESS, thread_name_prefix="invocation") as pool:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message is None:
                break
            pool.submit(run, *message)
    logs.close()
