"""The monitor's alerts in the history: what is firing, every alert sent, and the outbox.

An alert is stored, with one pending delivery per sink, in the same transaction as the scan
that raised it; sinks are sent to afterwards and each success is marked. A monitor killed at
any point therefore restarts with every alert either not raised yet (its scan was not kept
either, and the next scan raises it again) or stored and still pending, never both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from datetime import datetime

import duckdb
import pandas as pd

__all__ = ["Alert", "firing", "record_alerts", "pending", "mark_delivered", "mark_failed", "mark_abandoned", "alert_log"]


@dataclass(frozen=True)
class Alert:
    """One alert event. `key` is its idempotency key: stable across retries and restarts."""

    key: str
    event: str  # "firing" or "resolved"
    rule: str
    severity: str
    subject_kind: str
    subject: str
    label: str | None
    metric: str | None
    value: float | None
    previous: float | None
    bound: float | None
    message: str
    scan_id: str | None
    chain_id: int | None
    block_number: int | None
    created_at: datetime


_COLUMNS = [f.name for f in fields(Alert)]


def firing(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Alert]:
    """(rule, subject) → the alert that fired for it, for every condition still holding."""
    rows = con.execute(
        f"SELECT {', '.join('a.' + c for c in _COLUMNS)} FROM alert_state s JOIN alerts a USING (key) ORDER BY a.seq"  # noqa: S608
    ).fetchall()
    return {(a.rule, a.subject): a for a in (Alert(*row) for row in rows)}


def record_alerts(
    con: duckdb.DuckDBPyConnection,
    alerts: Iterable[Alert],
    sinks: Iterable[str],
    now_firing: dict[tuple[str, str], tuple[str, str | None]],
) -> None:
    """Store `alerts` with a pending delivery per sink, and replace the firing set with
    `now_firing` ((rule, subject) → (key, scan id)). Call inside `Store.transaction()`."""
    alerts, sinks = list(alerts), list(sinks)
    if alerts:
        con.executemany(f"INSERT INTO alerts ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                        [list(astuple(a)) for a in alerts])  # fmt: skip
        con.executemany("INSERT INTO deliveries (key, sink) VALUES (?, ?)", [[a.key, s] for a in alerts for s in sinks])
    con.execute("DELETE FROM alert_state")
    if now_firing:
        con.executemany("INSERT INTO alert_state VALUES (?, ?, ?, ?)",
                        [[rule, subject, key, scan] for (rule, subject), (key, scan) in now_firing.items()])  # fmt: skip


def pending(con: duckdb.DuckDBPyConnection, sink: str) -> list[tuple[Alert, int]]:
    """Alerts not yet delivered to (nor abandoned by) `sink`, oldest first, with the attempts made so far."""
    rows = con.execute(
        f"SELECT {', '.join('a.' + c for c in _COLUMNS)}, d.attempts FROM deliveries d JOIN alerts a USING (key) "  # noqa: S608
        "WHERE d.sink = ? AND d.delivered_at IS NULL AND d.abandoned_at IS NULL ORDER BY a.seq",
        [sink],
    ).fetchall()
    return [(Alert(*row[:-1]), row[-1]) for row in rows]


def mark_delivered(con: duckdb.DuckDBPyConnection, key: str, sink: str) -> None:
    con.execute("UPDATE deliveries SET delivered_at = now(), attempts = attempts + 1, last_error = NULL "
                "WHERE key = ? AND sink = ?", [key, sink])  # fmt: skip


def mark_failed(con: duckdb.DuckDBPyConnection, key: str, sink: str, error: str) -> None:
    con.execute("UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE key = ? AND sink = ?", [error, key, sink])


def mark_abandoned(con: duckdb.DuckDBPyConnection, key: str, sink: str, error: str) -> None:
    """Set a delivery aside (the receiver refuses it): no longer pending, still listed."""
    con.execute("UPDATE deliveries SET attempts = attempts + 1, last_error = ?, abandoned_at = now() WHERE key = ? AND sink = ?",
                [error, key, sink])  # fmt: skip


def alert_log(con: duckdb.DuckDBPyConnection, since: datetime | None = None) -> pd.DataFrame:
    """Every alert stored, oldest first, with its delivery state per sink."""
    return con.execute(
        "SELECT a.seq, a.created_at, a.event, a.severity, a.rule, a.label, a.subject, a.message, a.block_number, "
        "d.sink, d.delivered_at, d.abandoned_at, d.attempts, d.last_error, a.key "
        "FROM alerts a LEFT JOIN deliveries d USING (key) "
        "WHERE a.created_at >= coalesce(?, '-infinity'::TIMESTAMPTZ) ORDER BY a.seq, d.sink",
        [since],
    ).fetchdf()
