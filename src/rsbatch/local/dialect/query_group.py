"""Redshift session settings PostgreSQL lacks: custom settings stand in for them.

``SET query_group``: PostgreSQL has no WLM, so ``rsbatch.query_group`` is set instead —
accepted, harmless, transactional and cleared with the session; the emulator records the
label (:func:`query_group_setting`). ``SET enable_case_sensitive_identifier``: its default
(off) is what the shim does (quoted identifiers fold); turning it on is refused by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from rsbatch.local.dialect.lexer import STRING, WORD
from rsbatch.local.dialect.statement import Statement

QUERY_GROUP = "QUERY_GROUP"
QUERY_GROUP_SETTING = "rsbatch.query_group"
CASE_SENSITIVE_IDENTIFIER = "ENABLE_CASE_SENSITIVE_IDENTIFIER"
#: Redshift setting → the custom PostgreSQL setting that stands in for it.
CUSTOM_SETTINGS = {
    QUERY_GROUP: QUERY_GROUP_SETTING,
    CASE_SENSITIVE_IDENTIFIER: "rsbatch.enable_case_sensitive_identifier",
}


@dataclass(frozen=True, slots=True)
class QueryGroup:
    """What a ``SET query_group`` / ``RESET query_group`` statement sets (``label`` None: reset)."""

    label: str | None


def setting_name(st: Statement) -> int:
    """Index of the setting a SET / RESET statement names, else -1."""
    head = st.word(0)
    if head == "RESET":
        return 1
    if head == "SET":
        return 2 if st.word(1) in {"SESSION", "LOCAL"} else 1
    return -1


def setting_value(st: Statement, at: int) -> str:
    """The value a SET gives the setting at ``at``, upper case and unquoted ("" for RESET)."""
    if not (st.word(at + 1) == "TO" or st.text(at + 1) == "="):
        return ""
    return st.text(at + 2).strip("'").upper()


def query_group_name(st: Statement) -> int:
    """Index of ``query_group`` if the statement sets or resets it, else -1."""
    at = setting_name(st)
    return at if at >= 0 and st.word(at) == QUERY_GROUP else -1


def query_group_setting(sql: str) -> QueryGroup | None:
    """The query group ``sql`` sets (or resets), or None if it is not about query groups.

    A quoted label is taken as written; an unquoted one is folded to lower case, as
    PostgreSQL folds identifiers; ``DEFAULT`` (or ``RESET``) resets.
    """
    if QUERY_GROUP not in sql.upper():
        return None
    st = Statement(sql)
    at = query_group_name(st)
    if at < 0:
        return None
    value = [t for t in st.sig[at + 2 :] if t.text != ";"]
    if not (st.word(at + 1) == "TO" or st.text(at + 1) == "="):
        value = []
    if st.word(0) == "RESET" or not value or value[0].upper == "DEFAULT":
        return QueryGroup(None)
    first = value[0]
    if first.kind == STRING and first.text.startswith("'"):
        return QueryGroup(first.text[1:-1].replace("''", "'"))
    if first.kind == WORD:
        return QueryGroup(first.text.lower())
    return QueryGroup("".join(t.text for t in value))
