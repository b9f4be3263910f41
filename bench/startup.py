"""How long the light commands take to start: figures, no asserts.

    python bench/startup.py                          # this checkout, 7 runs per command
    python bench/startup.py --compare /tmp/before    # and another tree, in alternation
    python bench/startup.py --source /tmp/before     # another tree alone

(`mkdir /tmp/before && git archive 4d41266 | tar -x -C /tmp/before` gives the code before the
start-up work.)

Each command runs as `python -m loopscan ARGS` in a fresh process from an empty temporary
folder, with the tree first on PYTHONPATH; the figure is the median wall time from spawn to
exit, beside that of `python -c pass` (the interpreter alone, which shows how loaded the
machine is). Then one more run under `-X importtime` says which heavy libraries the command loaded
(pandas, networkx, web3, aiohttp, duckdb, matplotlib) and the largest imports by cumulative time.
The goal is < 0.5 s for each command listed here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = (
    ("--help",),
    ("devnet", "scenarios"),
    ("history", "--help"),
)
HEAVY = ("pandas", "networkx", "web3", "aiohttp", "duckdb", "matplotlib", "numpy")
GOAL_S = 0.5


def _env(source: Path) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{source}{os.pathsep}{path}" if path else str(source), "COLUMNS": "100"}


def _run(args: tuple[str, ...], source: Path, cwd: Path, extra: tuple[str, ...] = ()) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, *extra, "-m", "loopscan", *args], cwd=cwd, env=_env(source),
                          capture_output=True, text=True, check=False)  # fmt: skip
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"`loopscan {' '.join(args)}` failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return elapsed, proc.stderr


def _imports(stderr: str) -> tuple[list[str], list[tuple[float, str]]]:
    """(heavy top-level packages loaded, the 5 largest imports by cumulative µs) from -X importtime."""
    heavy, rows = set(), []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if not cumulative.isdigit():
            continue  # the header line
        module = name.strip()
        if module.split(".")[0] in HEAVY:
            heavy.add(module.split(".")[0])
        if not name.startswith(" "):  # a top-level import (nested ones are indented)
            rows.append((int(cumulative) / 1e6, module))
    return sorted(heavy), sorted(rows, reverse=True)[:5]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the tree whose loopscan/ is measured (default: this checkout)")  # fmt: skip
    parser.add_argument("--compare", type=Path, default=None,
                        help="a second tree (e.g. the code before a change), measured in alternation with --source")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=7)
    opts = parser.parse_args()
    sources = [p.resolve() for p in (opts.compare, opts.source) if p is not None]
    print(f"python {sys.version.split()[0]} ({sys.executable}); {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; median of {opts.repeat} fresh processes; goal < {GOAL_S} s")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        floor = []
        for _ in range(opts.repeat):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            floor.append(time.perf_counter() - started)
        print(f"{'python -c pass (the floor)':<44} {statistics.median(floor):6.3f} s")
        for source in sources:
            _run(("--help",), source, cwd)  # warm the page cache and __pycache__ once
        for args in COMMANDS:
            # Alternate the trees run by run, so that other load on the machine hits both alike.
            times: dict[Path, list[float]] = {source: [] for source in sources}
            for _ in range(opts.repeat):
                for source in sources:
                    times[source].append(_run(args, source, cwd)[0])
            for source in sources:
                heavy, top = _imports(_run(args, source, cwd, ("-X", "importtime"))[1])
                median = statistics.median(times[source])
                print(f"loopscan {' '.join(args):<18} {str(source)[-16:]:>16} {median:6.3f} s  (min {min(times[source]):.3f}, "
                      f"max {max(times[source]):.3f})  {'ok' if median < GOAL_S else 'over goal'}")  # fmt: skip
                print(f"    heavy libraries loaded: {', '.join(heavy) or 'none'}")
                print("    largest imports: " + ", ".join(f"{name} {secs:.3f} s" for secs, name in top))

if __name__ == "__main__":
    main()
