"""How long the light commands take to start: figures, no asserts.

    python bench/startup.py                          # this checkout, 7 runs per command
    python bench/startup.py --compare /tmp/before    # and another tree, in alternation
    python bench/startup.py --source /tmp/before     # another tree alone

(`mkdir /tmp/before && git archive 4d41266 | tar -x -C /tmp/before` gives the code before the
start-up work.)

Each command runs as `python -m loopscan ARGS` in a fresh process from an empty temporary
folder, with the tree first on PYTHONPATH; the figure is the median wall time from spawn to
exit (and the process's CPU time, user + system, which other load on the machine disturbs
less), beside that of `python -c pass` (the interpreter alone: how loaded the machine is). Then one more run under `-X importtime` says which heavy libraries the command loaded
(pandas, networkx, web3, aiohttp, duckdb, matplotlib) and the largest imports by cumulative time.
The goal is < 0.5 s for each command listed here.
"""

from __future__ import annotations

import argparse
import os
import resource
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
    # Bytecode is written (the first run's) and reused, as on a user's machine.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": f"{source}{os.pathsep}{path}" if path else str(source), "COLUMNS": "100"}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args: tuple[str, ...], source: Path, cwd: Path, extra: tuple[str, ...] = ()) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stderr) of one fresh `python -m loopscan ARGS`."""
    started, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run([sys.executable, *extra, "-m", "loopscan", *args], cwd=cwd, env=_env(source),
                          capture_output=True, text=True, check=False)  # fmt: skip
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"`loopscan {' '.join(args)}` failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return elapsed, _cpu() - cpu, proc.stderr


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
        floor, floor_cpu = [], []
        for _ in range(opts.repeat):
            started, cpu = time.perf_counter(), _cpu()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            floor.append(time.perf_counter() - started)
            floor_cpu.append(_cpu() - cpu)
        print(f"{'python -c pass (the floor)':<44} {statistics.median(floor):6.3f} s  (min {min(floor):.3f}; "
              f"CPU {statistics.median(floor_cpu):.3f} s)")  # fmt: skip
        for source in sources:
            _run(("--help",), source, cwd)  # warm the page cache and __pycache__ once
        for args in COMMANDS:
            # Alternate the trees run by run, so that other load on the machine hits both alike.
            runs: dict[Path, list[tuple[float, float, str]]] = {source: [] for source in sources}
            for _ in range(opts.repeat):
                for source in sources:
                    runs[source].append(_run(args, source, cwd))
            for source in sources:
                heavy, top = _imports(_run(args, source, cwd, ("-X", "importtime"))[2])
                wall = [r[0] for r in runs[source]]
                median = statistics.median(wall)
                print(f"loopscan {' '.join(args):<18} {str(source)[-16:]:>16} {median:6.3f} s  (min {min(wall):.3f}, "
                      f"max {max(wall):.3f}; CPU {statistics.median(r[1] for r in runs[source]):.3f} s)  "
                      f"{'ok' if median < GOAL_S else 'over goal'}")  # fmt: skip
                print(f"    heavy libraries loaded: {', '.join(heavy) or 'none'}")
                print("    largest imports: " + ", ".join(f"{name} {secs:.3f} s" for secs, name in top))


if __name__ == "__main__":
    main()
