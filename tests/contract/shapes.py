"""Does a raw response body keep the contract of botocore's model? A small shape validator.

Why it exists: botocore validates what a client *sends*, never what a server answers, and
its parsers are lenient (unknown keys are dropped, a wrong type often passes through). The
local stand-ins (the Data API emulator, the durable runtime) must answer exactly as AWS's
model says, or the Lambda code is tested against a service that does not exist. So the
contract tests capture the raw JSON body (before botocore parses it) and walk it here
against the operation's output shape, or its error shape.

What it checks, per the model (``botocore/data/<service>/<version>/service-2.json``):
structures (required members, no unknown members, unions with exactly one member),
lists and maps (min/max length), strings (enum, min/max length, pattern), numbers
(type, min/max), booleans, blobs (base64 in JSON), and timestamps as the JSON protocols
encode them in a body (epoch seconds, unless the shape says ``timestampFormat``).
For rest-json, members bound to headers are checked in the headers and the payload
member is the body itself.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from botocore.loaders import Loader
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

#: Keys every JSON error body may carry besides the error shape's members: botocore's JSON
#: and rest-json parsers read the code from ``__type`` (or ``code``) and the message from
#: ``message`` or ``Message`` (botocore/parsers.py, BaseJSONParser._do_error_parse).
_ERROR_ENVELOPE = frozenset({"__type", "code", "message", "Message"})

#: Body locations of a member: no ``location`` means the body (JSON protocols).
_NOT_BODY = frozenset({"header", "headers", "statusCode", "uri", "querystring"})


def _pattern(shape: Shape) -> re.Pattern[str] | None:
    pattern = shape.metadata.get("pattern")
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct: not checkable here, so not checked
        return None


@cache
def _raw_shapes(service: str) -> dict[str, Any]:
    """The model's shapes as JSON: botocore's Shape drops keys it does not use, ``fault`` among them."""
    shapes: dict[str, Any] = Loader().load_service_model(service, "service-2")["shapes"]
    return shapes


def is_fault(operation: OperationModel, code: str) -> bool:
    """True when the model marks the error ``"fault": true`` (the service's fault, not the caller's)."""
    return bool(_raw_shapes(operation.service_model.service_name).get(code, {}).get("fault"))


def _timestamp_format(shape: Shape, default: str) -> str:
    return str(shape.serialization.get("timestampFormat") or shape.metadata.get("timestampFormat") or default)


class ShapeChecker:
    """Walks one value against one shape, collecting every violation as ``path: problem``."""

    def __init__(self, timestamp_default: str = "unixTimestamp") -> None:
        self.timestamp_default = timestamp_default
        self.problems: list[str] = []

    def fail(self, path: str, problem: str) -> None:
        self.problems.append(f"{path}: {problem}")

    def check(self, shape: Shape, value: Any, path: str) -> None:
        kind = shape.type_name
        method = getattr(self, f"_check_{kind}", None)
        if method is None:
            self.fail(path, f"shape type {kind!r} is not checked by this validator")
            return
        method(shape, value, path)

    # -- containers ------------------------------------------------------------------------

    def _check_structure(
        self, shape: Shape, value: Any, path: str, extra: frozenset[str] = frozenset()
    ) -> None:
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            self.fail(path, f"expected an object ({shape.name}), got {type(value).__name__}")
            return
        members = {
            member.serialization.get("name", name): (name, member)
            for name, member in shape.members.items()
            if member.serialization.get("location") not in _NOT_BODY
        }
        for key in value:
            if key not in members and key not in extra:
                self.fail(f"{path}.{key}", f"not a member of {shape.name}")
        present = {key for key, item in value.items() if item is not None}
        for required in shape.required_members:
            wire = shape.members[required].serialization.get("name", required)
            if wire not in present and not (extra and wire.lower() in {k.lower() for k in present}):
                self.fail(f"{path}.{wire}", f"required by {shape.name}, missing")
        if shape.metadata.get("union") and len(present & members.keys()) != 1:
            self.fail(path, f"{shape.name} is a union: exactly one member must be set, got {sorted(present)}")
        for key, item in value.items():
            if key in members and item is not None:
                self.check(members[key][1], item, f"{path}.{key}")

    def _check_list(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.fail(path, f"expected a list ({shape.name}), got {type(value).__name__}")
            return
        assert isinstance(shape, ListShape)
        self._length(shape, len(value), path, "items")
        member = shape.member
        for index, item in enumerate(value):
            self.check(member, item, f"{path}[{index}]")

    def _check_map(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.fail(path, f"expected an object ({shape.name}), got {type(value).__name__}")
            return
        assert isinstance(shape, MapShape)
        self._length(shape, len(value), path, "entries")
        for key, item in value.items():
            self.check(shape.key, key, f"{path}<key {key!r}>")
            self.check(shape.value, item, f"{path}[{key!r}]")

    # -- scalars ---------------------------------------------------------------------------

    def _check_string(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.fail(path, f"expected a string ({shape.name}), got {type(value).__name__} {value!r}")
            return
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            self.fail(path, f"{value!r} is not one of {shape.name}'s values {enum}")
        self._length(shape, len(value), path, "characters")
        pattern = _pattern(shape)
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(path, f"{value!r} does not match {shape.name}'s pattern {pattern.pattern!r}")

    def _number(self, shape: Shape, value: Any, path: str, kinds: tuple[type, ...]) -> None:
        if isinstance(value, bool) or not isinstance(value, kinds):
            self.fail(
                path, f"expected a {shape.type_name} ({shape.name}), got {type(value).__name__} {value!r}"
            )
            return
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            self.fail(path, f"{value} is below {shape.name}'s minimum {low}")
        if high is not None and value > high:
            self.fail(path, f"{value} is above {shape.name}'s maximum {high}")

    def _check_integer(self, shape: Shape, value: Any, path: str) -> None:
        self._number(shape, value, path, (int,))

    _check_long = _check_integer

    def _check_double(self, shape: Shape, value: Any, path: str) -> None:
        self._number(shape, value, path, (int, float))

    _check_float = _check_double

    def _check_boolean(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            self.fail(path, f"expected a boolean ({shape.name}), got {type(value).__name__} {value!r}")

    def _check_blob(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, str):
            self.fail(path, f"expected base64 text ({shape.name}), got {type(value).__name__}")
            return
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            self.fail(path, f"{shape.name} is not valid base64")

    def _check_timestamp(self, shape: Shape, value: Any, path: str) -> None:
        fmt = _timestamp_format(shape, self.timestamp_default)
        if fmt == "unixTimestamp":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(path, f"expected epoch seconds (a number), got {type(value).__name__} {value!r}")
            return
        if not isinstance(value, str):
            self.fail(path, f"expected a {fmt} timestamp string, got {type(value).__name__}")
            return
        if fmt == "iso8601":
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                self.fail(path, f"{value!r} is not an ISO 8601 timestamp")

    def _check_document(self, shape: Shape, value: Any, path: str) -> None:
        """A document is any JSON value."""

    # -- helpers ---------------------------------------------------------------------------

    def _length(self, shape: Shape, length: int, path: str, unit: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and length < low:
            self.fail(path, f"{length} {unit}, fewer than {shape.name}'s minimum {low}")
        if high is not None and length > high:
            self.fail(path, f"{length} {unit}, more than {shape.name}'s maximum {high}")


def output_violations(
    operation: OperationModel, body: Any, headers: Mapping[str, str] | None = None
) -> list[str]:
    """Every way a successful response (its parsed JSON body, and headers) breaks the output shape."""
    checker = ShapeChecker()
    shape = operation.output_shape
    name = operation.name
    if shape is None:
        if body not in (None, {}, b"", ""):
            checker.fail(name, f"the model has no output, got {body!r}")
        return checker.problems
    assert isinstance(shape, StructureShape)
    payload = shape.serialization.get("payload")
    if payload is not None:  # rest-json: the body *is* one member
        member = shape.members[payload]
        if member.type_name == "structure":
            checker.check(member, body, f"{name}.{payload}")
    else:
        checker.check(shape, body, name)
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    for member_name, member in shape.members.items():
        if member.serialization.get("location") == "header":
            value = lowered.get(str(member.serialization["name"]).lower())
            if value is not None and member.type_name == "string":
                checker.check(member, value, f"{name}.{member_name} (header)")
    return checker.problems


def error_code_of(body: Any, headers: Mapping[str, str] | None = None) -> str:
    """The error code the way botocore reads it: header ``x-amzn-ErrorType``, else ``__type``/``code``,
    without a ``namespace#`` prefix or a ``:`` suffix (botocore/parsers.py)."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    raw = lowered.get("x-amzn-errortype") or (
        (body.get("__type") or body.get("code") or "") if isinstance(body, dict) else ""
    )
    return str(raw).split(":")[0].split("#")[-1]


