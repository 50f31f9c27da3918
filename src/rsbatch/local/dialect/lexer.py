"""A small Redshift-aware lexer: where quotes, comments, dollar bodies, words and ``:name`` start and end.

The shim edits statements token by token so that edits never touch literal text. Plain
``'…'`` literals are read as Redshift reads them: a backslash escapes the next character
(Redshift's LIKE docs: "the default escape character is two backslashes ('\\\\')",
https://docs.aws.amazon.com/redshift/latest/dg/r_patternmatching_condition_like.html), so
``'it\\'s'`` is one literal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_WS_RE = re.compile(r"\s+")
_WORD_RE = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*")
_NUMBER_RE = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_PARAM_RE = re.compile(r":([A-Za-z0-9_]+)")
_DOLLAR_TAG_RE = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")

WS, COMMENT, STRING, QIDENT, WORD, NUMBER, PARAM, OP = (
    "ws",
    "comment",
    "string",
    "qident",
    "word",
    "number",
    "param",
    "op",
)


@dataclass(frozen=True, slots=True)
class Token:
    """One lexeme of a statement: its kind, its text and where it sits."""

    kind: str
    text: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        """The word in upper case ("" for anything but an unquoted word)."""
        return self.text.upper() if self.kind == WORD else ""

    @property
    def param(self) -> str:
        return self.text[1:]


def _scan_quoted(sql: str, start: int, quote: str, backslash: bool) -> int:
    """End of a quoted run starting at ``start`` (the quote); doubled quotes continue it."""
    i = start + 1
    n = len(sql)
    while i < n:
        c = sql[i]
        if backslash and c == "\\":
            i += 2
            continue
        if c == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _scan_block_comment(sql: str, start: int) -> int:
    depth = 0
    i = start
    n = len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def lex(sql: str) -> list[Token]:
    """Every token of ``sql``, whitespace and comments included (their texts join back to ``sql``)."""
    tokens: list[Token] = []
    i = 0
    n = len(sql)
    while i < n:
        c = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        kind = OP
        end = i + 1
        if space := _WS_RE.match(sql, i):
            kind, end = WS, space.end()
        elif c == "-" and nxt == "-":
            newline = sql.find("\n", i)
            kind, end = COMMENT, n if newline < 0 else newline
        elif c == "/" and nxt == "*":
            kind, end = COMMENT, _scan_block_comment(sql, i)
        elif c == "'":
            kind, end = STRING, _scan_quoted(sql, i, "'", backslash=True)
        elif c in "eE" and nxt == "'":
            kind, end = STRING, _scan_quoted(sql, i + 1, "'", backslash=True)
        elif c in "bBxXnN" and nxt == "'":
            kind, end = STRING, _scan_quoted(sql, i + 1, "'", backslash=False)
        elif c == '"':
            kind, end = QIDENT, _scan_quoted(sql, i, '"', backslash=False)
        elif c == "$" and (tag := _DOLLAR_TAG_RE.match(sql, i)):
            close = sql.find(tag.group(), tag.end())
            kind, end = STRING, n if close < 0 else close + len(tag.group())
        elif c == ":" and nxt == ":":
            end = i + 2
        elif c == ":" and (param := _PARAM_RE.match(sql, i)):
            kind, end = PARAM, param.end()
        elif word := _WORD_RE.match(sql, i):
            kind, end = WORD, word.end()
        elif number := _NUMBER_RE.match(sql, i):
            kind, end = NUMBER, number.end()
        tokens.append(Token(kind, sql[i:end], i, end))
        i = end
    return tokens


def significant(tokens: Sequence[Token]) -> list[Token]:
    """The tokens that carry meaning: no whitespace, no comments."""
    return [t for t in tokens if t.kind not in (WS, COMMENT)]
