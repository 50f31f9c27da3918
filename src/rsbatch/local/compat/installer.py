"""Install the Redshift compatibility layer into one database of the local warehouse.

The layer is the schema ``redshift`` (the ``sql/*.sql`` files of this package, run in
name order) and the database's default ``search_path``, which puts ``redshift`` ahead of
``pg_catalog`` so that its functions and aggregates win over PostgreSQL's built-ins of the
same argument types.

``redshift`` is *not* first on the path: the first schema of the search_path is where an
unqualified ``CREATE TABLE`` lands, and user tables must stay in ``public`` (or the user's
own schema), as on Redshift, whose default search_path is ``'$user', public``. PostgreSQL
searches ``pg_catalog`` first only when the path does not name it, so naming it after
``redshift`` is what lets the layer shadow built-ins.

Install is one transaction under an advisory lock (processes sharing a warehouse may
start together), stamped with a hash of the SQL files: a warehouse that already has this
version does nothing; a newer library re-runs every file (each is written to be re-run:
``CREATE OR REPLACE``, or a guard where PostgreSQL has no replace).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

import psycopg
from psycopg import sql

__all__ = ["SCHEMA", "SEARCH_PATH", "InstallResult", "install", "version"]

SCHEMA = "redshift"
SEARCH_PATH = ("$user", "public", SCHEMA, "pg_catalog")
"""The database's default search_path once the layer is installed."""

_STAMP_PREFIX = "rsbatch Redshift compatibility layer "
_LOCK_KEY = 0x72736263  # pg_advisory_xact_lock key, "rsbc": one installer at a time


@dataclass(frozen=True, slots=True)
class InstallResult:
    """What :func:`install` did in one database."""

    database: str
    version: str
    installed: bool  # False: this version was already there


@cache
def _sql_files() -> tuple[tuple[str, str], ...]:
    folder = resources.files(__package__) / "sql"
    files = sorted((f.name, f.read_text("utf-8")) for f in folder.iterdir() if f.name.endswith(".sql"))
    return tuple(files)


@cache
def version() -> str:
    """A hash of the layer's SQL: it changes whenever the library does."""
    digest = hashlib.sha256()
    for name, text in _sql_files():
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def install(*, conninfo: str, database: str) -> InstallResult:
    """Install (or refresh) the layer in the database ``conninfo`` connects to.

    Raises :class:`psycopg.Error` when PostgreSQL refuses (e.g. a role that may not
    create schemas or alter the database); nothing is half-installed then.
    """
    stamp = _STAMP_PREFIX + version()
    path = sql.SQL(", ").join(sql.Identifier(s) for s in SEARCH_PATH)
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        row = conn.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
            (SCHEMA,),
        ).fetchone()
        installed = row is None or row[0] != stamp
        if installed:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
            # A plain path for the files themselves: every name they create is qualified,
            # and SQL-standard bodies bind PostgreSQL's built-ins at creation.
            conn.execute("SET LOCAL search_path = pg_catalog, public")
            for _name, text in _sql_files():
                conn.execute(text.encode())  # no parameters: sent as one multi-statement query
            conn.execute(
                sql.SQL("COMMENT ON SCHEMA {} IS {}").format(sql.Identifier(SCHEMA), sql.Literal(stamp))
            )
        # The database's default path (re-set if someone reset it), for sessions opened from now.
        current = conn.execute(
            "SELECT coalesce('search_path=' || string_agg(quote_ident(s), ', ' ORDER BY n)"
            "                = ANY (SELECT unnest(setconfig) FROM pg_db_role_setting"
            "                        WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database"
            "                                                             WHERE datname = %s)), false)"
            " FROM unnest(%s::text[]) WITH ORDINALITY AS p(s, n)",
            (database, list(SEARCH_PATH)),
        ).fetchone()
        if current is None or not current[0]:
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET search_path = {}").format(sql.Identifier(database), path)
            )
    return InstallResult(database=database, version=version(), installed=installed)
