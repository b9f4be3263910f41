"""The history store: migrations, lossless snapshots, all-or-nothing scans, crashes and full disks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from literal_snapshots import M, market, position, snapshot, token, vault
from small_disk import fill, tmpfs

from loopscan.model import SCHEMA
from loopscan.protocols.morpho_blue.maths import liquidation_incentive_factor
from loopscan.store import (
    SCHEMA_VERSION,
    ScanRecord,
    Store,
    StoreError,
    list_scans,
    load_snapshot,
    metric_history,
    prune_snapshots,
    scan_metrics,
    write_scan,
)
from loopscan.store.db import migrations

A, B, C = "0x" + "a" * 40, "0x" + "b" * 40, "0x" + "c" * 40
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def sample():
    """Every value kind at its extremes: 2**256-1 in a uint256, a negative int256, nulls."""
    return snapshot({
        "tokens": [token(A, "USDC"), token(B, "<b>x</b>\x1b[31m", "vault_share", price=1.25)],
        "vaults": [vault(B, A, "erc4626", 2**256 - 1, 2**256 - 6)],
        "markets": [market(B, A, supply=10**30, borrow=10**30)],
        "positions": [position(C, B, 2**200, 7, 0)],
        "ticks": [{"pool": C, "tick": -887272, "liquidity_net": -(2**255), "liquidity_gross": 2**128}],
        "missing": [{"kind": "position", "address": C, "key": M, "method": "position", "reason": "reverted"}],
    })  # fmt: skip


def record(scan_id: str, minutes: int = 0, value: float = 0.1) -> ScanRecord:
    metrics = pd.DataFrame(
        [("token", B, "vx", "depeg_first_liquidation_frac", value), ("token", B, "vx", "depeg_bad_debt_frac", None)],
        columns=["subject_kind", "subject", "label", "metric", "value"],
    )
    thresholds = pd.DataFrame([{"token": B, "symbol": "vx", "shock": "depeg", "first_liquidation_frac": value, "cascade_frac": None,
                                "bad_debt_frac": None, "positions_at_risk": 1, "bad_debt_at_100pct_usd": 0.0, "oracle_flags": None,
                                "liquidatable_now": 0, "bad_debt_now_usd": 0.0, "not_computable": None}])  # fmt: skip
    losses = pd.DataFrame(columns=["token", "shock", "lender", "lender_symbol", "loss_at_first_liquidation_usd",
                                   "loss_at_cascade_usd", "loss_at_bad_debt_usd", "loss_at_100pct_usd"])  # fmt: skip
    started = T0 + timedelta(minutes=minutes)
    return ScanRecord(scan_id, sample(), started, started + timedelta(seconds=2), metrics, thresholds, losses)


def test_a_new_file_is_migrated_once_and_reopens_as_is(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "h.duckdb"
    with Store.open(path) as store:
        assert store.version == SCHEMA_VERSION
    with Store.open(path) as store:
        applied = store.con.execute("SELECT version FROM loopscan_schema ORDER BY version").fetchall()
    assert applied == [(v,) for v, _ in migrations()] and applied[-1] == (SCHEMA_VERSION,)


def test_a_file_of_an_older_schema_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    """A file as the first release wrote it (migration 1 only), with an undelivered alert."""
    path = tmp_path / "h.duckdb"
    (_, first), *_ = migrations()
    con = duckdb.connect(str(path))
    con.execute(first)
    con.execute("CREATE TABLE loopscan_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)")
    con.execute("INSERT INTO loopscan_schema VALUES (1, now())")
    con.execute("INSERT INTO deliveries (key, sink, attempts, last_error) VALUES ('k', 'hook', 2, 'HTTP 503')")
    con.close()
    with pytest.raises(StoreError, match="history schema 1 needs migrating"):
        Store.open(path, read_only=True)
    with Store.open(path) as store:
        assert store.version == SCHEMA_VERSION
        rows = store.con.execute("SELECT key, sink, attempts, last_error, delivered_at, abandoned_at FROM deliveries").fetchall()
    assert rows == [("k", "hook", 2, "HTTP 503", None, None)]


def test_snapshot_tables_follow_the_model_schema(tmp_path: Path) -> None:
    """A change to the snapshot's columns without a new migration fails here."""
    kinds = {"address": "VARCHAR", "text": "VARCHAR", "enum": "VARCHAR", "uint256": "VARCHAR", "int256": "VARCHAR",
             "int64": "BIGINT", "float64": "DOUBLE"}  # fmt: skip
    with Store.open(tmp_path / "h.duckdb") as store:
        for table, columns in SCHEMA.items():
            stored = store.con.execute(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position", [f"snapshot_{table}"]
            ).fetchall()  # fmt: skip
            expected = [("scan_id", "VARCHAR", "NO")] + [(c.name, kinds[c.kind], "YES" if c.nullable else "NO") for c in columns]
            assert stored == expected, table


