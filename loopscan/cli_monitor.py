"""`loopscan monitor` (scheduled scans with alerts and metrics) and `loopscan history` (what it stored)."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path

import click

from loopscan.cli_common import DEFAULT_STATE_DIR, console
from loopscan.errors import LoopscanError

__all__ = ["monitor", "history"]

DEFAULT_STORE = DEFAULT_STATE_DIR / "history.duckdb"


def _duration(ctx, param, value: str | None) -> float | None:
    from loopscan.monitor.runner import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option("--rpc", "rpc_url", required=True, envvar="LOOPSCAN_RPC_URL", help="JSON-RPC URL (or LOOPSCAN_RPC_URL); never printed unmasked.")
@click.option("--every", callback=_duration, default=None, help="Scan on this interval: 30s, 5m, 1h (default 5m).")
@click.option("--every-blocks", type=click.IntRange(min=1), default=None, help="Scan each time the head moves N blocks past the last scan.")
@click.option("--poll", callback=_duration, default="4s", show_default=True, help="How often --every-blocks reads the head.")
@click.option("--rules", type=click.Path(path_type=Path), default=None, help="Alert rules and webhooks (TOML); see docs/monitoring.md.")
@click.option("--store", "store_path", type=click.Path(path_type=Path), default=DEFAULT_STORE, show_default=True, help="The history file (DuckDB).")
@click.option("--chain", default=None, help="A known chain (mainnet); default: chosen by the node's chain id.")
@click.option("--deployments", type=click.Path(path_type=Path), default=None, help="A deployments TOML file or a devnet manifest JSON.")
@click.option("--metrics-port", type=click.IntRange(min=0, max=65535), default=9464, show_default=True, help="Prometheus /metrics port; 0: off.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address the metrics endpoint listens on.")
@click.option("--keep-snapshots", type=click.IntRange(min=0), default=100, show_default=True,
              help="Full snapshots kept in the history (metrics are always kept); 0: none.")
@click.option("--ticks", type=click.IntRange(min=1), default=None, help="Stop after N ticks (default: until SIGINT/SIGTERM).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds per RPC request.")
@click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True,
              help="Retries of a failed RPC read within a tick (backoff 0.25 s doubling to 8 s).")
def monitor(rpc_url: str, every: float | None, every_blocks: int | None, poll: float, rules: Path | None, store_path: Path,
            chain: str | None, deployments: Path | None, metrics_port: int, metrics_host: str, keep_snapshots: int,
            ticks: int | None, timeout: float, retries: int) -> None:  # fmt: skip
    """Scan on a schedule, keep the history, raise alerts, serve Prometheus metrics.

    Stops cleanly on SIGINT/SIGTERM after the tick under way (a second signal stops at once;
    nothing half-written is kept either way).
    """
    import asyncio

    from loopscan.monitor import Monitor, MonitorConfig, MonitorMetrics, Schedule, load_config
    from loopscan.rpc import RetryPolicy, mask_url
    from loopscan.scanner import resolve_deployments

    if every is not None and every_blocks is not None:
        raise click.UsageError("give --every or --every-blocks, not both")
    config = load_config(rules) if rules is not None else MonitorConfig()
    deps = resolve_deployments(rpc_url, chain=chain, deployments=deployments, devnet_manifest=DEFAULT_STATE_DIR / "devnet.json")
    schedule = Schedule(every_seconds=every or 300.0, every_blocks=every_blocks, poll_seconds=poll)
    metrics = MonitorMetrics()

    def emit(line: str) -> None:
        console.print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {line}", markup=False, highlight=False, soft_wrap=True)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_signal(name: str) -> None:
            if stop.is_set():
                emit(f"{name} again: stopping now")
                task.cancel()
            else:
                emit(f"{name}: stopping after this tick")
                stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig.name)
        async with Monitor(rpc_url, deps, config, store_path, emit=emit, metrics=metrics, keep_snapshots=keep_snapshots,
                           timeout=timeout, retry=RetryPolicy(max_retries=retries)) as mon:  # fmt: skip
            cadence = f"every {every_blocks} blocks" if every_blocks else f"every {schedule.every_seconds:g} s"
            served = f", metrics on http://{metrics_host}:{_serve(metrics, metrics_host, metrics_port)}/metrics" if metrics_port else ""
            emit(f"monitoring {mask_url(rpc_url)} (chain {deps.chain_id}) {cadence}; {len(config.rules)} rules, "
                 f"sinks: {', '.join(s.name for s in mon.sinks)}; history in {store_path}{served}")  # fmt: skip
            try:
                await mon.run(stop, schedule, max_ticks=ticks)
            finally:
                metrics.stop()
        emit("stopped")

    try:
        asyncio.run(main())
    except asyncio.CancelledError:
        pass  # the second signal: the tick under way was abandoned before its transaction


def _serve(metrics, host: str, port: int) -> int:
    try:
        return metrics.serve(port, host)
    except OSError as exc:  # the port is taken, most often
        raise LoopscanError(f"cannot serve metrics on {host}:{port}: {exc.strerror}") from None


def _since(ctx, param, value: str | None) -> datetime | None:
    """An ISO date/time, or an age like 24h / 7d."""
    if value is None:
        return None
    from loopscan.monitor.runner import parse_duration

    try:
        return datetime.fromtimestamp(datetime.now(UTC).timestamp() - parse_duration(value), UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither an ISO date/time nor an age like 24h or 7d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_store_option = click.option("--store", "store_path", type=click.Path(path_type=Path), default=DEFAULT_STORE, show_default=True)
_since_option = click.option("--since", callback=_since, default=None, help="ISO date/time, or an age: 24h, 7d.")


@click.group(invoke_without_command=True)
@_store_option
@click.option("--token", "tokens", multiple=True, help="A token's symbol or address (repeatable; default: every token).")
@_since_option
@click.option("--plot", type=click.Path(path_type=Path), default=None, help="Also draw it (PNG or SVG).")
@click.pass_context
def history(ctx: click.Context, store_path: Path, tokens: tuple[str, ...], since: datetime | None, plot: Path | None) -> None:
    """How each token's thresholds, leverage and opaque share moved over the stored scans."""
    if ctx.invoked_subcommand is not None:
        return
    from loopscan.report.history import history_tables, plot_history, print_history
    from loopscan.store import Store, metric_history

    with Store.open(store_path, read_only=True) as store:
        rows = metric_history(store.con, list(tokens) or None, since)
    tables = history_tables(rows)
    if not tables:
        raise LoopscanError(f"{store_path}: no scans{' of ' + ', '.join(tokens) if tokens else ''}{' since ' + str(since) if since else ''}")
    print_history(console, tables)
    if plot is not None:
        import matplotlib.pyplot as plt

        plt.close(plot_history(tables, plot))
        console.print(f"plot: {plot}", markup=False)


