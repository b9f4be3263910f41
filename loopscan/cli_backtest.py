"""`loopscan backtest`: scan a range of past blocks on Dask, store them, show what the rules
would have said and how early."""

from __future__ import annotations

import asyncio
import json
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from loopscan.cli_common import DEFAULT_STATE_DIR, RpcUrl, console, err_console

__all__ = ["backtest"]


@click.command("backtest")
@click.option("--rpc", "rpc_url", type=RpcUrl(), required=True, envvar="LOOPSCAN_RPC_URL", help="JSON-RPC URL of a node that keeps past state (an archive node); never printed unmasked.")
@click.option("--from", "start", required=True, help="First block: a number or a date (2025-09-01, UTC).")
@click.option("--to", "end", required=True, help="Last block: a number or a date.")
@click.option("--every", default="1d", show_default=True, help="Every N blocks (100) or a period (1d, 6h) between dates.")
@click.option("--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="The monitor's rules file: the alerts it would have raised.")
@click.option("--store", "store_path", type=click.Path(path_type=Path), default=DEFAULT_STATE_DIR / "backtest.duckdb", show_default=True,
              help="The history file (blocks already stored are skipped).")
@click.option("--scheduler", default=None, help="A running Dask scheduler (tcp://host:8786); default: a local cluster.")
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True, help="Worker processes of the local cluster.")
@click.option("--retries", type=click.IntRange(0), default=2, show_default=True, help="Retries of a failing block before it is stored as failed.")
@click.option("--stall-timeout", type=click.FloatRange(min=1), default=3600, show_default=True,
              help="Seconds with no block finishing before the blocks still running are given up (stored as failed).")
@click.option("--chain", default=None, help="A known chain (mainnet); default: chosen by the node's chain id.")
@click.option("--deployments", type=click.Path(path_type=Path), default=None, help="A deployments TOML file or a devnet manifest JSON.")
@click.option("--event", "events", multiple=True, metavar="NAME=WHEN", help="Mark an event (block or date); lead times are measured to it. Repeatable.")
@click.option("--keep-snapshots", is_flag=True, help="Store every block's whole snapshot too (large).")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write backtest.json, backtest.png and backtest.html to this folder.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def backtest(rpc_url: str, start: str, end: str, every: str, rules: Path | None, store_path: Path, scheduler: str | None,
             workers: int, retries: int, stall_timeout: float, chain: str | None, deployments: Path | None, events: tuple[str, ...],
             keep_snapshots: bool, out: Path | None, fmt: str) -> None:  # fmt: skip
    """Scan every block from --from to --to (each an independent Dask task), store results and
    alerts in the history, and report thresholds over time, alerts and lead times."""
    from loopscan.backtest import BacktestError, run_backtest
    from loopscan.monitor import load_config
    from loopscan.scanner import resolve_deployments

    for e in events:
        if "=" not in e:
            raise click.BadParameter(f"{e!r} is not NAME=WHEN", param_hint="--event")
    deps = resolve_deployments(rpc_url, chain=chain, deployments=deployments, devnet_manifest=DEFAULT_STATE_DIR / "devnet.json")
    config = load_config(rules) if rules else None
    blocks, marked = asyncio.run(_plan(rpc_url, start, end, every, events))
    with _progress(len(blocks)) as (bar, task):
        failed = 0

        def done(outcome) -> None:
            nonlocal failed
            failed += outcome.scan is None
            bar.update(task, advance=1, failed=failed)

        report = run_backtest(rpc_url, deps, blocks, store_path, rules=config.rules if config else (), scheduler=scheduler,
                              workers=workers, retries=retries, keep_snapshots=keep_snapshots, on_done=done,
                              stall_timeout=stall_timeout)  # fmt: skip
    data = _read_back(store_path, deps.chain_id, blocks, [r.name for r in config.rules] if config else [], marked)
    if out is not None:
        from loopscan.backtest.page import write_page
        from loopscan.backtest.timeline import plot_timeline

        out.mkdir(parents=True, exist_ok=True)
        (out / "backtest.json").write_text(json.dumps(data["json"], indent=2) + "\n")
        plot = plot_timeline(data["thresholds"], data["alerts"], marked, out / "backtest.png")
        write_page(data["json"], plot, out / "backtest.html", f"loopscan backtest, blocks {blocks[0]}-{blocks[-1]}")
    if fmt == "json":
        console.print_json(json.dumps(data["json"]))
    else:
        _print(report, data)
    if report.failed:
        raise BacktestError(f"{len(report.failed)} of {report.planned} blocks failed and are stored as failed "
                            "(listed above; a rerun tries them again)")  # fmt: skip


