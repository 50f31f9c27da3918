"""EventBridge event-pattern matching, for the subset our rules use.

Supported: exact values (strings, numbers, booleans, null) in arrays,
nested objects, and the content filters prefix, suffix, anything-but,
exists and equals-ignore-case. Anything else is refused loudly, so a rule
the local bus cannot evaluate never silently matches nothing.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


class UnsupportedPatternError(ValueError):
    """The pattern uses a filter the local bus does not implement."""


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """True if `event` matches `pattern` as EventBridge would decide it."""
    for key, rule in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(rule, dict):
            if value is _MISSING or not isinstance(value, dict) or not matches(rule, value):
                return False
        elif isinstance(rule, list):
            if not _matches_any(rule, value):
                return False
        else:
            raise UnsupportedPatternError(f"pattern field {key!r} must be an object or an array")
    return True


def _matches_any(rules: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_matches_one(rule, v) for rule in rules for v in values)


def _matches_one(rule: Any, value: Any) -> bool:
    if not isinstance(rule, dict):
        return value is not _MISSING and value == rule
    ((name, arg),) = rule.items() if len(rule) == 1 else _too_many(rule)
    if name == "exists":
        return (value is not _MISSING) == bool(arg)
    if value is _MISSING:
        return False
    if name == "prefix":
        return isinstance(value, str) and value.startswith(str(arg))
    if name == "suffix":
        return isinstance(value, str) and value.endswith(str(arg))
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(arg).lower()
    if name == "anything-but":
        excluded = arg if isinstance(arg, list) else [arg]
        return value not in excluded
    raise UnsupportedPatternError(f"content filter {name!r} is not supported locally")


def _too_many(rule: dict[str, Any]) -> Any:
    raise UnsupportedPatternError(f"a content filter has exactly one key, got {sorted(rule)}")
