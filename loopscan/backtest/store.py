"""A backtest in the history store: one row per block (`backtest_blocks`), each ok block's scan
in `scans` (so `loopscan history` reads it like the monitor's), and the alerts the rules would
have raised, in block order.

Every block is written in one transaction with its `backtest_blocks` row, so a run killed at any
point leaves each block stored completely or not at all, and a restart skips what is stored.
"""

from __future__ import annotations

from dataclasses import astuple, fields
from datetime import UTC, datetime

import duckdb

from loopscan.backtest.task import BlockOutcome
from loopscan.monitor import Rule
from loopscan.monitor.evaluate import TickContext, findings, transitions
from loopscan.store import Alert, ScanRecord, scan_metrics, write_scan

__all__ = ["scan_id", "stored_blocks", "write_outcome", "rebuild_alerts"]

_ALERT_COLUMNS = [f.name for f in fields(Alert)]


def scan_id(chain_id: int, block: int) -> str:
    """The stored scan of a backtest block: the same on every run, so writes are idempotent."""
    return f"backtest-{chain_id}-{block}"


def stored_blocks(con: duckdb.DuckDBPyConnection, chain_id: int) -> set[int]:
    """Blocks of `chain_id` already scanned ok (a failed block is tried again by the next run)."""
    rows = con.execute("SELECT block_number FROM backtest_blocks WHERE chain_id = ? AND status = 'ok'", [chain_id]).fetchall()
    return {r[0] for r in rows}


def write_outcome(con: duckdb.DuckDBPyConnection, chain_id: int, outcome: BlockOutcome, *, with_snapshot: bool) -> None:
    """Store one block's outcome; call inside `Store.transaction()`."""
    sid = None
    if outcome.scan is not None:
        sid = scan_id(chain_id, outcome.block)
        s = outcome.scan
        record = ScanRecord(sid, s.snapshot, s.started_at, s.finished_at, s.metrics, s.thresholds, s.losses)
        write_scan(con, record, with_snapshot=with_snapshot)
    con.execute(
        "INSERT OR REPLACE INTO backtest_blocks VALUES (?, ?, ?, ?, ?, ?, now())",
        [chain_id, outcome.block, "ok" if sid else "failed", sid, outcome.attempts, outcome.error],
    )


def rebuild_alerts(con: duckdb.DuckDBPyConnection, chain_id: int, rules: tuple[Rule, ...]) -> int:
    """Replace the backtest's alerts with what `rules` raise over its ok blocks in block order,
    each dated by its block's timestamp; returns how many. Call inside `Store.transaction()`.

    The monitor's own evaluation (`findings`, `transitions`) decides, with the previous ok block
    as "previous"; the firing set lives in memory, so a monitor's `alert_state` is never touched.
    """
    scans = con.execute(
        "SELECT s.scan_id, s.block_number, s.block_timestamp FROM backtest_blocks b JOIN scans s USING (scan_id) "
        "WHERE b.chain_id = ? AND b.status = 'ok' ORDER BY s.block_number",
        [chain_id],
    ).fetchall()
    con.execute("DELETE FROM alerts WHERE scan_id LIKE ?", [f"backtest-{chain_id}-%"])
    was_firing: dict[tuple[str, str], Alert] = {}
    previous = None
    raised: list[Alert] = []
    for sid, block, stamp in scans:
        current = scan_metrics(con, sid)
        ctx = TickContext(sid, chain_id, block, datetime.fromtimestamp(stamp, UTC), scanned=True)
        alerts, now_firing = transitions(findings(rules, current, previous), was_firing, ctx)
        by_key = {a.key: a for a in alerts} | {a.key: a for a in was_firing.values()}
        was_firing = {pair: by_key[key] for pair, (key, _) in now_firing.items()}
        raised += alerts
        previous = current
    if raised:
        con.executemany(f"INSERT INTO alerts ({', '.join(_ALERT_COLUMNS)}) VALUES ({', '.join('?' * len(_ALERT_COLUMNS))})",
                        [list(astuple(a)) for a in raised])  # fmt: skip
    return len(raised)