async def _plan(rpc_url: str, start: str, end: str, every: str, events: tuple[str, ...]):
    from loopscan.backtest import block_at, parse_when, plan_blocks
    from loopscan.backtest.timeline import Event
    from loopscan.rpc import RpcClient

    async with RpcClient(rpc_url) as client:
        blocks = await plan_blocks(client, start, end, every)
        head = await client.block_number()
        marked = []
        for e in events:
            name, when = e.split("=", 1)
            parsed = parse_when(when)
            number = parsed if isinstance(parsed, int) else await block_at(client, parsed, head)
            header = await client.get_block(number)
            marked.append(Event(name, number, datetime.fromtimestamp(int(header["timestamp"], 16), UTC)))
    return blocks, marked


@contextmanager
def _progress(total: int):
    """Blocks done, failed and the rate, on a terminal; nothing when piped."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    class Rate(TextColumn):
        def render(self, task):  # blocks per minute since the start
            elapsed = task.elapsed or 0
            return f"{60 * task.completed / elapsed:.1f} blocks/min" if elapsed > 0 else ""

    with Progress(TextColumn("backtest"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]} failed"),
                  Rate(""), TimeElapsedColumn(), console=err_console, disable=not err_console.is_terminal) as bar:  # fmt: skip
        yield bar, bar.add_task("blocks", total=total, failed=0)


def _read_back(store_path: Path, chain_id: int, blocks: list[int], rule_names: list[str], events: list) -> dict:
    """This run's blocks as stored (the store may hold other ranges of the same chain too)."""
    from loopscan.backtest.timeline import alert_timeline, failed_blocks, lead_times, threshold_timeline, timeline_json
    from loopscan.store import Store

    with Store.open(store_path, read_only=True) as store:
        thresholds, alerts, failed = (frame[frame["block"].between(blocks[0], blocks[-1])] for frame in (
            threshold_timeline(store.con, chain_id), alert_timeline(store.con, chain_id), failed_blocks(store.con, chain_id)))  # fmt: skip
    leads = lead_times(alerts, rule_names, events)
    return {"thresholds": thresholds, "alerts": alerts, "leads": leads, "failed": failed,
            "json": timeline_json(thresholds, alerts, leads, events, failed)}


def _print(report, data: dict) -> None:
    from rich.table import Table
    from rich.text import Text

    from loopscan.textsafe import safe_text

    console.print(f"{report.planned} blocks: {len(report.stored)} scanned now, {report.skipped} already stored, "
                  f"{len(report.failed)} failed; {report.alerts} alerts; {report.seconds:.1f} s "
                  f"({report.blocks_per_minute:.1f} blocks/min)")  # fmt: skip
    for r in data["failed"].itertuples():
        console.print(f"failed: block {r.block} after {r.attempts} attempts: {r.error}", markup=False)
    th = data["thresholds"]
    if len(th):
        table = Table(title="thresholds over time (depeg %: first liquidation / cascade / bad debt)")
        table.add_column("date")
        table.add_column("block", justify="right")
        symbols = list(dict.fromkeys(th["symbol"]))
        for sym in symbols:
            table.add_column(safe_text(sym or "?"), justify="right")
        for (block, when), rows in th.groupby(["block", "time"], sort=True):
            cells = {r.symbol: "/".join("-" if pd_na(v) else f"{100 * v:.1f}" for v in
                                       (r.depeg_first_liquidation_frac, r.depeg_cascade_frac, r.depeg_bad_debt_frac))
                     for r in rows.itertuples()}  # fmt: skip
            table.add_row(when.strftime("%Y-%m-%d"), str(block), *(cells.get(s, "") for s in symbols))
        console.print(table)
    alerts = data["alerts"]
    if len(alerts):
        console.print("alerts the rules would have raised:")
    for r in alerts.itertuples():
        line = Text(f"  {r.time:%Y-%m-%d} block {r.block} {r.event} {r.severity} ")
        line += safe_text(r.rule) + Text(" ") + safe_text(r.label or r.subject) + Text(": ") + safe_text(r.message)
        console.print(line, soft_wrap=True)
    leads = data["leads"]
    if len(leads):
        table = Table(title="lead time of each rule before each event")
        for col in ("event", "rule", "first fired", "block", "lead (days)"):
            table.add_column(col)
        for r in leads.itertuples():
            fired = "not by then" if pd_na(r.first_block) else r.first_time.strftime("%Y-%m-%d")
            table.add_row(safe_text(r.event), safe_text(r.rule), fired,
                          "" if pd_na(r.first_block) else str(int(r.first_block)),
                          "" if pd_na(r.lead_days) else f"{r.lead_days:.1f}")  # fmt: skip
        console.print(table)


def pd_na(value) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))
