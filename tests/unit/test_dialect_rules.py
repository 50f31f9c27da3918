"""The rules catalog is executable and docs/SQL-COMPATIBILITY.md is its output, not a copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsbatch.local.dialect import UnsupportedSql, translate
from rsbatch.local.dialect.docs import render
from rsbatch.local.dialect.provided import provides_collation
from rsbatch.local.dialect.rules import EMULATED, REFUSED, RULES, SUPPORTED, TRANSLATED, Rule

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.construct[:40])
def test_every_rule_does_what_the_documentation_says(rule: Rule) -> None:
    assert rule.status in {SUPPORTED, TRANSLATED, EMULATED, REFUSED}
    needs_compat = "case_insensitive" in rule.example and not provides_collation("case_insensitive")
    if rule.status == REFUSED or needs_compat:
        with pytest.raises(UnsupportedSql):
            translate(rule.example)
        return
    translation = translate(rule.example)
    if rule.status == SUPPORTED or rule.construct == "TRUNCATE":
        assert not translation.changed
    else:
        assert translation.changed, f"{rule.construct}: {rule.example!r} ran verbatim"


def test_compatibility_page_is_the_generated_output() -> None:
    committed = (ROOT / "docs" / "SQL-COMPATIBILITY.md").read_text("utf-8")
    assert committed == render(), (
        "regenerate: python -m rsbatch.local.dialect.docs > docs/SQL-COMPATIBILITY.md"
    )
