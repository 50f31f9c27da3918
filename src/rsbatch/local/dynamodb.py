"""DynamoDB for the run registry: moto's server, in a child process.

A child process keeps moto's request handling off the Lambdas' interpreter
lock (in-process it took a third of the CPU under load). It dies with us:
stopped by `stop()`, and on Linux also when this process dies (PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    os.setpgrp()  # a Ctrl-C in the terminal reaches us, and we stop it in order


#: How many ports to try when moto exits before it listens (the port was taken meanwhile).
_PORT_ATTEMPTS = 3


def _listens(pid: int, port: int) -> bool:
    """Whether process `pid` itself has a listening TCP socket on `port`."""
    import psutil

    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections)


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class DynamoDBServer:
    def __init__(self, host: str = "127.0.0.1", start_timeout: float = 30.0) -> None:
        self.host = host
        self.port = 0
        self._timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> DynamoDBServer:
        """Start moto on a free port; a port another process took first is tried again elsewhere.

        The port is picked before moto binds it, so two stacks starting at once (test workers)
        can pick the same one: the loser exits, and a plain connect would have reached the
        winner's server. Only a LISTEN socket owned by our own child counts as started.
        """
        for _ in range(_PORT_ATTEMPTS):
            self.port = _free_port(self.host)
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )
            deadline = time.monotonic() + self._timeout
            while time.monotonic() < deadline and self._process.poll() is None:
                if _listens(self._process.pid, self.port):
                    return self
                time.sleep(0.05)
            if self._process.poll() is None:  # alive but never listening: give up
                self.stop()
                raise RuntimeError(f"moto's DynamoDB server did not listen on {self.endpoint_url} in time")
            self._process = None  # it exited (the port was taken): another port
        raise RuntimeError(f"moto's DynamoDB server exited {_PORT_ATTEMPTS} times without listening")

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None
