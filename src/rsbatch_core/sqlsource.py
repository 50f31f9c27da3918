"""Where SQL comes from: the bundled SQL root, or S3 (`s3://bucket/key.sql`) within the allowed prefix.

S3 objects can change between replays, so the flow reads them inside a step;
bundled files are part of the deployment and are read directly.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
from botocore.exceptions import ClientError

from rsbatch_core.errors import SqlFileError
from rsbatch_core.sqlfile import MAX_SQL_BYTES, SqlBatch, load_batch, parse_batch

_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>[^\x00]{1,1024})$")


def is_s3_uri(name: str) -> bool:
    return name.startswith("s3://")


class SqlSource:
    """Loads a batch by name; refuses S3 outside `bucket`/`prefix` (the IAM policy's scope too)."""

    def __init__(self, root: Path, bucket: str | None = None, prefix: str = "", s3: Any = None) -> None:
        self.root = root
        self.bucket = bucket or None
        self.prefix = prefix or ""
        self._s3 = s3

    def load(self, name: str) -> SqlBatch:
        return self.load_s3(name) if is_s3_uri(name) else load_batch(name, self.root)

    def check_s3_uri(self, uri: str) -> tuple[str, str]:
        """The (bucket, key) of an allowed URI, or SqlFileError saying why not."""
        match = _S3_URI.match(uri)
        if not match:
            raise SqlFileError(f"{uri!r} is not an s3://bucket/key.sql URI")
        bucket, key = match["bucket"], match["key"]
        if not self.bucket:
            raise SqlFileError("SQL from S3 is not enabled (deploy with the SqlBucket parameter)")
        if bucket != self.bucket or not key.startswith(self.prefix):
            raise SqlFileError(f"{uri!r} is outside s3://{self.bucket}/{self.prefix}")
        if ".." in PurePosixPath(key).parts or not key.lower().endswith(".sql"):
            raise SqlFileError(f"{uri!r} must name a .sql object without '..'")
        return bucket, key

    def load_s3(self, uri: str) -> SqlBatch:
        bucket, key = self.check_s3_uri(uri)
        s3 = self._s3 or boto3.client("s3")
        try:
            obj = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{MAX_SQL_BYTES}")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "InvalidRange":  # a range read of an empty object
                return parse_batch(uri, "")
            if code in ("NoSuchKey", "NoSuchBucket", "404"):
                raise SqlFileError(f"{uri}: no such object") from None
            raise
        data = obj["Body"].read(MAX_SQL_BYTES + 1)
        if len(data) > MAX_SQL_BYTES:
            raise SqlFileError(f"{uri}: more than Redshift's {MAX_SQL_BYTES} bytes of SQL")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SqlFileError(f"{uri}: not valid UTF-8 (byte {exc.start})") from None
        return parse_batch(uri, text)
