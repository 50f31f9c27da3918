"""The Redshift compatibility layer of the local warehouse: schema ``redshift`` in PostgreSQL.

What a batch runs locally should give Redshift's answer. Where PostgreSQL and Redshift
differ in a *function* (a name PostgreSQL lacks, or one it types differently, such as
``AVG`` of integers), the difference is closed here, inside PostgreSQL, by objects of the
schema ``redshift`` that the search_path puts ahead of ``pg_catalog``; where they differ in
*syntax*, the SQL shim (:mod:`rsbatch.local.dialect`) rewrites the statement instead.

:data:`ENTRIES` lists every object of the layer with its Redshift documentation page and
how faithful it is; ``docs/SQL-COMPATIBILITY.md`` is generated from it.
:func:`~rsbatch.local.compat.installer.install` puts the layer into a database (the
warehouse calls it for every database it creates or opens).
"""

from __future__ import annotations

from rsbatch.local.compat.catalog import ENTRIES, CompatEntry, Kind, Status
from rsbatch.local.compat.installer import SCHEMA, SEARCH_PATH, InstallResult, install, version

__all__ = [
    "ENTRIES",
    "SCHEMA",
    "SEARCH_PATH",
    "CompatEntry",
    "InstallResult",
    "Kind",
    "Status",
    "install",
    "version",
]
