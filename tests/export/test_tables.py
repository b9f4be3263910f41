"""The result's tables as CSV (safe to open in a spreadsheet) and Parquet.

A literal snapshot carries the attacks: token names and symbols that are formulas (`=cmd|' /C
calc'!A0`, `@SUM(…)`, `+1+1`, `-2+3`, a leading tab), next to numbers that must stay numbers: a
vault with more visible than reported assets (opaque_assets = 100 - 150 = -50, an int256), a
negative price (a float), and a total supply of 2**255 (a uint256 beyond 64 bits).
The stream-2025 devnet checks that every real table reads back as it was.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from literal_snapshots import M, holding, market, position, snapshot, token, vault

from loopscan.export import export
from loopscan.export.tables import DERIVED, derived_tables, neutralise, spreadsheet_safe
from loopscan.model import SCHEMA, Snapshot
from loopscan.result import ScanResult, analyse

B, V, S, C, A = ("0x" + c * 40 for c in "bcdea")
CALC = "=cmd|' /C calc'!A0"










@pytest.fixture(scope="module")
def hostile() -> ScanResult:
    market_row = market(V, B, 400, 300)
    tables = {
        "tokens": [token(B, "USDC", name=CALC, price=-1.5), token(V, "@SUM(A1:A9)", "vault_share", name="+1+1"),
                   token(S, "-2+3", name="\tTAB"), token(C, "C", "vault_share")],
        "vaults": [vault(V, B, "erc4626", 1000, 250), vault(S, B, "backed_stablecoin", 500, 500), {**vault(C, B, "erc4626", 100, 150), "total_supply": 2**255}],
        "markets": [market_row],
        "positions": [position(A, V, 600, 300, 0), position(S, V, 0, 0, 400)],
        "holdings": [holding(V, B, 250), holding(S, B, 100), holding(S, B, 400, M), holding(C, B, 150)],
    }  # fmt: skip
    return analyse(snapshot(tables))


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\nx", "\0x", CALC])
def test_formula_starts_are_neutralised(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["xUSD", "USD₮0", "", " =1", "a=b", "'=1", "0x" + "ab" * 20])
def test_other_text_is_left_alone(text):
    assert neutralise(text) == text


def test_only_text_columns_are_touched():
    frame = pd.DataFrame(
        {"symbol": pd.Series(["-2+3", "ok", None], dtype="str"), "amount": pd.Series([-(2**200), 5, None], dtype=object),
         "delta": [-1.5, 0.0, np.nan], "count": [-3, 0, 1], "flag": [True, False, True]}
    )  # fmt: skip
    safe = spreadsheet_safe(frame)
    assert safe["symbol"].tolist()[:2] == ["'-2+3", "ok"] and pd.isna(safe["symbol"][2])
    assert safe["amount"].tolist()[:2] == [str(-(2**200)), "5"]  # an int's sign is a number, not a formula
    assert safe["delta"].tolist()[:2] == [-1.5, 0.0] and safe["count"].tolist() == [-3, 0, 1]
    assert safe["flag"].tolist() == [True, False, True]
    assert frame["symbol"][0] == "-2+3"  # a copy


def test_derived_names_do_not_clash_with_the_snapshot():
    assert not set(DERIVED) & set(SCHEMA)


def test_csv_neutralises_formulas_and_keeps_numbers(hostile, tmp_path):
    folder = export(hostile, tmp_path, "csv")
    assert folder == tmp_path / "tables"
    assert sorted(p.stem for p in folder.glob("*.csv")) == sorted([*SCHEMA, *DERIVED])
    with (folder / "tokens.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = {r["address"]: r for r in csv.DictReader(f)}
    assert rows[B]["name"] == "'=cmd|' /C calc'!A0"
    assert (rows[V]["symbol"], rows[V]["name"]) == ("'@SUM(A1:A9)", "'+1+1")
    assert (rows[S]["symbol"], rows[S]["name"]) == ("'-2+3", "'\tTAB")
    assert rows[B]["price"] == "-1.5"  # a negative float in a numeric column: no quote
    with (folder / "vaults.csv").open(encoding="utf-8-sig", newline="") as f:
        vaults = {r["vault"]: r for r in csv.DictReader(f)}
    assert vaults[C]["opaque_assets"] == "-50"  # int256 -50 as a number
    assert vaults[C]["total_supply"] == str(2**255)  # uint256 exact, not 5.79e76
    # pandas reads it back: text with its quote, numbers as numbers
    tokens = pd.read_csv(folder / "tokens.csv").set_index("address")
    assert tokens.loc[B, "name"] == "'=cmd|' /C calc'!A0" and tokens.loc[B, "price"] == -1.5
    assert pd.api.types.is_float_dtype(tokens["price"])
    read = pd.read_csv(folder / "vaults.csv", dtype={"total_supply": str}).set_index("vault")
    assert pd.api.types.is_integer_dtype(read["opaque_assets"]) and read.loc[C, "opaque_assets"] == -50
    assert [int(x) for x in read["total_supply"]] == [1000, 500, 2**255]
    # derived tables: symbols neutralised there too, fractions still floats
    summary = pd.read_csv(folder / "vault_summary.csv").set_index("vault")
    assert summary.loc[V, "symbol"] == "'@SUM(A1:A9)" and summary.loc[S, "symbol"] == "'-2+3"
    assert summary.loc[V, "base_fraction"] == 0.25 and summary.loc[V, "depth"] == 1
    thresholds = pd.read_csv(folder / "thresholds.csv")
    assert thresholds["symbol"].tolist() == ["'@SUM(A1:A9)"] * 2
    assert thresholds["first_liquidation_frac"].tolist() == hostile.thresholds["first_liquidation_frac"].tolist()


def _cells(frame: pd.DataFrame) -> list[tuple]:
    """Rows as plain Python values, every missing value as None."""

    def plain(v):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return None
        return v.item() if isinstance(v, np.generic) else v

    return [tuple(plain(v) for v in row) for row in frame.astype(object).itertuples(index=False)]


@pytest.mark.devnet
def test_stream_csv_reads_back(stream_result, tmp_path):
    folder = export(stream_result, tmp_path, "csv")
    for name, frame in {**stream_result.snapshot.tables(), **derived_tables(stream_result)}.items():
        big = [c.name for c in SCHEMA.get(name, ()) if c.kind in ("uint256", "int256")]
        read = pd.read_csv(folder / f"{name}.csv", dtype={c: str for c in big}, keep_default_na=True)
        assert list(read.columns) == list(frame.columns) and len(read) == len(frame), name
        for column in big:  # exact integers back from their decimal text
            assert [None if pd.isna(x) else int(x) for x in read[column]] == list(frame[column]), (name, column)
    thresholds = pd.read_csv(folder / "thresholds.csv")
    for name in ("first_liquidation_frac", "cascade_frac", "bad_debt_frac", "bad_debt_at_100pct_usd"):
        expected = stream_result.thresholds[name].astype(float).tolist()
        assert [None if math.isnan(x) else x for x in thresholds[name]] == [
            None if math.isnan(x) else x for x in expected
        ]
    assert (
        thresholds["symbol"].tolist() == stream_result.thresholds["symbol"].tolist()
    )  # sdeUSD, xUSD: nothing to neutralise
    vaults = pd.read_csv(folder / "vaults.csv", dtype={"total_supply": str}).set_index("vault")
    cpusdc = stream_result.snapshot.tokens.set_index("symbol").loc["cpUSDC", "address"]
    assert vaults.loc[cpusdc, "total_supply"] == "120000000000000000000000000"  # 120M shares of 18 decimals


@pytest.mark.devnet
def test_stream_parquet_round_trips(stream_result, tmp_path):
    folder = export(stream_result, tmp_path, "parquet")
    assert folder == tmp_path / "parquet"
    again = Snapshot.from_parquet(folder / "snapshot")
    for name, frame in stream_result.snapshot.tables().items():
        pd.testing.assert_frame_equal(again.tables()[name], frame, obj=name)
    for name, frame in derived_tables(stream_result).items():
        table = pq.read_table(folder / f"{name}.parquet")
        assert table.schema.metadata[b"loopscan.block"] == str(stream_result.snapshot.meta.block_number).encode()
        assert table.column_names == list(frame.columns)
        assert _cells(table.to_pandas()) == _cells(frame), name
    fractions = pq.read_table(folder / "thresholds.parquet").schema
    assert (
        str(fractions.field("first_liquidation_frac").type) == "double"
        and str(fractions.field("symbol").type) == "string"
    )


def test_parquet_keeps_big_integers_exact(hostile, tmp_path):
    frame = pd.DataFrame({"amount": pd.Series([2**255, -7, None], dtype=object), "symbol": [CALC, "x", None]})
    hostile_with_big = ScanResult(**{**hostile.__dict__, "losses": frame})
    folder = export(hostile_with_big, tmp_path, "parquet")
    table = pq.read_table(folder / "losses.parquet")
    assert table.schema.field("amount").metadata == {b"loopscan.kind": b"int256"}
    assert table.column("amount").to_pylist() == [str(2**255), "-7", None]
    assert table.column("symbol").to_pylist() == [CALC, "x", None]  # Parquet is data, not a spreadsheet: exact
