"""Typed frames for the snapshot's tables: build them, and check them against ``SCHEMA``.

Indexers produce rows as plain dicts and call ``to_frame``; it applies the dtypes of the
schema so that, for example, a column of small Python ints does not silently become
``int64`` and then overflow on the next uint256 value.

>>> frame = to_frame("ticks", [{"block": 1, "pool": "0x" + "ab" * 20, "tick": -10,
...                              "liquidity_net": -2**127, "liquidity_gross": 2**127}])
>>> frame["liquidity_net"].dtype, type(frame["liquidity_net"][0])
(dtype('O'), <class 'int'>)
"""

import numbers
import re
from collections.abc import Iterable, Mapping
from operator import itemgetter

import numpy as np
import pandas as pd

from loopscan.model.errors import SchemaError
from loopscan.model.schema import KEYS, SCHEMA, Column

__all__ = ["INT_RANGES", "dtype_of", "empty_frame", "to_frame", "unchecked_frame", "validate_frame"]

INT_RANGES = {"uint256": (0, 2**256 - 1), "int256": (-(2**255), 2**255 - 1)}
"""Inclusive value range of each big-integer kind."""

_ADDRESS = re.compile(r"0x[0-9a-f]{40}")
_STR = pd.StringDtype(na_value=np.nan)
_INT_OR_NONE = {int, type(None)}


def dtype_of(column: Column) -> str | pd.api.extensions.ExtensionDtype:
    """The pandas dtype a column has in memory."""
    if column.kind in ("address", "text", "enum"):
        return _STR
    if column.kind in INT_RANGES:
        return "object"
    if column.kind == "int64":
        return "Int64" if column.nullable else "int64"
    return "float64"


def _columns(table: str) -> tuple[Column, ...]:
    try:
        return SCHEMA[table]
    except KeyError:
        raise SchemaError(table, "*", f"unknown table; tables are {', '.join(SCHEMA)}") from None


def empty_frame(table: str) -> pd.DataFrame:
    """A frame with the table's columns and dtypes and no rows."""
    return pd.DataFrame({c.name: pd.Series([], dtype=dtype_of(c)) for c in _columns(table)})


