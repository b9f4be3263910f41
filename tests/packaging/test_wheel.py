"""A wheel built from this checkout, installed into a fresh virtualenv outside it, does the job.

From a temporary folder and with a temporary cache (`LOOPSCAN_CACHE`), the installed `loopscan`
lists its scenarios, starts the devnet (which installs the node tools with `npm ci` into that
cache), scans it, exports the HTML page, solves the thresholds, monitors two ticks, shows the
history and stops the devnet; every figure is compared with what this checkout computes.

What it costs, measured on this kind of 2-core machine while other suites ran on it (load
6–8): 3 min 53 s in all. A clean copy of the checkout and the wheel built from it 6 s; pip
(this one, `--python` into a venv without pip) installing the dependencies from its local
index and PyPI 49 s; `devnet up` 122 s, of which `npm ci` into the temporary cache 60 s (npm's
own cache; 31 s in a quieter run) and compiling our contracts from the wheel's sources and
deploying and seeding stream-2025 from scratch the rest; scan, export, thresholds, two monitor
ticks, history and down 43 s. The via-IR builds of Morpho (a minute or more) and Gearbox's build
(~85 s; stream-2025 deploys it since issue 20, not measured here) are taken from the checkout's
build cache: entries are keyed by their sources' hashes, recomputed from the
wheel's own files, so they are used only if those are byte for byte the checkout's.
Every command, its time and its output are written to `test-artifacts/wheel-test.log`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from loopscan import shipped
from loopscan.devnet.build import UNITS, Artifacts, cache_dir
from loopscan.model import Snapshot

pytestmark = [pytest.mark.packaging, pytest.mark.devnet]

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "test-artifacts" / "wheel-test.log"
# Not part of a wheel's source: the checkout's environments, caches and outputs.
_NOT_SOURCE = {".git", ".venv", "node_modules", "build", "dist", "test-artifacts", ".loopscan", "__pycache__",
               ".pytest_cache", ".hypothesis", "loopscan-demo", "loopscan-export", "_shipped"}  # fmt: skip
# A contract of each unit slow to compile (the via-IR ones; Gearbox's 11 sources, ~85 s), to make
# sure the checkout's cache has them before copying.
_SLOW_UNITS = {"morpho-blue": "Morpho", "metamorpho": "MetaMorpho", "morpho-periphery": "AdaptiveCurveIrm",
               "gearbox": "CreditManagerV3"}  # fmt: skip


class Installed:
    """The virtualenv with the wheel in it, and how to run its `loopscan` from the work folder."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.venv = base / "venv"
        self.work = base / "work"
        self.cache = base / "cache"
        # Bytecode is written, so that later commands reuse what earlier ones compiled.
        unset = ("PYTHONPATH", "LOOPSCAN_PROJECT_ROOT", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
        self.env = {k: v for k, v in os.environ.items() if k not in unset}
        self.env.update(LOOPSCAN_CACHE=str(self.cache), PATH=f"{self.venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
                        COLUMNS="200")  # fmt: skip

    def run(self, *args: str, timeout: float = 600) -> str:
        """`loopscan ARGS` from the work folder; its standard output; fails on a non-zero exit."""
        return _logged([str(self.venv / "bin" / "loopscan"), *args], cwd=self.work, env=self.env, timeout=timeout)


def _logged(cmd: list[str], *, cwd: Path, env: dict | None = None, timeout: float = 600) -> str:
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    with LOG.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}    "
                  f"[exit {proc.returncode}, {time.monotonic() - started:.1f} s]\n{proc.stdout}{proc.stderr}\n")  # fmt: skip
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}"
    return proc.stdout


def _clean_copy(dst: Path) -> Path:
    """The checkout's sources without builds and environments (an in-tree build/ could carry stale
    modules into the wheel), with its node_modules linked for the vendored graph library."""
    shutil.copytree(
        ROOT, dst, ignore=lambda folder, names: [n for n in names if n in _NOT_SOURCE or n.endswith(".egg-info")]
    )
    (dst / "node_modules").symlink_to(ROOT / "node_modules")
    return dst


