"""Human output helpers: tables and the side-by-side panels of `rsbatch show`."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rsbatch.output import panels, results, table
from rsbatch_core.models import ResultRows


def test_table_aligns_columns() -> None:
    assert table(["run", "status"], [("r-1", "WAITING"), ("r-22", None)]).splitlines() == [
        "RUN   STATUS",
        "r-1   WAITING",
        "r-22",
    ]


def test_panels_side_by_side_when_wide_and_stacked_when_narrow(monkeypatch: pytest.MonkeyPatch) -> None:
    sections: list[tuple[str, Sequence[tuple[str, str | None]]]] = [
        ("A", [("k", "v")]),
        ("B", [("key", "value"), ("x", None)]),
    ]
    monkeypatch.setenv("COLUMNS", "200")
    wide = panels(sections).splitlines()
    assert wide[0].startswith("A") and "| B" in wide[0] and len(wide) == 3
    monkeypatch.setenv("COLUMNS", "20")
    assert panels(sections).splitlines() == ["A", "  k           v", "B", "  key         value", "  x"]


def test_results_are_shown_per_statement_with_what_was_cut() -> None:
    kept = [
        ResultRows(columns=["n"], rows=[[1]], total_rows=1, truncated=False, index=1),
        ResultRows(columns=["a", "b"], rows=[["x", None]], total_rows=3, truncated=True, index=3),
        ResultRows(columns=[], rows=[], total_rows=7, truncated=True, index=4),
    ]
    assert results(kept).splitlines() == [
        "result of statement 1",
        "N",
        "1",
        "result of statement 3 (first 1 of 3)",
        "A  B",
        "x",
        "result of statement 4: 7 row(s), none kept (--max-rows / size budget)",
    ]
