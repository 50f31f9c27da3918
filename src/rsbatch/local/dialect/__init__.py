"""Redshift → PostgreSQL shim for the local warehouse: every statement the emulator runs passes here.

A statement that uses none of the shim's constructs reaches PostgreSQL **verbatim**; one that
does is translated; a Redshift-only one is refused with :class:`UnsupportedSql` naming the
construct. What is supported, emulated (with which difference) and refused is the table in
``docs/SQL-COMPATIBILITY.md``, generated from :mod:`~rsbatch.local.dialect.rules`
(``python -m rsbatch.local.dialect.docs``). Functions the compat layer installs in the
warehouse (``rsbatch.local.compat``) are called, not rewritten: the shim handles syntax.

One idea per module:

- :mod:`~.lexer` — tokens (quotes, comments, dollar bodies, ``:name``); :mod:`~.statement` — edits;
- :mod:`~.tables` — the names the rules use; :mod:`~.rules` — the documented catalog;
- :mod:`~.rewrites` — token rules; :mod:`~.ddl` — CREATE TABLE; :mod:`~.constraints` — informational
  constraints; :mod:`~.refusals` — refused by name;
- :mod:`~.via_sqlglot` — routing through sqlglot, with :mod:`~.dates`, :mod:`~.aggregates`,
  :mod:`~.windows`, :mod:`~.lateral`, :mod:`~.super_paths` for what sqlglot leaves or breaks;
- :mod:`~.provided` — what the compat layer provides; :mod:`~.errors` — the shim's errors;
- :mod:`~.translate` — the pipeline; :mod:`~.parameters`, :mod:`~.query_group` — the emulator's helpers.
"""

from rsbatch.local.dialect.errors import TranslatedSqlFailed, UnsupportedSql
from rsbatch.local.dialect.parameters import parameter_names, to_pyformat
from rsbatch.local.dialect.query_group import QueryGroup, query_group_setting
from rsbatch.local.dialect.translate import Translation, commits_implicitly, to_postgres, translate

__all__ = [
    "QueryGroup",
    "TranslatedSqlFailed",
    "Translation",
    "UnsupportedSql",
    "commits_implicitly",
    "parameter_names",
    "query_group_setting",
    "to_postgres",
    "to_pyformat",
    "translate",
]
