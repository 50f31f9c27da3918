"""PRIMARY KEY, UNIQUE and FOREIGN KEY / REFERENCES: informational in Redshift, so not enforced locally.

Redshift accepts them but does not enforce them ("not enforced",
https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html): duplicates load
fine. PostgreSQL would enforce them, so the shim cuts them from CREATE TABLE (and turns
ALTER TABLE … ADD into a no-op) and records them in the table's comment: created, not enforced.
"""

from __future__ import annotations

from rsbatch.local.dialect.statement import Statement

_CONSTRAINT_HEADS = {"PRIMARY", "UNIQUE", "FOREIGN", "REFERENCES"}
NOTE_PREFIX = "Redshift informational constraints (created, not enforced): "


def _column_list(st: Statement) -> int:
    """Index of the ``(`` opening a CREATE TABLE's column list, or -1 (CREATE TABLE … AS)."""
    for i in range(2, min(len(st.sig), 12)):
        if st.text(i) == "(":
            return i if st.word(i - 1) not in {"AS"} else -1
        if st.word(i) == "AS":
            return -1
    return -1


def _table_name(st: Statement, open_paren: int) -> str:
    """The name before a CREATE TABLE's column list."""
    first = open_paren - 1
    if st.text(first - 1) == "#":  # a temporary table, renamed "#name" by the token rules
        return f'"#{st.text(first).lower()}"'
    while first - 2 >= 0 and st.text(first - 1) == ".":
        first -= 2
    return _folded(st.source(first, open_paren - 1))


def _folded(name: str) -> str:
    """A table name as the token rules print it: quoted parts fold to lower case."""
    return name.lower() if '"' in name else name


def _column_constraint_end(st: Statement, i: int) -> int:
    """Last token of the column constraint whose keyword is at ``i``."""
    word = st.word(i)
    if word == "PRIMARY":
        return i + 1
    if word == "UNIQUE":
        return i
    last = i + 1  # REFERENCES table[(column)]
    while st.text(last + 1) == ".":
        last += 2
    return st.closing(last + 1) if st.text(last + 1) == "(" else last


def _is_table_constraint(st: Statement, first: int) -> bool:
    at = first + 2 if st.word(first) == "CONSTRAINT" else first
    word = st.word(at)
    return word in {"PRIMARY", "UNIQUE"} or (word == "FOREIGN" and st.word(at + 1) == "KEY")


def _note(recorded: list[str]) -> str:
    return NOTE_PREFIX + "; ".join(recorded)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def informational_constraints(st: Statement) -> str:
    """Cut PRIMARY KEY / UNIQUE / FOREIGN KEY from a CREATE TABLE; the COMMENT recording them.

    Returns ``""`` when the statement declares none.
    """
    open_paren = _column_list(st)
    if open_paren < 0:
        return ""
    items = st.arguments(open_paren)
    recorded: list[str] = []
    for index, (first, last) in enumerate(items):
        if _is_table_constraint(st, first):
            recorded.append(" ".join(st.source(first, last).split()))
            if index > 0:  # with the comma before it
                st.replace(items[index - 1][1] + 1, last, "")
            elif len(items) > 1:
                st.replace(first, items[1][0] - 1, "")
            continue
        column = st.text(first)
        i = first + 1
        while i <= last:
            head = i
            if st.word(i) == "CONSTRAINT" and st.word(i + 2) in _CONSTRAINT_HEADS - {"FOREIGN"}:
                i += 2
            if st.word(i) in _CONSTRAINT_HEADS - {"FOREIGN"} and (
                st.word(i) != "PRIMARY" or st.word(i + 1) == "KEY"
            ):
                end = min(_column_constraint_end(st, i), last)
                recorded.append(f"{column} {' '.join(st.source(i, end).split())}")
                st.replace(head, end, "", eat_space=True)
                i = end + 1
                continue
            i = head + 1
    if not recorded:
        return ""
    return f"COMMENT ON TABLE {_table_name(st, open_paren)} IS {_literal(_note(recorded))}"


def _alter_table_name(st: Statement) -> tuple[str, int]:
    """The table an ALTER TABLE names (as the token rules print it) and the index after it."""
    at = 2
    if st.word(at) == "IF" and st.word(at + 1) == "EXISTS":
        at += 2
    if st.word(at) == "ONLY":
        at += 1
    if st.text(at) == "#":
        return f'"#{st.text(at + 1).lower()}"', at + 2
    first = at
    while st.text(at + 1) == ".":
        at += 2
    return _folded(st.source(first, at)), at + 1


def alter_table_constraints(st: Statement) -> bool:
    """``ALTER TABLE t ADD [CONSTRAINT n] PRIMARY KEY|UNIQUE|FOREIGN KEY …`` → recorded, not created.

    The statement becomes a DO block appending the constraint to the table's comment (where
    CREATE TABLE recorded its own); ``DROP CONSTRAINT n`` gets ``IF EXISTS``, since a
    constraint recorded this way is not in PostgreSQL's catalog. True if it rewrote ``st``
    whole (no other token rule applies then).
    """
    if st.word(0) != "ALTER" or st.word(1) != "TABLE":
        return False
    table, at = _alter_table_name(st)
    if st.word(at) == "DROP" and st.word(at + 1) == "CONSTRAINT" and st.word(at + 2) != "IF":
        st.replace(at + 1, at + 1, "CONSTRAINT IF EXISTS")
        return False  # the other token rules still apply
    if st.word(at) != "ADD" or not _is_table_constraint(st, at + 1):
        return False
    last = len(st.sig) - 1 - (st.text(len(st.sig) - 1) == ";")
    described = " ".join(st.source(at + 1, last).split())
    earlier = f"obj_description({_literal(table)}::regclass, 'pg_class')"
    comment = f"concat_ws('; ', {earlier}, {_literal(_note([described]))})"
    body = f"EXECUTE format('COMMENT ON TABLE %s IS %L', {_literal(table)}, {comment});"
    st.replace(0, last, f"DO $rsbatch$ BEGIN {body} END $rsbatch$")
    st.notes.append("the constraint is informational: recorded in the table comment, not enforced")
    return True
