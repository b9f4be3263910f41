"""Scans in the history: what one scan wrote, read back as frames or as its Snapshot.

A scan is written in the caller's transaction (`Store.transaction()`), so its row in `scans`,
its metrics, thresholds, losses and snapshot tables appear together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from loopscan.model import SCHEMA, Snapshot, SnapshotMeta
from loopscan.model.parquet import from_arrow, to_arrow
from loopscan.store.db import first_row
from loopscan.store.errors import StoreError

__all__ = [
    "METRIC_COLUMNS",
    "ScanRecord",
    "write_scan",
    "prune_snapshots",
    "load_snapshot",
    "list_scans",
    "scan_metrics",
    "metric_history",
    "latest_scan",
]

METRIC_COLUMNS = ["subject_kind", "subject", "label", "metric", "value"]
# The columns of `analyse`'s thresholds and losses frames as the migrations store them: spelled
# out here because the store reads only the model, and a new solver column needs a migration.
_THRESHOLD_COLUMNS = [
    "token", "symbol", "shock", "first_liquidation_frac", "cascade_frac", "bad_debt_frac",
    "positions_at_risk", "bad_debt_at_100pct_usd", "oracle_flags", "liquidatable_now", "bad_debt_now_usd", "not_computable",
]  # fmt: skip
_LOSS_COLUMNS = [
    "token", "shock", "lender", "lender_symbol", "loss_at_first_liquidation_usd", "loss_at_cascade_usd",
    "loss_at_bad_debt_usd", "loss_at_100pct_usd",
]  # fmt: skip


@dataclass(frozen=True)
class ScanRecord:
    """One finished scan: its snapshot and what was derived from it (`metrics`: METRIC_COLUMNS,
    `thresholds` and `losses`: as `loopscan.analyse` returns them)."""

    scan_id: str
    snapshot: Snapshot
    started_at: datetime
    finished_at: datetime
    metrics: pd.DataFrame
    thresholds: pd.DataFrame
    losses: pd.DataFrame


def write_scan(con: duckdb.DuckDBPyConnection, record: ScanRecord, *, with_snapshot: bool = True) -> None:
    """Insert one scan; call inside `Store.transaction()`."""
    meta = record.snapshot.meta
    con.execute(
        "INSERT INTO scans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            record.scan_id, meta.chain_id, meta.block_number, meta.block_hash, meta.block_timestamp,
            meta.endpoint, meta.loopscan_version, meta.numeraire, meta.created_at,
            record.started_at, record.finished_at, (record.finished_at - record.started_at).total_seconds(),
            len(record.snapshot.positions), len(record.snapshot.missing), with_snapshot,
        ],
    )  # fmt: skip
    _insert_frame(con, "metrics", record.scan_id, record.metrics[METRIC_COLUMNS])
    _insert_frame(con, "thresholds", record.scan_id, record.thresholds[_THRESHOLD_COLUMNS])
    _insert_frame(con, "losses", record.scan_id, record.losses[_LOSS_COLUMNS])
    if with_snapshot:
        for table, frame in record.snapshot.tables().items():
            _insert_frame(con, f"snapshot_{table}", record.scan_id, to_arrow(table, frame))


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, scan_id: str, rows: object) -> None:
    name = f"incoming_{table}"
    con.register(name, rows)
    try:
        con.execute(f"INSERT INTO {table} SELECT ?::VARCHAR, * FROM {name}", [scan_id])  # noqa: S608 — our own names
    finally:
        con.unregister(name)


def prune_snapshots(con: duckdb.DuckDBPyConnection, keep: int) -> int:
    """Drop the snapshot tables of all but the newest `keep` scans (their metrics stay)."""
    old = [r[0] for r in con.execute(
        "SELECT scan_id FROM scans WHERE has_snapshot ORDER BY block_number DESC, finished_at DESC OFFSET ?", [keep]
    ).fetchall()]  # fmt: skip
    if old:
        for table in SCHEMA:
            con.execute(f"DELETE FROM snapshot_{table} WHERE list_contains(?, scan_id)", [old])  # noqa: S608
        con.execute("UPDATE scans SET has_snapshot = false WHERE list_contains(?, scan_id)", [old])
    return len(old)


def load_snapshot(con: duckdb.DuckDBPyConnection, scan_id: str) -> Snapshot:
    """The Snapshot a scan stored, exactly as it was read (validated)."""
    row = first_row(
        con,
        "SELECT chain_id, block_number, block_hash, block_timestamp, endpoint, loopscan_version, snapshot_created_at, "
        "numeraire, has_snapshot FROM scans WHERE scan_id = ?",
        [scan_id],
    )
    if row is None:
        raise StoreError(f"no scan {scan_id!r} in the history (`loopscan history scans` lists them)")
    if not row[-1]:
        raise StoreError(f"scan {scan_id!r} kept its metrics but not its snapshot (pruned: --keep-snapshots)")
    meta = SnapshotMeta(*row[:6], created_at=row[6], numeraire=row[7])
    tables = {}
    for table in SCHEMA:
        stored = con.sql(f"SELECT * EXCLUDE (scan_id) FROM snapshot_{table} WHERE scan_id = ?", params=[scan_id])  # noqa: S608
        tables[table] = from_arrow(table, stored.to_arrow_table(), f"history scan {scan_id} table {table}")
    snapshot = Snapshot(meta, **tables)
    snapshot.validate()
    return snapshot


def list_scans(con: duckdb.DuckDBPyConnection, since: datetime | None = None) -> pd.DataFrame:
    """Scans oldest first: id, block, times, duration, sizes."""
    return con.execute(
        "SELECT scan_id, chain_id, block_number, finished_at, duration_s, positions, missing, has_snapshot "
        "FROM scans WHERE finished_at >= coalesce(?, '-infinity'::TIMESTAMPTZ) ORDER BY block_number, finished_at",
        [since],
    ).fetchdf()


def scan_metrics(con: duckdb.DuckDBPyConnection, scan_id: str) -> pd.DataFrame:
    """The METRIC_COLUMNS rows of one scan."""
    return con.execute("SELECT * EXCLUDE (scan_id) FROM metrics WHERE scan_id = ?", [scan_id]).fetchdf()[METRIC_COLUMNS]


def metric_history(
    con: duckdb.DuckDBPyConnection, subjects: list[str] | None = None, since: datetime | None = None
) -> pd.DataFrame:
    """Every metric of the given subjects (addresses or labels, any case; default: all) over time,
    one row per (scan, subject, metric), oldest first."""
    wanted = [s.lower() for s in subjects] if subjects else None
    return con.execute(
        "SELECT s.scan_id, s.block_number, s.block_timestamp, s.finished_at, m.subject_kind, m.subject, m.label, "
        "m.metric, m.value FROM metrics m JOIN scans s USING (scan_id) "
        "WHERE s.finished_at >= coalesce(?, '-infinity'::TIMESTAMPTZ) "
        "AND (?::VARCHAR[] IS NULL OR lower(m.subject) IN (SELECT unnest(?::VARCHAR[])) "
        "     OR lower(m.label) IN (SELECT unnest(?::VARCHAR[]))) "
        "ORDER BY s.block_number, s.finished_at, m.subject_kind, m.subject, m.metric",
        [since, wanted, wanted, wanted],
    ).fetchdf()


def latest_scan(con: duckdb.DuckDBPyConnection, chain_id: int) -> str | None:
    """The id of the newest scan of `chain_id` (by block, then time), or None."""
    row = first_row(con, "SELECT scan_id FROM scans WHERE chain_id = ? ORDER BY block_number DESC, finished_at DESC LIMIT 1", [chain_id])
    return row[0] if row else None
