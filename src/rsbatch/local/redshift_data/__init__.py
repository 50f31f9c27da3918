"""A local Redshift Data API: the real wire protocol in front of the local warehouse.

moto's ``redshift-data`` runs no SQL, so this package serves the Data API's JSON 1.1
protocol (``POST /``, ``X-Amz-Target: RedshiftData.<Operation>``) on 127.0.0.1 and runs
the statements on PostgreSQL (:class:`~rsbatch.local.warehouse.Warehouse`). The unchanged
boto3 ``redshift-data`` client reaches it through ``endpoint_url`` or
``AWS_ENDPOINT_URL_REDSHIFT_DATA``.

Operations: BatchExecuteStatement, ExecuteStatement, DescribeStatement (``WaitTimeSeconds``
long poll), CancelStatement (cancels the running PostgreSQL query), GetStatementResult
(typed fields, ``ColumnMetadata``, ``NextToken`` paging, batch results by ``<id>:N``),
GetStatementResultV2 (the same for ``ResultFormat=CSV`` statements, as ``CSVRecords``
text), ListStatements (name prefix, status filter; FINISHED only by default, as
documented), ListSessions, and the catalog: ListDatabases, ListSchemas, ListTables and
DescribeTable, answered from PostgreSQL's own catalogs (``LIKE`` patterns, paging).

Semantics follow the service: statuses SUBMITTED → PICKED → STARTED → FINISHED | FAILED |
ABORTED; a batch runs as one SERIALIZABLE transaction (``ExecutionMode=TRANSACTION``, the
default, at Redshift's only isolation level: the failing sub-statement is FAILED with
PostgreSQL's error, serialization failures and deadlocks included, the later ones ABORTED,
nothing is committed) or statement by statement (``AUTO_COMMIT``: each commits, later
statements still run after a failure); ``ClientToken`` replays return the first statement's id; ``:name``
parameters are bound by psycopg; Redshift's limits answer ``ValidationException``, and so do
a statement that names no cluster or workgroup, a ClientToken reused with another request
and a result read with the operation of the other format. Every
statement passes through :func:`~rsbatch.local.dialect.to_postgres` first. Sessions run in
UTC and each statement sees a fresh session (pooled connections are ``DISCARD ALL``-ed),
unless it asks for one: ``SessionKeepAliveSeconds`` keeps its connection (temp tables and
all) for the caller's next statements with the returned ``SessionId``, one at a time, until
it has been idle that long.

With ``WithEvent=True``, a statement reaching a terminal state publishes exactly one
EventBridge-shaped event to the callables given to :meth:`RedshiftDataEmulator.subscribe`.

On purpose, :meth:`RedshiftDataEmulator.set_faults` makes it misbehave as Redshift can
(the warehouse knobs of :class:`~rsbatch.local.faults.Faults`): serializable conflicts
(error 1023), throttled calls, submits failing with a server error, a lower
active-statements limit (:attr:`~RedshiftDataEmulator.peak_active` records the most ever
active), an event per sub-statement, DescribeStatement lagging behind the event.

Not emulated: the other databases of a data share (``ConnectedDatabase`` is accepted and
ignored), IAM Identity Center (``RoleLevel`` is accepted and ignored).

The parts, split as protocol emulators such as moto's are (wire errors, request parsing,
state, operations), each knowing only what it needs:

- :mod:`.exceptions`: the wire errors (``ApiError``) and the service's error codes;
- :mod:`.parsing`: a JSON body into a typed, frozen request, or the error its content earns;
- :mod:`.models`: statements, sub-statements and sessions, with their describe/list shapes;
- :mod:`.store`: every statement by id, ClientTokens, expiry, and the one way a statement ends;
- :mod:`.sessions`: the connections kept between a principal's statements;
- :mod:`.events`: the status-change event and its subscribers;
- :mod:`.injected`: the warehouse fault knobs, their dice, Redshift's error 1023;
- :mod:`.results`: PostgreSQL values and columns as the Data API types them (or as CSV);
- :mod:`.catalog`: the metadata operations' queries on PostgreSQL's catalogs;
- :mod:`.runner`: worker threads and pooled connections running the SQL;
- :mod:`.backend`: the operations, applying parsed requests to the state;
- :mod:`.server`: HTTP framing around a ``(target, body, authorization)`` handler;
- :mod:`.emulator`: :class:`RedshiftDataEmulator`, which wires them and owns the lifecycle.
"""

from rsbatch.local.redshift_data.emulator import RedshiftDataEmulator
from rsbatch.local.redshift_data.events import RedshiftEvent

__all__ = ["RedshiftDataEmulator", "RedshiftEvent"]
