"""Errors of the data model.

::

    LoopscanError
    ├── SchemaError           a frame breaks the fixed schema (names table and column)
    ├── SnapshotFormatError   a directory on disk is not a readable snapshot
    └── NotInSnapshotError    a lookup (``Snapshot.token``) found no row
"""

from loopscan.errors import LoopscanError

__all__ = ["NotInSnapshotError", "SchemaError", "SnapshotFormatError"]


class SchemaError(LoopscanError):
    """A table's frame does not match the schema.

    ``table`` and ``column`` name the culprit so the message can be acted on without a
    debugger; ``column`` is the comma-joined key for duplicate-key errors.
    """

    def __init__(self, table: str, column: str, detail: str) -> None:
        super().__init__(f"{table}.{column}: {detail}")
        self.table = table
        self.column = column
        self.detail = detail


class SnapshotFormatError(LoopscanError):
    """A snapshot directory is missing files or was written by an incompatible version."""


class NotInSnapshotError(LoopscanError, LookupError):
    """The snapshot has no row for the requested key."""
