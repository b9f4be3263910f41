"""The monitor: scan on a schedule, store, evaluate the rules, deliver the alerts.

    async with Monitor(rpc_url, deployments, config, ".loopscan/history.duckdb") as monitor:
        await monitor.run(stop_event, Schedule(every_seconds=300))

One tick: index the chain at its head, analyse, compute readings; then, in ONE store
transaction, the scan, its alerts (with a pending delivery per sink) and the new firing set;
then deliver what is pending. A tick that cannot scan (node down, garbage, a contract gone)
raises the outage alert once and keeps everything else as it was; a tick whose store write
fails keeps nothing, so the next tick finds the same conditions again. Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pandas as pd

from loopscan.chains import Deployments
from loopscan.errors import LoopscanError
from loopscan.monitor.config import MonitorConfig
from loopscan.monitor.evaluate import Finding, TickContext, findings, outage_finding, transitions
from loopscan.monitor.prometheus import MonitorMetrics
from loopscan.monitor.readings import readings
from loopscan.monitor.sinks import DeliveryError, LogSink, Sink, WebhookSink
from loopscan.result import analyse
from loopscan.rpc import RetryPolicy, RpcClient, RpcError
from loopscan.scanner import index_async
from loopscan.store import (
    Alert,
    ScanRecord,
    Store,
    StoreError,
    firing,
    latest_scan,
    mark_abandoned,
    mark_delivered,
    mark_failed,
    pending,
    prune_snapshots,
    record_alerts,
    scan_metrics,
    write_scan,
)

__all__ = ["Monitor", "Schedule", "TickReport", "parse_duration"]

log = logging.getLogger("loopscan.monitor")

# A delivery the receiver refuses (HTTP 4xx) this many times is set aside, so that one payload
# it will never take does not hold back every later alert; unreachable or failing sinks (5xx,
# timeouts) keep their queue, in order, however long they are down.
MAX_REFUSALS = 3

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in `30s`, `5m`, `1h30m`, `2d`; ValueError naming the text otherwise."""
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip() or sum(float(n) for n, _ in parts) == 0:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h30m")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


@dataclass(frozen=True)
class Schedule:
    """Scan every `every_seconds` (tick starts spaced by it), or each time the head has moved
    `every_blocks` past the last scan, polling the head every `poll_seconds`."""

    every_seconds: float | None = 300.0
    every_blocks: int | None = None
    poll_seconds: float = 4.0


@dataclass
class TickReport:
    tick_id: str
    ok: bool
    block: int | None = None
    missing: int = 0  # reads the scan could not make: the snapshot lists them, never as zeros
    seconds: float = 0.0
    raised: list[Alert] = field(default_factory=list)
    error: str | None = None