def test_a_newer_schema_is_refused_and_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    with Store.open(path) as store:
        store.con.execute("INSERT INTO loopscan_schema VALUES (99, now())")
    with pytest.raises(StoreError, match=rf"h.duckdb: history schema 99 is newer than this loopscan's \({SCHEMA_VERSION}\)"):
        Store.open(path)
    with pytest.raises(StoreError, match=r"nothing.duckdb: no history there"):
        Store.open(tmp_path / "nothing.duckdb", read_only=True)


def test_a_scan_and_its_snapshot_read_back_exactly(tmp_path: Path) -> None:
    rec = record("s1")
    with Store.open(tmp_path / "h.duckdb") as store:
        with store.transaction() as con:
            write_scan(con, rec)
    with Store.open(tmp_path / "h.duckdb", read_only=True) as store:
        back = load_snapshot(store.con, "s1")
        metrics = scan_metrics(store.con, "s1")
        scans = list_scans(store.con)
    assert back.meta == rec.snapshot.meta
    for name in SCHEMA:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(rec.snapshot, name), check_exact=True)
    assert back.vaults["total_assets"][0] == 2**256 - 1
    assert back.ticks["liquidity_net"][0] == -(2**255)
    assert back.tokens["symbol"][1] == "<b>x</b>\x1b[31m"
    assert metrics["value"].tolist()[0] == 0.1 and pd.isna(metrics["value"].tolist()[1])
    assert scans[["scan_id", "block_number", "duration_s", "positions", "missing"]].values.tolist() == [["s1", 10, 2.0, 1, 1]]


def test_a_write_that_fails_half_way_keeps_nothing(tmp_path: Path) -> None:
    """The losses frame lacks its columns: the failure comes after the scan, metrics and
    thresholds rows were inserted, and the transaction takes them all back."""
    broken = record("s1")
    broken = ScanRecord(**{**broken.__dict__, "losses": pd.DataFrame({"token": [B]})})
    with Store.open(tmp_path / "h.duckdb") as store:
        with pytest.raises(KeyError), store.transaction() as con:
            write_scan(con, broken)
        counts = [store.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("scans", "metrics", "thresholds", "snapshot_tokens")]
    assert counts == [0, 0, 0, 0]