def _seed_build_cache(target: Path) -> None:
    artifacts = Artifacts()
    (target / "build").mkdir(parents=True)
    for unit, contract in _SLOW_UNITS.items():
        artifacts.compiled(unit, contract)  # builds into the checkout's cache if it is not there yet
        name = f"{unit}-{artifacts.unit_key(UNITS[unit])}.json"
        shutil.copyfile(cache_dir() / "build" / name, target / "build" / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    LOG.parent.mkdir(exist_ok=True)
    LOG.write_text(f"wheel test, {time.strftime('%Y-%m-%d %H:%M:%S')}\n", encoding="utf-8")
    inst = Installed(tmp_path_factory.mktemp("wheel"))
    assert not inst.base.is_relative_to(ROOT)
    source = _clean_copy(inst.base / "source")
    _logged(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(inst.base / "dist"), str(source)],
        cwd=inst.base,
    )
    (wheel,) = (inst.base / "dist").glob("loopscan-*.whl")
    # This pip installs into the new venv (`--python`), which so needs no pip of its own.
    _logged([sys.executable, "-m", "venv", "--without-pip", str(inst.venv)], cwd=inst.base)
    # pip unpacks ~500 MB of dependencies (mostly I/O): meanwhile, make sure the checkout's cache
    # has the slow builds. Modules are compiled when first imported, not all at install.
    with ThreadPoolExecutor(1) as pool:
        pip = pool.submit(_logged, [sys.executable, "-m", "pip", "--python", str(inst.venv / "bin" / "python"), "install", "--quiet",
                                    "--no-compile", str(wheel)], cwd=inst.base, env=inst.env)  # fmt: skip
        _seed_build_cache(inst.cache)
        pip.result()
    inst.work.mkdir()
    return inst


@pytest.fixture(scope="module")
def devnet_up(installed: Installed) -> dict:
    """`loopscan devnet up --detach` in the work folder; its manifest. Stopped at the end, whatever happens."""
    try:
        out = installed.run("devnet", "up", "--detach", timeout=900)
        assert "ready" in out.splitlines()
        yield json.loads((installed.work / ".loopscan" / "devnet.json").read_text())
    finally:
        if (installed.work / ".loopscan" / "devnet.pid").exists():
            installed.run("devnet", "down")


def test_the_installed_package_reads_its_files_from_the_wheel(installed: Installed):
    out = installed.run("devnet", "scenarios")
    shipped_names = {p.stem for p in (ROOT / "fixtures" / "scenarios").glob("*.toml")}  # every scenario the checkout has
    assert set(re.findall(r"^(\S+)  ", out, re.M)) == shipped_names and "stream-2025" in shipped_names
    where = _logged([str(installed.venv / "bin" / "python"), "-c",
                     "import loopscan, loopscan.shipped as s; print(loopscan.__version__, loopscan.__file__, s.installed(), s.root())"],
                    cwd=installed.work, env=installed.env).split()  # fmt: skip
    site = installed.venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    assert where == ["0.1.0", str(site / "loopscan" / "__init__.py"), "True", str(site / "loopscan" / "_shipped")]
    for name in (
        "package.json",
        "package-lock.json",
        "schemas/scan-report.schema.json",
        "contracts/vaults/OpaqueVault.sol",
    ):
        assert (site / "loopscan" / "_shipped" / name).read_bytes() == (ROOT / name).read_bytes()
    assert shipped.installed() is False  # while the checkout running this test reads its own files


