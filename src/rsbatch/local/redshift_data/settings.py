"""The emulator's knobs that the backend reads at each use.

They are the public attributes of :class:`~rsbatch.local.redshift_data.emulator.RedshiftDataEmulator`
(tests change ``result_page_rows`` on a running emulator), so the parts are given the
emulator as a :class:`Settings` and read the attribute when they need it, never a copy.
"""

from __future__ import annotations

from typing import Protocol


class Settings(Protocol):
    account: str
    region: str
    enforce_owner: bool  # only the principal that submitted a statement may read or cancel it
    result_page_rows: int  # GetStatementResult records per page
    max_active_statements: int  # non-terminal statements before ActiveStatementsExceededException
    retention_seconds: float  # how long an ended statement is kept (24 h)
    result_memory_bytes: int  # result rows kept in memory, over all ended statements, oldest dropped first
