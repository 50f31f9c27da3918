"""Pipelines as code: `pipelines/NAME.yaml`, a DAG of SQL batches, validated before anything runs.

Why one module: the manifest's model, its checks against the SQL root and the graph questions the
flow asks (`ready`, `downstream`, `order`) must agree, and the CLI, `make build` (schedules) and the
durable function all read the same manifest. Every refusal names the file and the path to the bad
field, e.g. ``pipelines/x.yaml: steps.b.after[0]: unknown step 'zz'``.

A manifest::

    description: Nightly mart refresh
    parameters: {min_amount: "0", region: null}   # defaults; null = required
    max_parallel: 4
    on_failure: stop                               # stop | finish-running | continue-independent
    schedule:
      - {expression: "cron(0 3 * * ? *)", timezone: Europe/Paris, parameters: {region: eu}}
    steps:
      stage: {sql: mart_refresh/stage_orders.sql}
      marts: {sql: [a.sql, b.sql], after: [stage], parameters: {limit: "10"}}

Parameters: every step may bind the built-ins `:run_date` (the scheduled date of a scheduled run,
today otherwise) and `:run_id`, the pipeline's parameters and its own; a name the SQL uses that
nothing supplies, or one supplied that no SQL uses, is refused (as `rsbatch_core.parameters` does for
one batch).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from rsbatch_core.errors import BadInputError
from rsbatch_core.models import MAX_CHAIN, QUERY_GROUP_PATTERN, RetryOptions
from rsbatch_core.parameters import NAME as PARAMETER_NAME
from rsbatch_core.parameters import placeholders
from rsbatch_core.schedule_expression import check_expression, check_timezone
from rsbatch_core.sqlfile import load_batch

#: Every step can bind these like any `:name`; a manifest cannot declare them.
BUILTIN_PARAMETERS = ("run_date", "run_id")
STEP_NAME_PATTERN = r"^[a-z0-9_-]{1,40}$"
PIPELINE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
MAX_STEPS = 100
MAX_PARALLEL = 20
MANIFEST_SUFFIX = ".yaml"

OnFailure = Literal["stop", "finish-running", "continue-independent"]


def _as_text(value: Any) -> Any:
    """YAML scalars (numbers, booleans, dates) as the strings the Data API binds; others unchanged."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | date | datetime):
        return value.isoformat() if isinstance(value, date | datetime) else str(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _check_names(values: Mapping[str, Any]) -> None:
    for name in values:
        if not PARAMETER_NAME.match(name):
            raise ValueError(f"bad parameter name {name!r} (letters, digits, _)")
        if name in BUILTIN_PARAMETERS:
            raise ValueError(f"{name!r} is built in; every step can use :{name} without declaring it")


class StepSpec(_Strict):
    """One step: a SQL file (or a chain of them) that starts once every `after` step succeeded."""

    name: str = Field(pattern=STEP_NAME_PATTERN)
    #: `sql: a.sql` or `sql: [a.sql, b.sql]` (a chain, one durable batch each), relative to the SQL root.
    files: list[str] = Field(alias="sql", min_length=1, max_length=MAX_CHAIN)
    after: list[str] = Field(default_factory=list)
    #: This step's own `:name` values (literal strings); a pipeline parameter cannot be one.
    parameters: dict[str, str] = Field(default_factory=dict, max_length=100)
    execution_mode: Literal["TRANSACTION", "AUTO_COMMIT"] = "TRANSACTION"
    retry: RetryOptions | None = None
    #: Seconds; Redshift's `SET statement_timeout` (as a run's `statement_timeout_seconds`).
    statement_timeout: int | None = Field(default=None, ge=1, le=86_400)
    query_group: str | None = Field(default=None, pattern=QUERY_GROUP_PATTERN)
    #: The `:name`s this step's SQL uses, sorted; filled by `load_pipeline` (never in a manifest).
    uses: list[str] = Field(default_factory=list)

    @field_validator("files", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("after", mode="before")
    @classmethod
    def _after_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("parameters", mode="before")
    @classmethod
    def _texts(cls, v: Any) -> Any:
        return {k: _as_text(x) for k, x in v.items()} if isinstance(v, dict) else v

    @field_validator("parameters")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        _check_names(v)
        if any(x == "" for x in v.values()):
            raise ValueError("a parameter value needs at least one character (the Data API's rule)")
        return v

    @field_validator("after")
    @classmethod
    def _unique_after(cls, v: list[str]) -> list[str]:
        dupes = sorted({s for s in v if v.count(s) > 1})
        if dupes:
            raise ValueError(f"lists {', '.join(dupes)} twice")
        return v


class ScheduleSpec(_Strict):
    """One EventBridge Scheduler schedule of the pipeline (deployed by `make build`'s template)."""

    expression: str = Field(max_length=256)
    timezone: str = "UTC"
    #: Values of the pipeline's parameters for this schedule's runs.
    parameters: dict[str, str] = Field(default_factory=dict, max_length=100)
    enabled: bool = True

    @field_validator("expression")
    @classmethod
    def _expression(cls, v: str) -> str:
        check_expression(v)
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        check_timezone(v)
        return v

    @field_validator("parameters", mode="before")
    @classmethod
    def _texts(cls, v: Any) -> Any:
        return {k: _as_text(x) for k, x in v.items()} if isinstance(v, dict) else v


class Pipeline(_Strict):
    """A validated manifest: steps in the order written, their graph, parameters and schedules."""

    name: str = Field(pattern=PIPELINE_NAME_PATTERN)
    description: str = Field(default="", max_length=1000)
    steps: dict[str, StepSpec] = Field(min_length=1, max_length=MAX_STEPS)
    #: Defaults of the run's parameters; None = required (a run or a schedule must give it).
    parameters: dict[str, str | None] = Field(default_factory=dict, max_length=100)
    max_parallel: int = Field(default=4, ge=1, le=MAX_PARALLEL)
    on_failure: OnFailure = "stop"
    schedule: list[ScheduleSpec] = Field(default_factory=list, max_length=20)
    _dependents: dict[str, list[str]] = PrivateAttr(default_factory=dict)

    @field_validator("steps", mode="before")
    @classmethod
    def _named(cls, v: Any) -> Any:
        """A step's name is its key under `steps:`."""
        if isinstance(v, dict):
            return {
                k: {"name": k, **s} if isinstance(s, dict) and "name" not in s else s for k, s in v.items()
            }
        return v

    @field_validator("parameters", mode="before")
    @classmethod
    def _texts(cls, v: Any) -> Any:
        return {k: _as_text(x) for k, x in v.items()} if isinstance(v, dict) else v

    @field_validator("parameters")
    @classmethod
    def _names(cls, v: dict[str, str | None]) -> dict[str, str | None]:
        _check_names(v)
        if any(x == "" for x in v.values()):
            raise ValueError("a default needs at least one character (null makes it required)")
        return v

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _graph(self) -> Pipeline:
        problems = _graph_problems(self)
        if problems:
            raise _FieldProblems(problems)
        self._dependents = {name: [] for name in self.steps}
        for name, step in self.steps.items():
            for before in step.after:
                self._dependents[before].append(name)
        return self

    # -- the graph ----------------------------------------------------------------------------
    def step(self, name: str) -> StepSpec:
        try:
            return self.steps[name]
        except KeyError:
            raise BadInputError(f"pipeline {self.name!r} has no step {name!r}") from None

    def order(self) -> list[str]:
        """A topological order, as close to the manifest's order as the graph allows."""
        done: list[str] = []
        left = list(self.steps)
        while left:
            name = next(n for n in left if set(self.steps[n].after) <= set(done))
            done.append(name)
            left.remove(name)
        return done

    def levels(self) -> list[list[str]]:
        """Steps by depth (the longest chain of `after` before them), each level in manifest order."""
        depth: dict[str, int] = {}
        for name in self.order():
            depth[name] = 1 + max((depth[a] for a in self.steps[name].after), default=-1)
        out: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
        for name in self.steps:
            out[depth[name]].append(name)
        return out

    def ready(self, succeeded: set[str], started: set[str]) -> list[str]:
        """Steps whose `after` all succeeded and that have not started, in manifest order."""
        return [
            n
            for n, s in self.steps.items()
            if n not in started and n not in succeeded and set(s.after) <= succeeded
        ]

    def downstream(self, step: str) -> set[str]:
        """Every step that depends on `step`, directly or transitively."""
        self.step(step)
        seen: set[str] = set()
        todo = list(self._dependents[step])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self._dependents[name])
        return seen

    def used_parameters(self) -> set[str]:
        """Every `:name` any step's SQL uses (after `load_pipeline`)."""
        return {n for s in self.steps.values() for n in s.uses}


class _FieldProblems(ValueError):
    """Problems found across fields, each with its own path (pydantic would report them at the root)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))
        self.problems = problems


def _graph_problems(p: Pipeline) -> list[tuple[str, str]]:
    problems = []
    for key, step in p.steps.items():
        if step.name != key:
            problems.append((f"steps.{key}.name", f"is {step.name!r} but the step's key is {key!r}"))
        for i, before in enumerate(step.after):
            if before == key:
                problems.append((f"steps.{key}.after[{i}]", "a step cannot run after itself"))
            elif before not in p.steps:
                close = difflib.get_close_matches(before, list(p.steps), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append((f"steps.{key}.after[{i}]", f"unknown step {before!r}{hint}"))
        clash = sorted(set(step.parameters) & set(p.parameters))
        if clash:
            problems.append(
                (f"steps.{key}.parameters.{clash[0]}", "is also a pipeline parameter; set it in one place")
            )
    if problems:
        return problems
    cycle = _find_cycle(p)
    if cycle:
        return [(f"steps.{cycle[0]}.after", "a cycle: " + " → ".join([*cycle, cycle[0]]))]
    for i, sched in enumerate(p.schedule):
        for name in sched.parameters:
            if name not in p.parameters:
                problems.append((f"schedule[{i}].parameters.{name}", "not a parameter of the pipeline"))
        required = sorted(n for n, v in p.parameters.items() if v is None and n not in sched.parameters)
        if required:
            problems.append(
                (f"schedule[{i}].parameters", f"gives no value for required {', '.join(required)}")
            )
    return problems


def _find_cycle(p: Pipeline) -> list[str] | None:
    """One cycle of `after` edges, in dependency order (a runs after b runs after … a), or None."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for before in p.steps[name].after:
            if state.get(before) == 1:
                return path[path.index(before) :]
            if before not in state and (found := visit(before)):
                return found
        path.pop()
        state[name] = 2
        return None

    for name in p.steps:
        if name not in state and (found := visit(name)):
            return found
    return None


# -- loading ------------------------------------------------------------------------------------
class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """Safe YAML that refuses a key given twice (plain YAML keeps the last, silently)."""


def _mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} given twice (first on line {seen[key]})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line + 1
    mapping: dict[Any, Any] = loader.construct_mapping(node, deep=deep)
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _loc(loc: tuple[int | str, ...]) -> str:
    """pydantic's location → `steps.b.after[0]` (without the models' own wrappers)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(label: str, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _FieldProblems):
            problems += [f"{path}: {msg}" for path, msg in ctx_error.problems]
            continue
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required"
        problems.append(f"{_loc(tuple(err['loc']))}: {msg}")
    return f"{label}: " + f"\n{label}: ".join(problems)


def list_pipelines(root: Path) -> list[str]:
    """The pipeline names under `root` (each `NAME.yaml`), sorted."""
    if not root.is_dir():
        return []
    return sorted(
        p.name.removesuffix(MANIFEST_SUFFIX) for p in root.glob(f"*{MANIFEST_SUFFIX}") if p.is_file()
    )


def manifest_path(root: Path, name: str) -> Path:
    """The manifest file of pipeline `name`, or BadInputError naming the known ones."""
    known = list_pipelines(root)
    if not isinstance(name, str) or not re.match(PIPELINE_NAME_PATTERN, name) or name not in known:
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        listed = ", ".join(known) if known else "none"
        raise BadInputError(f"unknown pipeline {name!r} under {root}: {hint}known: {listed}")
    return root / f"{name}{MANIFEST_SUFFIX}"


def parse_pipeline(name: str, text: str, *, label: str | None = None) -> Pipeline:
    """YAML text → Pipeline, checking the model and the graph (not the SQL files)."""
    label = label or f"pipelines/{name}{MANIFEST_SUFFIX}"
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise BadInputError(f"{label}: {where}not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise BadInputError(f"{label}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise BadInputError(f"{label}: a manifest is a mapping with at least `steps:`")
    if "name" in raw and raw["name"] != name:
        raise BadInputError(f"{label}: name: is {raw['name']!r} but the file names the pipeline {name!r}")
    steps = raw.get("steps")
    if isinstance(steps, dict):
        for key, step in steps.items():
            if isinstance(step, dict) and "uses" in step:
                raise BadInputError(f"{label}: steps.{key}.uses: unknown key")
    try:
        return Pipeline.model_validate({**raw, "name": name})
    except ValidationError as exc:
        raise BadInputError(_describe(label, exc)) from None


def load_pipeline(root: Path, name: str, *, sql_root: Path) -> Pipeline:
    """Read, validate and check `root/NAME.yaml` against the SQL root; BadInputError on any problem."""
    path = manifest_path(root, name)
    label = f"{root.name}/{path.name}"
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{label}: cannot read: {exc}") from None
    pipeline = parse_pipeline(name, text, label=label)
    problems: list[str] = []
    for key, step in pipeline.steps.items():
        uses: set[str] = set()
        for i, file in enumerate(step.files):
            where = f"steps.{key}.sql" + (f"[{i}]" if len(step.files) > 1 else "")
            try:
                batch = load_batch(file, sql_root)  # every path rule of the SQL root, unchanged
            except BadInputError as exc:
                problems.append(f"{where}: {exc}")
                continue
            used = placeholders(batch.statements)
            supplied = {*BUILTIN_PARAMETERS, *pipeline.parameters, *step.parameters}
            for missing in sorted(used - supplied):
                problems.append(
                    f"{where}: {file} uses :{missing}, which nothing supplies "
                    f"(add it to the pipeline's or the step's parameters)"
                )
            uses |= used
        for unused in sorted(set(step.parameters) - uses):
            problems.append(f"steps.{key}.parameters.{unused}: not used by the step's SQL")
        step.uses = sorted(uses)
    if not problems:
        for unused in sorted(set(pipeline.parameters) - pipeline.used_parameters()):
            problems.append(f"parameters.{unused}: not used by any step's SQL")
    if problems:
        raise BadInputError(f"{label}: " + f"\n{label}: ".join(problems))
    return pipeline


# -- parameters at run time ---------------------------------------------------------------------
def run_parameters(pipeline: Pipeline, given: Mapping[str, str]) -> dict[str, str]:
    """A run's pipeline parameters: the defaults with `given` over them; refuses unknown and missing."""
    unknown = sorted(set(given) - set(pipeline.parameters))
    if unknown:
        known = ", ".join(pipeline.parameters) or "none"
        raise BadInputError(
            f"pipeline {pipeline.name!r} has no parameter(s) {', '.join(unknown)} (its parameters: {known})"
        )
    empty = sorted(n for n, v in given.items() if v == "")
    if empty:
        raise BadInputError(f"parameter(s) {', '.join(empty)} have an empty value")
    values = {n: v for n, v in pipeline.parameters.items() if v is not None} | dict(given)
    missing = sorted(set(pipeline.parameters) - set(values))
    if missing:
        raise BadInputError(
            f"pipeline {pipeline.name!r} needs a value for {', '.join(missing)} (--param NAME=VALUE)"
        )
    return values


