"""The `loopscan` command line: parses, calls the library, prints with rich.

Only loopscan's own errors are caught: they print one line and exit 1 (`--debug` shows the
traceback). Bad usage exits 2 (click's own convention).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from rich.console import Console

from loopscan.errors import LoopscanError

__all__ = ["main"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

DEFAULT_STATE_DIR = Path(".loopscan")


class _Group(click.Group):
    """Turns loopscan's own errors into one line and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LoopscanError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            err_console.print(f"error: {' '.join(str(exc).split())}", markup=False, soft_wrap=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="loopscan")
def main(debug: bool) -> None:
    """loopscan: find recursive leverage in DeFi and how close it is to collapse."""
    # Retries and re-batching log warnings; a user sees them with --debug, not in every run.
    logging.basicConfig(level=logging.INFO if debug else logging.ERROR, format="%(name)s: %(message)s")


@main.command()
@click.option("--rpc", "rpc_url", required=True, envvar="LOOPSCAN_RPC_URL", help="JSON-RPC URL (or LOOPSCAN_RPC_URL); never printed unmasked.")
@click.option("--block", type=int, default=None, help="Block to pin every read to (default: latest).")
@click.option("--chain", default=None, help="A known chain (mainnet); default: chosen by the node's chain id.")
@click.option("--deployments", type=click.Path(path_type=Path), default=None,
              help="A deployments TOML file or a devnet manifest JSON (default for a devnet: .loopscan/devnet.json).")
@click.option("--protocols", default=None, help="Comma-separated subset: morpho_blue,metamorpho,aave_v3,spark,vaults,uniswap_v3.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the snapshot (Parquet) to this folder.")
def scan(rpc_url: str, block: int | None, chain: str | None, deployments: Path | None, protocols: str | None, out: Path | None) -> None:
    """Index lending, vault and DEX positions at one block into a Snapshot."""
    import asyncio

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from loopscan.index import index_async, resolve_deployments
    from loopscan.report.scan_summary import print_scan_summary

    deps = resolve_deployments(rpc_url, chain=chain, deployments=deployments, devnet_manifest=DEFAULT_STATE_DIR / "devnet.json")
    started = time.monotonic()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=True,
                  disable=not err_console.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage)
            bar.update(tasks[stage], description=f"{stage}: {done:,}")

        snap = asyncio.run(
            index_async(rpc_url, deployments=deps, block=block, progress=progress,
                        protocols=protocols.split(",") if protocols else None)
        )  # fmt: skip
    print_scan_summary(console, snap, time.monotonic() - started)
    if out is not None:
        console.print(f"snapshot written to {snap.to_parquet(out)}", markup=False)


@main.group()
def devnet() -> None:
    """A local anvil node with Morpho Blue, MetaMorpho, Aave v3 and Uniswap v3 seeded with a scenario."""


@devnet.command("scenarios")
def devnet_scenarios() -> None:
    """List the scenarios shipped in fixtures/scenarios."""
    from loopscan.devnet.scenario import SCENARIOS_DIR, load_scenario

    for path in sorted(SCENARIOS_DIR.glob("*.toml")):
        sc = load_scenario(path)
        console.print(f"[bold]{sc.name}[/bold]  ", end="")
        console.print(sc.description, markup=False)


def _paths(state_dir: Path) -> tuple[Path, Path, Path]:
    return state_dir / "devnet.json", state_dir / "devnet.pid", state_dir / "devnet.log"


@devnet.command("up")
@click.option("--scenario", default="stream-2025", show_default=True, help="A name in fixtures/scenarios or a path to a .toml file.")
@click.option("--port", type=int, default=None, help="Port for anvil (default: a free one).")
@click.option("--detach", is_flag=True, help="Leave the node running in the background; stop it with `loopscan devnet down`.")
@click.option("--no-cache", is_flag=True, help="Deploy and seed from scratch instead of loading the cached state.")
@click.option("--state-dir", type=click.Path(path_type=Path), default=DEFAULT_STATE_DIR, show_default=True,
              help="Where the manifest, pid and log files go.")  # fmt: skip
