"""The warehouse's fault knobs: parsed from the one `--events` spec, rolled by the emulator's dice;
and the Redshift-isms the local warehouse accepts (``SET query_group``)."""

from __future__ import annotations

import pytest

from rsbatch.local.dialect import QueryGroup, query_group_setting, to_postgres
from rsbatch.local.faults import HELP, Faults
from rsbatch.local.redshift_data.injected import SERIALIZABLE_VIOLATION, InjectedFaults

# -- parsing ---------------------------------------------------------------------------------


def test_the_warehouse_knobs_default_to_a_well_behaved_warehouse() -> None:
    faults = Faults.parse("")
    assert (faults.conflict, faults.throttle, faults.server_error) == (0, 0.0, 0.0)
    assert (faults.active_limit, faults.sub_events, faults.describe_lag) == (None, False, 0.0)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("conflict=2", Faults(conflict=2)),
        ("conflict=0", Faults()),
        ("conflict=1000", Faults(conflict=1000)),
        ("throttle=0.25", Faults(throttle=0.25)),
        ("throttle=1", Faults(throttle=1.0)),
        ("server-error=0.5", Faults(server_error=0.5)),
        ("server-error=0", Faults()),
        ("active-limit=2", Faults(active_limit=2)),
        ("active-limit=0", Faults(active_limit=0)),
        ("sub-events", Faults(sub_events=True)),
        ("describe-lag=1.5", Faults(describe_lag=1.5)),
        ("describe-lag=3600", Faults(describe_lag=3600)),
        (
            " conflict=1 , throttle=0.1,server-error=0.2, active-limit=5,sub-events,describe-lag=2 ",
            Faults(
                conflict=1, throttle=0.1, server_error=0.2, active_limit=5, sub_events=True, describe_lag=2
            ),
        ),
        ("drop=0.5,conflict=3,fail=1", Faults(drop=0.5, conflict=3, listener_failures=1)),
        ("normal,sub-events", Faults(sub_events=True)),
    ],
)
def test_warehouse_knobs_parse(spec: str, expected: Faults) -> None:
    assert Faults.parse(spec) == expected


@pytest.mark.parametrize(
    "part",
    [
        "conflict",
        "conflict=",
        "conflict=-1",
        "conflict=1001",
        "conflict=1.5",
        "conflict=two",
        "throttle",
        "throttle=1.01",
        "throttle=-0.1",
        "throttle=nan",
        "throttle=lots",
        "server-error",
        "server-error=2",
        "server_error=0.5",
        "active-limit",
        "active-limit=-1",
        "active-limit=1001",
        "active-limit=2.5",
        "sub-events=1",
        "sub-events=true",
        "describe-lag",
        "describe-lag=-1",
        "describe-lag=3601",
        "describe-lag=inf",
        "describe_lag=1",
    ],
)
def test_bad_warehouse_knobs_name_the_part_and_the_syntax(part: str) -> None:
    with pytest.raises(ValueError) as exc:
        Faults.parse(f"drop,{part}")
    assert str(exc.value) == f"bad --events value {part!r}: use {HELP}"


def test_the_help_text_names_every_warehouse_knob_in_the_same_style() -> None:
    for syntax in (
        "conflict=K",
        "throttle=FRACTION",
        "server-error=FRACTION",
        "active-limit=N",
        "sub-events",
        "describe-lag=SECONDS",
    ):
        assert f" {syntax}," in HELP
    assert HELP.startswith("drop[=FRACTION], duplicate=N[@FRACTION], ")
    assert HELP.endswith(", comma-separated")


# -- the emulator's dice and counters ---------------------------------------------------------


def test_conflicts_are_counted_per_statement_name_and_afresh_after_each_set() -> None:
    injected = InjectedFaults()
    injected.set(Faults(conflict=2))

    assert [injected.take_conflict("run-a") for _ in range(3)] == [True, True, False]
    assert [injected.take_conflict("run-b") for _ in range(3)] == [True, True, False]
    assert injected.take_conflict(None) is False  # no name, nothing to count by

    injected.set(Faults(conflict=2))
    assert injected.take_conflict("run-a") is True
    injected.set(Faults())
    assert injected.take_conflict("run-c") is False


def test_fractions_are_rolled_on_the_emulators_seeded_dice() -> None:
    def rolls(seed: int) -> list[bool]:
        injected = InjectedFaults(seed)
        injected.set(Faults(throttle=0.5, server_error=0.5))
        return [injected.throttled() for _ in range(50)] + [injected.server_error() for _ in range(50)]

    assert rolls(7) == rolls(7)
    assert rolls(7) != rolls(8)
    assert 20 <= sum(rolls(7)) <= 80


def test_fraction_zero_never_and_one_always() -> None:
    injected = InjectedFaults(1)
    assert not any(injected.throttled() or injected.server_error() for _ in range(100))
    injected.set(Faults(throttle=1.0, server_error=1.0))
    assert all(injected.throttled() and injected.server_error() for _ in range(100))


def test_the_other_warehouse_knobs_are_read_as_set() -> None:
    injected = InjectedFaults()
    injected.set(Faults(active_limit=3, sub_events=True, describe_lag=2.5))
    assert (injected.active_limit, injected.sub_events, injected.describe_lag) == (3, True, 2.5)


def test_the_conflict_error_has_redshifts_shape() -> None:
    text = f"ERROR: {SERIALIZABLE_VIOLATION.format(pid=1092)}"
    assert text == (
        "ERROR: 1023 DETAIL: Serializable isolation violation on table - 156128, "
        "transactions forming the cycle are: 1522790, 1522762 (pid:1092)"
    )


# -- SET query_group -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "postgres", "setting"),
    [
        ("SET query_group TO 'nightly'", "SET rsbatch.query_group TO 'nightly'", QueryGroup("nightly")),
        ("set query_group to nightly", "set rsbatch.query_group to nightly", QueryGroup("nightly")),
        ("SET query_group TO Nightly;", "SET rsbatch.query_group TO Nightly;", QueryGroup("nightly")),
        ("SET query_group = 'it''s'", "SET rsbatch.query_group = 'it''s'", QueryGroup("it's")),
        ("SET SESSION query_group TO 'x'", "SET SESSION rsbatch.query_group TO 'x'", QueryGroup("x")),
        (
            "SET LOCAL query_group TO 'sysdate'",
            "SET LOCAL rsbatch.query_group TO 'sysdate'",
            QueryGroup("sysdate"),
        ),
        ("SET query_group TO sysdate", "SET rsbatch.query_group TO sysdate", QueryGroup("sysdate")),
        ("SET query_group TO DEFAULT", "SET rsbatch.query_group TO DEFAULT", QueryGroup(None)),
        ("RESET query_group", "RESET rsbatch.query_group", QueryGroup(None)),
        ("-- label\nSET query_group TO 7", "-- label\nSET rsbatch.query_group TO 7", QueryGroup("7")),
    ],
)
def test_set_query_group_becomes_a_custom_setting_and_names_its_label(
    sql: str, postgres: str, setting: QueryGroup
) -> None:
    assert to_postgres(sql) == postgres
    assert query_group_setting(sql) == setting


@pytest.mark.parametrize(
    "sql",
    [
        "SET statement_timeout TO 2000",
        "SELECT 'query_group'",
        "SELECT query_group FROM t",
        "RESET ALL",
        "SHOW query_group",
    ],
)
def test_other_statements_are_not_about_query_groups(sql: str) -> None:
    assert query_group_setting(sql) is None
    assert to_postgres(sql) == sql  # verbatim, as every PostgreSQL-valid statement
