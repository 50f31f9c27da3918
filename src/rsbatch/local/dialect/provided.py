"""What the local warehouse's ``redshift`` schema provides, so the shim leaves those calls alone.

The compat layer (``rsbatch.local.compat``) installs Redshift's functions, views and the
``case_insensitive`` collation into PostgreSQL and lists them in ``ENTRIES``. A function it
provides is *called*, not rewritten; until that layer is present, the shim keeps its own
rewrites (or refusals) for the same names. Entries may be objects with attributes or
mappings with the same keys (``name``, ``kind``, ``status``, ``difference``, ``source_url``).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CompatEntry:
    """One thing the compat layer installs, as the documentation table shows it."""

    name: str
    kind: str
    status: str
    difference: str
    source_url: str


def _field(entry: object, key: str) -> str:
    value = entry.get(key) if isinstance(entry, Mapping) else getattr(entry, key, None)
    return "" if value is None else str(value)


@functools.cache
def compat_entries() -> tuple[CompatEntry, ...]:
    """The compat layer's entries, or none if it is not installed (yet)."""
    try:
        module = importlib.import_module("rsbatch.local.compat")
    except ImportError:
        return ()
    return tuple(
        CompatEntry(*(_field(entry, key) for key in ("name", "kind", "status", "difference", "source_url")))
        for entry in getattr(module, "ENTRIES", ())
    )


def _bare_name(name: str) -> str:
    """``DATEADD(part, n, ts)`` or ``redshift.dateadd`` → ``DATEADD``."""
    return name.split("(", 1)[0].rsplit(".", 1)[-1].strip().upper()


@functools.cache
def provided(kind: str) -> frozenset[str]:
    """Upper-case names of the compat layer's entries of ``kind`` (function, view, collation …)."""
    return frozenset(_bare_name(e.name) for e in compat_entries() if e.kind.lower().startswith(kind))


def provides_function(name: str) -> bool:
    return name.upper() in provided("function")


def called() -> frozenset[str]:
    """Names the compat layer provides as functions or aggregates: the shim leaves these calls as written."""
    return provided("function") | provided("aggregate")


def provides_call(name: str) -> bool:
    return name.upper() in called()


def provides_collation(name: str) -> bool:
    return name.upper() in provided("collation")
