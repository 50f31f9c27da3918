"""Errors the core raises on purpose; each carries a message meant for a human."""


class RsbatchError(Exception):
    """Base of every error rsbatch raises on purpose."""


class BadInputError(RsbatchError):
    """Input refused before anything was submitted (exit code 2 in the CLI)."""


class SettingsError(BadInputError):
    """The environment does not describe a usable configuration."""


class SqlFileError(BadInputError):
    """The SQL file cannot be used: missing, outside the root, too big, empty…"""


class BatchFailedError(RsbatchError):
    """The Redshift batch ended FAILED or ABORTED, or an operator failed the run."""

    def __init__(self, message: str, statement_index: int | None = None) -> None:
        super().__init__(message)
        self.statement_index = statement_index
