"""The HTTP front end: the JSON 1.1 protocol's transport, and nothing of its operations.

``POST /`` with ``X-Amz-Target`` goes to the handler the server is given, as
``(target, body, authorization) -> (status, payload)``; the server only frames requests
(refusing what it cannot read: chunked bodies, bad lengths, other methods) and replies.
It tracks its connections and handler threads so that :meth:`HttpServer.stop` leaves
nothing behind, long polls included.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rsbatch.local.redshift_data.exceptions import ApiError, serialization, unknown_operation

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes, str], tuple[int, dict[str, Any]]]
"""``(X-Amz-Target, body, Authorization) -> (HTTP status, JSON payload)``; never raises."""

# Limits of the real service (botocore model and the Redshift management guide).
MAX_BODY_BYTES = 8 * 1024 * 1024


class _TrackingServer(ThreadingHTTPServer):
    """Tracks open connections and handler threads so that stop() leaves nothing behind."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # socketserver's 5 drops SYNs when 50 clients connect at once (1 s retry)

    def __init__(self, address: tuple[str, int], dispatch: Handler) -> None:
        self.dispatch = dispatch
        self._open: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        self._track = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._track:
            self._open.add(request)
            self._handlers.add(threading.current_thread())
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._track:
                self._open.discard(request)
                self._handlers.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up mid-reply (e.g. during a long poll) is not worth a traceback."""
        log.debug("HTTP connection from %s failed", client_address, exc_info=True)

    def close_connections(self, timeout: float) -> None:
        with self._track:
            sockets, handlers = list(self._open), list(self._handlers)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in handlers:
            thread.join(max(0.0, deadline - time.monotonic()))


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses its connections
    disable_nagle_algorithm = True  # else headers + body wait on delayed ACKs (~40 ms)
    server: _TrackingServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_POST(self) -> None:
        body = self._read_body()
        if body is None:
            return
        status, payload = self.server.dispatch(
            self.headers.get("X-Amz-Target", ""), body, self.headers.get("Authorization", "")
        )
        self._reply(status, payload)

    def _not_an_operation(self) -> None:
        if self._read_body() is not None:
            self._error(unknown_operation("Only POST / is served", status=404))

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = _not_an_operation

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._refuse("Chunked request bodies are not supported")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._refuse("Invalid Content-Length")
            return None
        return self.rfile.read(length)

    def _refuse(self, message: str) -> None:
        self.close_connection = True
        self._error(serialization(message))

    def _error(self, error: ApiError) -> None:
        self._reply(error.status, error.payload())

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class HttpServer:
    """``handle`` served on ``host:port`` (0: any free port) by a background thread."""

    def __init__(self, host: str, port: int, handle: Handler) -> None:
        self._httpd = _TrackingServer((host, port), handle)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="redshift-data-http",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, cut open connections (their handlers return), close the socket."""
        self._httpd.shutdown()
        self._httpd.close_connections(timeout=5)
        self._httpd.server_close()
        self._thread.join(5)
