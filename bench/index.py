"""How fast loopscan indexes Morpho Blue + Aave v3 positions, against what a node can do: figures, no asserts.

    python bench/index.py                       # N = 1k, 10k, 100k positions (100k seeds for minutes)
    python bench/index.py --sizes 1000,10000 --repeat 5 --profile
    python bench/index.py --sizes 200000 --protocols morpho_blue   # 100k Morpho positions, read alone

One anvil (``--prune-history``) with Morpho Blue and Aave v3 deployed from the bench's own
scenario (written to a temporary file: two Morpho markets, three Aave reserves, lenders), then
``contracts/bench/PositionSeeder.sol`` opens real positions in batches that fill a block:
borrowers are EIP-1167 clones (collateral supplied on their behalf, then they borrow for
themselves); collateral-only and supply-only positions go to fresh addresses. Sizes are
cumulative: the 10k devnet is the 1k one plus 9k positions. "Positions" are rows of the
snapshot's ``positions`` table (Morpho: one per account and market; Aave: one per account and
reserve, so a borrower has a collateral row and a debt row); half are Morpho, half Aave.

For each size it measures:

* loopscan: ``index_async(protocols=("morpho_blue", "aave_v3"))`` on the devnet's deployments,
  each run in a fresh process (cold process, warm node): wall time, positions/s, HTTP requests
  per 1,000 positions (the ``RpcClient``'s own ``stats``), peak RSS (``getrusage``);
* (a) sequential web3.py: ``eth_getLogs`` for the accounts, then one ``Morpho.position`` /
  ``AaveProtocolDataProvider.getUserReserveData`` ``eth_call`` per position, one at a time;
* (b) web3.py with Multicall3: the same reads in 40-call ``aggregate3`` batches, one at a time;
* the node's floor: loopscan's own ``eth_getLogs`` queries and its position reads (the minimal
  set: no stable debt read for an account no stable debt token was minted to) packed
  1,000 per ``aggregate3``, each request sent alone over one keep-alive connection, bodies
  prepared beforehand, timed from send to the last byte of the answer (no JSON parsing).

(a) and (b) time the reads on a sample (``--sample-a`` calls, ``--sample-b`` batches) and
extrapolate to every position when the sample is smaller (marked ``~``); their ``eth_getLogs``
are timed in full. Results are printed as a table and written to ``bench/results-index.json``.
``--compare TREE`` also runs another checkout's loopscan on the same node, in alternation, and
checks that both read the same snapshot, table for table.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import orjson

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script: import loopscan from this checkout
    sys.path.insert(0, str(HERE.parent))
RESULTS = HERE / "results-index.json"
PROTOCOLS = ("morpho_blue", "aave_v3")  # what is benchmarked (`--protocols`); both are seeded unless `--seed-only`
BLOCK_GAS_LIMIT = 30_000_000
GAS_TARGET = 27_000_000  # what one seeding transaction aims at, under the block gas limit
SEED_TX_GAS = 29_900_000  # gas given to each seeding transaction (explicit: no eth_estimateGas run)

# The bench's devnet: two Morpho markets and three Aave reserves priced by keeper feeds, and
# lenders deep enough for every borrower the seeder opens.
SCENARIO = """
name = "bench-index"
description = "loopscan bench: Morpho Blue WETH/USDC and WBTC/USDC, Aave v3 USDC/WETH/WBTC; positions come from PositionSeeder."

[[tokens]]
id = "USDC"
name = "USD Coin"
symbol = "USDC"
decimals = 6

[[tokens]]
id = "WETH"
name = "Wrapped Ether"
symbol = "WETH"
decimals = 18

[[tokens]]
id = "WBTC"
name = "Wrapped BTC"
symbol = "WBTC"
decimals = 8

[[feeds]]
id = "ETH/USD"
decimals = 8
answer = "3000"

[[feeds]]
id = "BTC/USD"
decimals = 8
answer = "60000"

[[feeds]]
id = "USDC/USD"
decimals = 8
answer = "1"

[morpho]
[[morpho.oracles]]
id = "WETH/USDC market"
collateral = "WETH"
loan = "USDC"
base_feed = "ETH/USD"
quote_feed = "USDC/USD"

[[morpho.oracles]]
id = "WBTC/USDC market"
collateral = "WBTC"
loan = "USDC"
base_feed = "BTC/USD"
quote_feed = "USDC/USD"

[[morpho.markets]]
id = "WETH/USDC-86"
collateral = "WETH"
loan = "USDC"
oracle = "WETH/USDC market"
lltv = "0.86"

[[morpho.markets]]
id = "WBTC/USDC-86"
collateral = "WBTC"
loan = "USDC"
oracle = "WBTC/USDC market"
lltv = "0.86"

[aave]
[[aave.reserves]]
asset = "USDC"
source = "USDC/USD"
ltv = "0.75"
liquidation_threshold = "0.78"
liquidation_bonus = "0.045"
borrowable = true

[[aave.reserves]]
asset = "WETH"
source = "ETH/USD"
ltv = "0.80"
liquidation_threshold = "0.825"
liquidation_bonus = "0.05"
borrowable = true

[[aave.reserves]]
asset = "WBTC"
source = "BTC/USD"
ltv = "0.73"
liquidation_threshold = "0.78"
liquidation_bonus = "0.065"
borrowable = false

[[steps]]
action = "mint"
token = "USDC"
to = "lender"
amount = "30000000000"

[[steps]]
action = "morpho.supply"
market = "WETH/USDC-86"
from = "lender"
assets = "10000000000"

