"""One statement's significant tokens and the edits the token rules make to its text.

Edits replace token ranges and leave everything else (comments, spacing, literals) as
written, so a statement with one Redshift-only word differs from its original by that word.
"""

from __future__ import annotations

from dataclasses import dataclass

from rsbatch.local.dialect.lexer import Token, lex, significant


@dataclass(slots=True)
class Edit:
    start: int
    end: int
    text: str


class Statement:
    """The tokens of one statement, with the helpers the rules share."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.sig: list[Token] = significant(lex(sql))
        self.edits: list[Edit] = []
        # Constructs only a parse tree can rewrite, by name (they route the statement to sqlglot).
        self.needs_ast: list[str] = []
        # What the token rules did that a reader should know (``rsbatch sql check`` prints it).
        self.notes: list[str] = []

    def word(self, i: int) -> str:
        return self.sig[i].upper if 0 <= i < len(self.sig) else ""

    def text(self, i: int) -> str:
        return self.sig[i].text if 0 <= i < len(self.sig) else ""

    def kind(self, i: int) -> str:
        return self.sig[i].kind if 0 <= i < len(self.sig) else ""

    def words(self) -> set[str]:
        return {t.upper for t in self.sig if t.upper}

    def is_call(self, i: int) -> bool:
        """Token ``i`` is an unqualified function name: ``NAME(`` not preceded by ``.``."""
        return self.text(i + 1) == "(" and self.text(i - 1) != "."

    def closing(self, i: int) -> int:
        """Index of the ``)`` matching the ``(`` at ``i`` (or the last token)."""
        depth = 0
        for j in range(i, len(self.sig)):
            if self.sig[j].text == "(":
                depth += 1
            elif self.sig[j].text == ")":
                depth -= 1
                if depth == 0:
                    return j
        return len(self.sig) - 1

    def arguments(self, open_paren: int) -> list[tuple[int, int]]:
        """Top-level argument ranges (inclusive token indexes) of the call at ``open_paren``."""
        close = self.closing(open_paren)
        ranges: list[tuple[int, int]] = []
        depth = 0
        first = open_paren + 1
        for j in range(open_paren + 1, close):
            t = self.sig[j].text
            if t in ("(", "["):
                depth += 1
            elif t in (")", "]"):
                depth -= 1
            elif t == "," and depth == 0:
                ranges.append((first, j - 1))
                first = j + 1
        if first < close:
            ranges.append((first, close - 1))
        return ranges

    def source(self, first: int, last: int) -> str:
        return self.sql[self.sig[first].start : self.sig[last].end]

    def replace(self, first: int, last: int, text: str, eat_space: bool = False) -> None:
        """Replace tokens ``first..last``; ``eat_space`` also removes the blank before them."""
        start = self.sig[first].start
        if eat_space:
            while start > 0 and self.sql[start - 1].isspace():
                start -= 1
        self.edits.append(Edit(start, self.sig[last].end, text))

    def insert_before(self, i: int, text: str) -> None:
        start = self.sig[i].start
        self.edits.append(Edit(start, start, text))

    def edited(self) -> str:
        out = []
        pos = 0
        for edit in sorted(self.edits, key=lambda e: (e.start, e.end)):
            if edit.start < pos:
                continue  # overlapping rule hit: the first edit wins
            out.append(self.sql[pos : edit.start])
            out.append(edit.text)
            pos = edit.end
        out.append(self.sql[pos:])
        return "".join(out).rstrip()