class Monitor:
    """A monitor of one node. Use as an async context manager (it owns an HTTP session)."""

    def __init__(
        self,
        rpc_url: str,
        deployments: Deployments,
        config: MonitorConfig,
        store_path: str | Path,
        *,
        emit: Callable[[str], None] = print,
        metrics: MonitorMetrics | None = None,
        keep_snapshots: int = 100,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        webhook_backoff: float = 0.5,
    ) -> None:
        self.rpc_url = rpc_url
        self.deployments = deployments
        self.config = config
        self.store_path = Path(store_path)
        self.emit = emit
        self.metrics = metrics or MonitorMetrics()
        self.keep_snapshots = keep_snapshots
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._webhook_backoff = webhook_backoff
        self._session: aiohttp.ClientSession | None = None
        self.sinks: list[Sink] = []
        self.last_block: int | None = None
        self.failing = False

    async def __aenter__(self) -> Monitor:
        self._session = aiohttp.ClientSession()
        self.sinks = [LogSink(self.emit)] + [WebhookSink(s, self._session, self._webhook_backoff) for s in self.config.sinks]
        # Open once up front: a store that cannot be created or migrated stops the start, clearly.
        with Store.open(self.store_path):
            pass
        return self

    async def __aexit__(self, *exc) -> None:
        if self._session is not None:
            await self._session.close()

    async def tick(self) -> TickReport:
        """Scan once, store, raise alerts, deliver pending ones. Never raises for a failed scan,
        store or sink: the report says what failed (and so do the log and the metrics)."""
        tick_id = f"{int(time.time())}-{uuid.uuid4().hex[:10]}"
        started, t0 = datetime.now(UTC), time.monotonic()
        report = TickReport(tick_id, ok=False)
        try:
            snapshot = await index_async(self.rpc_url, deployments=self.deployments, timeout=self.timeout, retry=self.retry)
            result = await asyncio.to_thread(analyse, snapshot)
            current = readings(result)
        except Exception as exc:  # noqa: BLE001 — a long-running monitor reports and goes on
            report.error = self._describe(exc)
            self.failing = True
            self.metrics.scan_failed(type(exc).__name__, node_down=isinstance(exc, RpcError))
            ctx = TickContext(tick_id, self.deployments.chain_id, None, started, scanned=False)
            report.raised = self._commit(ctx, [outage_finding(self.config.outage_rule, report.error)], None, report)
        else:
            meta = snapshot.meta
            ctx = TickContext(tick_id, meta.chain_id, meta.block_number, started, scanned=True)
            record = ScanRecord(tick_id, snapshot, started, datetime.now(UTC), current, result.thresholds, result.losses)
            report.raised = self._commit(ctx, None, record, report)
            report.block, report.missing = meta.block_number, len(snapshot.missing)
            if report.error is None:
                report.ok, self.failing, self.last_block = True, False, meta.block_number
                self.metrics.scan_succeeded(current, meta.block_number, report.missing, time.monotonic() - t0, time.time())
        report.seconds = time.monotonic() - t0
        await self.deliver()
        self._summarise(report)
        return report

    def _commit(self, ctx: TickContext, found: list[Finding] | None, record: ScanRecord | None, report: TickReport) -> list[Alert]:
        """Store the scan (if any), the alerts and the firing set in one transaction."""
        try:
            with Store.open(self.store_path) as store:
                if found is None:
                    last = latest_scan(store.con, ctx.chain_id)
                    previous = scan_metrics(store.con, last) if last else None
                    found = findings(self.config.rules, record.metrics, previous)
                with store.transaction() as con:
                    alerts, now_firing = transitions(found, firing(con), ctx)
                    if record is not None:
                        write_scan(con, record, with_snapshot=self.keep_snapshots > 0)
                        prune_snapshots(con, self.keep_snapshots)
                    record_alerts(con, alerts, [s.name for s in self.sinks], now_firing)
                self._count_firing(store)
            return alerts
        except StoreError as exc:
            self.metrics.store_errors.inc()
            report.error = f"store: {exc} (nothing of this tick was kept; the next tick tries again)"
            return []

    def _count_firing(self, store: Store) -> None:
        rows = store.con.execute("SELECT a.severity, count(*) FROM alert_state s JOIN alerts a USING (key) GROUP BY 1").fetchall()
        self.metrics.set_firing(dict(rows))

    async def deliver(self) -> None:
        """Send every pending alert to its sink, oldest first; a sink that fails keeps the rest
        of its queue (in order) for the next tick. An alert refused MAX_REFUSALS times is set
        aside (logged, counted, listed by `loopscan history alerts`) and the queue moves on."""
        try:
            with Store.open(self.store_path, lock_timeout=30.0) as store:
                queues = {s.name: pending(store.con, s.name) for s in self.sinks}
        except StoreError as exc:
            self.emit(f"error: cannot read the alert outbox: {exc}")
            return
        for sink in self.sinks:
            left = len(queues[sink.name])
            for alert, attempts in queues[sink.name]:
                try:
                    await sink.send(alert)
                except DeliveryError as exc:
                    if exc.refused and attempts + 1 >= MAX_REFUSALS:
                        self._mark(mark_abandoned, alert.key, sink.name, str(exc))
                        self.metrics.deliveries.labels(sink=sink.name, outcome="abandoned").inc()
                        left -= 1
                        self.emit(f"error: alert {alert.key} set aside for {sink.name} after {attempts + 1} refusals: {exc} "
                                  "(`loopscan history alerts` lists it)")  # fmt: skip
                        continue
                    self._mark(mark_failed, alert.key, sink.name, str(exc))
                    self.metrics.deliveries.labels(sink=sink.name, outcome="failed").inc()
                    self.emit(f"error: alert {alert.key} not delivered: {exc}; {left} pending for {sink.name}, retried next tick")
                    break
                self._mark(mark_delivered, alert.key, sink.name)
                self.metrics.deliveries.labels(sink=sink.name, outcome="ok").inc()
                left -= 1
            self.metrics.pending.labels(sink=sink.name).set(left)

    def _mark(self, mark, *args) -> None:
        try:
            with Store.open(self.store_path, lock_timeout=30.0) as store:
                mark(store.con, *args)
        except StoreError as exc:
            # Not marked: the alert is sent again next tick with the same idempotency key.
            self.emit(f"error: {exc}")

    def _describe(self, exc: Exception) -> str:
        if isinstance(exc, LoopscanError):
            return " ".join(str(exc).split())
        log.exception("scan failed with an internal error")
        return f"internal error {type(exc).__name__}: {exc}"

    def _summarise(self, r: TickReport) -> None:
        counts = pd.Series([a.event for a in r.raised]).value_counts().to_dict() if r.raised else {}
        raised = ", ".join(f"{n} {event}" for event, n in sorted(counts.items())) or "no alerts"
        where = f"block {r.block}" if r.block is not None else "no block"
        if r.missing:
            where += f" ({r.missing} reads missing: `loopscan history snapshot {r.tick_id}` lists them)"
        status = "ok" if r.ok else f"FAILED: {r.error}"
        self.emit(f"tick {r.tick_id}: {where}, {r.seconds:.1f} s, {raised}; {status}")

    async def run(self, stop: asyncio.Event, schedule: Schedule, max_ticks: int | None = None) -> int:
        """Tick until `stop` is set (or `max_ticks` ticks); returns the number of ticks."""
        ticks = 0
        while not stop.is_set():
            started = time.monotonic()
            await self.tick()
            ticks += 1
            if max_ticks is not None and ticks >= max_ticks:
                break
            if schedule.every_blocks and not self.failing:
                await self._wait_for_blocks(stop, schedule)
            else:
                wait = schedule.poll_seconds if schedule.every_blocks else schedule.every_seconds - (time.monotonic() - started)
                await _wait(stop, wait)
        return ticks

    async def _wait_for_blocks(self, stop: asyncio.Event, schedule: Schedule) -> None:
        """Until the head is `every_blocks` past the last scan; returns early if the node fails,
        so that the next tick reports the outage."""
        target = (self.last_block or 0) + schedule.every_blocks
        async with RpcClient(self.rpc_url, retry=self.retry, timeout=self.timeout) as client:
            while not stop.is_set():
                try:
                    if await client.block_number() >= target:
                        return
                except RpcError:
                    return
                await _wait(stop, schedule.poll_seconds)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    if seconds > 0:
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except TimeoutError:
            pass
