"""Backtest throughput: blocks per minute at N positions with 1 and 2 local Dask workers. Figures, no asserts.

    python bench/backtest.py                      # 10k positions, 8 blocks, workers 1 and 2
    python bench/backtest.py --positions 1000 --blocks 4 --workers 1,2

The devnet is bench/index.py's (Morpho Blue + Aave v3 with PositionSeeder positions), started
without --prune-history so that past blocks keep their state; after seeding, `--blocks` empty
blocks are mined 12 s apart and each is backtested (index + analyse + readings) into a fresh
store. Each worker count runs on a fresh LocalCluster; its start-up is timed apart, since a
long-lived cluster pays it once. Then, in this process and without Dask or the solver, the same
blocks are indexed in turn as one worker indexes them, reading every position at every block
("whole") and carrying the positions no event touched ("carried", `loopscan.protocols.reuse`):
the indexing part of a block apart from its analysis, which a loaded machine's noise hides in the
blocks per minute. Results are printed and written to bench/results-backtest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _bench_devnet():
    spec = importlib.util.spec_from_file_location("bench_index", HERE / "index.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.BenchDevnet


def _index_in_turn(url: str, deployments, blocks: list[int]) -> dict:
    """Seconds to index each block in turn as one worker does, whole and carried; the first block
    (read whole either way, logs read for the range) is reported apart from the others' median."""
    from statistics import median

    from loopscan.protocols.reuse import PositionReuse
    from loopscan.rpc import LogCache
    from loopscan.scanner import index_async

    out = {}
    for mode in ("whole", "carried"):
        cache, reuse = LogCache(max(blocks)), PositionReuse() if mode == "carried" else None
        seconds = []
        for block in blocks:
            started = time.perf_counter()
            asyncio.run(index_async(url, deployments=deployments, block=block, log_cache=cache, reuse=reuse))
            seconds.append(time.perf_counter() - started)
        out[mode] = {"first_s": round(seconds[0], 2), "next_median_s": round(median(seconds[1:]), 2) if len(seconds) > 1 else None}
    return out


def main() -> None:
    from loopscan.backtest import run_backtest
    from loopscan.backtest.runner import dask_client
    from loopscan.chains import from_devnet_manifest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=10_000)
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        net = _bench_devnet()(Path(tmp), ("--base-fee", "0"), ("morpho_blue", "aave_v3"))  # both seeded, as index.py does
        try:
            net.grow_to(args.positions)
            first = net.node.block_number() + 1
            for _ in range(args.blocks):
                net.node.rpc("evm_increaseTime", [12])
                net.node.rpc("evm_mine")
            blocks = list(range(first, first + args.blocks))
            deployments = from_devnet_manifest({**net.manifest, "rpc_url": net.url})
            for workers in (int(w) for w in args.workers.split(",")):
                started = time.perf_counter()
                with dask_client(None, workers):
                    pass
                startup = time.perf_counter() - started
                report = run_backtest(net.url, deployments, blocks, Path(tmp) / f"w{workers}.duckdb", workers=workers)
                assert not report.failed, report.failed
                scan_s = report.seconds - startup
                results.append({"positions": net.rows, "blocks": len(blocks), "workers": workers,
                                "total_s": round(report.seconds, 2), "cluster_start_s": round(startup, 2),
                                "blocks_per_min": round(60 * len(blocks) / report.seconds, 1),
                                "blocks_per_min_warm": round(60 * len(blocks) / scan_s, 1) if scan_s > 0 else None})  # fmt: skip
                print(json.dumps(results[-1]), flush=True)
            indexing = _index_in_turn(net.url, deployments, blocks)
            print(json.dumps({"index_s": indexing}), flush=True)
        finally:
            net.node.stop()
    machine = {"cpus": __import__("os").cpu_count(), "python": platform.python_version()}
    (HERE / "results-backtest.json").write_text(json.dumps({"machine": machine, "results": results, "index_s": indexing}, indent=2) + "\n")
    print(f"{'positions':>9} {'blocks':>6} {'workers':>7} {'total s':>8} {'cluster s':>9} {'blocks/min':>10} {'warm':>6}")
    for r in results:
        print(f"{r['positions']:>9,} {r['blocks']:>6} {r['workers']:>7} {r['total_s']:>8} {r['cluster_start_s']:>9} "
              f"{r['blocks_per_min']:>10} {r['blocks_per_min_warm']!s:>6}")  # fmt: skip
    for mode, t in indexing.items():
        print(f"index, one worker's blocks in turn, {mode:>7}: first block {t['first_s']} s, next blocks {t['next_median_s']} s (median)")


if __name__ == "__main__":
    main()
