"""The `loopscan` command line: parses, calls the library, prints with rich.

Only loopscan's own errors are caught: they print one line and exit 1 (`--debug` shows the
traceback). Bad usage exits 2 (click's own convention).

    loopscan demo                          the whole job on a devnet seeded with stream-2025
    loopscan scan --rpc URL                index + graph + solve + report on any node
    loopscan thresholds SNAPSHOT           the thresholds of a saved snapshot, no node
    loopscan export SNAPSHOT --format F    the risk graph or tables of a saved snapshot
    loopscan monitor --rpc URL --rules F   scheduled scans, history, alerts, Prometheus metrics
    loopscan history [--token T]           what the monitor stored, over time
    loopscan devnet up|down|apply|scenarios
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from loopscan.cli_backtest import backtest
from loopscan.cli_common import DEFAULT_STATE_DIR, LoopscanGroup, RpcUrl, console, err_console
from loopscan.cli_devnet import devnet
from loopscan.cli_monitor import history, monitor
from loopscan.errors import LoopscanError

__all__ = ["main"]

EXPORT_FORMATS = ("graphml", "gexf", "json", "dot", "html", "csv", "parquet")  # = loopscan.export.FORMATS


@click.group(cls=LoopscanGroup)
@click.option("--debug", is_flag=True, help="Show tracebacks and the RPC layer's retries.")
@click.version_option(package_name="loopscan")
def main(debug: bool) -> None:
    """loopscan: find recursive leverage in DeFi and how close it is to collapse."""
    # Retries and re-batching log warnings; a user sees them with --debug, not in every run.
    logging.basicConfig(level=logging.INFO if debug else logging.ERROR, format="%(name)s: %(message)s")


main.add_command(devnet)
main.add_command(monitor)
main.add_command(history)
main.add_command(backtest)


def _progress():
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
                    transient=True, disable=not err_console.is_terminal)  # fmt: skip


def _protocol_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    """`--protocols a, b`: names separated by commas (spaces allowed), each a registered protocol."""
    if value is None:
        return None
    from loopscan.protocols import registry

    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in registry.names()]
    if unknown or not names:
        raise click.BadParameter(f"unknown protocol(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(sorted(registry.names()))}")
    return names


def _index(rpc_url: str, block: int | None, deps, protocols: list[str] | None):
    import asyncio

    from loopscan.rpc import mask_url
    from loopscan.scanner import index_async

    with _progress() as bar:
        # Shown before the first answer, so a slow node is seen working, not silent.
        tasks: dict[str, int] = {"rpc: calls": bar.add_task(f"rpc: connecting to {mask_url(rpc_url)}")}

        def progress(stage: str, done: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage)
            bar.update(tasks[stage], description=f"{stage}: {done:,}")

        return asyncio.run(
            index_async(rpc_url, deployments=deps, block=block, progress=progress,
                        protocols=protocols)
        )  # fmt: skip


def _analyse(snapshot, liquidity_haircut=0.0):
    from loopscan.result import analyse

    with _progress() as bar:
        bar.add_task("graph and solver: thresholds by bisection")
        return analyse(snapshot, liquidity_haircut=liquidity_haircut)


_HAIRCUT_HELP = "Solve as if liquidity providers had withdrawn this fraction (0 to <1) of every exit pool's liquidity."
_HAIRCUT_FILE_HELP = ("A TOML file of haircuts per pool and per venue: default = F, [venues] curve = F, "
                      '[pools] "0x…" = F (a pool\'s own wins over its venue\'s, its venue\'s over default).')


def _haircut_of(fraction: float, path: Path | None):
    """The haircut the solver applies: `--liquidity-haircut F`, or the plan of `--liquidity-haircut-file`."""
    if path is None:
        return fraction
    if fraction:
        raise click.UsageError("--liquidity-haircut and --liquidity-haircut-file: give one of them")
    from loopscan.result import read_haircut_plan
    from loopscan.solver.haircut import HaircutError

    try:
        return read_haircut_plan(path)
    except HaircutError as exc:
        raise click.BadParameter(str(exc), param_hint="--liquidity-haircut-file") from None


def _report(result, fmt: str, seconds: float, out: Path | None) -> None:
    if fmt == "json":
        from loopscan.report.json_report import dumps

        click.echo(dumps(result))
    else:
        from loopscan.report.risk_report import print_risk_report
        from loopscan.report.scan_summary import print_scan_summary

        print_scan_summary(console, result.snapshot, seconds)
        print_risk_report(console, result)
    if out is not None:
        written = [result.snapshot.to_parquet(out / "snapshot")]
        written += [result.export(out, f) for f in EXPORT_FORMATS if f != "parquet"]
        (console if fmt != "json" else err_console).print(f"written to {out}: " + ", ".join(p.name for p in written), markup=False)


@main.command()
@click.option("--rpc", "rpc_url", type=RpcUrl(), required=True, envvar="LOOPSCAN_RPC_URL",
              help="JSON-RPC URL, http(s):// (or LOOPSCAN_RPC_URL); never printed unmasked.")
@click.option("--block", type=click.IntRange(min=0), default=None, help="Block to pin every read to (default: latest).")
@click.option("--chain", default=None, help="A known chain (mainnet); default: chosen by the node's chain id.")
@click.option("--deployments", type=click.Path(path_type=Path), default=None,
              help="A deployments TOML file or a devnet manifest JSON (default for a devnet: .loopscan/devnet.json).")
@click.option("--protocols", default=None, callback=_protocol_list,
              help="Comma-separated subset of the registered protocols (`loopscan.protocols.registry`), e.g. aave_v3,uniswap_v3.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write the snapshot and every export to this folder (not an existing file).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--index-only", is_flag=True, help="Only read the chain (and write the snapshot with --out); no graph or solver.")
@click.option("--liquidity-haircut", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0, show_default=True, help=_HAIRCUT_HELP)
@click.option("--liquidity-haircut-file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help=_HAIRCUT_FILE_HELP)
def scan(rpc_url: str, block: int | None, chain: str | None, deployments: Path | None, protocols: list[str] | None,
         out: Path | None, fmt: str, index_only: bool, liquidity_haircut: float,
         liquidity_haircut_file: Path | None) -> None:  # fmt: skip
    """Index lending, vault and DEX positions at one block, then graph, solve and report."""
    from loopscan.scanner import resolve_deployments

    cut = _haircut_of(liquidity_haircut, liquidity_haircut_file)
    deps = resolve_deployments(rpc_url, chain=chain, deployments=deployments, devnet_manifest=DEFAULT_STATE_DIR / "devnet.json")
    started = time.monotonic()
    snapshot = _index(rpc_url, block, deps, protocols)
    if index_only:
        from loopscan.report.scan_summary import print_scan_summary

        print_scan_summary(console, snapshot, time.monotonic() - started)
        if out is not None:
            console.print(f"snapshot written to {snapshot.to_parquet(out)}", markup=False)
        return
    result = _analyse(snapshot, cut)
    _report(result, fmt, time.monotonic() - started, out)


def _load_snapshot(path: Path):
    from loopscan.model import Snapshot

    if not path.is_dir():
        raise LoopscanError(f"{path}: not a snapshot folder (write one with `loopscan scan --out DIR`)")
    return Snapshot.from_parquet(path)


@main.command()
@click.argument("snapshot", type=click.Path(path_type=Path))
@click.option("--shock", type=click.Choice(["depeg", "backing-loss"]), default="depeg", show_default=True)
@click.option("--token", "tokens", multiple=True, help="Token address or symbol (repeatable; default: every one the shock can reach).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--liquidity-haircut", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.0, show_default=True, help=_HAIRCUT_HELP)
@click.option("--liquidity-haircut-file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help=_HAIRCUT_FILE_HELP)
def thresholds(snapshot: Path, shock: str, tokens: tuple[str, ...], fmt: str, liquidity_haircut: float,
               liquidity_haircut_file: Path | None) -> None:
    """δ₁, δ_c and δ_bd of a saved snapshot (no node needed)."""
    from loopscan.solver import Solver, build_book
    from loopscan.solver.haircut import haircut

    cut = _haircut_of(liquidity_haircut, liquidity_haircut_file)
    snap = _load_snapshot(snapshot)
    try:
        chosen = [snap.token_address(t) for t in tokens] or None
    except LookupError as exc:  # an unknown or ambiguous token is bad usage
        raise click.BadParameter(str(exc), param_hint="--token") from None
    solver = Solver(haircut(build_book(snap), cut))
    kind = shock.replace("-", "_")
    table = solver.thresholds(kind, chosen)
    if fmt == "json":
        click.echo(table.to_json(orient="records", indent=2))
        return
    from loopscan.report.risk_report import headline_table, print_coverage

    print_coverage(console, snap)
    label = "market depeg" if kind == "depeg" else "loss of opaque backing"
    t, legend = headline_table(table, f"Where it breaks ({label}): further shock of each token from the state at the pin")
    console.print(t)
    for line in legend:
        console.print(line, markup=False, style="dim")


@main.command("export")
@click.argument("snapshot", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("loopscan-export"), show_default=True)
def export_cmd(snapshot: Path, fmt: str, out: Path) -> None:
    """Write the risk graph (graphml, gexf, json, dot, html) or the tables (csv, parquet) of a saved snapshot."""
    result = _analyse(_load_snapshot(snapshot))
    console.print(f"written: {result.export(out, fmt)}", markup=False)


@main.command()
@click.option("--scenario", default="stream-2025", show_default=True, help="A scenario in fixtures/scenarios or a .toml path.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("loopscan-demo"), show_default=True,
              help="Where the snapshot, exports and plots are written.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def demo(scenario: str, out: Path, fmt: str) -> None:
    """Start a devnet seeded with SCENARIO, scan it, solve, report, write the exports, stop it."""
    from loopscan import devnet as dn
    from loopscan.chains import from_devnet_manifest

    started = time.monotonic()
    with _progress() as bar:
        bar.add_task(f"devnet {scenario}: build (first run only), deploy, seed")
        net = dn.start(scenario)
    with net:
        (console if fmt != "json" else err_console).print(f"devnet {scenario} at {net.url}, block {net.manifest['block']}", markup=False)
        snapshot = _index(net.url, net.manifest["block"], from_devnet_manifest(net.manifest), None)
    result = _analyse(snapshot)
    _report(result, fmt, time.monotonic() - started, out)
    _plots(result, out, fmt)


def _plots(result, out: Path, fmt: str) -> None:
    """The cascade curve and the unwind of each token with a threshold, as PNG and SVG."""
    import matplotlib.pyplot as plt

    written = []
    for token in result.thresholds[result.thresholds["shock"] == "depeg"]["token"]:
        symbol = "".join(c if c.isalnum() else "_" for c in result.solver.book.symbols.get(token, token))[:32]
        for what in ("cascade", "unwind"):
            for suffix in ("png", "svg"):
                path = out / "plots" / f"{what}-{symbol}.{suffix}"
                path.parent.mkdir(parents=True, exist_ok=True)
                plt.close(result.plot(what, token=token, path=path))
                written.append(path)
    if written:
        (console if fmt != "json" else err_console).print(f"plots: {out / 'plots'} ({len(written)} files)", markup=False)


if __name__ == "__main__":
    main()
