"""Pipeline manifests: each refusal names the file and the field; the graph answers the flow's questions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rsbatch_core.errors import BadInputError
from rsbatch_core.pipeline import (
    BUILTIN_PARAMETERS,
    Pipeline,
    list_pipelines,
    load_pipeline,
    parse_pipeline,
    run_parameters,
    schedule_input,
    scheduled_run_date,
    step_parameters,
)
from rsbatch_core.schedule_expression import check_expression

ROOT = Path(__file__).resolve().parents[2]

DIAMOND = """
steps:
  a: {sql: a.sql}
  b: {sql: b.sql, after: [a]}
  c: {sql: c.sql, after: a}
  d: {sql: [d.sql, e.sql], after: [b, c]}
"""


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """A SQL root with plain files and a pipelines/ folder to write manifests into."""
    sql = tmp_path / "sql"
    sql.mkdir()
    for name in ("a", "b", "c", "d", "e"):
        (sql / f"{name}.sql").write_text(f"SELECT '{name}';\n")
    (sql / "dated.sql").write_text("DELETE FROM t WHERE d = :run_date AND r = :run_id AND x > :limit;\n")
    (sql / "region.sql").write_text("SELECT * FROM t WHERE region = :region;\n")
    (tmp_path / "outside.sql").write_text("SELECT 1;\n")
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    return pipelines, sql


def write(roots: tuple[Path, Path], text: str, name: str = "p") -> Pipeline:
    pipelines, sql = roots
    (pipelines / f"{name}.yaml").write_text(textwrap.dedent(text))
    return load_pipeline(pipelines, name, sql_root=sql)


def refused(roots: tuple[Path, Path], text: str) -> str:
    with pytest.raises(BadInputError) as info:
        write(roots, text)
    return str(info.value)


def test_the_example_manifest_loads_against_the_repo_sql() -> None:
    p = load_pipeline(ROOT / "pipelines", "mart_refresh", sql_root=ROOT / "sql")
    assert p.levels() == [["stage_orders"], ["mart_customers", "mart_daily_sales"], ["summary"]]
    assert p.schedule[0].timezone == "Europe/Paris"
    assert "mart_refresh" in list_pipelines(ROOT / "pipelines")


def test_ready_follows_the_graph_in_manifest_order(roots: tuple[Path, Path]) -> None:
    p = write(roots, DIAMOND)
    assert p.ready(set(), set()) == ["a"]
    assert p.ready(set(), {"a"}) == []
    assert p.ready({"a"}, {"a"}) == ["b", "c"]
    assert p.ready({"a", "b"}, {"a", "b", "c"}) == []  # d waits for c
    assert p.ready({"a", "b", "c"}, {"a", "b", "c"}) == ["d"]
    assert p.ready({"a", "b"}, set()) == ["c"]  # a redrive: what succeeded is not rerun
    assert p.order() == ["a", "b", "c", "d"]
    assert p.step("d").files == ["d.sql", "e.sql"]


def test_downstream_is_transitive(roots: tuple[Path, Path]) -> None:
    p = write(roots, DIAMOND)
    assert p.downstream("a") == {"b", "c", "d"}
    assert p.downstream("b") == {"d"}
    assert p.downstream("d") == set()
    with pytest.raises(BadInputError, match="no step 'zz'"):
        p.downstream("zz")


def test_a_cycle_is_named(roots: tuple[Path, Path]) -> None:
    message = refused(
        roots,
        "steps:\n  a: {sql: a.sql, after: [c]}\n  b: {sql: b.sql, after: [a]}\n"
        "  c: {sql: c.sql, after: [b]}\n",
    )
    assert message == "pipelines/p.yaml: steps.a.after: a cycle: a → c → b → a"


def test_an_unknown_after_step_is_refused_with_its_path(roots: tuple[Path, Path]) -> None:
    message = refused(roots, "steps:\n  a: {sql: a.sql}\n  b: {sql: b.sql, after: [a, aa2]}\n")
    assert "pipelines/p.yaml: steps.b.after[1]: unknown step 'aa2'" in message


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("missing.sql", "not found under the SQL root"),
        ("../outside.sql", "must not contain '..'"),
        ("/etc/passwd.sql", "must be relative to the SQL root"),
        ("a.txt", "must end in .sql"),
    ],
)
def test_unknown_or_unsafe_sql_files_are_refused(roots: tuple[Path, Path], sql: str, rule: str) -> None:
    message = refused(roots, f"steps:\n  a: {{sql: '{sql}'}}\n")
    assert message.startswith("pipelines/p.yaml: steps.a.sql: ")
    assert rule in message


def test_a_file_in_a_chain_is_named_by_its_index(roots: tuple[Path, Path]) -> None:
    message = refused(roots, "steps:\n  a: {sql: [a.sql, nope.sql]}\n")
    assert "steps.a.sql[1]: sql_file 'nope.sql' not found under the SQL root" in message


def test_a_parameter_nothing_supplies_is_refused(roots: tuple[Path, Path]) -> None:
    message = refused(roots, "steps:\n  a: {sql: dated.sql}\n")
    assert (
        "steps.a.sql: dated.sql uses :limit, which nothing supplies" in message
    )  # run_date, run_id built in


def test_parameters_no_sql_uses_are_refused(roots: tuple[Path, Path]) -> None:
    message = refused(roots, "parameters: {limit: '5', ghost: x}\nsteps:\n  a: {sql: dated.sql}\n")
    assert message == "pipelines/p.yaml: parameters.ghost: not used by any step's SQL"
    message = refused(roots, "steps:\n  a: {sql: dated.sql, parameters: {limit: 5, ghost: x}}\n")
    assert message == "pipelines/p.yaml: steps.a.parameters.ghost: not used by the step's SQL"


def test_builtin_and_clashing_parameters_are_refused(roots: tuple[Path, Path]) -> None:
    assert "parameters: 'run_date' is built in" in refused(
        roots, "parameters: {run_date: x}\nsteps:\n  a: {sql: a.sql}\n"
    )
    message = refused(
        roots, "parameters: {limit: '1'}\nsteps:\n  a: {sql: dated.sql, parameters: {limit: '2'}}\n"
    )
    assert "steps.a.parameters.limit: is also a pipeline parameter" in message


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(0 3 * * *)", "cron takes 6 fields"),
        ("cron(0 3 * * MON *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(61 3 * * ? *)", "cron minutes: '61' is not in 0-59"),
        ("rate(5 minute)", "the unit is singular for 1 and plural otherwise"),
        ("rate(0 hours)", "use rate(N minute(s)|hour(s)|day(s))"),
        ("at(2026-02-30T10:00:00)", "not a real date and time"),
        ("every day", "not at(yyyy-mm-ddThh:mm:ss), rate(N unit) or cron(6 fields)"),
    ],
)
def test_bad_schedule_expressions_are_refused(
    roots: tuple[Path, Path], expression: str, problem: str
) -> None:
    message = refused(roots, f"schedule:\n  - expression: '{expression}'\nsteps:\n  a: {{sql: a.sql}}\n")
    assert message.startswith("pipelines/p.yaml: schedule[0].expression: ")
    assert problem in message


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 3 * * ? *)",
        "cron(0/15 8-17 ? * MON-FRI *)",
        "cron(0 12 L * ? 2026)",
        "cron(0 9 ? * 2#1 *)",
        "rate(1 day)",
        "rate(15 minutes)",
        "at(2026-12-31T23:59:00)",
    ],
)
def test_schedule_expressions_from_the_scheduler_guide_pass(expression: str) -> None:
    check_expression(expression)


def test_an_unknown_time_zone_is_refused(roots: tuple[Path, Path]) -> None:
    message = refused(
        roots, "schedule:\n  - {expression: rate(1 day), timezone: Mars/Olympus}\nsteps:\n  a: {sql: a.sql}\n"
    )
    assert "schedule[0].timezone: unknown time zone 'Mars/Olympus'" in message


def test_a_schedule_must_give_required_parameters_and_only_known_ones(roots: tuple[Path, Path]) -> None:
    base = "parameters: {region: null}\nsteps:\n  a: {sql: region.sql}\nschedule:\n"
    assert "schedule[0].parameters: gives no value for required region" in refused(
        roots, base + "  - {expression: rate(1 day)}\n"
    )
    assert "schedule[0].parameters.zone: not a parameter of the pipeline" in refused(
        roots, base + "  - {expression: rate(1 day), parameters: {region: eu, zone: x}}\n"
    )


def test_yaml_errors_keys_and_types_name_their_place(roots: tuple[Path, Path]) -> None:
    assert "pipelines/p.yaml: line 3, column 9: not valid YAML" in refused(
        roots, "steps:\n  a: {sql: a.sql}\n  b: sql: b.sql\n"
    )
    assert "key 'a' given twice (first on line 2)" in refused(
        roots, "steps:\n  a: {sql: a.sql}\n  a: {sql: b.sql}\n"
    )
    assert "pipelines/p.yaml: steps.a.retries: unknown key" in refused(
        roots, "steps:\n  a: {sql: a.sql, retries: 3}\n"
    )
    assert "pipelines/p.yaml: max_parallel: Input should be less than or equal to 20" in refused(
        roots, "max_parallel: 50\nsteps:\n  a: {sql: a.sql}\n"
    )
    assert "steps.A B.name: String should match pattern" in refused(roots, "steps:\n  A B: {sql: a.sql}\n")
    assert "on_failure: Input should be 'stop', 'finish-running' or 'continue-independent'" in refused(
        roots, "on_failure: halt\nsteps:\n  a: {sql: a.sql}\n"
    )


def test_an_unknown_pipeline_gets_the_closest_name(roots: tuple[Path, Path]) -> None:
    write(roots, DIAMOND, name="nightly")
    pipelines, sql = roots
    with pytest.raises(BadInputError, match=r"unknown pipeline 'nigthly'.*did you mean 'nightly'"):
        load_pipeline(pipelines, "nigthly", sql_root=sql)
    with pytest.raises(BadInputError, match=r"unknown pipeline '\.\./nightly'"):
        load_pipeline(pipelines, "../nightly", sql_root=sql)


def test_step_parameters_bind_builtins_defaults_run_values_and_step_values(roots: tuple[Path, Path]) -> None:
    p = write(
        roots,
        """
        parameters: {region: null}
        steps:
          dated: {sql: dated.sql, parameters: {limit: 10}}
          region: {sql: region.sql, after: [dated]}
        """,
    )
    assert BUILTIN_PARAMETERS == ("run_date", "run_id")
    assert step_parameters(p, "dated", {"region": "eu"}, run_date="2026-12-02", run_id="rsbatch-1") == {
        "run_date": "2026-12-02",
        "run_id": "rsbatch-1",
        "limit": "10",
    }
    assert step_parameters(p, "region", {"region": "eu"}, run_date="d", run_id="r") == {"region": "eu"}
    with pytest.raises(BadInputError, match="needs a value for region"):
        step_parameters(p, "region", {}, run_date="d", run_id="r")
    with pytest.raises(BadInputError, match=r"has no parameter\(s\) limit"):
        run_parameters(p, {"region": "eu", "limit": "3"})


def test_the_scheduled_date_is_taken_in_the_schedules_time_zone() -> None:
    assert scheduled_run_date("2026-12-02T23:30:00Z", "Europe/Paris") == "2026-12-03"
    assert scheduled_run_date("2026-12-02T23:30:00Z", "UTC") == "2026-12-02"
    assert scheduled_run_date(None, today=__import__("datetime").date(2026, 1, 5)) == "2026-01-05"


def test_schedule_input_carries_pipeline_parameters_and_schedulers_time() -> None:
    p = parse_pipeline(
        "n",
        "parameters: {r: null}\nsteps:\n  a: {sql: a.sql}\nschedule:\n"
        "  - {expression: rate(1 day), timezone: Asia/Tokyo, parameters: {r: jp}}\n",
    )
    assert schedule_input(p, p.schedule[0]) == {
        "pipeline": "n",
        "parameters": {"r": "jp"},
        "scheduled_time": "<aws.scheduler.scheduled-time>",
        "timezone": "Asia/Tokyo",
    }


def test_a_loaded_pipeline_survives_a_json_round_trip(roots: tuple[Path, Path]) -> None:
    """The flow may carry the validated model in its input or checkpoints."""
    p = write(roots, DIAMOND)
    again = Pipeline.model_validate_json(p.model_dump_json())
    assert again == p
    assert again.downstream("a") == {"b", "c", "d"}


def test_the_pipeline_root_is_bundled_next_to_the_handler_on_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    from rsbatch_core.settings import Settings

    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    assert Settings.from_env({"RSBATCH_TABLE": "runs"}).pipeline_root == Path("/var/task/pipelines")
    given = Settings.from_env({"RSBATCH_TABLE": "runs", "RSBATCH_PIPELINE_ROOT": "/opt/p"})
    assert given.pipeline_root == Path("/opt/p")
    monkeypatch.delenv("LAMBDA_TASK_ROOT")
    assert Settings.from_env({"RSBATCH_TABLE": "runs"}).pipeline_root == Path.cwd() / "pipelines"
