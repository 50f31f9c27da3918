"""Token rules: renames, syntax fixes and routing marks that keep the rest of the text as written.

Each rule looks at one token and its neighbours. What only a parse tree can rewrite is not
done here: the rule names the construct in ``Statement.needs_ast`` and the statement goes
through :mod:`rsbatch.local.dialect.via_sqlglot` after these edits.
"""

from __future__ import annotations

from rsbatch.local.dialect.ddl import rewrite_identity, strip_table_attributes
from rsbatch.local.dialect.lexer import NUMBER, QIDENT, STRING, WORD
from rsbatch.local.dialect.provided import provided, provides_call, provides_collation, provides_function
from rsbatch.local.dialect.query_group import CUSTOM_SETTINGS, setting_name
from rsbatch.local.dialect.statement import Statement
from rsbatch.local.dialect.tables import (
    AST_FUNCTIONS,
    DATE_ARITHMETIC,
    DATE_PART_FUNCTIONS,
    GETDATE,
    MAX_LENGTHS,
    PSEUDO_TABLES,
    RENAMED_FUNCTIONS,
    SYSDATE,
    TABLE_NAME_CONTEXT,
    TEMP_TABLE_CONTEXT,
    TYPE_NAMES,
)

# Keywords after which an operand starts: ``#`` there cannot be binary XOR.
_KEYWORDS_BEFORE_OPERAND = frozenset(
    {"SELECT", "WHERE", "AND", "OR", "NOT", "BY", "WHEN", "THEN", "ELSE", "CASE", "IN", "AS", "HAVING"}
    | {"DISTINCT", "SET", "RETURNING", "USING"}
)


# Keywords a name follows in DDL (the name is not a type even if it spells one).
_NAME_KEYWORDS = frozenset(
    {"TABLE", "EXISTS", "VIEW", "COLUMN", "ADD", "CONSTRAINT", "INDEX", "SCHEMA", "RENAME"}
)


def is_create_table(st: Statement) -> bool:
    return st.word(0) == "CREATE" and bool({"TABLE", "MATERIALIZED"} & {st.word(j) for j in range(1, 6)})


def _is_type_position(st: Statement, i: int) -> bool:
    """Token ``i`` names a type: after a column name, ``::`` or CAST's ``AS``; not qualified."""
    if st.text(i - 1) == "." or st.text(i + 1) == ".":
        return False
    if st.text(i - 1) == "::" or (st.word(i - 1) == "AS" and st.text(i + 1) in {")", "("}):
        return True
    if st.word(i - 1) in _NAME_KEYWORDS:  # CREATE TABLE super …, ADD COLUMN nchar …: a name
        return False
    return st.kind(i - 1) in {WORD, QIDENT} and st.word(0) in {"CREATE", "ALTER"}


def _temp_table(st: Statement, i: int) -> bool:
    """``#name`` at ``i`` is a Redshift temporary table (not ``a # b``, bitwise XOR)."""
    sig = st.sig
    if st.text(i) != "#" or i + 1 >= len(sig) or sig[i + 1].kind != WORD or sig[i + 1].start != sig[i].end:
        return False
    before = sig[i - 1] if i > 0 else None
    if before is None or before.upper in TEMP_TABLE_CONTEXT | _KEYWORDS_BEFORE_OPERAND:
        return True
    return before.kind == "op" and before.text not in {")", "]"}


def _rewrite_temp_table(st: Statement, i: int) -> None:
    name = st.text(i + 1).lower()
    st.replace(i, i + 1, f'"#{name}"')
    if st.word(i - 1) == "TABLE" and st.word(0) == "CREATE" and not {"TEMP", "TEMPORARY"} & st.words():
        st.insert_before(i - 1, "TEMP ")
    elif st.word(i - 1) == "INTO" and st.word(0) in {"SELECT", "WITH"}:
        st.insert_before(i, "TEMP ")


def _date_part_argument(st: Statement, i: int) -> None:
    """``DATE_PART(minute, ts)``: Redshift's unquoted part becomes PostgreSQL's string ``'minute'``."""
    if st.kind(i + 2) == WORD and st.text(i + 3) == ",":
        st.replace(i + 2, i + 2, f"'{st.text(i + 2).lower()}'")


def _collate_function(st: Statement, i: int, args: list[tuple[int, int]]) -> None:
    """Redshift's ``COLLATE(s, 'case_insensitive' | 'case_sensitive')`` → citext, or the default collation."""
    (first, last), (name_at, _) = args
    name = st.text(name_at).strip("'").lower()
    value = st.source(first, last)
    st.replace(
        i,
        st.closing(i + 1),
        f"CAST({value} AS CITEXT)" if name == "case_insensitive" else f'({value} COLLATE "default")',
    )


