"""Events lost for good: `rsbatch reconcile` is the operator's self-heal."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.timeout(300)

LOCAL_UP_FLAGS = ("--events", "drop", "--callback-timeout", "600")


def test_reconcile_resumes_runs_whose_statement_ended(local_up: Cli) -> None:
    finished = local_up.json("start", "examples/short_sleep.sql")["run"]
    aborted = local_up.json("start", "examples/sleep.sql")["run"]
    local_up.wait_for(lambda: bool(local_up.run_status(aborted).get("statement_id")))
    assert local_up("cancel", aborted).returncode == 0

    def both_ended_in_redshift() -> bool:
        return all(
            local_up.json("show", r, "--live")["statement"]["Status"] in ("FINISHED", "ABORTED")
            for r in (finished, aborted)
        )

    local_up.wait_for(both_ended_in_redshift)
    assert local_up.run_status(finished)["status"] == "WAITING"  # its event was dropped

    dry = local_up.json("reconcile", "--older-than", "0s", "--dry-run")
    assert {a["run"] for a in dry if a["action"] != "skip"} >= {finished, aborted}
    assert local_up.run_status(finished)["status"] == "WAITING"

    done = local_up.json("reconcile", "--older-than", "0s")
    actions = {a["run"]: a for a in done}
    assert actions[finished]["action"] == "succeed" and actions[aborted]["action"] == "fail"

    local_up.wait_for(lambda: local_up.run_status(finished)["status"] == "SUCCEEDED")
    assert local_up.run_status(finished)["resumed_by"] == "operator"
    local_up.wait_for(lambda: local_up.run_status(aborted)["status"] == "FAILED")
    assert local_up.json("reconcile", "--older-than", "0s") == []