def test_history_filters_by_label_or_address_and_prunes_old_snapshots(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.duckdb") as store:
        for i, value in enumerate((0.12, 0.08, 0.0)):
            with store.transaction() as con:
                rec = record(f"s{i}", minutes=i, value=value)
                write_scan(con, ScanRecord(**{**rec.__dict__, "snapshot": _at_block(rec.snapshot, 10 + i)}))
        with store.transaction() as con:
            assert prune_snapshots(con, keep=1) == 2
        by_label = metric_history(store.con, ["VX"])
        by_address = metric_history(store.con, [B.upper().replace("0X", "0x")], since=T0 + timedelta(minutes=1))
        kept = store.con.execute("SELECT DISTINCT scan_id FROM snapshot_tokens").fetchall()
        with pytest.raises(StoreError, match="kept its metrics but not its snapshot"):
            load_snapshot(store.con, "s0")
    first = by_label[by_label["metric"] == "depeg_first_liquidation_frac"]
    assert first["value"].tolist() == [0.12, 0.08, 0.0] and first["block_number"].tolist() == [10, 11, 12]
    assert by_address[by_address["metric"] == "depeg_first_liquidation_frac"]["value"].tolist() == [0.08, 0.0]
    assert kept == [("s2",)]


def _at_block(snap, block: int):
    from dataclasses import replace

    return replace(snap, meta=replace(snap.meta, block_number=block))


_WRITER = textwrap.dedent("""
    import sys
    from test_history_store import record, write_scan, Store, ScanRecord
    rec = record("big")
    positions = rec.snapshot.positions
    big = positions.loc[positions.index.repeat(300_000)].reset_index(drop=True)
    big["account"] = [f"0x{i:040x}" for i in range(len(big))]
    snap = rec.snapshot.__class__(rec.snapshot.meta, **{**rec.snapshot.tables(), "positions": big})
    i = 0
    while True:
        with Store.open(sys.argv[1]) as store, store.transaction() as con:
            write_scan(con, ScanRecord(**{**rec.__dict__, "scan_id": f"s{i}", "snapshot": snap}))
        print(f"committed s{i}", flush=True)
        i += 1
""")


def test_a_writer_killed_mid_write_loses_nothing_committed(tmp_path: Path) -> None:
    """Kill -9 a process writing 300k-position scans while its next transaction is under way:
    every scan it reported committed is there, whole, and the interrupted one left no row."""
    path = tmp_path / "h.duckdb"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(Path(__file__).parents[1])])}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env)
    committed = []
    try:
        while len(committed) < 2:
            line = proc.stdout.readline()
            assert line, "the writer died before committing twice"
            committed.append(line.split()[1])
        time.sleep(0.5)  # a write takes ~1.2 s here: the kill lands inside the third transaction
    finally:
        proc.kill()
        proc.wait()
    committed += [line.split()[1] for line in proc.stdout.read().splitlines()]
    with Store.open(path, read_only=True) as store:
        scans = [r[0] for r in store.con.execute("SELECT scan_id FROM scans ORDER BY scan_id").fetchall()]
        rows = dict(store.con.execute("SELECT scan_id, count(*) FROM snapshot_positions GROUP BY 1").fetchall())
        metrics = dict(store.con.execute("SELECT scan_id, count(*) FROM metrics GROUP BY 1").fetchall())
    assert scans == sorted(committed), "a committed scan was lost, or an uncommitted one kept"
    assert rows == {s: 300_000 for s in committed} and metrics == {s: 2 for s in committed}


def test_a_full_disk_is_a_clear_error_and_nothing_half_written(tmp_path: Path) -> None:
    """On a 4 MiB tmpfs, filled up after the store was created: the write fails with the
    path and ENOSPC named, keeps nothing, and succeeds once space is freed. Where this
    process may not mount (not root), /dev/full gives the kernel's same ENOSPC at open."""
    with tmpfs(tmp_path / "disk", "4m") as mounted:
        if not mounted:
            with pytest.raises(StoreError, match=r"/dev/full: cannot open: .*No space left on device"):
                Store.open("/dev/full")
            return
        path = tmp_path / "disk" / "h.duckdb"
        with Store.open(path):
            pass
        fill(tmp_path / "disk" / "filler")
        with Store.open(path) as store:
            with pytest.raises(StoreError, match=r"h.duckdb: .*No space left on device"), store.transaction() as con:
                write_scan(con, record("s1"))
        (tmp_path / "disk" / "filler").unlink()
        with Store.open(path) as store:
            assert store.con.execute("SELECT count(*) FROM scans").fetchall()[0][0] == 0
            with store.transaction() as con:
                write_scan(con, record("s1"))
            assert store.con.execute("SELECT count(*) FROM snapshot_positions").fetchall()[0][0] == 1