def _to_int(table: str, column: str, row: int, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise SchemaError(table, column, f"row {row}: {value!r} is not an integer")


def _series(table: str, column: Column, values: list[object]) -> pd.Series:
    if column.kind in INT_RANGES:
        # Plain ints and None (nearly every value) pass as they are; the rest go through `_to_int`.
        if not set(map(type, values)) <= _INT_OR_NONE:
            values = [v if type(v) is int else _to_int(table, column.name, i, v) for i, v in enumerate(values)]
        return pd.Series(values, dtype="object")
    if column.kind == "address":
        values = [v.lower() if isinstance(v, str) else v for v in values]
    try:
        return pd.Series(values, dtype=dtype_of(column))
    except (TypeError, ValueError) as exc:
        raise SchemaError(table, column.name, f"cannot hold these values: {exc}") from exc


def to_frame(table: str, rows: Iterable[Mapping[str, object]]) -> pd.DataFrame:
    """Build a validated frame from row dicts; nullable columns may be left out of a row.

    Addresses are lowercased; numpy integers become Python ints. Raises ``SchemaError``
    for an unknown or missing column, or a value the column cannot hold.
    """
    frame = unchecked_frame(table, rows)
    validate_frame(table, frame)
    return frame


def unchecked_frame(table: str, rows: Iterable[Mapping[str, object]]) -> pd.DataFrame:
    """`to_frame` without `validate_frame`: for a caller that validates the frame itself next
    (``Snapshot.from_rows`` validates the whole snapshot once). Row keys are still checked."""
    columns = _columns(table)
    names = {c.name for c in columns}
    required = {c.name for c in columns if not c.nullable}
    rows = list(rows)
    if rows and len(columns) > 1 and set(map(len, rows)) == {len(names)}:
        # Rows as long as the schema: if every one has every column, they are checked and gathered
        # in one pass, transposed (at 100k rows, per-row set comparisons and per-cell gets were
        # the bulk of the cost). A missing column raises KeyError: the rows are walked as below.
        try:
            values = list(map(list, zip(*map(itemgetter(*(c.name for c in columns)), rows), strict=True)))
        except KeyError:
            pass
        else:
            return pd.DataFrame({c.name: _series(table, c, v) for c, v in zip(columns, values, strict=True)})
    for i, row in enumerate(rows):
        keys = row.keys()
        if not keys <= names:
            raise SchemaError(table, sorted(keys - names)[0], f"row {i}: not a column of this table")
        if not required <= keys:
            first = next(c.name for c in columns if c.name in required and c.name not in row)
            raise SchemaError(table, first, f"row {i}: value required")
    return pd.DataFrame({c.name: _series(table, c, [row.get(c.name) for row in rows]) for c in columns})


def _check_names(table: str, columns: tuple[Column, ...], frame: pd.DataFrame) -> None:
    expected = [c.name for c in columns]
    actual = [str(name) for name in frame.columns]
    if actual == expected:
        return
    for name in expected:
        if name not in actual:
            raise SchemaError(table, name, "missing column")
    for name in actual:
        if name not in expected:
            raise SchemaError(table, name, "not a column of this table")
    if len(set(actual)) != len(actual):
        duplicated = next(n for n in actual if actual.count(n) > 1)
        raise SchemaError(table, duplicated, "column appears twice")
    position = next(i for i, (a, e) in enumerate(zip(actual, expected, strict=True)) if a != e)
    raise SchemaError(table, actual[position], f"out of order: position {position} is {expected[position]}")


def _check_dtype(table: str, column: Column, series: pd.Series) -> None:
    expected = dtype_of(column)
    ok = isinstance(series.dtype, pd.StringDtype) if expected is _STR else series.dtype == expected
    if not ok:
        raise SchemaError(table, column.name, f"dtype is {series.dtype}, expected {expected}")


def _first(mask: pd.Series) -> object:
    return mask.index[mask.to_numpy()][0]


def _check_values(table: str, column: Column, series: pd.Series) -> None:
    missing = series.isna()
    if not column.nullable and missing.any():
        raise SchemaError(table, column.name, f"row {_first(missing)}: null in a non-null column")
    present = series[~missing]
    if column.kind in INT_RANGES:
        low, high = INT_RANGES[column.kind]
        # All plain ints within range (the rule at 100k rows) is told by builtins over the array;
        # only a column that fails it is walked row by row to name the first offender.
        values = present.to_numpy()
        if set(map(type, values)) <= {int} and (not len(values) or low <= min(values) and max(values) <= high):
            return
        for index, value in present.items():
            if type(value) is not int:
                raise SchemaError(table, column.name, f"row {index}: {value!r} is not a Python int")
            if not low <= value <= high:
                raise SchemaError(table, column.name, f"row {index}: {value} is out of {column.kind} range")
    elif column.kind == "address":
        bad = ~present.str.fullmatch(_ADDRESS)
        if bad.any():
            row = _first(bad)
            raise SchemaError(table, column.name, f"row {row}: {present[row]!r} is not a lowercase 0x address")
    elif column.kind == "enum":
        bad = ~present.isin(column.allowed)
        if bad.any():
            row = _first(bad)
            allowed = ", ".join(column.allowed)
            raise SchemaError(table, column.name, f"row {row}: {present[row]!r} is not one of {allowed}")


def validate_frame(table: str, frame: pd.DataFrame) -> None:
    """Check columns (names, order), dtypes, nulls, value ranges and key uniqueness.

    Raises ``SchemaError`` naming the table and the first offending column.
    """
    columns = _columns(table)
    _check_names(table, columns, frame)
    for column in columns:
        series = frame[column.name]
        _check_dtype(table, column, series)
        _check_values(table, column, series)
    key = list(KEYS[table])
    if key:
        duplicated = frame.duplicated(subset=key)
        if duplicated.any():
            raise SchemaError(table, ",".join(key), f"row {_first(duplicated)}: duplicate key")
