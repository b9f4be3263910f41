"""The result's tables as CSV (safe to open in a spreadsheet) and Parquet.

Tables: the snapshot's own (`tokens`, `vaults`, `markets`, `positions`, ... as in
`loopscan.model.schema.SCHEMA`) and the derived ones in `DERIVED`: `exposure`, `vault_summary`
(`ScanResult.vaults`: base, depth, multiplier, opaque fraction per vault), `pyramids`, `loops`,
`thresholds`, `losses`, `depth` (the unwind table: pool depth against liquidatable collateral),
`positions_now` and `markets_now` (the state at the pin).

CSV (`<table>.csv`, UTF-8 with a byte-order mark so Excel reads non-ASCII symbols right):

* Text cells are attacker-controlled (a token's `name()` and `symbol()` are whatever its deployer
  chose). A text cell starting with `=`, `+`, `-`, `@`, a tab, CR, LF or NUL gets a leading `'`,
  so no spreadsheet runs it as a formula (OWASP, CSV injection): `=cmd|' /C calc'!A0` is written
  `'=cmd|' /C calc'!A0`. Only text is touched: a column of numbers stays numbers.
* uint256 / int256 amounts are exact decimal strings (`-12`, `115792089237316195423570985008687907853269984665640564039457584007913129639935`),
  never floats; they are Python ints, so a leading `-` there is a sign, never a formula.

Parquet: the snapshot as `Snapshot.to_parquet` writes it (lossless, reads back with
`Snapshot.from_parquet`) in `snapshot/`, and one `<table>.parquet` per derived table written with
pyarrow: text as `string`, numbers as `int64` / `float64`, big integers as decimal `string`
with the field metadata `loopscan.kind`, as the snapshot's own files do.

    >>> write_csv(result, Path("out/tables"))          # doctest: +SKIP
    >>> pd.read_csv("out/tables/thresholds.csv")       # doctest: +SKIP
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import loopscan

if TYPE_CHECKING:
    from loopscan.result import ScanResult

__all__ = [
    "DERIVED",
    "FORMULA_TRIGGERS",
    "derived_tables",
    "neutralise",
    "spreadsheet_safe",
    "write_csv",
    "write_parquet",
]

DERIVED = ("exposure", "vault_summary", "pyramids", "loops", "thresholds", "losses", "depth", "positions_now", "markets_now")
"""Derived tables by file name; `vault_summary` is `ScanResult.vaults` (the snapshot has its own `vaults`)."""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
"""A text cell starting with one of these is prefixed with `'` in CSV."""


def neutralise(text: str) -> str:
    """`text` prefixed with `'` if a spreadsheet would read it as a formula.

    >>> neutralise("=1+1"), neutralise("-2"), neutralise("xUSD")
    ("'=1+1", "'-2", 'xUSD')
    """
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def derived_tables(result: ScanResult) -> dict[str, pd.DataFrame]:
    """The tables loopscan derived from the snapshot, by file name."""
    return dict(
        zip(
            DERIVED,
            (result.exposure, result.vaults, result.pyramids, result.loops, result.thresholds, result.losses, result.depth,
             result.now, result.markets_now),
            strict=True,
        )
    )


def _cell(value: object) -> object:
    """A CSV cell of a text (object or string) column: text neutralised, an int as its exact
    decimal text, anything else as it is."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` ready for CSV: text and big-integer columns through `_cell`; numeric
    columns (int, float, bool dtypes) untouched, so negative numbers stay numbers."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            out[column] = series.map(_cell, na_action="ignore").astype(object)
    return out


def write_csv(result: ScanResult, folder: Path) -> Path:
    """One `<table>.csv` per snapshot and derived table in `folder` (created); returns `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in {**result.snapshot.tables(), **derived_tables(result)}.items():
        spreadsheet_safe(frame).to_csv(
            folder / f"{name}.csv", index=False, encoding="utf-8-sig", errors="backslashreplace", lineterminator="\n"
        )
    return folder


def _big_int_kind(values: list[int]) -> str:
    return "int256" if any(v < 0 for v in values) else "uint256"


def _arrow_column(name: str, series: pd.Series) -> tuple[pa.Field, pa.Array]:
    """A derived column as pyarrow: numbers as numbers, text as string, Python ints (amounts that
    may exceed 64 bits) as decimal strings tagged `loopscan.kind`."""
    if pd.api.types.is_bool_dtype(series):
        return pa.field(name, pa.bool_()), pa.Array.from_pandas(series, type=pa.bool_())
    if pd.api.types.is_integer_dtype(series):
        return pa.field(name, pa.int64()), pa.Array.from_pandas(series, type=pa.int64())
    if pd.api.types.is_float_dtype(series):
        return pa.field(name, pa.float64()), pa.Array.from_pandas(series, type=pa.float64())
    values = [None if v is None or (isinstance(v, float) and v != v) or v is pd.NA else v for v in series]
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in present):
        kind = _big_int_kind([int(v) for v in present])
        array = pa.array([None if v is None else str(int(v)) for v in values], type=pa.string())
        return pa.field(name, pa.string(), metadata={"loopscan.kind": kind}), array
    if present and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in present):
        return pa.field(name, pa.float64()), pa.array(
            [None if v is None else float(v) for v in values], type=pa.float64()
        )
    array = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    return pa.field(name, pa.string(), metadata={"loopscan.kind": "text"}), array


def derived_arrow(name: str, frame: pd.DataFrame, result: ScanResult) -> pa.Table:
    """A derived table as a pyarrow Table, with the scan's chain, block and loopscan version in
    the schema metadata."""
    fields, arrays = [], []
    for column in frame.columns:
        field, array = _arrow_column(str(column), frame[column])
        fields.append(field)
        arrays.append(array)
    meta = result.snapshot.meta
    metadata = {"loopscan.table": name, "loopscan.chain_id": str(meta.chain_id), "loopscan.block": str(meta.block_number),
                "loopscan.block_hash": meta.block_hash, "loopscan.version": loopscan.__version__}  # fmt: skip
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))


def write_parquet(result: ScanResult, folder: Path) -> Path:
    """`folder/snapshot/` (`Snapshot.to_parquet`) and `folder/<derived>.parquet`; returns `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    result.snapshot.to_parquet(folder / "snapshot")
    for name, frame in derived_tables(result).items():
        pq.write_table(derived_arrow(name, frame, result), folder / f"{name}.parquet")
    return folder