def step_parameters(
    pipeline: Pipeline, step: str, values: Mapping[str, str], *, run_date: str, run_id: str
) -> dict[str, str]:
    """The `:name` values for `step`'s files: only the names its SQL uses.

    `values` are the run's pipeline parameters (checked by `run_parameters`); the step's own
    parameters and the built-ins `run_date` / `run_id` join them.
    """
    spec = pipeline.step(step)
    available = {"run_date": run_date, "run_id": run_id} | run_parameters(pipeline, values) | spec.parameters
    return {n: available[n] for n in spec.uses}


def scheduled_run_date(
    scheduled_time: str | None, timezone: str = "UTC", *, today: date | None = None
) -> str:
    """`:run_date`: the date of Scheduler's `<aws.scheduler.scheduled-time>` (UTC, e.g.
    `2022-03-22T18:59:43Z`) in the schedule's time zone; `today` (or the current UTC date) otherwise."""
    if scheduled_time:
        try:
            moment = datetime.fromisoformat(scheduled_time.replace("Z", "+00:00"))
        except ValueError:
            raise BadInputError(f"scheduled_time {scheduled_time!r} is not an ISO 8601 time") from None
        check_timezone(timezone)
        if moment.tzinfo is None:
            raise BadInputError(f"scheduled_time {scheduled_time!r} has no time zone")
        return moment.astimezone(ZoneInfo(timezone)).date().isoformat()
    return (today or datetime.now(ZoneInfo("UTC")).date()).isoformat()


#: Scheduler's context attribute, replaced by the invocation's scheduled time (EventBridge Scheduler
#: User Guide, "Adding context attributes": `<aws.scheduler.scheduled-time>`, e.g. 2022-03-22T18:59:43Z).
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def schedule_input(pipeline: Pipeline, schedule: ScheduleSpec) -> dict[str, Any]:
    """The durable function's input for a scheduled run (the schedule's Target Input):
    ``{"pipeline", "parameters", "scheduled_time", "timezone"}``; `:run_date` comes from
    `scheduled_run_date(scheduled_time, timezone)`."""
    return {
        "pipeline": pipeline.name,
        "parameters": dict(schedule.parameters),
        "scheduled_time": SCHEDULED_TIME,
        "timezone": schedule.timezone,
    }
