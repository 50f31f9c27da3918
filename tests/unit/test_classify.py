"""rsbatch_core.classify: Redshift's error texts and the Data API's codes → what rsbatch does about them.

The texts are copied from AWS's documentation and public reports (named next to each), so a
change of a pattern that stops matching what Redshift really says fails here.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from rsbatch_core.classify import Classifier, ErrorClass
from rsbatch_core.errors import BadInputError

CONFLICTS = [
    # Redshift Database Developer Guide, "Troubleshooting serializable isolation errors".
    "ERROR:1023 DETAIL: Serializable isolation violation on table in Redshift",
    # snowplow/snowplow-rdb-loader#557, as Redshift's JDBC driver reported it.
    "ERROR: 1023 DETAIL: Serializable isolation violation on table - 100167, transactions forming the "
    "cycle are: 55705701, 55705754 (pid:16606);",
    # aws/amazon-redshift-jdbc-driver#147; dbt-adapters PR #1873.
    "ERROR: could not complete because of conflict with concurrent transaction",
    # dbt-adapters#617 and PR #1014.
    "could not open relation with OID 123456789",
    # PostgreSQL (the local warehouse) SQLSTATE 40001 and 40P01.
    "ERROR: could not serialize access due to concurrent delete",
    "ERROR: deadlock detected",
]

PERMANENT = [
    'ERROR: relation "public.orders" does not exist',
    "ERROR: division by zero",
    'ERROR: syntax error at or near "SELEC"',
    "ERROR: canceling statement due to statement timeout",
]


@pytest.mark.parametrize("text", CONFLICTS)
def test_conflicts_are_recognised(text: str) -> None:
    assert Classifier().sql_error(text) is ErrorClass.CONFLICT


@pytest.mark.parametrize("text", PERMANENT)
def test_other_sql_errors_are_permanent(text: str) -> None:
    assert Classifier().sql_error(text) is ErrorClass.PERMANENT


def test_a_deployment_or_a_run_can_add_patterns() -> None:
    text = "ERROR: Lock wait timeout on table orders"
    assert Classifier().sql_error(text) is ErrorClass.PERMANENT
    extended = Classifier.with_patterns(["lock wait timeout"], [])
    assert extended.sql_error(text) is ErrorClass.CONFLICT
    assert extended.conflict_reason(text) == "pattern 'lock wait timeout'"


def test_a_bad_pattern_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="not a regular expression"):
        Classifier.with_patterns(["(unclosed"])


def _error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, ErrorClass.TRANSIENT),
        ("BatchExecuteStatementException", 500, ErrorClass.TRANSIENT),
        ("ActiveStatementsExceededException", 400, ErrorClass.CAPACITY),
        ("ActiveSessionsExceededException", 400, ErrorClass.CAPACITY),
        ("ValidationException", 400, ErrorClass.PERMANENT),
        ("NewFancyError", 503, ErrorClass.TRANSIENT),
        ("NewFancyError", 400, ErrorClass.PERMANENT),
    ],
)
def test_api_errors(code: str, status: int, expected: ErrorClass) -> None:
    assert Classifier().api_error(_error(code, status)) is expected


def test_every_error_the_data_api_model_lists_has_a_class() -> None:
    """Each exception shape of botocore's redshift-data model is in the table (none left to chance)."""
    import botocore.session

    from rsbatch_core.classify import API_ERROR_CLASSES

    model = botocore.session.get_session().get_service_model("redshift-data")
    codes = {shape for shape in model.shape_names if model.shape_for(shape).metadata.get("exception")}
    assert codes and codes <= API_ERROR_CLASSES.keys(), codes - API_ERROR_CLASSES.keys()
    for code in codes:  # the model's server faults are never permanent
        if model.shape_for(code).metadata.get("fault"):
            assert API_ERROR_CLASSES[code] is not ErrorClass.PERMANENT, code
