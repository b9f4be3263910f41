"""The history of scans over time, in one embedded DuckDB file.

    >>> with Store.open(".loopscan/history.duckdb", read_only=True) as store:   # doctest: +SKIP
    ...     metric_history(store.con, ["xUSD"])

``db`` opens and migrates the file, ``scans`` writes and reads scans (metrics, thresholds,
losses, the snapshot itself), ``alerts`` keeps the monitor's alert state and outbox.
"""

from loopscan.store.alerts import (
    Alert,
    alert_log,
    firing,
    mark_abandoned,
    mark_delivered,
    mark_failed,
    pending,
    record_alerts,
)
from loopscan.store.db import SCHEMA_VERSION, Store
from loopscan.store.errors import StoreError
from loopscan.store.scans import (
    METRIC_COLUMNS,
    ScanRecord,
    latest_scan,
    list_scans,
    load_snapshot,
    metric_history,
    prune_snapshots,
    scan_metrics,
    write_scan,
)

__all__ = [
    "Alert",
    "METRIC_COLUMNS",
    "SCHEMA_VERSION",
    "ScanRecord",
    "Store",
    "StoreError",
    "alert_log",
    "firing",
    "latest_scan",
    "list_scans",
    "load_snapshot",
    "mark_abandoned",
    "mark_delivered",
    "mark_failed",
    "pending",
    "record_alerts",
    "metric_history",
    "prune_snapshots",
    "scan_metrics",
    "write_scan",
]
