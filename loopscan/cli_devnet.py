"""`loopscan devnet ...`: start, stop and drive the local devnet from the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from loopscan.cli_common import DEFAULT_STATE_DIR, console
from loopscan.errors import LoopscanError

__all__ = ["devnet"]


@click.group()
def devnet() -> None:
    """A local anvil node with Morpho Blue, MetaMorpho, Aave v3 and Uniswap v3 seeded with a scenario."""


@devnet.command("scenarios")
def devnet_scenarios() -> None:
    """List the scenarios shipped with loopscan (fixtures/scenarios in a checkout)."""
    from loopscan.devnet.scenario import SCENARIOS_DIR, load_scenario

    for path in sorted(SCENARIOS_DIR.glob("*.toml")):
        sc = load_scenario(path)
        console.print(f"[bold]{sc.name}[/bold]  ", end="")
        console.print(sc.description, markup=False)


@devnet.command("install")
def devnet_install() -> None:
    """Install the devnet's node tools now (anvil, solc-js, the protocols' packages; needs Node.js and npm).

    An installed loopscan puts them in its cache (LOOPSCAN_CACHE, default ~/.cache/loopscan) with
    `npm ci`; otherwise the first `devnet up` does. A checkout uses its own node_modules.
    """
    from loopscan.devnet.tools import install_tools, node_modules

    found = node_modules(install=False)
    if not found.is_dir():
        found = install_tools(log=sys.stdout)
    console.print(f"node tools: {found}", markup=False)


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
