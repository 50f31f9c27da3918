"""Run inputs: parameters, settings from the environment, S3 URIs, the run request."""

from __future__ import annotations

from pathlib import Path

import pytest

from rsbatch_core.errors import BadInputError, SettingsError, SqlFileError
from rsbatch_core.models import RunRequest
from rsbatch_core.parameters import check_parameters, for_batch, placeholders
from rsbatch_core.settings import Settings, target_from_env
from rsbatch_core.sqlfile import SqlBatch
from rsbatch_core.sqlsource import SqlSource


def test_placeholders_ignore_casts_strings_and_comments() -> None:
    sql = "SELECT :a::date, ':b', x::int FROM t WHERE c = :c -- :d\n/* :e */"
    assert placeholders([sql]) == {"a", "c"}


def test_parameters_are_checked_by_name() -> None:
    batch = SqlBatch("q.sql", ("SELECT * FROM t WHERE d >= :since",))
    check_parameters([batch], {"since": "2026-01-01"})
    with pytest.raises(BadInputError, match="no value was given"):
        check_parameters([batch], {})
    with pytest.raises(BadInputError, match="not used"):
        check_parameters([batch], {"since": "x", "until": "y"})
    with pytest.raises(BadInputError, match="bad parameter name"):
        check_parameters([batch], {"since": "x", "a-b": "y"})
    assert for_batch(batch, {"since": "x", "other": "y"}) == [{"name": "since", "value": "x"}]


def test_run_request_results_options_are_named_values() -> None:
    request = RunRequest.parse({"sql_file": "q.sql", "results": "all", "result_format": "CSV"})
    assert (request.results, request.result_format) == ("all", "CSV")
    assert (
        RunRequest.parse({"sql_file": "q.sql"}).results,
        RunRequest.parse({"sql_file": "q.sql"}).result_format,
    ) == (
        "last",
        "JSON",
    )
    for bad in ({"results": "some"}, {"result_format": "csv"}, {"result_format": "PARQUET"}):
        with pytest.raises(BadInputError, match="result"):
            RunRequest.parse({"sql_file": "q.sql", **bad})


def test_run_request_needs_exactly_one_source() -> None:
    assert RunRequest.parse({"sql_file": "q.sql"}).files == ["q.sql"]
    assert RunRequest.parse({"batches": ["a.sql", "b.sql"]}).files == ["a.sql", "b.sql"]
    bad_events: list[object] = [
        {},
        {"sql_file": "a.sql", "batches": ["b.sql"]},
        {"batches": []},
        {"sql_file": "a", "x": 1},
        [],
    ]
    for bad in bad_events:
        with pytest.raises(BadInputError):
            RunRequest.parse(bad)
    request = RunRequest.parse({"sql_file": "q.sql", "parameters": {"n": 3, "flag": True}})
    assert request.parameter_values == {"n": "3", "flag": "true"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "RSBATCH_TABLE"),
        ({"RSBATCH_TABLE": "t", "RSBATCH_CALLBACK_TIMEOUT_SECONDS": "0"}, "RSBATCH_CALLBACK_TIMEOUT_SECONDS"),
        ({"RSBATCH_TABLE": "t", "RSBATCH_MAX_RESULT_ROWS": "lots"}, "RSBATCH_MAX_RESULT_ROWS"),
    ],
)
def test_settings_name_the_variable_at_fault(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("env", "ok"),
    [
        ({"RSBATCH_WORKGROUP": "wg"}, True),
        ({"RSBATCH_CLUSTER_ID": "c", "RSBATCH_DB_USER": "u"}, True),
        ({"RSBATCH_CLUSTER_ID": "c", "RSBATCH_SECRET_ARN": "arn:s"}, True),
        ({"RSBATCH_WORKGROUP": "wg", "RSBATCH_SECRET_ARN": "arn:s"}, True),
        ({}, False),
        ({"RSBATCH_WORKGROUP": "wg", "RSBATCH_CLUSTER_ID": "c"}, False),
        ({"RSBATCH_SECRET_ARN": "arn:s"}, False),
        ({"RSBATCH_WORKGROUP": "wg", "RSBATCH_DB_USER": "u"}, False),
        ({"RSBATCH_CLUSTER_ID": "c", "RSBATCH_DB_USER": "u", "RSBATCH_SECRET_ARN": "arn:s"}, False),
    ],
)
def test_redshift_target_rules(env: dict[str, str], ok: bool) -> None:
    if ok:
        kwargs = target_from_env(env).api_kwargs()
        assert kwargs["Database"] == "dev"
        assert ("WorkgroupName" in kwargs) != ("ClusterIdentifier" in kwargs)
    else:
        with pytest.raises(SettingsError):
            target_from_env(env)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://other-bucket/sql/x.sql", "outside"),
        ("s3://sql-bucket/elsewhere/x.sql", "outside"),
        ("s3://sql-bucket/sql/../x.sql", "'..'"),
        ("s3://sql-bucket/sql/x.txt", ".sql"),
        ("s3://Bad_Bucket/x.sql", "not an s3://"),
    ],
)
def test_s3_uris_outside_the_allowed_prefix_are_refused(uri: str, message: str) -> None:
    source = SqlSource(Path("/nonexistent"), bucket="sql-bucket", prefix="sql/")
    with pytest.raises(SqlFileError, match=message):
        source.check_s3_uri(uri)
    assert source.check_s3_uri("s3://sql-bucket/sql/daily/x.sql") == ("sql-bucket", "sql/daily/x.sql")


def test_s3_is_off_unless_a_bucket_is_configured() -> None:
    with pytest.raises(SqlFileError, match="not enabled"):
        SqlSource(Path("/nonexistent")).check_s3_uri("s3://sql-bucket/x.sql")