def error_violations(
    operation: OperationModel,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    also_allowed: frozenset[str] = frozenset(),
) -> list[str]:
    """Every way an error response breaks the model: a code the operation does not list (unless in
    ``also_allowed``, AWS's documented common errors), a body that is not its error shape, or a
    status that contradicts the shape's ``error.httpStatusCode`` / ``fault``."""
    checker = ShapeChecker()
    code = error_code_of(body, headers)
    errors = {shape.name: shape for shape in operation.error_shapes}
    path = f"{operation.name} error {code or '(no code)'}"
    if status < 400:
        checker.fail(path, f"an error with HTTP status {status}")
    if code in errors:
        shape = errors[code]
        declared = shape.metadata.get("error", {}).get("httpStatusCode")
        if declared is not None and declared != status:
            checker.fail(path, f"HTTP {status}, the model says {declared}")
        if is_fault(operation, code) and status < 500:
            checker.fail(path, f"a server fault answered with HTTP {status}")
        assert isinstance(shape, StructureShape)
        checker._check_structure(shape, body, path, extra=_ERROR_ENVELOPE)
    elif code not in also_allowed:
        checker.fail(path, f"{code!r} is not an error the model lists for {operation.name}: {sorted(errors)}")
    return checker.problems


class RequestChecker(ShapeChecker):
    """The same walk over a request's *parameters* (Python values, before serialization).

    botocore's own ParamValidator checks types, required members, lengths and ranges, but
    neither ``enum`` nor ``pattern``: AWS refuses those server-side, so a test against a stub
    would never see them. This checker adds them.
    """

    def _check_structure(
        self, shape: Shape, value: Any, path: str, extra: frozenset[str] = frozenset()
    ) -> None:
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            self.fail(path, f"expected a dict ({shape.name}), got {type(value).__name__}")
            return
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                self.fail(f"{path}.{key}", f"not a member of {shape.name}")
            elif item is not None:
                self.check(member, item, f"{path}.{key}")

    def _check_blob(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, (bytes, bytearray, str)) and not hasattr(value, "read"):
            self.fail(path, f"expected bytes ({shape.name}), got {type(value).__name__}")

    def _check_timestamp(self, shape: Shape, value: Any, path: str) -> None:
        if not isinstance(value, (datetime, str, int, float)):
            self.fail(path, f"expected a timestamp ({shape.name}), got {type(value).__name__}")


def request_violations(operation: OperationModel, params: Mapping[str, Any]) -> list[str]:
    """Every way request parameters break the input shape, enums and patterns included."""
    checker = RequestChecker()
    if operation.input_shape is not None:
        checker.check(operation.input_shape, dict(params), operation.name)
    elif params:
        checker.fail(operation.name, f"the model takes no input, got {sorted(params)}")
    return checker.problems
