"""Lossless Parquet storage of the snapshot's tables.

Encoding of raw on-chain integers (``uint256``, ``int256`` columns): in memory they are
Python ints in ``object`` columns; on disk they are Parquet ``string`` columns holding
the base-10 text of the value (``"-57896..."``), null for null. Why not a number type:

- ``int64``/``uint64`` overflow at 2**63 / 2**64;
- ``decimal256`` tops out at 76 digits, and 2**256-1 has 78, so pyarrow rejects it;
- a 32-byte big-endian ``fixed_size_binary`` would fit but needs a sign convention for
  int256 and is unreadable in DuckDB or a notebook without a decoder.

Decimal text is exact for every value, signed or not, and any tool can read it (DuckDB:
``CAST(x AS HUGEINT)`` up to 2**127, or read it as text). Each field carries the
key-value metadata ``loopscan.kind`` so a reader knows the string is a number.

Layout of a snapshot directory: one ``<table>.parquet`` per table and ``snapshot.json``
holding the format name, ``SCHEMA_VERSION`` and the metadata.
"""

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from loopscan.model.errors import SnapshotFormatError
from loopscan.model.frames import INT_RANGES, dtype_of, validate_frame
from loopscan.model.schema import SCHEMA, Column

__all__ = ["FORMAT", "SCHEMA_VERSION", "from_arrow", "read_tables", "to_arrow", "write_tables"]

FORMAT = "loopscan-snapshot"
SCHEMA_VERSION = 2
"""2: a market has one row per collateral (`market_collaterals`) and a position one per collateral
(`position_collaterals`); protocols' raw fields moved to `market_params`. 1 had one collateral per
market and position, with Morpho's and Aave's fields as columns of `markets`."""
"""Bumped whenever a column is added, removed, renamed or changes kind."""

_META_FILE = "snapshot.json"
_ARROW_TYPES = {
    "address": pa.string(),
    "text": pa.string(),
    "enum": pa.string(),
    "uint256": pa.string(),
    "int256": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
}


def _field(column: Column) -> pa.Field:
    return pa.field(
        column.name,
        _ARROW_TYPES[column.kind],
        nullable=column.nullable,
        metadata={"loopscan.kind": column.kind},
    )


def _to_arrow(column: Column, series: pd.Series) -> pa.Array:
    kind_type = _ARROW_TYPES[column.kind]
    if column.kind in INT_RANGES:
        return pa.array([None if v is None else str(v) for v in series], type=kind_type)
    return pa.Array.from_pandas(series, type=kind_type)


def _from_arrow(column: Column, values: pa.ChunkedArray) -> pd.Series:
    if column.kind in INT_RANGES:
        return pd.Series([None if v is None else int(v) for v in values.to_pylist()], dtype="object")
    if column.kind == "int64":
        return values.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get).astype(dtype_of(column))
    return values.to_pandas().astype(dtype_of(column))


def to_arrow(table: str, frame: pd.DataFrame) -> pa.Table:
    """One validated table in its storage encoding (the Parquet files' and the history store's)."""
    validate_frame(table, frame)
    columns = SCHEMA[table]
    schema = pa.schema([_field(c) for c in columns])
    return pa.Table.from_arrays([_to_arrow(c, frame[c.name]) for c in columns], schema=schema)


def from_arrow(table: str, stored: pa.Table, source: str) -> pd.DataFrame:
    """The inverse of ``to_arrow``; ``source`` names where it was read, for the error message."""
    columns = SCHEMA[table]
    if stored.column_names != [c.name for c in columns]:
        raise SnapshotFormatError(f"{source}: columns {stored.column_names} differ from the schema")
    frame = pd.DataFrame({c.name: _from_arrow(c, stored.column(c.name)) for c in columns})
    validate_frame(table, frame)
    return frame


def write_tables(directory: Path, tables: Mapping[str, pd.DataFrame], meta: Mapping[str, object]) -> None:
    """Write every table and the metadata JSON into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    for table in SCHEMA:
        pq.write_table(to_arrow(table, tables[table]), directory / f"{table}.parquet")
    document = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "meta": dict(meta),
        "tables": list(SCHEMA),
    }
    (directory / _META_FILE).write_text(json.dumps(document, indent=2) + "\n")


def _read_document(directory: Path) -> dict[str, object]:
    path = directory / _META_FILE
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise SnapshotFormatError(f"{directory}: no {_META_FILE}; not a snapshot directory") from None
    except json.JSONDecodeError as exc:
        raise SnapshotFormatError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotFormatError(f"{path}: format is not {FORMAT!r}")
    if document.get("schema_version") != SCHEMA_VERSION:
        meta = document.get("meta") if isinstance(document.get("meta"), dict) else {}
        written_by = meta.get("loopscan_version", "an unknown version")
        raise SnapshotFormatError(
            f"{path}: written by loopscan {written_by} (snapshot schema {document.get('schema_version')!r}); "
            f"this loopscan reads schema {SCHEMA_VERSION}: scan again"
        )
    return document


def _read_table(directory: Path, table: str) -> pd.DataFrame:
    path = directory / f"{table}.parquet"
    try:
        stored = pq.read_table(path)
    except FileNotFoundError:
        raise SnapshotFormatError(f"{path}: missing table file") from None
    return from_arrow(table, stored, str(path))


def read_tables(directory: Path) -> tuple[dict[str, object], dict[str, pd.DataFrame]]:
    """Read a directory written by ``write_tables``: (metadata dict, table frames)."""
    document = _read_document(directory)
    meta = document.get("meta")
    if not isinstance(meta, dict):
        raise SnapshotFormatError(f"{directory / _META_FILE}: 'meta' is not an object")
    return meta, {table: _read_table(directory, table) for table in SCHEMA}
