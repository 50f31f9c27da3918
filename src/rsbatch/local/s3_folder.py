"""A folder that answers S3 GetObject/HeadObject/PutObject, so `s3://bucket/key.sql` runs work locally.

Only what rsbatch calls is served: path-style GET and HEAD with Range (the
durable function), PUT (`rsbatch start FILE` uploading a file from outside
the SQL root); `<root>/<bucket>/<key>` is the object. Paths are resolved and
kept inside the root, so a key cannot reach outside it.
"""

from __future__ import annotations

import email.utils
import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
#: The largest object PUT accepts: a SQL file is at most 100 KB, this is a stand-in, not a store.
MAX_PUT_BYTES = 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: S3FolderServer

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def do_PUT(self) -> None:
        path = self._object_path()
        if path is None:
            return
        length = self.headers.get("Content-Length", "")
        chunked = self.headers.get("Content-Encoding", "").startswith("aws-chunked")
        if chunked or not length.isdigit() or int(length) > MAX_PUT_BYTES:
            return self._error(400, "InvalidRequest", f"a plain body of at most {MAX_PUT_BYTES} bytes")
        data = self.rfile.read(int(length))
        if path.is_dir():
            return self._error(400, "InvalidArgument", "the key names a folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.send_response(200)
        self.send_header("ETag", f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _object_path(self) -> Path | None:
        """`<root>/<bucket>/<key>` resolved inside the bucket's folder; None after answering an error."""
        parts = unquote(urlparse(self.path).path).lstrip("/").split("/", 1)
        if len(parts) != 2 or not parts[1]:
            self._error(404, "NoSuchBucket", "path-style /bucket/key only")
            return None
        bucket, key = parts
        root = self.server.root.resolve()
        if not bucket or "/" in bucket or bucket in (".", "..") or not (root / bucket).is_dir():
            self._error(404, "NoSuchBucket", f"no bucket {bucket}")
            return None
        path = (root / bucket / key).resolve()
        if not path.is_relative_to(root / bucket) or path == root / bucket:
            self._error(404, "NoSuchKey", "The specified key does not exist.")
            return None
        return path

    def _serve(self, with_body: bool) -> None:
        path = self._object_path()
        if path is None:
            return
        if not path.is_file():
            return self._error(404, "NoSuchKey", "The specified key does not exist.")
        data = path.read_bytes()
        status = 200
        match = _RANGE.match(self.headers.get("Range", ""))
        if match:
            first = int(match[1])
            last = min(int(match[2]) if match[2] else len(data) - 1, len(data) - 1)
            if data and first > last:
                return self._error(416, "InvalidRange", "The requested range is not satisfiable")
            data, status = data[first : last + 1], 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"')
        self.send_header("Last-Modified", email.utils.formatdate(path.stat().st_mtime, usegmt=True))
        self.end_headers()
        if with_body:
            self.wfile.write(data)

    def _error(self, status: int, code: str, message: str) -> None:
        body = f"<?xml version='1.0'?><Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class S3FolderServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = root
        super().__init__((host, port), _Handler)
        self._thread = threading.Thread(target=self.serve_forever, name="s3-folder", daemon=True)

    def start(self) -> S3FolderServer:
        self._thread.start()
        return self

    @property
    def endpoint_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
