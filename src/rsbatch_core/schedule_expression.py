"""EventBridge Scheduler's schedule expressions and time zones, checked before anything is deployed.

Why here: a bad expression or time zone in a manifest would otherwise surface as a failed
CloudFormation update long after `make build`. The grammar is EventBridge Scheduler's own,
from the EventBridge Scheduler User Guide, "Schedule types in EventBridge Scheduler"
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), and the API's
`ScheduleExpression` field (`at(yyyy-mm-ddThh:mm:ss)`, `rate(value unit)`, `cron(fields)`):

- `at(yyyy-mm-ddThh:mm:ss)`: a one-time schedule, in the schedule's time zone;
- `rate(value unit)`: a positive integer and minute | minutes | hour | hours | day | days
  ("If the value is equal to 1, then the unit must be singular", plural otherwise);
- `cron(minutes hours day-of-month month day-of-week year)`: six fields; minutes 0-59,
  hours 0-23, day-of-month 1-31 (`, - * ? / L W`), month 1-12 or JAN-DEC, day-of-week 1-7 or
  SUN-SAT (`, - * ? L #`), year 1970-2199; one of day-of-month and day-of-week must be `?`.

Time zones are IANA names (`ScheduleExpressionTimezone`), checked with zoneinfo (+ tzdata).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"^rate\(([1-9]\d*) (minutes?|hours?|days?)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def _field(text: str, what: str, low: int, high: int, names: tuple[str, ...] = (), extra: str = "") -> None:
    """One cron field: `*`, lists of values, ranges and increments, plus the field's own extras."""
    for item in text.split(","):
        if item == "*" or (item == "?" and "?" in extra):
            continue
        base, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) < 1):
            raise ValueError(f"cron {what}: bad increment in {item!r}")
        if (what == "day-of-month" and base in ("L", "LW")) or (what == "day-of-week" and base == "L"):
            continue
        if what == "day-of-month" and "W" in extra and re.fullmatch(r"\d{1,2}W", base):
            base = base[:-1]
        if what == "day-of-week" and "#" in extra and "#" in base:
            base, _, nth = base.partition("#")
            if nth not in ("1", "2", "3", "4", "5"):
                raise ValueError(f"cron {what}: {item!r} needs #1 to #5")
        if what == "day-of-week" and "L" in extra and base.endswith("L") and len(base) > 1:
            base = base[:-1]
        if base == "*" and step:
            continue
        for value in base.split("-", 1):
            if value.upper() in names:
                continue
            if not value.isdigit() or not low <= int(value) <= high:
                raise ValueError(f"cron {what}: {item!r} is not in {low}-{high}")


def check_expression(expression: str) -> None:
    """Raise ValueError saying what is wrong with a Scheduler expression."""
    if m := _AT.match(expression):
        try:
            datetime.strptime(m[1], "%Y-%m-%dT%H:%M:%S")  # naive: in the schedule's time zone
        except ValueError:
            raise ValueError(f"{expression!r}: not a real date and time") from None
        return
    if m := _RATE.match(expression):
        value, unit = int(m[1]), m[2]
        if (value == 1) != (not unit.endswith("s")):
            raise ValueError(f"{expression!r}: the unit is singular for 1 and plural otherwise")
        return
    if expression.startswith("rate("):
        raise ValueError(f"{expression!r}: use rate(N minute(s)|hour(s)|day(s)), N a positive integer")
    if m := _CRON.match(expression):
        fields = m[1].split()
        if len(fields) != 6:
            raise ValueError(
                f"{expression!r}: cron takes 6 fields (minutes hours day-of-month month day-of-week "
                f"year), not {len(fields)}"
            )
        minutes, hours, dom, month, dow, year = fields
        _field(minutes, "minutes", 0, 59)
        _field(hours, "hours", 0, 23)
        _field(dom, "day-of-month", 1, 31, extra="?LW")
        _field(month, "month", 1, 12, _MONTHS)
        _field(dow, "day-of-week", 1, 7, _DAYS, extra="?L#")
        _field(year, "year", 1970, 2199)
        if (dom == "?") == (dow == "?"):
            raise ValueError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
        return
    raise ValueError(f"{expression!r}: not at(yyyy-mm-ddThh:mm:ss), rate(N unit) or cron(6 fields)")


def check_timezone(name: str) -> None:
    """Raise ValueError unless `name` is an IANA time zone (as ScheduleExpressionTimezone takes)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Europe/Paris or UTC)") from None
