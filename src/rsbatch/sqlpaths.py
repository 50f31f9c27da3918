"""SQL files as a user types them: a path to a file (however written), a name under the SQL root, s3://.

The durable function only ever gets a name relative to its SQL root or an
s3:// URI, and `rsbatch_core.sqlfile` keeps refusing anything else. This
module is the CLI's side: it turns `sql/query.sql`, `./sql/query.sql` or an
absolute path into the name the function reads, suggests the closest names
for a typo, and sends a file outside the SQL root to the deployment's SQL
bucket under a content-addressed key (the local stack's S3 folder locally).
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rsbatch_core.errors import SqlFileError
from rsbatch_core.parameters import check_parameters
from rsbatch_core.sqlfile import MAX_SQL_BYTES, SqlBatch, load_batch, parse_batch
from rsbatch_core.sqlsource import is_s3_uri

#: Uploaded files go below the SQL prefix, in a folder of their own.
UPLOAD_FOLDER = "rsbatch-uploads"
#: How many close names an unknown name suggests.
SUGGESTIONS = 3


@dataclass(frozen=True)
class SqlArg:
    """One SQL_FILE argument, resolved: what the function reads, or a local file to upload first."""

    typed: str
    name: str  # a name relative to the SQL root or an s3:// URI ("" while `upload` is pending)
    upload: Path | None = None  # a file outside the SQL root

    @property
    def display(self) -> str:
        return str(self.upload) if self.upload else self.name


def locate(typed: str, *, sql_root: Path, cwd: Path | None = None, strict: bool = True) -> SqlArg:
    """Resolve what the user typed; `strict` (the SQL root is the deployment's) refuses unknown names.

    A path to an existing file wins (relative to `cwd`, `./`, absolute); inside the
    SQL root it becomes the name relative to it, outside it is uploaded. Anything
    else is a name under the SQL root, checked (with suggestions) when `strict`.
    """
    if is_s3_uri(typed):
        return SqlArg(typed=typed, name=typed)
    here = cwd or Path.cwd()
    try:
        path = (here / typed).resolve() if typed.strip() else None
    except (OSError, ValueError):  # NUL bytes, names the OS refuses
        path = None
    if path is not None and path.is_file():
        root = sql_root.resolve()
        if path.is_relative_to(root):
            return SqlArg(typed=typed, name=path.relative_to(root).as_posix())
        return SqlArg(typed=typed, name="", upload=path)
    if strict:
        try:
            load_batch(typed, sql_root)
        except SqlFileError as exc:
            if "not found" in str(exc):
                raise SqlFileError(not_found(typed, sql_root)) from None
            raise
    return SqlArg(typed=typed, name=typed)


def not_found(typed: str, sql_root: Path) -> str:
    """The message for an unknown name: where names are looked up, and the closest ones that exist."""
    known = sorted(p.relative_to(sql_root).as_posix() for p in sql_root.rglob("*.sql") if p.is_file())
    close = difflib.get_close_matches(typed, known, n=SUGGESTIONS, cutoff=0.5)
    if not close:  # `mart.sql` for `reports/mart.sql`: match the file name alone
        by_name = {Path(k).name: k for k in known}
        close = [by_name[n] for n in difflib.get_close_matches(Path(typed).name, by_name, SUGGESTIONS, 0.6)]
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return (
        f"sql_file {typed!r} not found: not a file here ({Path.cwd()}) nor under the SQL root "
        f"{sql_root} (names are relative to it; a path to any .sql file works too){hint}"
    )


def read_local(path: Path) -> tuple[bytes, SqlBatch]:
    """A local file's bytes and its batch, with the limits the function would apply."""
    if path.suffix.lower() != ".sql":
        raise SqlFileError(f"{path}: a SQL file must end in .sql")
    size = path.stat().st_size
    if size > MAX_SQL_BYTES:
        raise SqlFileError(f"{path}: {size} bytes of SQL, more than Redshift's {MAX_SQL_BYTES}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SqlFileError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    return data, parse_batch(str(path), text)


def no_bucket(path: Path) -> str:
    return (
        f"{path} is outside the SQL root and no SQL bucket is configured to upload it to: deploy "
        "with the SqlBucket parameter (stack output SqlBucketName) or set RSBATCH_SQL_BUCKET, "
        "or move the file under the SQL root"
    )


def content_key(data: bytes, prefix: str) -> str:
    """`<prefix>rsbatch-uploads/<sha256>.sql`: the same file is one object, a changed one a new one."""
    base = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
    return f"{base}{UPLOAD_FOLDER}/{hashlib.sha256(data).hexdigest()}.sql"


def upload(path: Path, *, s3: Any, bucket: str | None, prefix: str = "") -> str:
    """PutObject the file under its content-addressed key; the s3:// URI the run reads."""
    if not bucket:
        raise SqlFileError(no_bucket(path))
    data, _ = read_local(path)
    key = content_key(data, prefix)
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/plain; charset=utf-8")
    return f"s3://{bucket}/{key}"


def check_local(args: list[SqlArg], sql_root: Path, parameters: dict[str, str]) -> list[SqlBatch]:
    """Every batch this machine can read (bundled names and files to upload), checked before starting;
    the `:name` parameters too when every batch is known here."""
    batches: list[SqlBatch] = []
    for arg in args:
        if arg.upload:
            batches.append(read_local(arg.upload)[1])
        elif not is_s3_uri(arg.name):
            batches.append(load_batch(arg.name, sql_root))
    if len(batches) == len(args):
        check_parameters(batches, parameters)
    return batches


def run_names(args: list[SqlArg], *, s3: Any, bucket: str | None, prefix: str = "") -> list[str]:
    """What the function is given: names and URIs as they are, files outside the SQL root uploaded."""
    pending = [a.upload for a in args if a.upload]
    if pending and not bucket:  # refuse before uploading any of them
        raise SqlFileError(no_bucket(pending[0]))
    return [upload(a.upload, s3=s3, bucket=bucket, prefix=prefix) if a.upload else a.name for a in args]


def upload_target(target: Any) -> dict[str, Any]:
    """`run_names`' S3 arguments from a `rsbatch.config.Target`."""
    return {"s3": target.session.client("s3"), "bucket": target.sql_bucket, "prefix": target.sql_prefix}
