"""Request parsing: a JSON body in, a typed, frozen request out, or the service's error.

Everything a request can be refused for *by its content alone* is decided here, in the order
the checks ran before the split (which error wins when a body has several faults is part of
the behaviour). Nothing here touches state: the backend applies the parsed request, and
refuses it only for what depends on state (unknown ids, busy sessions, the active limit).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rsbatch.local.dialect import parameter_names
from rsbatch.local.redshift_data.exceptions import invalid, serialization, unknown_operation, validation
from rsbatch.local.redshift_data.models import AUTO_COMMIT, FINISHED, STATUSES, TRANSACTION

# Limits of the real service (botocore model and the Redshift management guide).
MAX_SQLS = 40
MAX_SQL_BYTES = 100 * 1024
MAX_STATEMENT_NAME = 2048
MAX_CLIENT_TOKEN = 64
MAX_WAIT_SECONDS = 30
MAX_SESSION_KEEP_ALIVE = 86400
MAX_LIST_RESULTS = 100  # ListStatementsLimit (ListStatements, ListSessions)
MAX_PAGE_SIZE = 1000  # PageSize (ListDatabases, ListSchemas, ListTables, DescribeTable)
RESULT_FORMATS = ("JSON", "CSV")  # ResultFormatString
SESSION_STATUSES = ("AVAILABLE", "BUSY", "CLOSED")  # SessionStatusString

# The service's wording (boto/boto3#3336 quotes it) for a statement sent nowhere.
NO_TARGET = "Either ClusterIdentifier or WorkgroupName needs to be specified."

_LIST_STATUSES = frozenset({*STATUSES, "ALL"})
_TARGET_FIELDS = ("ClusterIdentifier", "Database", "DbUser", "SecretArn", "WorkgroupName")
_LIST_FILTERS = ("ClusterIdentifier", "Database", "WorkgroupName")
_ID_RE = re.compile(r"^([a-z0-9]{8}(?:-[a-z0-9]{4}){3}-[a-z0-9]{12})(?::(\d+))?$")
_PARAM_NAME_RE = re.compile(r"^[0-9a-zA-Z_]+$")
_ACCESS_KEY_RE = re.compile(r"Credential=([^/,\s]+)/")


class Request:
    """Typed access to a JSON request body, raising the service's errors."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def _get(self, name: str, kind: type, required: bool) -> Any:
        value = self.body.get(name)
        if value is None:
            if required:
                raise validation(name, "Member must not be null")
            return None
        if isinstance(value, bool) and kind is not bool:
            value = None  # bool is an int in Python; JSON true is never a number here
        if value is None or not isinstance(value, kind):
            raise serialization(f"Unexpected value type for member {name}")
        return value

    def string(
        self, name: str, *, required: bool = False, min_len: int = 0, max_len: int | None = None
    ) -> str | None:
        value: str | None = self._get(name, str, required)
        if value is not None:
            if len(value) < min_len:
                raise validation(name, f"Member must have length greater than or equal to {min_len}")
            if max_len is not None and len(value) > max_len:
                raise validation(name, f"Member must have length less than or equal to {max_len}")
        return value

    def required_string(self, name: str) -> str:
        value = self.string(name, required=True)
        assert value is not None
        return value

    def enum(self, name: str, allowed: Sequence[str]) -> str | None:
        value = self.string(name)
        if value is not None and value not in allowed:
            raise validation(name, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
        return value

    def boolean(self, name: str) -> bool:
        return bool(self._get(name, bool, False))

    def integer(self, name: str, low: int, high: int) -> int | None:
        value: int | None = self._get(name, int, False)
        if value is not None and not low <= value <= high:
            raise validation(name, f"Member must have value between {low} and {high}")
        return value

    def strings(self, name: str) -> list[str]:
        value: list[Any] = self._get(name, list, True)
        if not all(isinstance(item, str) for item in value):
            raise serialization(f"Unexpected value type in member {name}")
        return value

    def parameters(self) -> list[dict[str, str]]:
        value: list[Any] | None = self._get("Parameters", list, False)
        if value is None:
            return []
        if not value:
            raise validation("Parameters", "Member must have length greater than or equal to 1")
        params: list[dict[str, str]] = []
        for item in value:
            if not isinstance(item, dict):
                raise serialization("Unexpected value type in Parameters")
            name, val = item.get("name"), item.get("value")
            if not isinstance(name, str) or not isinstance(val, str):
                raise validation("Parameters", "Member must have a string name and value")
            if not _PARAM_NAME_RE.match(name):
                raise validation(
                    "Parameters.name", "Member must satisfy regular expression pattern: [0-9a-zA-Z_]+"
                )
            if not val:
                raise validation("Parameters.value", "Member must have length greater than or equal to 1")
            params.append({"name": name, "value": val})
        return params

    def statement_ref(self) -> StatementRef:
        """The ``Id`` member: a statement id, or ``<id>:N`` for a batch's N-th sub-statement."""
        given = self.required_string("Id")
        match = _ID_RE.match(given)
        if match is None:
            raise validation(
                "Id",
                "Member must satisfy regular expression pattern: "
                "[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\\d{0,2})?",
            )
        number = match.group(2)
        return StatementRef(given, match.group(1), None if number is None else int(number))


# -- parsed requests -------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRef:
    """An ``Id`` as given, split into the statement's id and the sub-statement number, if any."""

    given: str
    statement_id: str
    number: int | None


@dataclass(frozen=True)
class SubmitRequest:
    """ExecuteStatement (one SQL) or BatchExecuteStatement (``is_batch``), checked."""

    sqls: tuple[str, ...]
    is_batch: bool
    name: str | None
    client_token: str | None
    with_event: bool
    mode: str
    wait: int | None
    session_id: str | None
    keep_alive: int | None
    target: Mapping[str, str]
    parameters: tuple[Mapping[str, str], ...]
    result_format: str = "JSON"

    @property
    def fingerprint(self) -> tuple[object, ...]:
        """What a ClientToken replay must repeat: the SQL, where it runs, how, with what values."""
        return (
            self.sqls,
            self.is_batch,
            self.name,
            self.mode,
            self.session_id,
            tuple(sorted(self.target.items())),
            tuple(tuple(sorted(p.items())) for p in self.parameters),
            self.result_format,
        )


@dataclass(frozen=True)
class DescribeRequest:
    ref: StatementRef
    wait: int | None


@dataclass(frozen=True)
class CancelRequest:
    ref: StatementRef


@dataclass(frozen=True)
class GetResultRequest:
    ref: StatementRef
    next_token: str | None  # read once the result it pages through is known
    wait: int | None
    result_format: str = "JSON"  # GetStatementResult: JSON; GetStatementResultV2: CSV


@dataclass(frozen=True)
class ListRequest:
    prefix: str | None
    status: str
    limit: int
    before: int | None  # the NextToken: only statements older than this sequence number
    filters: Mapping[str, str]


@dataclass(frozen=True)
class CatalogRequest:
    """ListDatabases, ListSchemas, ListTables or DescribeTable: a page of the warehouse's catalog.

    ``schema`` / ``table`` are LIKE patterns (``%``, ``_``) for the List operations and names
    for DescribeTable (``exact``).
    """

    operation: str
    database: str | None
    schema: str | None
    table: str | None
    limit: int
    offset: int  # the NextToken: how many entries earlier pages returned

    @property
    def exact(self) -> bool:
        return self.operation == "DescribeTable"

    @property
    def query_key(self) -> str:
        """What a NextToken is bound to: the same operation over the same catalog entries."""
        return json.dumps([self.operation, self.database, self.schema, self.table])


@dataclass(frozen=True)
class ListSessionsRequest:
    session_id: str | None
    statuses: frozenset[str]
    limit: int
    offset: int
    filters: Mapping[str, str]


ParsedRequest = (
    SubmitRequest
    | DescribeRequest
    | CancelRequest
    | GetResultRequest
    | ListRequest
    | CatalogRequest
    | ListSessionsRequest
)


# -- the operations' parsers -----------------------------------------------------------------


def parse_execute(req: Request) -> SubmitRequest:
    return _parse_submit(req, (req.required_string("Sql"),), is_batch=False)


def parse_batch_execute(req: Request) -> SubmitRequest:
    sqls = req.strings("Sqls")
    if not 1 <= len(sqls) <= MAX_SQLS:
        raise validation("Sqls", f"Member must have length between 1 and {MAX_SQLS} (got {len(sqls)})")
    return _parse_submit(req, tuple(sqls), is_batch=True)


def _parse_submit(req: Request, sqls: tuple[str, ...], *, is_batch: bool) -> SubmitRequest:
    if sum(len(sql.encode()) for sql in sqls) > MAX_SQL_BYTES:
        raise invalid(f"The SQL text is larger than the {MAX_SQL_BYTES // 1024} KB limit")
    if any(not sql.strip() for sql in sqls):
        raise invalid("SQL statement cannot be empty")
    name = req.string("StatementName", max_len=MAX_STATEMENT_NAME)
    token = req.string("ClientToken", min_len=1, max_len=MAX_CLIENT_TOKEN)
    with_event = req.boolean("WithEvent")
    mode = TRANSACTION
    if is_batch:
        mode = req.enum("ExecutionMode", (TRANSACTION, AUTO_COMMIT)) or TRANSACTION
    wait = req.integer("WaitTimeSeconds", 1, MAX_WAIT_SECONDS)
    result_format = req.enum("ResultFormat", RESULT_FORMATS) or "JSON"
    session_id = req.string("SessionId")
    keep_alive = req.integer("SessionKeepAliveSeconds", 0, MAX_SESSION_KEEP_ALIVE)
    target = {k: v for k in _TARGET_FIELDS if (v := req.string(k)) is not None}
    if session_id and target:
        raise invalid("SessionId cannot be combined with a cluster, workgroup or database")
    if not session_id:
        _check_target(target)
    parameters = req.parameters()
    _check_parameters(sqls, parameters)
    return SubmitRequest(
        sqls=sqls,
        is_batch=is_batch,
        name=name,
        client_token=token,
        with_event=with_event,
        mode=mode,
        wait=wait,
        session_id=session_id,
        keep_alive=keep_alive,
        target=target,
        parameters=tuple(parameters),
        result_format=result_format,
    )


def _check_target(target: Mapping[str, str]) -> None:
    """A statement or catalog call names exactly one warehouse: a cluster or a workgroup."""
    if "ClusterIdentifier" in target and "WorkgroupName" in target:
        raise invalid("ClusterIdentifier and WorkgroupName are mutually exclusive")
    if "ClusterIdentifier" not in target and "WorkgroupName" not in target:
        raise invalid(NO_TARGET)


def _check_parameters(sqls: Sequence[str], parameters: list[dict[str, str]]) -> None:
    if not parameters:
        return
    given = [p["name"] for p in parameters]
    if len(set(given)) != len(given):
        raise invalid("Parameter names must be unique")
    used = {name for sql in sqls for name in parameter_names(sql)}
    if missing := sorted(used - set(given)):
        raise invalid(f"No value given for parameter(s): {', '.join(missing)}")
    if unused := sorted(set(given) - used):
        raise invalid(f"Parameter(s) not referenced by any SQL statement: {', '.join(unused)}")


def parse_describe(req: Request) -> DescribeRequest:
    wait = req.integer("WaitTimeSeconds", 1, MAX_WAIT_SECONDS)
    return DescribeRequest(req.statement_ref(), wait)


def parse_cancel(req: Request) -> CancelRequest:
    return CancelRequest(req.statement_ref())


def parse_get_result(req: Request) -> GetResultRequest:
    next_token = req.string("NextToken")
    wait = req.integer("WaitTimeSeconds", 1, MAX_WAIT_SECONDS)
    return GetResultRequest(req.statement_ref(), next_token, wait)


def parse_get_result_v2(req: Request) -> GetResultRequest:
    next_token = req.string("NextToken")
    wait = req.integer("WaitTimeSeconds", 1, MAX_WAIT_SECONDS)
    return GetResultRequest(req.statement_ref(), next_token, wait, result_format="CSV")


def _catalog_parser(operation: str, *, schema: str | None, table: str | None) -> Parser:
    """The parser of one catalog operation: its target, Database, filter members and page."""

    def parse(req: Request) -> CatalogRequest:
        target = {k: v for k in _TARGET_FIELDS if (v := req.string(k)) is not None}
        database = req.string("Database", required=operation != "ListDatabases")
        req.string("ConnectedDatabase")
        _check_target(target)
        limit = req.integer("MaxResults", 0, MAX_PAGE_SIZE) or MAX_PAGE_SIZE
        next_token = req.string("NextToken")
        request = CatalogRequest(
            operation=operation,
            database=database,
            schema=req.string(schema) if schema else None,
            table=req.string(table) if table else None,
            limit=limit,
            offset=0,
        )
        if next_token:
            offset = decode_token(next_token, "offset", query=request.query_key)
            request = dataclasses.replace(request, offset=offset)
        return request

    return parse


def parse_list_sessions(req: Request) -> ListSessionsRequest:
    next_token = req.string("NextToken")
    limit = req.integer("MaxResults", 0, MAX_LIST_RESULTS) or MAX_LIST_RESULTS
    session_id = req.string("SessionId")
    status = req.enum("Status", SESSION_STATUSES)
    req.boolean("RoleLevel")
    filters = {k: v for k in _LIST_FILTERS if (v := req.string(k)) is not None}
    offset = decode_token(next_token, "offset", query="ListSessions") if next_token else 0
    statuses = frozenset({status} if status else {"AVAILABLE", "BUSY"})
    return ListSessionsRequest(session_id, statuses, limit, offset, filters)


def parse_list(req: Request) -> ListRequest:
    prefix = req.string("StatementName", max_len=MAX_STATEMENT_NAME)
    status = req.enum("Status", sorted(_LIST_STATUSES)) or FINISHED
    limit = req.integer("MaxResults", 0, MAX_LIST_RESULTS) or MAX_LIST_RESULTS
    next_token = req.string("NextToken")
    req.boolean("RoleLevel")
    filters = {k: v for k in _LIST_FILTERS if (v := req.string(k)) is not None}
    before = decode_token(next_token, "before") if next_token else None
    return ListRequest(prefix, status, limit, before, filters)


Parser = Callable[[Request], ParsedRequest]

PARSERS: Mapping[str, Parser] = {
    "ExecuteStatement": parse_execute,
    "BatchExecuteStatement": parse_batch_execute,
    "DescribeStatement": parse_describe,
    "CancelStatement": parse_cancel,
    "GetStatementResult": parse_get_result,
    "GetStatementResultV2": parse_get_result_v2,
    "ListStatements": parse_list,
    "ListDatabases": _catalog_parser("ListDatabases", schema=None, table=None),
    "ListSchemas": _catalog_parser("ListSchemas", schema="SchemaPattern", table=None),
    "ListTables": _catalog_parser("ListTables", schema="SchemaPattern", table="TablePattern"),
    "DescribeTable": _catalog_parser("DescribeTable", schema="Schema", table="Table"),
    "ListSessions": parse_list_sessions,
}


def read_envelope(target: str, body: bytes) -> tuple[Parser, Request]:
    """The operation named by ``X-Amz-Target`` and its JSON object body (not its members yet)."""
    service, _, operation = target.partition(".")
    parser = PARSERS.get(operation) if service == "RedshiftData" else None
    if parser is None:
        raise unknown_operation(f"Unknown operation: {target!r}")
    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise serialization(f"Malformed JSON body: {exc}") from exc
    if not isinstance(data, dict):
        raise serialization("The request body must be a JSON object")
    return parser, Request(data)


def principal(authorization: str, account: str) -> str:
    """The caller, from the access key of its SigV4 ``Authorization`` header (not verified)."""
    match = _ACCESS_KEY_RE.search(authorization)
    caller = match.group(1) if match else "anonymous"
    return f"arn:aws:sts::{account}:assumed-role/{caller}"


# -- NextToken: opaque to clients, read back only by us --------------------------------------


def encode_token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def decode_token(token: str, key: str, **expected: Any) -> int:
    """The integer ``key`` of a token we issued, if it matches ``expected``; else invalid."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        data = None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get(key), int)
        or any(data.get(k) != v for k, v in expected.items())
    ):
        raise invalid("The NextToken is invalid.")
    return int(data[key])