[[steps]]
action = "morpho.supply"
market = "WBTC/USDC-86"
from = "lender"
assets = "10000000000"

[[steps]]
action = "aave.supply"
asset = "USDC"
from = "lender"
amount = "10000000000"
"""

# Prices and decimals the amounts below are drawn with (as in SCENARIO).
PRICE = {"WETH": 3000, "WBTC": 60_000, "USDC": 1}
DECIMALS = {"WETH": 18, "WBTC": 8, "USDC": 6}
MORPHO_MARKETS = {"WETH": "WETH/USDC-86", "WBTC": "WBTC/USDC-86"}
# Collateral drawn log-uniformly in this range (token units), borrowed at an LTV drawn
# uniformly below the protocol's limit (Morpho LLTV 86 %, Aave LTV 80 % / 73 %).
COLLATERAL_RANGE = {"WETH": (0.2, 40.0), "WBTC": (0.01, 3.0)}
MORPHO_LTV = (0.20, 0.80)
AAVE_LTV = {"WETH": (0.20, 0.75), "WBTC": (0.20, 0.68)}
SUPPLY_RANGE_USDC = (100.0, 2_000_000.0)


# -- seeding -----------------------------------------------------------------------------------
@dataclass
class Job:
    """Positions of one kind, opened by one PositionSeeder function in block-sized batches."""

    label: str
    protocol: str  # "morpho" | "aave"
    rows: int  # snapshot rows each account adds
    args: dict[str, list[int]]  # per-position arrays
    fixed: tuple = ()  # the function's leading arguments

    def __len__(self) -> int:
        return len(next(iter(self.args.values())))


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _units(amounts: np.ndarray, token: str) -> list[int]:
    """Token units, at least 1, without float rounding above 2**53 (amounts carry 6 digits)."""
    micro = np.maximum(np.round(amounts * 1e6).astype(np.int64), 1)
    scale = 10 ** DECIMALS[token]
    return [max(1, int(m) * scale // 10**6) for m in micro]


def plan_positions(rows: int, seed: int, protocols: tuple[str, ...] = ("morpho_blue", "aave_v3")) -> list[Job]:
    """`rows` snapshot rows: half Morpho (80 % borrowers, 10 % collateral only, 10 % supply
    only; 60 % WETH market, 40 % WBTC), half Aave (90 % of rows from borrowers, each a
    collateral row in WETH or WBTC and a USDC debt row; the rest USDC lenders and WETH
    collateral-only accounts); all of one protocol when `protocols` names only it."""
    rng = np.random.default_rng(seed)
    jobs: list[Job] = []
    morpho_rows = (rows // 2 if "aave_v3" in protocols else rows) if "morpho_blue" in protocols else 0
    aave_rows = rows - morpho_rows
    borrowers = round(morpho_rows * 0.8)
    collateral_only = round(morpho_rows * 0.1)
    suppliers = morpho_rows - borrowers - collateral_only
    for kind, n in (("borrow", borrowers), ("collateral", collateral_only), ("supply", suppliers)):
        weth = round(n * 0.6)
        for coll, count in (("WETH", weth), ("WBTC", n - weth)):
            if count == 0:
                continue
            collateral = _log_uniform(rng, *COLLATERAL_RANGE[coll], count)
            zero = [0] * count
            if kind == "supply":
                args = {
                    "collateral": zero,
                    "borrowed": zero,
                    "supplied": _units(_log_uniform(rng, *SUPPLY_RANGE_USDC, count), "USDC"),
                }
            elif kind == "collateral":
                args = {"collateral": _units(collateral, coll), "borrowed": zero, "supplied": zero}
            else:
                debt = collateral * PRICE[coll] * rng.uniform(*MORPHO_LTV, count)
                args = {"collateral": _units(collateral, coll), "borrowed": _units(debt, "USDC"), "supplied": zero}
            jobs.append(Job(f"morpho {kind} {MORPHO_MARKETS[coll]}", "morpho", 1, args, (coll,)))
    aave_borrowers = round(aave_rows * 0.9) // 2
    passive = aave_rows - 2 * aave_borrowers
    weth = round(aave_borrowers * 0.7)
    for coll, count in (("WETH", weth), ("WBTC", aave_borrowers - weth)):
        if count:
            collateral = _log_uniform(rng, *COLLATERAL_RANGE[coll], count)
            debt = collateral * PRICE[coll] * rng.uniform(*AAVE_LTV[coll], count)
            args = {"amounts": _units(collateral, coll), "borrowed": _units(debt, "USDC")}
            jobs.append(Job(f"aave borrow {coll}->USDC", "aave", 2, args, (coll, "USDC")))
    lenders = passive // 2
    for asset, count in (("USDC", lenders), ("WETH", passive - lenders)):
        if count:
            amounts = _log_uniform(rng, *(SUPPLY_RANGE_USDC if asset == "USDC" else COLLATERAL_RANGE[asset]), count)
            jobs.append(
                Job(
                    f"aave supply {asset}",
                    "aave",
                    1,
                    {"amounts": _units(amounts, asset), "borrowed": [0] * count},
                    (asset, "USDC"),
                )
            )
    return jobs


def seeder_artifact(artifacts):
    return artifacts.compiled("loopscan", "PositionSeeder")


class BenchDevnet:
    """anvil with --prune-history, deployed and seeded the way `loopscan.devnet.run.start` does
    (without its state cache), plus a PositionSeeder that opens positions on demand."""

    def __init__(self, workdir: Path, anvil_args: tuple[str, ...], seeded: tuple[str, ...]) -> None:
        from loopscan.devnet.build import Artifacts
        from loopscan.devnet.chain import Chain
        from loopscan.devnet.manifest import build_manifest
        from loopscan.devnet.node import Anvil
        from loopscan.devnet.scenario import load_scenario
        from loopscan.devnet.seed import Seeder

        path = workdir / "bench-index.toml"
        path.write_text(SCENARIO)
        self.workdir = workdir
        self.seeded = seeded
        self.node = Anvil(extra_args=anvil_args).start()
        try:
            started = time.perf_counter()
            self.artifacts = Artifacts()
            self.chain = Chain(self.node)
            self.seeder = Seeder(self.chain, self.artifacts, load_scenario(path))
            self.node.rpc("anvil_setBlockTimestampInterval", [0])  # seeding happens at one instant
            self.seeder.deploy()
            self.seeder.run(self.seeder.s.steps)
            self.manifest = build_manifest(self.seeder, self.node.url, self.chain.block())
            s = self.seeder
            tokens = [s.token[t].address for t in ("USDC", "WETH", "WBTC")]
            self.contract = self.chain.deploy(
                seeder_artifact(self.artifacts), s.morpho.morpho.address, s.aave.pool.address, tokens
            )
            self.deploy_s = time.perf_counter() - started
        except BaseException:
            self.node.stop()
            raise
        self.rows = 0  # seeded by the PositionSeeder
        self.seed_s = 0.0
        self.gas = 0
        self.txs = 0
        self._batch: dict[str, int] = {}  # job label -> positions per transaction, learnt from gas used

    @property
    def url(self) -> str:
        return self.node.url

    def manifest_file(self) -> Path:
        path = self.workdir / "manifest.json"
        path.write_text(json.dumps({**self.manifest, "rpc_url": self.url}))
        return path

    def grow_to(self, rows: int) -> None:
        """Open positions until the seeder has opened `rows` snapshot rows."""
        from loopscan.protocols.morpho_blue.seeding import MorphoPart

        add = rows - self.rows
        if add <= 0:
            return
        jobs = plan_positions(add, seed=rows, protocols=self.seeded)
        s, w3 = self.seeder, self.chain.w3
        markets = s.part(MorphoPart).market  # scenario market id -> MarketParams
        need: dict[str, int] = {"USDC": 0, "WETH": 0, "WBTC": 0}
        for job in jobs:
            if job.protocol == "morpho":
                need[job.fixed[0]] += sum(job.args["collateral"])
                need["USDC"] += sum(job.args["supplied"])
            else:
                need[job.fixed[0]] += sum(job.args["amounts"])
        for token, amount in need.items():
            if amount:
                self.chain.send(
                    s.token[token].functions.mint(self.contract.address, amount), self.chain.deployer, f"mint {token}"
                )
        started = time.perf_counter()
        last_print = started
        done_rows = 0
        for job in jobs:
            at = 0
            while at < len(job):
                size = min(self._batch.get(job.label, 8), len(job) - at)
                part = {k: v[at : at + size] for k, v in job.args.items()}
                if job.protocol == "morpho":
                    fn = self.contract.functions.openMorpho(
                        markets[MORPHO_MARKETS[job.fixed[0]]], part["collateral"], part["borrowed"], part["supplied"]
                    )
                else:
                    coll, debt = job.fixed
                    fn = self.contract.functions.openAave(
                        s.token[coll].address, s.token[debt].address, part["amounts"], part["borrowed"]
                    )
                tx = fn.transact({"from": self.chain.deployer, "gas": SEED_TX_GAS})
                receipt = w3.eth.wait_for_transaction_receipt(tx)
                if receipt["status"] != 1:
                    if size > 1 and receipt["gasUsed"] >= SEED_TX_GAS * 0.98:  # out of gas: smaller batches
                        self._batch[job.label] = max(1, size // 2)
                        continue
                    try:
                        fn.call({"from": self.chain.deployer})
                        reason = "status 0"
                    except Exception as exc:  # noqa: BLE001 — the revert reason is the news
                        reason = self.chain.decode_revert(exc)
                    raise RuntimeError(f"PositionSeeder {job.label} x{size} reverted: {reason}")
                per_position = receipt["gasUsed"] / size
                self._batch[job.label] = max(1, int(GAS_TARGET / (per_position * 1.05)))
                at += size
                done_rows += size * job.rows
                self.gas += receipt["gasUsed"]
                self.txs += 1
                now = time.perf_counter()
                if now - last_print > 10:
                    last_print = now
                    rate = done_rows / (now - started)
                    print(f"  seeding: {self.rows + done_rows:>7,} / {rows:,} rows  ({rate:,.0f} rows/s, "
                          f"{self.gas / 1e9:.1f} Ggas in {self.txs} txs, {job.label}, {size}/tx, "
                          f"eta {(add - done_rows) / max(rate, 1e-9):.0f} s)", flush=True)  # fmt: skip
        self.seed_s += time.perf_counter() - started
        self.rows = rows

    def anvil_memory(self) -> dict[str, float]:
        """anvil's resident memory now and at its peak, MiB (from /proc)."""
        out = {}
        try:
            for line in Path(f"/proc/{self.node.process.pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0]) / 1024
        except OSError:
            pass
        return out

    def stop(self) -> None:
        self.node.stop()


# -- loopscan, in a fresh process per run ----------------------------------------------------------
def worker(url: str, manifest_path: str, profile: str | None, snapshot_path: str | None) -> None:
    """One `index_async` run; prints its figures as JSON on the last line of stdout (and pickles
    the snapshot to `snapshot_path` if given, for `--compare`)."""
    import loopscan.scanner as ix
    from loopscan.chains import from_devnet_manifest

    clients = []

    class CountingClient(ix.RpcClient):  # index_async does not expose its client's stats
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            clients.append(self)

    ix.RpcClient = CountingClient
    deployments = from_devnet_manifest(json.loads(Path(manifest_path).read_text()))
    stages: list[tuple[str, int, float]] = []
    t0 = 0.0

    def progress(stage: str, done: int) -> None:
        stages.append((stage, done, time.perf_counter() - t0))

    async def run():
        return await ix.index_async(url, deployments=deployments, protocols=PROTOCOLS, progress=progress)

    profiler = None
    if profile == "cprofile":
        import cProfile

        profiler = cProfile.Profile()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    snapshot = asyncio.run(run())
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    if profiler is not None:
        profiler.disable()
        import pstats

        stats = pstats.Stats(profiler, stream=sys.stdout)
        print(f"--- cProfile of index_async ({wall:.2f} s with the profiler on): by own time ---")
        stats.sort_stats("tottime").print_stats(22)
        print("--- by cumulative time ---")
        stats.sort_stats("cumulative").print_stats(30)
    if snapshot_path:
        Path(snapshot_path).write_bytes(pickle.dumps(snapshot))
    positions = snapshot.positions
    posted = set(zip(snapshot.position_collaterals["market_id"], snapshot.position_collaterals["account"], strict=True))
    coll = [(m, a) in posted for m, a in zip(positions["market_id"], positions["account"], strict=True)]
    debt = [int(x or 0) > 0 for x in positions["debt_amount"]]
    stats_ = clients[0].stats
    print(json.dumps({
        "wall_s": wall,
        "cpu_s": cpu,  # this process's own CPU time (user + system) during index_async
        "positions": len(positions),
        "by_protocol": {str(k): int(v) for k, v in positions["protocol"].value_counts().items()},
        "with_collateral": sum(coll), "with_debt": sum(debt), "with_both": sum(c and d for c, d in zip(coll, debt, strict=True)),
        "missing": len(snapshot.missing),
        "http_requests": stats_.http_requests,
        "rpc_calls": stats_.calls,
        "retries": stats_.retries,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "stages": stages,
    }))  # fmt: skip


def _worker_command(url: str, manifest: Path, tree: Path | None) -> list[str]:
    command = [sys.executable, __file__, "--worker", url, str(manifest), "--protocols", ",".join(PROTOCOLS)]
    return command + (["--worker-tree", str(tree)] if tree else [])


def run_worker(url: str, manifest: Path, tree: Path | None, snapshot: Path | None = None) -> dict:
    """One loopscan run in a fresh process (`tree`: another checkout's loopscan)."""
    command = _worker_command(url, manifest, tree) + (["--worker-snapshot", str(snapshot)] if snapshot else [])
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"loopscan worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise_runs(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    best = min(runs, key=lambda r: r["wall_s"])
    return {**best, "wall_s": statistics.median(walls), "wall_min_s": min(walls), "walls_s": walls,
            "cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "max_rss_mib": max(r["max_rss_mib"] for r in runs)}  # fmt: skip


def run_loopscan(url: str, manifest: Path, repeat: int, profile: bool, compare: Path | None, workdir: Path) -> dict:
    """`repeat` runs of this checkout's loopscan (and of `compare`'s, in alternation, on the same
    node); with `compare`, the first run of each pickles its snapshot and they are compared."""
    trees = [None, compare] if compare else [None]
    runs: dict[Path | None, list[dict]] = {t: [] for t in trees}
    for k in range(repeat):
        for t in trees:
            snapshot = workdir / f"snapshot-{'compare' if t else 'this'}.pkl" if compare and k == 0 else None
            runs[t].append(run_worker(url, manifest, t, snapshot))
    result = summarise_runs(runs[None])
    if compare:
        result["compare"] = {**summarise_runs(runs[compare]), "tree": str(compare)}
        result["snapshots"] = compare_snapshots(workdir / "snapshot-this.pkl", workdir / "snapshot-compare.pkl")
    if profile:
        out = subprocess.run(_worker_command(url, manifest, None) + ["--worker-profile", "cprofile"],
                             capture_output=True, text=True)  # fmt: skip
        result["profile"] = "\n".join(out.stdout.splitlines()[:-1])
    return result


def compare_snapshots(this: Path, other: Path) -> dict:
    """Whether two pickled snapshots are equal: what the metadata says was read (not when, nor by
    which version), then table for table (values and dtypes)."""
    a, b = pickle.loads(this.read_bytes()), pickle.loads(other.read_bytes())
    ta, tb = a.tables(), b.tables()
    tables = {name: bool(name in tb and ta[name].equals(tb[name]) and list(ta[name].dtypes) == list(tb[name].dtypes))
              for name in ta}  # fmt: skip
    same_read = ("chain_id", "block_number", "block_hash", "block_timestamp", "endpoint", "numeraire")
    meta = all(getattr(a.meta, f) == getattr(b.meta, f) for f in same_read) and list(ta) == list(tb)
    return {"identical": meta and all(tables.values()), "meta": meta, "tables": tables,
            "rows": sum(len(f) for f in ta.values())}  # fmt: skip


# -- what loopscan reads, found the way it finds it ------------------------------------------------
def _topic(signature: str) -> str:
    from eth_utils import keccak

    return "0x" + keccak(text=signature).hex()


def log_queries(manifest: dict, block: int) -> dict[str, dict]:
    """The eth_getLogs filters loopscan's Morpho Blue and Aave v3 indexers send (full range),
    for the protocols benchmarked."""
    from loopscan.protocols.aave_v3.indexer import POOL_EVENTS, TRANSFER
    from loopscan.protocols.morpho_blue.indexer import BORROW, CREATE_MARKET, SUPPLY, SUPPLY_COLLATERAL

    morpho, pool = manifest["contracts"]["morpho_blue"], manifest["contracts"]["aave_pool"]
    tokens = [r[k] for r in manifest["aave_reserves"].values() for k in ("a_token", "stable_debt_token")]
    span = {"fromBlock": "0x0", "toBlock": hex(block)}
    queries = {}
    if "morpho_blue" in PROTOCOLS:
        queries["morpho markets"] = {"address": morpho, "topics": [CREATE_MARKET], **span}
        queries["morpho accounts"] = {"address": morpho, "topics": [[SUPPLY, BORROW, SUPPLY_COLLATERAL]], **span}
    if "aave_v3" in PROTOCOLS:
        queries["aave pool"] = {"address": pool, "topics": [list(POOL_EVENTS)], **span}
        queries["aave transfers"] = {"address": tokens, "topics": [TRANSFER], **span}
    return queries


@dataclass
class Reads:
    """The accounts the logs name, and the reads each tool makes of them."""

    morpho: list[tuple[str, str]] = field(default_factory=list)  # (market id, account)
    aave: list[tuple[str, str]] = field(default_factory=list)  # (asset, account)
    aave_users: list[str] = field(default_factory=list)
    aave_stable: set[tuple[str, str]] = field(default_factory=set)  # (asset, account) minted stable debt


def accounts_from_logs(logs: dict[str, list[dict]], manifest: dict) -> Reads:
    from loopscan.model import ZERO_ADDRESS
    from loopscan.protocols.base import topic_address
    from loopscan.protocols.morpho_blue.indexer import _ON_BEHALF_TOPIC

    by_a_token = {r["a_token"].lower(): r["asset"].lower() for r in manifest["aave_reserves"].values()}
    by_stable = {r["stable_debt_token"].lower(): r["asset"].lower() for r in manifest["aave_reserves"].values()}
    transfers = logs.get("aave transfers", [])
    morpho = {
        (log["topics"][1], topic_address(log["topics"][_ON_BEHALF_TOPIC[log["topics"][0]]]))
        for log in logs.get("morpho accounts", [])
    }
    aave = {(topic_address(log["topics"][1]), topic_address(log["topics"][2])) for log in logs.get("aave pool", [])}
    aave |= {(by_a_token[log["address"].lower()], topic_address(log["topics"][2]))
             for log in transfers if log["address"].lower() in by_a_token}  # fmt: skip
    aave = {p for p in aave if p[1] != ZERO_ADDRESS}
    stable = {(by_stable[log["address"].lower()], topic_address(log["topics"][2]))
              for log in transfers if log["address"].lower() in by_stable}  # fmt: skip
    return Reads(sorted(morpho), sorted(aave), sorted({u for _, u in aave}), stable)


def loopscan_calls(reads: Reads, manifest: dict):
    """The position reads loopscan makes (Morpho `position`; Aave, per user, configuration and
    e-mode, per pair the aToken's and the variable debt token's `balanceOf`, and the stable debt
    token's for a pair it was minted to), as Multicall3 calls."""
    from loopscan.rpc import Call, encode_call

    morpho, pool = manifest["contracts"]["morpho_blue"], manifest["contracts"]["aave_pool"]
    reserves = {v["asset"].lower(): v for v in manifest["aave_reserves"].values()}
    calls = [Call(morpho, encode_call("position(bytes32,address)", bytes.fromhex(i[2:]), a)) for i, a in reads.morpho]
    calls += [Call(pool, encode_call("getUserConfiguration(address)", u)) for u in reads.aave_users]
    calls += [Call(pool, encode_call("getUserEMode(address)", u)) for u in reads.aave_users]
    for asset, user in reads.aave:
        r = reserves[asset]
        tokens = ("a_token", "variable_debt_token") + (("stable_debt_token",) if (asset, user) in reads.aave_stable else ())
        calls += [Call(r[t], encode_call("balanceOf(address)", user)) for t in tokens]
    return calls


# -- the node's floor ----------------------------------------------------------------------------
class MinimalClient:
    """One keep-alive HTTP/1.1 connection; `post` returns (seconds from send to last byte, body)."""

    def __init__(self, url: str) -> None:
        u = urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
        self.path = u.path or "/"

    def post(self, body: bytes) -> tuple[float, bytes]:
        start = time.perf_counter()
        self.conn.request("POST", self.path, body, {"Content-Type": "application/json"})
        answer = self.conn.getresponse().read()
        return time.perf_counter() - start, answer

    def close(self) -> None:
        self.conn.close()


def node_floor(url: str, manifest: dict, block: int, per_call: int = 1000) -> tuple[dict, Reads]:
    from loopscan.rpc import MULTICALL3_ADDRESS, encode_aggregate3

    client = MinimalClient(url)
    try:
        logs_s, parse_s, logs, log_count, log_bytes = 0.0, 0.0, {}, 0, 0
        queries = log_queries(manifest, block)
        for name, query in queries.items():
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [query]}).encode()
            took, answer = client.post(body)
            logs_s += took
            log_bytes += len(answer)
            start = time.perf_counter()
            result = orjson.loads(answer)["result"]  # not part of the floor: what any client then pays
            parse_s += time.perf_counter() - start
            logs[name] = result
            log_count += len(result)
        reads = accounts_from_logs(logs, manifest)
        calls = loopscan_calls(reads, manifest)
        bodies = []
        for lo in range(0, len(calls), per_call):
            data = encode_aggregate3([(bytes.fromhex(t[2:]), True, d) for t, d in calls[lo : lo + per_call]])
            bodies.append(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                                      "params": [{"to": MULTICALL3_ADDRESS, "data": "0x" + data.hex()}, hex(block)]}).encode())  # fmt: skip
        calls_s, slowest = 0.0, 0.0
        for body in bodies:
            took, answer = client.post(body)
            if b'"result"' not in answer[:200]:
                raise RuntimeError(f"floor aggregate3 failed: {answer[:300]!r}")
            calls_s += took
            slowest = max(slowest, took)
    finally:
        client.close()
    return {
        "getlogs_s": logs_s, "getlogs_requests": len(queries), "logs": log_count, "getlogs_bytes": log_bytes,
        "getlogs_orjson_parse_s": parse_s,
        "aggregate3_s": calls_s, "aggregate3_requests": len(bodies), "calls": len(calls),
        "calls_per_aggregate3": per_call, "slowest_aggregate3_s": slowest, "total_s": logs_s + calls_s,
    }, reads  # fmt: skip


