"""Load a SQL batch from the SQL root, refusing anything unsafe or over Redshift's limits.

Every refusal happens here, before anything is submitted, with a message that
names the file and the rule it broke.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import sqlparse

from rsbatch_core.errors import SqlFileError

MAX_STATEMENTS = 40
MAX_SQL_BYTES = 100 * 1024
MAX_NAME_LENGTH = 512


@dataclass(frozen=True)
class SqlBatch:
    """The statements of one SQL file, ready for BatchExecuteStatement."""

    name: str
    statements: tuple[str, ...]

    @property
    def size_bytes(self) -> int:
        return sum(len(s.encode("utf-8")) for s in self.statements)


def resolve(name: str, root: Path) -> Path:
    """Map a relative name to a file inside `root`, or refuse it."""
    if not isinstance(name, str) or not name.strip():
        raise SqlFileError("sql_file is required: a path relative to the SQL root, e.g. query.sql")
    if len(name) > MAX_NAME_LENGTH or "\x00" in name:
        raise SqlFileError(f"sql_file is not a usable name (longer than {MAX_NAME_LENGTH} or NUL)")
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or (pure.parts and ":" in pure.parts[0]):
        raise SqlFileError(f"sql_file {name!r} must be relative to the SQL root")
    if ".." in pure.parts:
        raise SqlFileError(f"sql_file {name!r} must not contain '..'")
    if pure.suffix.lower() != ".sql":
        raise SqlFileError(f"sql_file {name!r} must end in .sql")
    root_real = root.resolve()
    path = (root_real / pure).resolve()
    if not path.is_relative_to(root_real):
        raise SqlFileError(f"sql_file {name!r} resolves outside the SQL root")
    if not path.is_file():
        raise SqlFileError(f"sql_file {name!r} not found under the SQL root")
    return path


def split_statements(text: str) -> list[str]:
    """Split with sqlparse; drop empty pieces and pieces that are only comments."""
    statements = []
    for piece in sqlparse.split(text):
        piece = piece.strip()
        if not piece or piece == ";":
            continue
        if not sqlparse.format(piece, strip_comments=True).strip().strip(";").strip():
            continue
        statements.append(piece)
    return statements


def parse_batch(name: str, text: str) -> SqlBatch:
    """Split and check the limits of SQL text already read."""
    size = len(text.encode("utf-8"))
    if size > MAX_SQL_BYTES:
        raise SqlFileError(f"{name}: {size} bytes of SQL, more than Redshift's {MAX_SQL_BYTES}")
    if "\x00" in text:  # sqlparse would read it as an unterminated string, far from the cause
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise SqlFileError(f"{name}: a NUL byte on line {line}; a SQL file is text (is it binary?)")
    statements = split_statements(text)
    if not statements:
        raise SqlFileError(f"{name}: no SQL statements (empty or only comments)")
    if len(statements) > MAX_STATEMENTS:
        raise SqlFileError(
            f"{name}: {len(statements)} statements, more than the {MAX_STATEMENTS} a Redshift batch allows"
        )
    return SqlBatch(name=name, statements=tuple(statements))


def load_batch(name: str, root: Path) -> SqlBatch:
    """Resolve, read (UTF-8, size-checked before reading) and split one SQL file."""
    path = resolve(name, root)
    size = path.stat().st_size
    if size > MAX_SQL_BYTES:
        raise SqlFileError(f"{name}: {size} bytes of SQL, more than Redshift's {MAX_SQL_BYTES}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SqlFileError(f"{name}: not valid UTF-8 (byte {exc.start})") from None
    return parse_batch(name, text)


def check_preamble(batches: list[SqlBatch], preamble: tuple[str, ...]) -> None:
    """The SET statements rsbatch puts first (statement_timeout, query_group) count toward the limit."""
    for batch in batches:
        if preamble and len(batch.statements) + len(preamble) > MAX_STATEMENTS:
            raise SqlFileError(
                f"{batch.name}: {len(batch.statements)} statements and {len(preamble)} SET statement(s) for "
                f"statement_timeout/query_group are more than the {MAX_STATEMENTS} a Redshift batch allows"
            )