_CHARACTER_TYPES = frozenset(
    {"VARCHAR", "CHAR", "CHARACTER", "TEXT", "NVARCHAR", "NCHAR", "BPCHAR", "VARYING"}
)


def _case_insensitive_clause(st: Statement, i: int) -> None:
    """``COLLATE case_insensitive`` → citext, the compat layer's stand-in for the collation.

    The embedded PostgreSQL has no ICU, so no case-insensitive collation can exist
    (compat ``40_collation.sql``); citext compares ignoring case, and the compat layer's
    text/citext operators make one citext operand enough, as one collated operand is in
    Redshift. In a column definition the character type becomes ``CITEXT`` (its length is
    not enforced); in an expression the clause becomes ``::CITEXT``.
    """
    at = i - 1
    if st.text(at) == ")":
        depth = 0
        while at >= 0:
            depth += {")": 1, "(": -1}.get(st.text(at), 0)
            if depth == 0:
                break
            at -= 1
        at -= 1
    if st.word(at) == "VARYING" and st.word(at - 1) == "CHARACTER":
        at -= 1
    if st.word(0) in {"CREATE", "ALTER"} and st.word(at) in _CHARACTER_TYPES and at >= 0:
        start, end = st.sig[at].start, st.sig[i + 1].end
        st.edits = [e for e in st.edits if not (start <= e.start and e.end <= end)]
        st.replace(at, i + 1, "CITEXT")
    else:
        st.replace(i, i + 1, "::CITEXT", eat_space=True)


def _navigation_marks(st: Statement) -> None:
    """Mark SUPER navigation (``c[0]``, ``c.a.b``, ``c.a`` with ``c`` not a table of the statement)."""
    sig = st.sig
    standalone: set[str] = set()
    chains: list[tuple[int, int]] = []
    i = 0
    while i < len(sig):
        if sig[i].kind in {WORD, QIDENT} and st.text(i - 1) != ".":
            last = i
            while st.text(last + 1) == "." and st.kind(last + 2) in {WORD, QIDENT}:
                last += 2
            if last == i:
                standalone.add(sig[i].text.strip('"').lower())
            else:
                standalone.add(sig[last].text.strip('"').lower())
                if st.text(last + 1) != "(" and st.word(i - 1) not in TABLE_NAME_CONTEXT:
                    chains.append((i, last))
            i = last + 1
            continue
        subscripted = i > 0 and (sig[i - 1].kind in {WORD, QIDENT} or sig[i - 1].text in {"]", ")"})
        if sig[i].text == "[" and subscripted and st.word(i - 1) != "ARRAY":
            st.needs_ast.append("SUPER navigation")
            return
        i += 1
    for first, last in chains:
        qualifier = sig[first].text.strip('"').lower()
        if qualifier.upper() in PSEUDO_TABLES:
            continue
        if last - first >= 4 or qualifier not in standalone:
            st.needs_ast.append("SUPER navigation")
            return


_CLAUSES = frozenset({"SELECT", "FROM", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "ON", "JOIN", "UNION"})


def _unnest_marks(st: Statement) -> None:
    """Mark PartiQL unnesting: ``UNPIVOT``, or ``, x.arr`` in a FROM list, ``x`` an earlier item."""
    clause: dict[int, str] = {}
    seen: set[str] = set()
    depth = 0
    for i, token in enumerate(st.sig):
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif token.upper == "UNPIVOT":
            st.needs_ast.append("UNPIVOT")
            return
        elif token.upper in _CLAUSES:
            clause[depth] = token.upper
        elif (
            token.text == ","
            and clause.get(depth) in {"FROM", "ON", "JOIN"}
            and st.text(i + 2) == "."
            and st.text(i + 1).strip('"').lower() in seen
        ):
            st.needs_ast.append("SUPER unnesting")
            return
        if token.kind in {WORD, QIDENT} and st.text(i + 1) != "." and st.text(i - 1) != ".":
            seen.add(token.text.strip('"').lower())


def _lateral_alias_marks(st: Statement) -> None:
    """Mark a SELECT list that refers to one of its own earlier aliases."""
    aliases: set[str] = set()
    depth_of_select: list[int] = []
    depth = 0
    for i, token in enumerate(st.sig):
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        word = token.upper
        if word == "SELECT":
            depth_of_select.append(depth)
            aliases = set()
        elif word == "FROM" and depth_of_select and depth_of_select[-1] == depth:
            depth_of_select.pop()
            aliases = set()
        elif not depth_of_select:
            continue
        elif word == "AS" and st.kind(i + 1) == WORD and depth == depth_of_select[-1]:
            aliases.add(st.text(i + 1).lower())
        elif (
            token.kind == WORD
            and token.text.lower() in aliases
            and st.word(i - 1) != "AS"
            and st.text(i - 1) not in {".", "::"}
            and st.text(i + 1) not in {"(", "."}
        ):
            st.needs_ast.append("lateral column alias")
            return


