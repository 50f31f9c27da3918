"""Every error code and status the code names is one AWS's artifacts define.

``classify.API_ERROR_CLASSES`` decides whether a run waits out an error or fails: a code
that no service sends would be dead weight, and a code the model adds that the table
lacks would fall to the HTTP-status default unnoticed. The same holds for the codes the
callback sender, the executions adapter and the emulator name.
"""

from __future__ import annotations

import pytest
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from rsbatch.local.redshift_data import exceptions as emulator_errors
from rsbatch_core import callbacks
from rsbatch_core.classify import API_ERROR_CLASSES, ErrorClass
from rsbatch_core.executions import ENDED
from tests.contract.conftest import service_model
from tests.contract.documented import COMMON_ERRORS, DYNAMODB_ERRORS, JSON_PROTOCOL_ERRORS, S3_ERRORS
from tests.contract.shapes import is_fault

#: The services rsbatch calls, and the operations of the Data API it calls.
SERVICES = ("redshift-data", "lambda", "dynamodb", "s3")
DATA_API_CALLS = ("BatchExecuteStatement", "DescribeStatement", "CancelStatement", "GetStatementResult")

#: botocore's standard retry mode: the codes it treats as throttling or transient
#: (botocore/retries/standard.py), which is where the generic throttling rows come from.
BOTOCORE_RETRIED = frozenset(
    ThrottledRetryableChecker._THROTTLED_ERROR_CODES + TransientRetryableChecker._TRANSIENT_ERROR_CODES
)


def modeled_errors(service: str) -> set[str]:
    model = service_model(service)
    return {name for name in model.shape_names if model.shape_for(name).metadata.get("exception")}


def test_every_classified_code_is_one_aws_defines() -> None:
    known = set().union(*(modeled_errors(s) for s in SERVICES))
    documented = BOTOCORE_RETRIED | COMMON_ERRORS | DYNAMODB_ERRORS | S3_ERRORS
    assert sorted(set(API_ERROR_CLASSES) - known - documented) == []


@pytest.mark.parametrize("operation", DATA_API_CALLS)
def test_every_data_api_error_rsbatch_can_meet_is_classified_by_the_model(operation: str) -> None:
    """Faults (``"fault": true``) pass on their own; quotas (*Exceeded) need capacity; the rest is
    the caller's (PERMANENT), except a CancelStatement that timed out (QueryTimeoutException)."""
    model = service_model("redshift-data").operation_model(operation)
    for shape in model.error_shapes:
        code = shape.name
        if is_fault(model, code) or code == "QueryTimeoutException":
            expected = ErrorClass.TRANSIENT
        elif code.endswith("ExceededException"):
            expected = ErrorClass.CAPACITY
        else:
            expected = ErrorClass.PERMANENT
        assert API_ERROR_CLASSES.get(code) == expected, (operation, code)


def test_botocore_throttling_codes_are_transient() -> None:
    throttled = set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) - {"PriorRequestNotComplete"}
    assert {code: API_ERROR_CLASSES.get(code) for code in throttled} == dict.fromkeys(
        throttled, ErrorClass.TRANSIENT
    )


@pytest.mark.parametrize(
    "operation", ["SendDurableExecutionCallbackSuccess", "SendDurableExecutionCallbackFailure"]
)
def test_closed_callback_codes_are_the_callback_operations_own(operation: str) -> None:
    listed = {s.name for s in service_model("lambda").operation_model(operation).error_shapes}
    assert callbacks.CLOSED_CODE in listed


def test_ended_executions_are_statuses_of_get_durable_execution() -> None:
    """RUNNING and the pause states can still resume; DELETING leads to ResourceNotFound (None)."""
    status = service_model("lambda").operation_model("GetDurableExecution").output_shape.members["Status"]
    still_alive = {"RUNNING", "PAUSING", "PAUSED", "DELETING"}
    assert set(status.enum) >= ENDED
    assert set(status.enum) == ENDED | still_alive


def test_the_emulators_codes_are_the_data_apis() -> None:
    codes = {
        value for name, value in vars(emulator_errors).items() if name.isupper() and isinstance(value, str)
    }
    assert sorted(codes - modeled_errors("redshift-data") - COMMON_ERRORS - JSON_PROTOCOL_ERRORS) == []
