"""`:name` parameters: found with sqlparse, checked against what the caller gave, bound by the Data API.

Values never enter the SQL text; Redshift binds them. A name given but used
nowhere, or used but not given, is an error before anything is submitted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import sqlparse
from sqlparse import tokens

from rsbatch_core.errors import BadInputError
from rsbatch_core.sqlfile import SqlBatch

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def placeholders(statements: Iterable[str]) -> set[str]:
    """The `:name` placeholders used, ignoring `::type` casts, strings and comments."""
    names = set()
    for statement in statements:
        for parsed in sqlparse.parse(statement):
            for token in parsed.flatten():  # type: ignore[no-untyped-call]
                if token.ttype in tokens.Name.Placeholder and token.value.startswith(":"):
                    names.add(token.value[1:])
    return names


def check_parameters(batches: Iterable[SqlBatch], given: Mapping[str, str]) -> None:
    """Refuse bad names, unused parameters and missing ones, naming each."""
    bad = sorted(n for n in given if not NAME.match(n))
    if bad:
        raise BadInputError(f"bad parameter name(s): {', '.join(bad)} (letters, digits, _)")
    # botocore's model: SqlParameter.value is a ParameterValue, a string of at least 1 character.
    # botocore would refuse it client-side (ParamValidationError) after the run had started.
    empty = sorted(n for n, v in given.items() if v == "")
    if empty:
        raise BadInputError(
            f"parameter(s) {', '.join(empty)} have an empty value; the Data API needs at least one character"
        )
    used: set[str] = set()
    for batch in batches:
        used |= placeholders(batch.statements)
    missing, unused = sorted(used - given.keys()), sorted(given.keys() - used)
    if missing:
        raise BadInputError(
            f"the SQL uses :{', :'.join(missing)} but no value was given (--param NAME=VALUE)"
        )
    if unused:
        raise BadInputError(f"parameter(s) {', '.join(unused)} are not used by the SQL")


def for_batch(batch: SqlBatch, given: Mapping[str, str]) -> list[dict[str, str]]:
    """The Data API's `Parameters` for one batch: only the names it uses."""
    used = placeholders(batch.statements)
    return [{"name": n, "value": given[n]} for n in sorted(used)]