def rewrite_tokens(st: Statement) -> list[int]:
    """Apply the token rules to ``st``; the indexes of plain literals that hold a backslash.

    Those literals become ``E'…'`` strings unless the statement is reprinted by sqlglot
    (which reads Redshift's backslash escapes itself).
    """
    if (at := setting_name(st)) >= 0 and st.word(at) in CUSTOM_SETTINGS:
        st.replace(at, at, CUSTOM_SETTINGS[st.word(at)])  # a SET's value is a literal: nothing else to do
        return []
    head = st.word(0)
    ddl = head in {"CREATE", "ALTER"}
    if is_create_table(st):
        strip_table_attributes(st)
    if head == "ANALYZE":
        for i in range(len(st.sig) - 1):
            if st.word(i) in {"PREDICATE", "ALL"} and st.word(i + 1) == "COLUMNS":
                st.replace(i, i + 1, "", eat_space=True)
                st.notes.append(f"ANALYZE {st.word(i)} COLUMNS: all columns are analyzed locally")
    backslashed: list[int] = []
    date_arithmetic = {name for name in DATE_ARITHMETIC if not provides_function(name)}
    type_names = {k: v for k, v in TYPE_NAMES.items() if k not in provided("type")}
    for i, token in enumerate(st.sig):
        if token.kind == QIDENT and token.text != token.text.lower():
            st.replace(i, i, token.text.lower())  # enable_case_sensitive_identifier is off
            continue
        if token.kind == STRING and token.text.startswith("'") and "\\" in token.text:
            backslashed.append(i)
            continue
        if _temp_table(st, i):
            _rewrite_temp_table(st, i)
            continue
        word = token.upper
        if not word:
            continue
        if word == "COLLATE" and st.is_call(i) and len(args := st.arguments(i + 1)) == 2:
            _collate_function(st, i, args)
        elif (
            word == "COLLATE"
            and st.word(i + 1) == "CASE_INSENSITIVE"
            and provides_collation("CASE_INSENSITIVE")
        ):
            _case_insensitive_clause(st, i)
        elif word in RENAMED_FUNCTIONS and st.is_call(i):
            st.replace(i, i, RENAMED_FUNCTIONS[word])
        elif word == "GETDATE" and st.is_call(i) and st.text(i + 2) == ")":
            st.replace(i, i + 2, GETDATE)
        elif word == "SYSDATE" and st.text(i + 1) != "(" and st.text(i - 1) != ".":
            st.replace(i, i, SYSDATE)
        elif word == "APPROXIMATE" and st.word(i + 1) in {"COUNT", "PERCENTILE_DISC"}:
            st.replace(i, i, "", eat_space=True)
        elif word == "IDENTITY" and ddl:
            rewrite_identity(st, i)
        elif (
            word == "MAX"
            and st.text(i - 1) == "("
            and st.text(i + 1) == ")"
            and st.word(i - 2) in MAX_LENGTHS
        ):
            st.replace(i, i, MAX_LENGTHS[st.word(i - 2)])
        elif word in type_names and _is_type_position(st, i):
            st.replace(i, i, type_names[word])
        elif word in date_arithmetic and st.is_call(i):
            st.needs_ast.append(word)
        elif word in DATE_PART_FUNCTIONS and st.is_call(i):
            _date_part_argument(st, i)
        elif word == "CONVERT" and st.is_call(i) and len(st.arguments(i + 1)) == 2:
            st.needs_ast.append(word)  # 3-argument convert() is PostgreSQL's own
        elif word == "MEDIAN" and provides_call(word) and st.is_call(i):
            if st.word(st.closing(i + 1) + 1) == "OVER":
                st.needs_ast.append("MEDIAN … OVER")  # the compat aggregate, OVER checked as Redshift does
        elif word in AST_FUNCTIONS and word != "CONVERT" and not provides_call(word) and st.is_call(i):
            st.needs_ast.append(word)
        elif word == "DECODE" and st.is_call(i) and len(st.arguments(i + 1)) >= 3:
            st.needs_ast.append(word)  # 2-argument decode() is PostgreSQL's own
        elif word == "QUALIFY" and st.text(i - 1) != "." and st.text(i + 1) not in {"(", ".", ","}:
            st.needs_ast.append(word)
        elif (
            word == "TOP"
            and st.word(i - 1) in {"SELECT", "DISTINCT", "ALL"}
            and st.sig[i + 1 : i + 2]
            and (st.sig[i + 1].kind == NUMBER or st.text(i + 1) == "(")
        ):
            st.needs_ast.append("TOP")
    if head in {"SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "CREATE"}:
        _navigation_marks(st)
        _lateral_alias_marks(st)
        _unnest_marks(st)
    return backslashed
