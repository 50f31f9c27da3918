"""rsbatch_core.results: which statements' rows a run keeps, and the bounds over all of them.

The reads go through the real adapter (`RedshiftData`) on a real boto3 client answered by
botocore's Stubber, so every GetStatementResult(V2) request is checked against the model.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.stub import Stubber

from rsbatch_core.models import ResultRows
from rsbatch_core.redshift import RedshiftData
from rsbatch_core.results import MAX_RESULT_BYTES, kept_results, result_size

STATEMENT = "d9b6c0c9-0747-4bf4-b142-e8883122f766"


def description(*subs: tuple[bool, int], result_format: str = "JSON") -> dict[str, Any]:
    """A FINISHED batch whose sub-statements have (HasResultSet, ResultRows)."""
    return {
        "Id": STATEMENT,
        "Status": "FINISHED",
        "ResultFormat": result_format,
        "SubStatements": [
            {"Id": f"{STATEMENT}:{n}", "HasResultSet": has, "ResultRows": rows}
            for n, (has, rows) in enumerate(subs, start=1)
        ],
    }


def json_page(sub: int, values: list[int], total: int, stubber: Stubber, token: str | None = None) -> None:
    response: dict[str, Any] = {
        "ColumnMetadata": [{"name": "n"}],
        "Records": [[{"longValue": v}] for v in values],
        "TotalNumRows": total,
    }
    if token:
        response["NextToken"] = token
    stubber.add_response("get_statement_result", response, {"Id": f"{STATEMENT}:{sub}"})


def test_last_keeps_only_the_last_statement_and_numbers_it(redshift: RedshiftData, stubber: Stubber) -> None:
    json_page(3, [7, 8], 2, stubber)
    kept = kept_results(
        redshift, description((True, 1), (False, 5), (True, 2)), shift=0, every=False, max_rows=10
    )
    assert [(r.index, r.rows) for r in kept] == [(3, [[7], [8]])]


def test_last_keeps_nothing_when_the_last_statement_returned_no_rows(redshift: RedshiftData) -> None:
    assert kept_results(redshift, description((True, 1), (False, 3)), shift=0, every=False, max_rows=10) == []


def test_all_keeps_every_result_in_order_numbered_as_the_file(
    redshift: RedshiftData, stubber: Stubber
) -> None:
    # Two setup statements (SET statement_timeout, SET query_group) come first: shift -2.
    json_page(3, [1], 1, stubber)
    json_page(5, [2, 3], 2, stubber)
    batch = description((False, 0), (False, 0), (True, 1), (False, 4), (True, 2))
    kept = kept_results(redshift, batch, shift=-2, every=True, max_rows=10)
    assert [(r.index, r.rows, r.truncated) for r in kept] == [(1, [[1]], False), (3, [[2], [3]], False)]


def test_all_shares_one_row_budget_and_lists_what_it_had_no_room_for(
    redshift: RedshiftData, stubber: Stubber
) -> None:
    json_page(1, [1, 2, 3], 3, stubber)
    json_page(2, [4, 5], 4, stubber, token="more")  # 2 rows left of 5: the second page is never read
    kept = kept_results(
        redshift, description((True, 3), (True, 4), (True, 6)), shift=0, every=True, max_rows=5
    )

    assert sum(len(r.rows) for r in kept) == 5
    assert [(r.index, len(r.rows), r.total_rows, r.truncated) for r in kept] == [
        (1, 3, 3, False),
        (2, 2, 4, True),
        (3, 0, 6, True),  # over the budget: its count only, no read
    ]


def test_all_shares_one_byte_budget(redshift: RedshiftData, stubber: Stubber) -> None:
    wide = "x" * 20_000  # each row ~20 KB of JSON: three fit in 64 KB, the fourth does not
    for sub in (1, 2, 3):
        stubber.add_response(
            "get_statement_result",
            {"ColumnMetadata": [{"name": "s"}], "Records": [[{"stringValue": wide}]] * 2, "TotalNumRows": 2},
            {"Id": f"{STATEMENT}:{sub}"},
        )
    kept = kept_results(
        redshift, description((True, 2), (True, 2), (True, 2)), shift=0, every=True, max_rows=100
    )

    assert sum(result_size(r) for r in kept) <= MAX_RESULT_BYTES
    assert [(len(r.rows), r.truncated) for r in kept] == [(2, False), (1, True), (0, True)]
    assert len(json.dumps([r.model_dump() for r in kept])) < MAX_RESULT_BYTES + 1024


def test_column_names_count_and_a_result_too_wide_keeps_none(
    redshift: RedshiftData, stubber: Stubber
) -> None:
    many = [{"name": f"column_{i:04d}_" + "c" * 100} for i in range(1600)]  # Redshift's column limit
    stubber.add_response(
        "get_statement_result",
        {"ColumnMetadata": many, "Records": [[{"longValue": 1}] * 1600], "TotalNumRows": 1},
        {"Id": f"{STATEMENT}:1"},
    )
    [kept] = kept_results(redshift, description((True, 1)), shift=0, every=True, max_rows=10)
    assert (kept.columns, kept.rows, kept.total_rows, kept.truncated) == ([], [], 1, True)


def test_csv_statements_are_read_with_v2(redshift: RedshiftData, stubber: Stubber) -> None:
    stubber.add_response(
        "get_statement_result_v2",
        {
            "ColumnMetadata": [{"name": "id"}, {"name": "note"}],
            "Records": [{"CSVRecords": 'id,note\n1,"a, b"\n2,\n'}],
            "TotalNumRows": 3,
            "ResultFormat": "CSV",
            "NextToken": "page-2",
        },
        {"Id": f"{STATEMENT}:1"},
    )
    stubber.add_response(
        "get_statement_result_v2",
        {"Records": [{"CSVRecords": '3,"line\nbreak"\n'}], "TotalNumRows": 3, "ResultFormat": "CSV"},
        {"Id": f"{STATEMENT}:1", "NextToken": "page-2"},
    )
    [kept] = kept_results(
        redshift, description((True, 3), result_format="CSV"), shift=0, every=False, max_rows=10
    )
    assert kept.columns == ["id", "note"]
    assert kept.rows == [["1", "a, b"], ["2", ""], ["3", "line\nbreak"]]  # the header only once
    assert (kept.total_rows, kept.truncated) == (3, False)


def test_a_result_that_cannot_be_read_is_left_out(redshift: RedshiftData, stubber: Stubber) -> None:
    stubber.add_client_error(
        "get_statement_result", "ResourceNotFoundException", "Query does not have result."
    )
    json_page(2, [9], 1, stubber)
    kept = kept_results(redshift, description((True, 1), (True, 1)), shift=0, every=True, max_rows=10)
    assert kept == [ResultRows(columns=["n"], rows=[[9]], total_rows=1, truncated=False, index=2)]