def devnet_up(scenario: str, port: int | None, detach: bool, no_cache: bool, state_dir: Path) -> None:
    """Start anvil, deploy the protocols, seed SCENARIO, write the manifest, print `ready`."""
    manifest_path, pid_path, log_path = _paths(state_dir)
    if detach:
        _detach(scenario, port, no_cache, state_dir)
        return
    from loopscan import devnet as dn
    from loopscan.devnet.manifest import write_manifest
    from loopscan.devnet.summary import print_summary

    # SIGTERM behaves as Ctrl-C from the very start, so a stop during seeding stops anvil too.
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    try:
        with console.status(f"starting devnet {scenario}…"):
            net = dn.start(scenario, port, use_cache=not no_cache)
        try:
            write_manifest(net.manifest, manifest_path)
            console.print(f"RPC URL: {net.url}", markup=False)
            print_summary(console, net.manifest)
            console.print(f"manifest: {manifest_path}  ({time.monotonic() - started:.1f} s)", markup=False)
            console.print("ready", markup=False)
            sys.stdout.flush()
            while net.node.process is not None and net.node.process.poll() is None:
                time.sleep(0.2)
            raise LoopscanError(f"anvil exited unexpectedly with code {net.node.process.returncode}")
        finally:
            net.stop()
            pid_path.unlink(missing_ok=True)
    except KeyboardInterrupt:
        console.print("devnet stopped", markup=False)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def _detach(scenario: str, port: int | None, no_cache: bool, state_dir: Path) -> None:
    manifest_path, pid_path, log_path = _paths(state_dir)
    if pid_path.exists() and _alive(int(pid_path.read_text())):
        raise LoopscanError(f"a devnet is already running (pid {pid_path.read_text().strip()}); `loopscan devnet down` first")
    state_dir.mkdir(parents=True, exist_ok=True)
    manifest_path.unlink(missing_ok=True)
    args = [sys.executable, "-m", "loopscan", "devnet", "up", "--scenario", scenario, "--state-dir", str(state_dir)]
    if port:
        args += ["--port", str(port)]
    if no_cache:
        args.append("--no-cache")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, "COLUMNS": "120"})  # fmt: skip
    pid_path.write_text(str(proc.pid))
    with console.status(f"starting devnet {scenario} in the background…"):
        while proc.poll() is None and b"\nready\n" not in log_path.read_bytes():
            time.sleep(0.2)
    if proc.poll() is not None:
        pid_path.unlink(missing_ok=True)
        raise LoopscanError(f"devnet failed to start: {log_path.read_text().strip().splitlines()[-1]}")
    console.print(log_path.read_text(), markup=False, end="")
    console.print(f"detached (pid {proc.pid}); stop it with `loopscan devnet down`", markup=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@devnet.command("down")
@click.option("--state-dir", type=click.Path(path_type=Path), default=DEFAULT_STATE_DIR, show_default=True)
def devnet_down(state_dir: Path) -> None:
    """Stop a devnet started with `--detach`."""
    _, pid_path, _ = _paths(state_dir)
    if not pid_path.exists():
        raise LoopscanError(f"no detached devnet recorded in {state_dir}")
    pid = int(pid_path.read_text())
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    pid_path.unlink(missing_ok=True)
    console.print(f"devnet (pid {pid}) stopped", markup=False)


@devnet.command("apply")
@click.argument("event")
@click.option("--state-dir", type=click.Path(path_type=Path), default=DEFAULT_STATE_DIR, show_default=True)
def devnet_apply(event: str, state_dir: Path) -> None:
    """Apply one of the running scenario's named events (e.g. `writedown`) as real transactions."""
    from loopscan import devnet as dn

    manifest_path, _, _ = _paths(state_dir)
    if not manifest_path.exists():
        raise LoopscanError(f"no running devnet manifest at {manifest_path}")
    net = dn.connect(manifest_path)
    net.apply(event)
    console.print(f"applied {event} at block {net.chain.block()['number']}", markup=False)


if __name__ == "__main__":
    main()