def _show(store_path: Path, read, columns: dict[str, str], title: str) -> None:
    """`read(con)`'s frame, `columns` (name → title) of it, as a table."""
    from loopscan.report.history import print_frame
    from loopscan.store import Store

    with Store.open(store_path, read_only=True) as store:
        frame = read(store.con)
    print_frame(console, frame[list(columns)].rename(columns=columns), title)


@history.command("scans")
@_store_option
@_since_option
def history_scans(store_path: Path, since: datetime | None) -> None:
    """The stored scans: id, block, time, duration, size."""
    from loopscan.store import list_scans

    columns = {"scan_id": "scan", "chain_id": "chain", "block_number": "block", "finished_at": "finished (UTC)",
               "duration_s": "seconds", "positions": "positions", "missing": "missing", "has_snapshot": "snapshot kept"}  # fmt: skip
    _show(store_path, lambda con: list_scans(con, since), columns, "Scans")


@history.command("alerts")
@_store_option
@_since_option
def history_alerts(store_path: Path, since: datetime | None) -> None:
    """Every alert raised, one row each, and whether each sink has it."""
    from loopscan.report.history import alert_rows
    from loopscan.store import alert_log

    columns = {"seq": "#", "created_at": "raised (UTC)", "event": "event", "severity": "severity", "rule": "rule",
               "label": "subject", "message": "message", "block_number": "block", "deliveries": "deliveries"}  # fmt: skip
    _show(store_path, lambda con: alert_rows(alert_log(con, since)), columns, "Alerts")


@history.command("snapshot")
@click.argument("scan_id")
@_store_option
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for the Parquet files.")
def history_snapshot(scan_id: str, store_path: Path, out: Path) -> None:
    """Write a stored scan's snapshot as Parquet (readable by `loopscan thresholds` and `export`)."""
    from loopscan.store import Store, load_snapshot

    with Store.open(store_path, read_only=True) as store:
        snapshot = load_snapshot(store.con, scan_id)
    console.print(f"snapshot of scan {scan_id} (block {snapshot.meta.block_number}) written to {snapshot.to_parquet(out)}", markup=False)
