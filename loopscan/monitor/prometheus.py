"""The monitor's Prometheus metrics, on their own registry (several monitors can share a process).

Readings become one gauge per metric (`readings.METRICS`), named with Prometheus' unit
suffixes (`_frac` → `_ratio`, `_x` → `_multiplier`) and labelled by `subject` (an address or
market id) and `label` (the symbol, as read from the chain; the client escapes it). A threshold
that does not exist (no shock up to 100 % triggers it) has no sample. After each scan the
gauges hold exactly that scan's values; during an outage they keep the last good scan's, and
`loopscan_node_up` and `loopscan_last_success_block` say how old they are.
"""

from __future__ import annotations

import math

import pandas as pd
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from loopscan.monitor.readings import METRICS

__all__ = ["MonitorMetrics", "gauge_name"]


def gauge_name(metric: str) -> str:
    name = metric.removesuffix("_frac") + "_ratio" if metric.endswith("_frac") else metric
    name = name.removesuffix("_x") + "_multiplier" if name.endswith("_x") else name
    return f"loopscan_{name}"


class MonitorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.readings = {m: Gauge(gauge_name(m), f"{m} of each {kind} at the last successful scan",
                                  ["subject", "label"], registry=r) for m, kind in METRICS.items()}  # fmt: skip
        self.scan_duration = Gauge("loopscan_scan_duration_seconds", "Wall time of the last successful scan (index, solve, store)", registry=r)
        self.scans = Counter("loopscan_scans", "Scans attempted, by outcome", ["outcome"], registry=r)
        self.rpc_errors = Counter("loopscan_rpc_errors", "Failed scans by the kind of RPC error that stopped them", ["kind"], registry=r)
        self.store_errors = Counter("loopscan_store_errors", "Writes to the history store that failed (and were retried)", registry=r)
        self.missing = Gauge("loopscan_scan_missing_reads", "Reads the last successful scan could not make (listed in its snapshot's `missing`)", registry=r)
        self.node_up = Gauge("loopscan_node_up", "1 if the last scan could read the node, else 0", registry=r)
        self.last_block = Gauge("loopscan_last_success_block", "Block of the last successful scan", registry=r)
        self.last_success = Gauge("loopscan_last_success_timestamp_seconds", "Unix time of the last successful scan", registry=r)
        self.firing = Gauge("loopscan_alerts_firing", "Conditions firing now, by severity", ["severity"], registry=r)
        self.deliveries = Counter("loopscan_alert_deliveries", "Alert deliveries by sink and outcome", ["sink", "outcome"], registry=r)
        self.pending = Gauge("loopscan_alerts_pending", "Alerts stored but not yet delivered, by sink", ["sink"], registry=r)
        self._server = None

    def scan_succeeded(self, readings: pd.DataFrame, block: int, missing: int, seconds: float, finished_unix: float) -> None:
        for gauge in self.readings.values():
            gauge.clear()  # subjects that left the chain must not linger at their last value
        for r in readings.itertuples():
            if r.value is not None and not (isinstance(r.value, float) and math.isnan(r.value)):
                self.readings[r.metric].labels(subject=r.subject, label=r.label or "").set(r.value)
        self.scans.labels(outcome="ok").inc()
        self.scan_duration.set(seconds)
        self.missing.set(missing)
        self.node_up.set(1)
        self.last_block.set(block)
        self.last_success.set(finished_unix)

    def scan_failed(self, kind: str, node_down: bool) -> None:
        self.scans.labels(outcome="failed").inc()
        if node_down:
            self.rpc_errors.labels(kind=kind).inc()
            self.node_up.set(0)

    def set_firing(self, by_severity: dict[str, int]) -> None:
        for severity in ("info", "warning", "critical"):
            self.firing.labels(severity=severity).set(by_severity.get(severity, 0))

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve /metrics in a background thread; returns the port (useful with port 0)."""
        self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        return self._server.server_address[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
