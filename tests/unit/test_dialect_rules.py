"""The rules catalog is executable and docs/SQL-COMPATIBILITY.md is its output, not a copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rsbatch.local.dialect import UnsupportedSql, translate
from rsbatch.local.dialect import provided as provided_module
from rsbatch.local.dialect.docs import render
from rsbatch.local.dialect.rules import EMULATED, REFUSED, RULES, SUPPORTED, TRANSLATED, Rule


@pytest.fixture
def without_compat(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shim's own rules, as when the compat layer is absent (with it, DATEADD & co. are called)."""
    monkeypatch.setattr(provided_module, "compat_entries", lambda: ())
    provided_module.provided.cache_clear()
    yield
    provided_module.provided.cache_clear()


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.construct[:40])
def test_every_rule_does_what_the_documentation_says(rule: Rule, without_compat: None) -> None:
    assert rule.status in {SUPPORTED, TRANSLATED, EMULATED, REFUSED}
    needs_compat = "case_insensitive" in rule.example  # the compat layer is absent here
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
