"""Parquet round trips: exact integers, nulls, dtypes, metadata, and format errors."""

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_samples import BLOCK, C

from loopscan.model import SCHEMA, Snapshot, SnapshotFormatError, SnapshotMeta, to_frame

UINT256 = st.one_of(st.sampled_from([0, 1, 2**255, 2**256 - 1]), st.integers(0, 2**256 - 1))
INT256 = st.one_of(st.sampled_from([0, -1, -(2**255), 2**255 - 1]), st.integers(-(2**255), 2**255 - 1))


def assert_same(a: Snapshot, b: Snapshot) -> None:
    assert a.meta == b.meta
    for name in SCHEMA:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(INT256, UINT256), min_size=1, max_size=20))
def test_random_int256_and_uint256_survive_parquet(tmp_path: Path, meta: SnapshotMeta, rows) -> None:
    ticks = to_frame(
        "ticks",
        [{"block": BLOCK, "pool": C, "tick": i, "liquidity_net": net, "liquidity_gross": gross}
         for i, (net, gross) in enumerate(rows)],
    )
    back = Snapshot.from_parquet(Snapshot(meta, ticks=ticks).to_parquet(tmp_path / "s"))
    assert back.ticks["liquidity_net"].tolist() == [net for net, _ in rows]
    assert back.ticks["liquidity_gross"].tolist() == [gross for _, gross in rows]
    assert all(type(v) is int for v in back.ticks["liquidity_gross"])


def test_extremes_and_nulls_round_trip(tmp_path: Path, full: Snapshot) -> None:
    back = Snapshot.from_parquet(full.to_parquet(tmp_path / "s"))
    assert_same(full, back)
    assert back.vaults["total_assets"][0] == 2**256 - 1
    assert back.vaults["opaque_assets"][0] == -(2**255)
    assert back.markets["loan_oracle"].isna()[0] and back.markets["total_supply_assets"][1] == 2**256 - 1
    assert back.market_collaterals["max_ltv_wad"][1] is None
    assert back.market_collaterals["liquidation_incentive_wad"][0] == 1043841336116910229
    assert back.market_params["value"][2] == -(2**255)
    assert back.positions["debt_shares"][0] is None
    assert back.position_collaterals["amount"][0] == 1


def test_empty_snapshot_round_trip(tmp_path: Path, meta: SnapshotMeta) -> None:
    empty = Snapshot.empty(meta)
    back = Snapshot.from_parquet(empty.to_parquet(tmp_path / "s"))
    assert_same(empty, back)
    assert all(len(frame) == 0 for frame in back.tables().values())


def test_metadata_round_trip(tmp_path: Path, meta: SnapshotMeta) -> None:
    back = Snapshot.from_parquet(Snapshot.empty(meta).to_parquet(tmp_path / "s")).meta
    assert back == meta
    assert back.created_at.tzinfo is not None
    assert SnapshotMeta.from_dict(meta.to_dict()) == meta


def test_big_integers_are_decimal_strings_on_disk(tmp_path: Path, full: Snapshot) -> None:
    stored = pq.read_table(full.to_parquet(tmp_path / "s") / "vaults.parquet")
    assert stored.column("total_assets").to_pylist() == [str(2**256 - 1)]
    assert stored.schema.field("opaque_assets").metadata == {b"loopscan.kind": b"int256"}


def test_missing_table_file_is_a_format_error(tmp_path: Path, full: Snapshot) -> None:
    path = full.to_parquet(tmp_path / "s")
    (path / "ticks.parquet").unlink()
    with pytest.raises(SnapshotFormatError, match="ticks.parquet: missing table file"):
        Snapshot.from_parquet(path)


def test_other_schema_version_is_refused(tmp_path: Path, full: Snapshot) -> None:
    path = full.to_parquet(tmp_path / "s")
    document = json.loads((path / "snapshot.json").read_text())
    (path / "snapshot.json").write_text(json.dumps({**document, "schema_version": 1}))
    with pytest.raises(SnapshotFormatError, match=r"written by loopscan 0\.1\.0 \(snapshot schema 1\); this loopscan reads schema 2: scan again$"):
        Snapshot.from_parquet(path)


def test_directory_without_metadata_is_not_a_snapshot(tmp_path: Path) -> None:
    with pytest.raises(SnapshotFormatError, match="no snapshot.json"):
        Snapshot.from_parquet(tmp_path)
