"""Schema validation: each broken frame raises SchemaError naming its table and column."""

from dataclasses import fields
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from model_samples import BLOCK, A, C

import loopscan.model
from loopscan.errors import LoopscanError
from loopscan.model import (
    KEYS,
    SCHEMA,
    NotInSnapshotError,
    SchemaError,
    Snapshot,
    SnapshotMeta,
    TokenKind,
    empty_frame,
    schema_markdown,
    to_frame,
    validate_frame,
)


def tick(**overrides: object) -> dict[str, object]:
    return {"block": BLOCK, "pool": C, "tick": 0, "liquidity_net": 0, "liquidity_gross": 0, **overrides}


def raises(table: str, column: str, match: str = ""):
    return pytest.raises(SchemaError, match=rf"^{table}\.{column}: .*{match}")


def test_exported_names_are_pinned() -> None:
    assert sorted(loopscan.model.__all__) == sorted([
        "KEYS", "SCHEMA", "SCHEMA_VERSION", "Column", "NotInSnapshotError", "OracleKind", "PriceQuote", "SchemaError",
        "Snapshot", "SnapshotFormatError", "SnapshotMeta", "Token", "TokenKind", "ZERO_ADDRESS", "dtype_of",
        "empty_frame", "schema_markdown", "to_frame", "validate_frame",
    ])


def test_schema_is_consistent() -> None:
    assert [f.name for f in fields(Snapshot) if f.name != "meta"] == list(SCHEMA)
    assert set(KEYS) == set(SCHEMA)
    for table, columns in SCHEMA.items():
        names = [c.name for c in columns]
        assert names[0] == "block", table
        assert len(set(names)) == len(names), table
        assert set(KEYS[table]) <= set(names), table


def test_errors_share_the_project_base() -> None:
    assert issubclass(SchemaError, LoopscanError)


def test_empty_frames_validate() -> None:
    for table in SCHEMA:
        validate_frame(table, empty_frame(table))


def test_markdown_lists_every_column() -> None:
    text = schema_markdown()
    for table, columns in SCHEMA.items():
        for column in columns:
            assert f"| {table} | {column.name} |" in text
    assert "| ticks | liquidity_net | int256 (decimal string on disk) |" in text


def test_missing_column() -> None:
    with raises("ticks", "liquidity_gross", "missing column"):
        validate_frame("ticks", to_frame("ticks", [tick()]).drop(columns="liquidity_gross"))


def test_extra_column() -> None:
    frame = to_frame("ticks", [tick()]).assign(extra=1)
    with raises("ticks", "extra", "not a column"):
        validate_frame("ticks", frame)


def test_column_order() -> None:
    frame = to_frame("ticks", [tick()])
    with raises("ticks", "tick", "out of order"):
        validate_frame("ticks", frame[["block", "tick", "pool", "liquidity_net", "liquidity_gross"]])


def test_wrong_dtype() -> None:
    frame = to_frame("ticks", [tick()]).astype({"tick": "float64"})
    with raises("ticks", "tick", "dtype is float64, expected int64"):
        validate_frame("ticks", frame)


def test_big_ints_must_be_python_ints_in_object_columns() -> None:
    frame = to_frame("ticks", [tick()])
    frame["liquidity_gross"] = pd.Series([np.int64(1)], dtype="object")
    with raises("ticks", "liquidity_gross", "not a Python int"):
        validate_frame("ticks", frame)


@pytest.mark.parametrize(
    ("column", "value"),
    [("liquidity_gross", 2**256), ("liquidity_gross", -1), ("liquidity_net", 2**255), ("liquidity_net", -(2**255) - 1)],
)
def test_out_of_range(column: str, value: int) -> None:
    with raises("ticks", column, "out of"):
        to_frame("ticks", [tick(**{column: value})])


def test_float_amount_is_refused() -> None:
    with raises("ticks", "liquidity_gross", "not an integer"):
        to_frame("ticks", [tick(liquidity_gross=1.0)])


def test_null_in_non_null_column() -> None:
    with raises("ticks", "liquidity_net", "value required"):
        to_frame("ticks", [{k: v for k, v in tick().items() if k != "liquidity_net"}])
    with raises("ticks", "liquidity_net", "null in a non-null column"):
        to_frame("ticks", [tick(liquidity_net=None)])


def test_address_is_lowercased_by_to_frame_and_checked_by_validate() -> None:
    assert to_frame("ticks", [tick(pool=C.upper().replace("0X", "0x"))])["pool"][0] == C
    frame = to_frame("ticks", [tick()])
    frame["pool"] = pd.Series(["0x1234"], dtype="str")
    with raises("ticks", "pool", "not a lowercase 0x address"):
        validate_frame("ticks", frame)


def test_enum_values() -> None:
    row = {"block": BLOCK, "address": A, "decimals": 18, "kind": "stablecoin"}
    with raises("tokens", "kind", "not one of base"):
        to_frame("tokens", [row])


def test_duplicate_key() -> None:
    with raises("ticks", "pool,tick", "duplicate key"):
        to_frame("ticks", [tick(), tick()])


def test_unknown_column_and_table() -> None:
    with raises("ticks", "colour", "not a column"):
        to_frame("ticks", [tick(colour="red")])
    with raises("trades", r"\*", "unknown table"):
        empty_frame("trades")


def test_row_newer_than_snapshot(meta: SnapshotMeta) -> None:
    snapshot = Snapshot(meta, ticks=to_frame("ticks", [tick(block=BLOCK + 1)]))
    with raises("ticks", "block", "after"):
        snapshot.validate()


def test_meta_is_checked() -> None:
    with raises("meta", "block_hash"):
        SnapshotMeta(chain_id=1, block_number=1, block_hash="0x12", block_timestamp=0, endpoint="x")
    with raises("meta", "created_at", "timezone"):
        SnapshotMeta(chain_id=1, block_number=1, block_hash="0x" + "0" * 64, block_timestamp=0,
                     endpoint="x", created_at=datetime(2026, 1, 1))
    with raises("meta", "block_number"):
        SnapshotMeta(chain_id=1, block_number=-1, block_hash="0x" + "0" * 64, block_timestamp=0, endpoint="x")


def test_token_lookup(full: Snapshot) -> None:
    usdc = full.token(A.upper().replace("0X", "0x"))
    assert (usdc.symbol, usdc.decimals, usdc.kind, usdc.price) == ("USDC", 6, TokenKind.BASE, 1.0001)
    other = full.token("0x" + "b2" * 20)
    assert (other.symbol, other.price, other.price_source) == (None, None, None)
    with pytest.raises(NotInSnapshotError):
        full.token(C)
