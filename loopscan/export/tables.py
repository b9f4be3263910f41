"""The result's tables as CSV (safe to open in a spreadsheet) and Parquet.

Token names and symbols are attacker-controlled: a text cell starting with `=`, `+`, `-`, `@`,
a tab or a carriage return is prefixed with `'` so no spreadsheet runs it as a formula (OWASP's
CSV-injection advice). Numeric columns are left as numbers; uint256 amounts are decimal text.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from loopscan.result import ScanResult

__all__ = ["derived_tables", "write_csv", "write_parquet", "neutralise"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def derived_tables(result: ScanResult) -> dict[str, pd.DataFrame]:
    return {"exposure": result.exposure, "vault_pyramids": result.vaults, "pyramids": result.pyramids,
            "loops": result.loops, "thresholds": result.thresholds, "losses": result.losses}  # fmt: skip


def _cell(value):
    """Text neutralised; a big integer as its exact decimal text (a minus sign there is a number)."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _text_safe(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(_cell)
    return out


def write_csv(result: ScanResult, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tables = {**result.snapshot.tables(), **derived_tables(result)}
    for name, frame in tables.items():
        _text_safe(frame).to_csv(folder / f"{name}.csv", index=False)
    return folder


def write_parquet(result: ScanResult, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    result.snapshot.to_parquet(folder / "snapshot")
    for name, frame in derived_tables(result).items():
        frame.astype({c: str for c in frame.columns if frame[c].dtype == object}).to_parquet(folder / f"{name}.parquet", index=False)
    return folder
