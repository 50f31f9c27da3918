"""Terminal state → callback: the one mapping the listener and `rsbatch reconcile` share."""

from __future__ import annotations

from dataclasses import dataclass

from rsbatch_core.models import CallbackPayload, ResumedBy


@dataclass(frozen=True)
class CallbackDecision:
    """Success, or failure with an error type; the payload says who decided and why."""

    success: bool
    payload: CallbackPayload
    error_type: str | None = None


def decide(
    state: str, statement_id: str, resumed_by: ResumedBy, error: str | None = None
) -> CallbackDecision:
    """FINISHED → success; FAILED → failure with Redshift's error; ABORTED → failure "aborted"."""
    if state == "FINISHED":
        payload = CallbackPayload(resumed_by=resumed_by, state=state, statement_id=statement_id)
        return CallbackDecision(success=True, payload=payload)
    if state == "FAILED":
        message = error or "the Redshift statement failed"
        payload = CallbackPayload(
            resumed_by=resumed_by, state=state, statement_id=statement_id, message=message
        )
        return CallbackDecision(success=False, payload=payload, error_type="RedshiftStatementFailed")
    if state == "ABORTED":
        payload = CallbackPayload(
            resumed_by=resumed_by, state=state, statement_id=statement_id, message="aborted"
        )
        return CallbackDecision(success=False, payload=payload, error_type="RedshiftStatementAborted")
    raise ValueError(f"{state!r} is not a terminal Redshift state")