# -- (a) and (b): web3.py ------------------------------------------------------------------------
def _web3(url: str):
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 600}))
    methods: dict[str, int] = {}
    make_request = w3.provider.make_request

    def counting(method, params):  # one HTTP request each (HTTPProvider does not batch here)
        methods[method] = methods.get(method, 0) + 1
        return make_request(method, params)

    w3.provider.make_request = counting
    return w3, methods


def _contracts(w3, manifest: dict):
    from loopscan.devnet.build import Artifacts
    from loopscan.protocols.aave_v3.devnet import _artifact

    a = Artifacts()
    morpho = w3.eth.contract(
        address=w3.to_checksum_address(manifest["contracts"]["morpho_blue"]),
        abi=a.compiled("morpho-blue", "Morpho").abi,
    )
    provider = w3.eth.contract(address=w3.to_checksum_address(manifest["contracts"]["aave_protocol_data_provider"]),
                               abi=_artifact(a, "misc/AaveProtocolDataProvider").abi)  # fmt: skip
    multicall = w3.eth.contract(address=w3.to_checksum_address("0xcA11bde05977b3631167028862bE2a173976CA11"),
                                abi=a.compiled("loopscan", "Multicall3").abi)  # fmt: skip
    return morpho, provider, multicall


def _sample(items: list, n: int) -> list:
    """`n` items spread evenly over `items` (so both protocols and every kind are in it)."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(k * step)] for k in range(n)]


def web3_logs(w3, manifest: dict, block: int) -> float:
    """eth_getLogs for the accounts, as a web3.py script asks for them (full range, timed in full)."""
    start = time.perf_counter()
    for query in log_queries(manifest, block).values():
        address = query["address"]
        address = (
            [w3.to_checksum_address(x) for x in address]
            if isinstance(address, list)
            else w3.to_checksum_address(address)
        )
        w3.eth.get_logs({**query, "address": address, "fromBlock": 0, "toBlock": block})
    return time.perf_counter() - start


def web3_sequential(url: str, manifest: dict, reads: Reads, block: int, sample: int) -> dict:
    w3, methods = _web3(url)
    morpho, provider, _ = _contracts(w3, manifest)
    logs_s = web3_logs(w3, manifest, block)
    work = [("m", i, a) for i, a in reads.morpho] + [("a", asset, u) for asset, u in reads.aave]
    chosen = _sample(work, sample)
    methods.clear()
    start = time.perf_counter()
    for kind, key, account in chosen:
        if kind == "m":
            morpho.functions.position(bytes.fromhex(key[2:]), w3.to_checksum_address(account)).call(
                block_identifier=block
            )
        else:
            provider.functions.getUserReserveData(w3.to_checksum_address(key), w3.to_checksum_address(account)).call(
                block_identifier=block
            )
    sample_s = time.perf_counter() - start
    reads_s = sample_s / len(chosen) * len(work)
    return {"getlogs_s": logs_s, "sample_calls": len(chosen), "sample_s": sample_s, "reads_s": reads_s,
            "extrapolated": len(chosen) < len(work), "total_s": logs_s + reads_s,
            "http_requests_per_read": sum(methods.values()) / len(chosen),
            "methods_per_read": {k: v / len(chosen) for k, v in methods.items()}}  # fmt: skip


def web3_multicall(
    url: str, manifest: dict, reads: Reads, block: int, sample_batches: int, per_batch: int = 40
) -> dict:
    from eth_abi import decode

    w3, methods = _web3(url)
    morpho, provider, multicall = _contracts(w3, manifest)
    logs_s = web3_logs(w3, manifest, block)
    work = [("m", i, a) for i, a in reads.morpho] + [("a", asset, u) for asset, u in reads.aave]
    batches = [work[i : i + per_batch] for i in range(0, len(work), per_batch)]
    chosen = _sample(batches, sample_batches)
    morpho_out = ["uint256", "uint128", "uint128"]
    aave_out = ["uint256", "uint256", "uint256", "uint256", "uint256", "uint256", "uint256", "uint40", "bool"]
    methods.clear()
    start = time.perf_counter()
    for batch in chosen:
        calls = []
        for kind, key, account in batch:
            if kind == "m":
                data = morpho.encode_abi("position", args=[bytes.fromhex(key[2:]), w3.to_checksum_address(account)])
                calls.append((morpho.address, True, data))
            else:
                data = provider.encode_abi(
                    "getUserReserveData", args=[w3.to_checksum_address(key), w3.to_checksum_address(account)]
                )
                calls.append((provider.address, True, data))
        results = multicall.functions.aggregate3(calls).call(block_identifier=block)
        for (kind, _, _), (success, data) in zip(batch, results, strict=True):
            if success:
                decode(morpho_out if kind == "m" else aave_out, data)
    sample_s = time.perf_counter() - start
    reads_s = sample_s / len(chosen) * len(batches)
    return {"getlogs_s": logs_s, "sample_batches": len(chosen), "batches": len(batches), "sample_s": sample_s,
            "reads_s": reads_s, "extrapolated": len(chosen) < len(batches), "total_s": logs_s + reads_s,
            "http_requests": len(batches) * sum(methods.values()) / len(chosen) + 4}  # fmt: skip


# -- report ----------------------------------------------------------------------------------------
def _fmt_s(seconds: float, approx: bool = False) -> str:
    text = f"{seconds:,.1f}" if seconds >= 10 else f"{seconds:.2f}"
    return ("~" if approx else "") + text


def print_table(results: list[dict]) -> None:
    head = ("code", "positions", "seed s", "loopscan s", "(min)", "pos/s", "HTTP/1k", "RSS MiB",
            "(a) web3 s", "(b) mc40 s", "floor s", "/floor", "a/loopscan", "b/loopscan", "anvil MiB")  # fmt: skip
    rows = []
    for r in results:
        a, b, fl = r["web3_sequential"], r["web3_multicall40"], r["floor"]
        runs = [("this", r["loopscan"])] + ([("compare", r["loopscan"]["compare"])] if "compare" in r["loopscan"] else [])
        for code, ls in runs:
            rows.append((
                code, f"{ls['positions']:,}", _fmt_s(r["seed_s"]), _fmt_s(ls["wall_s"]), _fmt_s(ls["wall_min_s"]),
                f"{ls['positions'] / ls['wall_s']:,.0f}", f"{ls['http_requests'] / ls['positions'] * 1000:.2f}",
                f"{ls['max_rss_mib']:,.0f}",
                _fmt_s(a["total_s"], a["extrapolated"]) if a else "-", _fmt_s(b["total_s"], b["extrapolated"]) if b else "-",
                _fmt_s(fl["total_s"]), f"{ls['wall_s'] / fl['total_s']:.2f}x",
                f"{a['total_s'] / ls['wall_s']:,.0f}x" if a else "-", f"{b['total_s'] / ls['wall_s']:,.1f}x" if b else "-",
                f"{r['anvil_memory'].get('VmHWM', 0):,.0f}",
            ))  # fmt: skip
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    print("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    print("(~ = extrapolated from a timed sample; (a) and (b) include their eth_getLogs, timed in full; - = not run)")
    for r in results:
        ls, fl = r["loopscan"], r["floor"]
        n = ls["positions"]
        checks = {
            "<= 3 s": ls["wall_s"] <= 3.0,
            "<= 2x floor": ls["wall_s"] <= 2 * fl["total_s"],
            "<= 1 HTTP/1k": ls["http_requests"] / n * 1000 <= 1.0,
        }
        if r["web3_sequential"]:
            checks[">= 100x (a)"] = r["web3_sequential"]["total_s"] >= 100 * ls["wall_s"]
            checks[">= 10x (b)"] = r["web3_multicall40"]["total_s"] >= 10 * ls["wall_s"]
        marks = "  ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items())
        print(f"goals at {n:,}: {marks}")
        print(f"  floor: {fl['logs']:,} logs ({fl['getlogs_bytes'] / 1e6:.0f} MB of JSON; orjson parses it in "
              f"{fl['getlogs_orjson_parse_s']:.2f} s, not counted) in {fl['getlogs_requests']} eth_getLogs {fl['getlogs_s']:.2f} s; "
              f"{fl['calls']:,} reads in {fl['aggregate3_requests']} aggregate3 of {fl['calls_per_aggregate3']:,} "
              f"{fl['aggregate3_s']:.2f} s (slowest {fl['slowest_aggregate3_s'] * 1e3:.0f} ms); runs {', '.join(f'{t:.2f}' for t in fl['totals_s'])} s")  # fmt: skip
        for code, run in [("this", ls)] + ([("compare", ls["compare"])] if "compare" in ls else []):
            stages = ", ".join(f"{s} {t:.2f}" for s, _, t in run["stages"] if not s.startswith("rpc:"))
            print(f"  loopscan ({code}): CPU {run['cpu_s']:.2f} s of its wall {run['wall_s']:.2f} s; {run['http_requests']} HTTP requests, "
                  f"{run['rpc_calls']} JSON-RPC calls, runs {', '.join(f'{w:.2f}' for w in run['walls_s'])} s; "
                  f"progress at (s): {stages}")  # fmt: skip
        if "snapshots" in ls:
            snaps = ls["snapshots"]
            differ = [t for t, same in snaps["tables"].items() if not same] + ([] if snaps["meta"] else ["meta"])
            print(f"  snapshots of this and compare ({ls['compare']['tree']}): "
                  + (f"identical, table for table ({len(snaps['tables'])} tables, {snaps['rows']:,} rows)"
                     if snaps["identical"] else f"DIFFERENT in {', '.join(differ)}"))  # fmt: skip


def main() -> None:
    global PROTOCOLS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1000,10000,100000", help="positions (snapshot rows), comma-separated; cumulative"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="loopscan runs (fresh process each) and floor runs per size; medians are reported",
    )
    parser.add_argument("--sample-a", type=int, default=2000, help="(a): sequential calls timed, then extrapolated")
    parser.add_argument("--sample-b", type=int, default=250, help="(b): 40-call batches timed, then extrapolated")
    parser.add_argument(
        "--profile", action="store_true", help="also run loopscan once under cProfile at each size and print it"
    )
    parser.add_argument(
        "--protocols",
        default=",".join(PROTOCOLS),
        help="what loopscan, (a), (b) and the floor read: morpho_blue,aave_v3 (default) or one of them; both are seeded",
    )
    parser.add_argument("--no-prune", action="store_true", help="start anvil without --prune-history")
    parser.add_argument("--no-web3", action="store_true", help="skip (a) and (b)")
    parser.add_argument("--seed-only", action="store_true",
                        help="seed only the positions of --protocols (default: both protocols, half each)")  # fmt: skip
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        metavar="TREE",
        help="also run another checkout's loopscan (e.g. `git archive main`), alternating with this one on the "
        "same node, and check that both read the same snapshot, table for table",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS,
        help=f"where to write the figures (default {RESULTS.relative_to(HERE.parent)})",
    )
    parser.add_argument("--worker", nargs=2, metavar=("URL", "MANIFEST"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-profile", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-tree", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-snapshot", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    PROTOCOLS = tuple(p for p in ("morpho_blue", "aave_v3") if p in args.protocols.split(","))
    if not PROTOCOLS:
        parser.error("--protocols names neither morpho_blue nor aave_v3")
    if args.worker:
        if args.worker_tree:  # before anything imports loopscan
            sys.path.insert(0, args.worker_tree)
        worker(*args.worker, args.worker_profile, args.worker_snapshot)
        return
    sizes = sorted(int(s.replace("_", "")) for s in args.sizes.split(","))
    # A fixed base fee of 0: with full seeding blocks, EIP-1559 would raise it 12.5 % a block
    # (350+ blocks at 100k) until the deployer cannot pay; anvil keeps a base fee of 0 constant.
    anvil_args = ("--base-fee", "0") + (() if args.no_prune else ("--prune-history",))
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="loopscan-bench-") as tmp:
        print(f"deploying Morpho Blue + Aave v3 on anvil {' '.join(anvil_args)} ...", flush=True)
        net = BenchDevnet(Path(tmp), anvil_args, PROTOCOLS if args.seed_only else ("morpho_blue", "aave_v3"))
        try:
            print(f"  deployed in {net.deploy_s:.1f} s at {net.url}", flush=True)
            for n in sizes:
                print(f"N = {n:,}: seeding {n - net.rows:,} more positions ...", flush=True)
                before = net.seed_s
                net.grow_to(n)
                block = net.node.block_number()
                print(f"  seeded in {net.seed_s - before:.1f} s ({net.txs} txs so far, {net.gas / 1e9:.1f} Ggas); "
                      f"block {block}; anvil {net.anvil_memory()}", flush=True)  # fmt: skip
                manifest = net.manifest_file()
                load = os.getloadavg()
                print("  loopscan ...", flush=True)
                compare = args.compare.resolve() if args.compare else None
                ls = run_loopscan(net.url, manifest, args.repeat, args.profile, compare, Path(tmp))
                print(
                    f"  loopscan {ls['wall_s']:.2f} s (runs {', '.join(f'{w:.2f}' for w in ls['walls_s'])}); node floor ...",
                    flush=True,
                )
                floors = [node_floor(net.url, net.manifest, block) for _ in range(args.repeat)]
                reads = floors[0][1]
                floor = sorted((f for f, _ in floors), key=lambda f: f["total_s"])[len(floors) // 2]  # the median run
                floor["totals_s"] = [f["total_s"] for f, _ in floors]
                print(f"  floor {floor['total_s']:.2f} s", flush=True)
                a = b = None
                if not args.no_web3:
                    print("  (a) sequential web3.py ...", flush=True)
                    a = web3_sequential(net.url, net.manifest, reads, block, args.sample_a)
                    print(f"  (a) {a['total_s']:.1f} s; (b) web3.py + Multicall3 x40 ...", flush=True)
                    b = web3_multicall(net.url, net.manifest, reads, block, args.sample_b)
                result = {
                    "size": n, "seeded_rows": net.rows, "seed_s": net.seed_s, "seed_txs": net.txs, "seed_gas": net.gas,
                    "block": block, "load_average_before": load, "loopscan": ls, "floor": floor,
                    "web3_sequential": a, "web3_multicall40": b, "anvil_memory": net.anvil_memory(),
                    "reads": {"morpho_pairs": len(reads.morpho), "aave_pairs": len(reads.aave), "aave_users": len(reads.aave_users)},
                }  # fmt: skip
                if "profile" in ls:
                    print(ls.pop("profile"))
                results.append(result)
                print_table([result])
                if ls["positions"] != len(reads.morpho) + len(reads.aave) or ls["missing"]:
                    print(f"  NOTE: loopscan found {ls['positions']:,} positions ({ls['missing']} missing reads); "
                          f"the logs name {len(reads.morpho) + len(reads.aave):,} pairs", flush=True)  # fmt: skip
        finally:
            net.stop()
    print("\n== loopscan index benchmark: Morpho Blue + Aave v3 on anvil ==")
    print(
        f"machine: {machine['cpus']} CPUs, Python {machine['python']}; anvil {' '.join(anvil_args)}; protocols {', '.join(PROTOCOLS)}"
    )
    print_table(results)
    args.json.write_text(json.dumps({"machine": machine, "anvil_args": list(anvil_args), "protocols": PROTOCOLS, "results": results},
                                    indent=1) + "\n")  # fmt: skip
    print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
