"""``SET query_group`` / ``RESET query_group``: PostgreSQL has no WLM, so a custom setting stands in.

``rsbatch.query_group`` is accepted, harmless, transactional and cleared with the session; the
emulator records the label (:func:`query_group_setting`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rsbatch.local.dialect.lexer import STRING, WORD
from rsbatch.local.dialect.statement import Statement

QUERY_GROUP = "QUERY_GROUP"
QUERY_GROUP_SETTING = "rsbatch.query_group"


@dataclass(frozen=True, slots=True)
class QueryGroup:
    """What a ``SET query_group`` / ``RESET query_group`` statement sets (``label`` None: reset)."""

    label: str | None


def query_group_name(st: Statement) -> int:
    """Index of ``query_group`` if the statement sets or resets it, else -1."""
    head = st.word(0)
    if head == "RESET":
        at = 1
    elif head == "SET":
        at = 2 if st.word(1) in {"SESSION", "LOCAL"} else 1
    else:
        return -1
    return at if st.word(at) == QUERY_GROUP else -1


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
