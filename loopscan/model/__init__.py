"""The pure data model: a block-pinned ``Snapshot`` of fixed-column tables.

No I/O here except reading and writing a snapshot's Parquet files. The schema lives in
``schema.SCHEMA``; ``schema_markdown()`` renders it for the README. Raw on-chain
integers are Python ints in memory and decimal strings on disk (see ``parquet``).
"""

from loopscan.model.errors import NotInSnapshotError, SchemaError, SnapshotFormatError
from loopscan.model.frames import dtype_of, empty_frame, to_frame, validate_frame
from loopscan.model.parquet import SCHEMA_VERSION
from loopscan.model.schema import (
    KEYS,
    SCHEMA,
    ZERO_ADDRESS,
    Column,
    OracleKind,
    PriceQuote,
    TokenKind,
    schema_markdown,
)
from loopscan.model.snapshot import Snapshot, SnapshotMeta, Token

__all__ = [
    "KEYS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Column",
    "NotInSnapshotError",
    "OracleKind",
    "PriceQuote",
    "SchemaError",
    "Snapshot",
    "SnapshotFormatError",
    "SnapshotMeta",
    "Token",
    "TokenKind",
    "ZERO_ADDRESS",
    "dtype_of",
    "empty_frame",
    "schema_markdown",
    "to_frame",
    "validate_frame",
]