def test_a_reader_waits_for_the_writer_then_says_the_file_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    with Store.open(path):
        pass
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"h.duckdb: cannot open: .*lock"):
            Store.open(path, read_only=True, lock_timeout=1.0)
        assert time.monotonic() - started >= 1.0
    finally:
        holder.kill()
        holder.wait()
    with Store.open(path, read_only=True, lock_timeout=5.0) as store:
        assert store.version == SCHEMA_VERSION


def test_a_stored_snapshot_of_schema_1_is_converted_exactly(tmp_path: Path) -> None:
    """Migration 3 splits a first-release Morpho market and Aave reserve into the market and its
    collateral, and their raw fields into market_params; Morpho's incentive is recomputed in SQL
    as the contract rounds it, and must equal loopscan's own integer maths."""
    path = tmp_path / "h.duckdb"
    con = duckdb.connect(str(path))
    for _, sql in migrations()[:2]:
        con.execute(sql)
    con.execute("CREATE TABLE loopscan_schema (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)")
    con.execute("INSERT INTO loopscan_schema VALUES (1, now()), (2, now())")
    morpho, pool, loan, coll, acct = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "01" * 20, "0x" + "02" * 20, "0x" + "03" * 20
    con.execute(
        "INSERT INTO snapshot_markets VALUES (?, 10, 'morpho_blue', ?, '0x01', ?, ?, '915000000000000000', NULL, NULL, NULL,"
        " ?, 'market', '123', '1000000000000000000000000000000000000', NULL, '100', '1000', '50', '500', 5, '0', NULL, NULL, NULL),"
        " (?, 10, 'aave_v3', ?, ?, ?, ?, NULL, 9000, 9200, 10300, ?, 'fixed', '100000000', '100000000', NULL, '100', NULL,"
        " '50', NULL, 5, NULL, 1000, 1, 1)",
        ["s", morpho, loan, coll, coll, "s", pool, loan, loan, loan, coll],
    )  # fmt: skip
    con.execute(
        "INSERT INTO snapshot_positions VALUES ('s', 10, 'morpho_blue', ?, '0x01', ?, ?, '7', '3', '2', '0', NULL),"
        " ('s', 10, 'aave_v3', ?, ?, ?, ?, '0', '0', NULL, '9', NULL)",
        [morpho, acct, coll, pool, loan, acct, loan],
    )  # fmt: skip
    con.close()
    with Store.open(path) as store:
        assert store.version == SCHEMA_VERSION
        collaterals = store.con.execute(
            "SELECT market_id, collateral_token, liquidation_threshold_wad, max_ltv_wad, liquidation_incentive_wad, price_quote"
            " FROM snapshot_market_collaterals ORDER BY market_id"
        ).fetchall()  # fmt: skip
        params = dict(store.con.execute("SELECT market_id || ' ' || param, value FROM snapshot_market_params").fetchall())
        posted = store.con.execute("SELECT market_id, collateral_token, amount FROM snapshot_position_collaterals").fetchall()
        markets = store.con.execute("SELECT market_id, loan_price_raw, loan_oracle_kind FROM snapshot_markets ORDER BY market_id").fetchall()
    assert collaterals == [
        ("0x01", coll, "915000000000000000", "915000000000000000", str(liquidation_incentive_factor(915 * 10**15)), "loan"),
        (loan, loan, "920000000000000000", "900000000000000000", "1030000000000000000", "numeraire"),
    ]
    assert params == {"0x01 lltv_wad": "915000000000000000", "0x01 fee_wad": "0", "0x01 total_supply_shares": "1000",
                      "0x01 total_borrow_shares": "500", f"{loan} ltv_bps": "9000", f"{loan} liquidation_threshold_bps": "9200",
                      f"{loan} liquidation_bonus_bps": "10300", f"{loan} reserve_factor_bps": "1000",
                      f"{loan} emode_category": "1", f"{loan} protocol_revision": "1"}  # fmt: skip
    assert posted == [("0x01", coll, "7")]  # the Aave row posted nothing: no collateral row
    assert markets == [("0x01", None, None), (loan, "100000000", "fixed")]