def test_devnet_up_installs_the_node_tools_into_the_cache_and_matches_the_checkout(
    installed, devnet_up, stream_session
):
    (digest,) = [p.name for p in (installed.cache / "node").iterdir()]
    anvil = installed.cache / "node" / digest / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    assert anvil.is_file()
    log = (installed.work / ".loopscan" / "devnet.log").read_text()
    assert f"with npm ci into {installed.cache / 'node' / digest}" in log
    # A devnet ends in the same state at the same block wherever it runs: the wheel's equals the checkout's.
    expected = stream_session.manifest
    for key in ("block", "block_hash", "contracts", "tokens", "morpho_markets", "positions"):
        assert devnet_up[key] == expected[key], key
    with urllib.request.urlopen(urllib.request.Request(devnet_up["rpc_url"], b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}',
                                                       {"Content-Type": "application/json"}), timeout=10) as resp:  # fmt: skip
        assert json.loads(resp.read())["result"] == "0x7a69"


def test_scan_export_and_thresholds_equal_the_checkouts(installed, devnet_up, stream_result):
    out = installed.run("scan", "--rpc", devnet_up["rpc_url"], "--out", "scan")
    assert "written to scan: snapshot" in out
    meta = Snapshot.from_parquet(installed.work / "scan" / "snapshot").meta
    assert (meta.block_number, meta.block_hash) == (devnet_up["block"], devnet_up["block_hash"])

    installed.run("export", "scan/snapshot", "--format", "html", "--out", "html")
    page = (installed.work / "html" / "risk-graph.html").read_text(encoding="utf-8")
    vendored = (ROOT / "node_modules" / "cytoscape" / "dist" / "cytoscape.min.js").read_text(encoding="utf-8")
    assert (
        "Copyright (c) 2016-2026, The Cytoscape Consortium" in page and vendored[:20_000] in page
    )  # inlined from the wheel
    assert '"library":"cytoscape 3.34.4"' in page and '"label":"xUSD"' in page

    table = json.loads(installed.run("thresholds", "scan/snapshot", "--format", "json"))
    expected = stream_result.thresholds[stream_result.thresholds["shock"] == "depeg"]
    columns = ["token", "symbol", "first_liquidation_frac", "cascade_frac", "bad_debt_frac", "positions_at_risk"]
    got = [[row[c] for c in columns] for row in table]
    want = [
        [None if isinstance(v, float) and v != v else v for v in row]
        for row in expected[columns].itertuples(index=False)
    ]
    # pandas writes JSON floats with 10 significant digits; thresholds are solved to 1e-4.
    assert got == [[pytest.approx(v, abs=1e-9) if isinstance(v, float) else v for v in row] for row in want]
    assert any(row[2] is not None for row in got)  # some token has a first liquidation


def test_monitor_two_ticks_then_history(installed, devnet_up, stream_result):
    out = installed.run("monitor", "--rpc", devnet_up["rpc_url"], "--ticks", "2", "--every", "1s", "--metrics-port", "0",
                        "--store", "history.duckdb")  # fmt: skip
    ticks = re.findall(r" tick (\S+): .*block (\d+)", out)
    assert len(ticks) == 2 and {int(block) for _, block in ticks} == {devnet_up["block"]}, out
    xusd = stream_result.thresholds.query("shock == 'depeg' and symbol == 'xUSD'").iloc[0]
    out = installed.run("history", "--store", "history.duckdb", "--token", "xUSD")
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines() if line.startswith("│")]
    assert [(r[0], r[2], r[4]) for r in rows] == [(str(devnet_up["block"]), f"{xusd.first_liquidation_frac:.2%}",
                                                  "none" if xusd.bad_debt_frac != xusd.bad_debt_frac else f"{xusd.bad_debt_frac:.2%}")] * 2  # fmt: skip


def test_devnet_down_stops_the_node(installed, devnet_up):
    pid = int((installed.work / ".loopscan" / "devnet.pid").read_text())
    assert f"devnet (pid {pid}) stopped" in installed.run("devnet", "down")
    with pytest.raises(OSError):
        urllib.request.urlopen(devnet_up["rpc_url"], timeout=2)
