"""How fast the solver computes the full depeg thresholds table: figures, no asserts.

    python bench/solve.py                          # N = 1k, 10k, 100k positions
    python bench/solve.py --sizes 1000,10000 --profile

A synthetic but realistic Snapshot, built from rows through ``to_frame`` as an indexer would:

* 50 tokens: 5 stablecoins that are the loan tokens (priced at par), 25 volatile tokens
  ($0.5 to $100k), 14 stable-ish receipts ($1.00 to $1.20) and 6 ERC-4626 vault shares whose
  assets are the stablecoins (book value $1.00 to $1.15);
* 200 Morpho Blue markets lending the stablecoins against the other 45 tokens, popularity
  Zipf-like; LLTV 0.77 / 0.86 for volatile collateral, 0.86 to 0.945 for the rest; oracles
  ``market`` (the first market of every non-vault token, so it has a price), ``exchange_rate``
  and ``fixed``: 78 / 16 / 6 %;
* N positions (rows of ``positions``): 90 % borrowers, collateral log-normal in USD (median
  $5k, σ = 2: a few whales), LTV = LLTV × (1 − buffer) with buffer ~ Beta(1.2, 6) (loopers sit
  near LLTV); 10 % suppliers, scaled so that each market is 70 to 92 % utilised;
* 50 Uniswap v3 pools: one per collateral token against a stablecoin (and 5 second, shallower
  pools), worth 30 % (log-normal) of the token's collateral, in 4 concentrated ranges around
  the price (8 initialized ticks);
* the 6 vaults hold 10 % idle, supply the rest to up to 8 markets lending their asset
  (``holdings`` and supply ``positions``), and 3 of them report more than can be seen: 17, 29
  and 38 % of their assets are opaque.

For each N, in a fresh process: the snapshot build, ``build_book(snap)``, then
``Solver(book).thresholds("depeg")`` (every collateral token): wall time, fixed points computed
(``Solver._memo``), time per fixed point, rounds and liquidations they ran, peak RSS. Then how
the time grows with N (log-log slope between sizes). ``--profile`` then profiles the largest
size in a run of its own (pyinstrument if installed, else cProfile) and prints where the time
goes. The snapshot is the same for a given ``--seed`` (default 7).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import math
import platform
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from loopscan.model import Snapshot, SnapshotMeta, to_frame
from loopscan.protocols.morpho_blue.maths import liquidation_incentive_factor
from loopscan.protocols.uniswap_v3.maths import MAX_TICK, MIN_TICK, get_tick_at_sqrt_ratio
from loopscan.solver import Solver, build_book

BLOCK = 20_000_000
MORPHO = "0x" + "bb" * 20
N_STABLES, N_VOLATILE, N_STABLISH, N_VAULTS = 5, 25, 14, 6  # 50 tokens
N_MARKETS, N_POOLS = 200, 50
GOAL_S = 5.0


def _address(label: str) -> str:
    return "0x" + hashlib.sha1(label.encode()).hexdigest()


def _id(label: str) -> str:
    return "0x" + hashlib.sha256(label.encode()).hexdigest()


# -- the synthetic snapshot --------------------------------------------------------------------
def synthetic_snapshot(n_positions: int, seed: int = 7) -> Snapshot:
    """The bench's snapshot: `n_positions` rows of `positions` over the fixed 50 tokens,
    200 markets, 50 pools and 6 vaults (the same for every N but the positions)."""
    rng = np.random.default_rng(seed)
    tokens, kind_of, price, decimals = [], {}, {}, {}

    def add_token(label: str, symbol: str, kind: str, usd: float, dec: int) -> str:
        address = _address(label)
        tokens.append({"address": address, "symbol": symbol, "name": symbol, "decimals": dec,
                       "kind": "vault_share" if kind == "vault" else "base", "price": usd, "price_source": None})  # fmt: skip
        kind_of[address], price[address], decimals[address] = kind, usd, dec
        return address

    stables = [add_token(f"stable{i}", s, "stable", 1.0, d)
               for i, (s, d) in enumerate([("USDC", 6), ("USDT", 6), ("DAI", 18), ("USDS", 18), ("PYUSD", 6)])]  # fmt: skip
    volatile = [add_token(f"volatile{i}", f"VOL{i}", "volatile", float(math.exp(rng.uniform(math.log(0.5), math.log(1e5)))),
                          int(rng.choice([18, 18, 18, 8]))) for i in range(N_VOLATILE)]  # fmt: skip
    stablish = [
        add_token(f"stablish{i}", f"sUSD{i}", "stablish", float(rng.uniform(1.0, 1.2)), 18) for i in range(N_STABLISH)
    ]

    # Vaults: ERC-4626 on a stablecoin; shares priced at book (assets per share x $1).
    vault_meta = []
    for i in range(N_VAULTS):
        asset = stables[i % 3]  # USDC, USDT, DAI
        share_price = float(rng.uniform(1.0, 1.15))
        share = add_token(f"vault{i}", f"vUSD{i}", "vault", share_price, 18)
        vault_meta.append((share, asset, share_price, 0.1 + 0.1 * i if i % 2 else 0.0))  # odd vaults are opaque
    collateral = volatile + stablish + [v[0] for v in vault_meta]

    # Markets: Zipf-like popularity of collateral, stablecoin loans weighted to USDC/USDT.
    popularity = 1.0 / np.arange(1, len(collateral) + 1) ** 0.8
    popularity /= popularity.sum()
    order = rng.permutation(len(collateral))
    markets, seen = [], set()
    for k in range(N_MARKETS):
        token = (
            collateral[order[k]]
            if k < len(collateral)
            else collateral[order[rng.choice(len(collateral), p=popularity)]]
        )
        loan = stables[int(rng.choice(N_STABLES, p=[0.45, 0.3, 0.1, 0.1, 0.05]))]
        kind = kind_of[token]
        lltv = float(rng.choice([0.77, 0.86])) if kind == "volatile" else float(rng.choice([0.86, 0.915, 0.945]))
        if token not in seen and kind != "vault":
            oracle = "market"  # every non-vault token is priced by at least one market oracle
        elif kind == "volatile":
            oracle = str(rng.choice(["market", "exchange_rate"], p=[0.9, 0.1]))
        elif kind == "stablish":
            oracle = str(rng.choice(["market", "exchange_rate", "fixed"], p=[0.5, 0.2, 0.3]))
        else:
            oracle = str(rng.choice(["exchange_rate", "market", "fixed"], p=[0.7, 0.2, 0.1]))
        seen.add(token)
        markets.append({"id": _id(f"market{k}"), "collateral": token, "loan": loan, "lltv": lltv, "oracle": oracle,
                        "weight": float(rng.lognormal(0.0, 1.0))})  # fmt: skip

    # Each vault lends to up to 8 of the markets lending its asset (a MetaMorpho's usual queue).
    lends = {
        v[0]: [k for k, m in enumerate(markets) if m["loan"] == v[1]][i % 3 :: 3][:8] for i, v in enumerate(vault_meta)
    }
    n_borrowers = int(n_positions * 0.9)
    n_suppliers = max(n_positions - n_borrowers - sum(len(ks) for ks in lends.values()), 0)

    # Borrowers spread over markets by weight, sizes log-normal, LTVs below LLTV.
    weights = np.array([m["weight"] for m in markets])
    weights /= weights.sum()
    which = rng.choice(N_MARKETS, size=n_borrowers, p=weights)
    usd = rng.lognormal(math.log(5_000), 2.0, size=n_borrowers)
    buffer = np.clip(rng.beta(1.2, 6.0, size=n_borrowers), 0.002, 0.95)
    positions, borrowed, supplied = [], [0] * N_MARKETS, [0] * N_MARKETS
    for n, (k, value, buf) in enumerate(zip(which, usd, buffer, strict=True)):
        m = markets[k]
        debt = int(value * m["lltv"] * (1 - buf) / price[m["loan"]] * 10 ** decimals[m["loan"]])
        borrowed[k] += debt
        col = int(value / price[m["collateral"]] * 10 ** decimals[m["collateral"]])
        positions.append(_position(m, _address(f"borrower{n}"), col, debt, 0))

    # Lenders: each market 70-92 % utilised; vaults supply 20-60 % of theirs, others the rest.
    target = [int(b / u) for b, u in zip(borrowed, rng.uniform(0.7, 0.92, size=N_MARKETS), strict=True)]
    holdings, vault_rows = [], []
    for share, asset, share_price, opaque in vault_meta:
        visible = 0
        for k in lends[share]:
            raw = int(target[k] * rng.uniform(0.2, 0.6))
            supplied[k] += raw
            visible += raw
            positions.append(_position(markets[k], share, 0, 0, raw))
            holdings.append({"vault": share, "holder": share, "token": asset, "protocol": "morpho_blue", "protocol_address": MORPHO,
                             "market_id": markets[k]["id"], "amount": raw, "read_method": "morpho.position"})  # fmt: skip
        idle = visible // 9  # 10 % of what can be seen is idle
        holdings.append({"vault": share, "holder": share, "token": asset, "amount": idle, "read_method": "balanceOf"})
        visible += idle
        total = int(visible * (1 + opaque))
        vault_rows.append({"vault": share, "share_token": share, "asset": asset, "kind": "erc4626", "total_assets": total,
                           "total_supply": int(total / share_price * 10 ** (18 - decimals[asset])),
                           "visible_assets": visible, "opaque_assets": total - visible})  # fmt: skip
    lender_market = rng.choice(N_MARKETS, size=n_suppliers, p=weights)
    slices = rng.lognormal(0.0, 1.5, size=n_suppliers)
    slice_total = np.bincount(lender_market, weights=slices, minlength=N_MARKETS)
    rest = [max(t - s, 0) for t, s in zip(target, supplied, strict=True)]
    for n, (k, part) in enumerate(zip(lender_market, slices, strict=True)):
        raw = int(rest[k] * part / slice_total[k])
        supplied[k] += raw
        positions.append(_position(markets[k], _address(f"lender{n}"), 0, 0, raw))
    market_rows = [_market(m, price, decimals, supplied[k], borrowed[k]) for k, m in enumerate(markets)]

    pools, ticks = _pools(rng, collateral, stables, positions, price, decimals, kind_of)
    meta = SnapshotMeta(chain_id=1, block_number=BLOCK, block_hash="0x" + "ab" * 32, block_timestamp=1_700_000_000,
                        endpoint="synthetic")  # fmt: skip
    tables = {"tokens": tokens, "vaults": vault_rows, "holdings": holdings, "pools": pools, "ticks": ticks,
              "markets": [{k: v for k, v in m.items() if k != "_collateral"} for m in market_rows],
              "market_collaterals": [m["_collateral"] for m in market_rows],
              "positions": [{k: v for k, v in p.items() if k not in ("collateral_token", "collateral_amount")} for p in positions],
              "position_collaterals": [{**{k: p[k] for k in ("protocol", "protocol_address", "market_id", "account")},
                                        "collateral_token": p["collateral_token"], "amount": p["collateral_amount"]}
                                       for p in positions if p["collateral_amount"]]}  # fmt: skip
    return Snapshot(
        meta, **{name: to_frame(name, [{"block": BLOCK, **r} for r in rows]) for name, rows in tables.items()}
    )


def _position(m: dict, account: str, collateral: int, debt: int, supply: int) -> dict:
    return {"protocol": "morpho_blue", "protocol_address": MORPHO, "market_id": m["id"], "account": account,
            "collateral_token": m["collateral"], "collateral_amount": collateral, "debt_amount": debt,
            "supply_amount": supply}  # fmt: skip


def _market(m: dict, price: dict, decimals: dict, supply: int, borrow: int) -> dict:
    # Morpho's oracle answer: loan per collateral, scaled by 1e36 and the decimals difference.
    raw = int(round(price[m["collateral"]] / price[m["loan"]] * 10**12)) * 10 ** (
        24 + decimals[m["loan"]] - decimals[m["collateral"]]
    )
    lltv = int(round(m["lltv"] * 1e4)) * 10**14
    collateral = {"protocol_address": MORPHO, "market_id": m["id"], "collateral_token": m["collateral"],
                  "liquidation_threshold_wad": lltv, "max_ltv_wad": lltv, "liquidation_incentive_wad": liquidation_incentive_factor(lltv),
                  "oracle": _address(f"oracle{m['id']}"), "oracle_kind": m["oracle"], "oracle_price_raw": raw,
                  "oracle_price_scale": 10**36, "price_quote": "loan"}  # fmt: skip
    return {"protocol": "morpho_blue", "protocol_address": MORPHO, "market_id": m["id"], "loan_token": m["loan"],
            "total_supply_assets": supply, "total_borrow_assets": borrow, "_collateral": collateral}  # fmt: skip


# Concentrated ranges as (low, high) multiples of the token's price and their share of the pool.
_RANGES = {
    "volatile": ((0.97, 1.03, 0.35), (0.9, 1.1, 0.3), (0.7, 1.3, 0.2), (0.3, 3.0, 0.15)),
    "pegged": ((0.998, 1.002, 0.4), (0.99, 1.01, 0.3), (0.95, 1.05, 0.2), (0.7, 1.3, 0.1)),
}


def _pools(rng, collateral, stables, positions, price, decimals, kind_of) -> tuple[list[dict], list[dict]]:
    """One pool per collateral token against USDC or USDT worth ~30 % of its collateral, and a
    second, shallower one against DAI or USDS for the first few."""
    held: dict[str, float] = {}
    for p in positions:
        if p["collateral_amount"]:
            token = p["collateral_token"]
            held[token] = held.get(token, 0.0) + p["collateral_amount"] / 10 ** decimals[token] * price[token]
    specs = [(t, stables[int(rng.integers(2))], max(held.get(t, 0.0) * rng.lognormal(math.log(0.3), 0.7), 250_000.0))
             for t in collateral]  # fmt: skip
    specs += [(t, stables[2 + int(rng.integers(2))], v / 5) for t, _, v in specs[: N_POOLS - len(specs)]]
    pools, ticks = [], []
    for n, (token, quote, tvl) in enumerate(specs):
        pool = _address(f"pool{n}")
        volatile = kind_of[token] == "volatile"
        fee, spacing = (3000, 60) if volatile else (500, 10)
        token0, token1 = sorted((token, quote))
        is0 = token0 == token
        raw = (
            price[token0] / price[token1] * 10 ** (decimals[token1] - decimals[token0])
        )  # token1 units per token0 unit
        sqrt_price_x96 = int(math.sqrt(raw) * 2**96)
        tick = get_tick_at_sqrt_ratio(sqrt_price_x96)
        net: dict[int, int] = {}
        gross: dict[int, int] = {}
        active = 0
        for low, high, share in _RANGES["volatile" if volatile else "pegged"]:
            lo, hi = (low, high) if is0 else (1 / high, 1 / low)  # in the pool's raw price
            t_lo = max(math.floor(math.log(raw * lo, 1.0001) / spacing) * spacing, -(-MIN_TICK // spacing) * spacing)
            t_hi = min(math.ceil(math.log(raw * hi, 1.0001) / spacing) * spacing, MAX_TICK // spacing * spacing)
            sp, sa, sb = math.sqrt(raw), 1.0001 ** (t_lo / 2), 1.0001 ** (t_hi / 2)
            value1 = tvl * share / price[token1] * 10 ** decimals[token1]  # in token1 units
            liquidity = int(value1 / ((sp - sa) + raw * (1 / sp - 1 / sb)))
            for t, d in ((t_lo, liquidity), (t_hi, -liquidity)):
                net[t] = net.get(t, 0) + d
                gross[t] = gross.get(t, 0) + liquidity
            if t_lo <= tick < t_hi:
                active += liquidity
        pools.append({"venue": "uniswap_v3", "pool": pool, "token0": token0, "token1": token1, "fee_raw": fee,
                      "fee_scale": 10**6, "sqrt_price_x96": sqrt_price_x96, "tick": tick, "liquidity": active,
                      "tick_spacing": spacing, "n_coins": 2})  # fmt: skip
        ticks += [{"pool": pool, "tick": t, "liquidity_net": net[t], "liquidity_gross": gross[t]} for t in sorted(net)]
    return pools, ticks


# -- measuring ---------------------------------------------------------------------------------
def measure(n_positions: int, seed: int, profile: bool = False) -> dict:
    """One size, in this process: snapshot, book, thresholds table, and their figures."""
    t0 = time.perf_counter()
    snap = synthetic_snapshot(n_positions, seed)
    t1 = time.perf_counter()
    book = build_book(snap)
    t2 = time.perf_counter()
    solver = Solver(book)
    profiler = _Profiler() if profile else None
    if profiler:
        profiler.start()
    table = solver.thresholds("depeg")
    t3 = time.perf_counter()
    if profiler:
        profiler.stop(sys.stderr)
    results = list(solver._memo.values())
    fixed_points = len(results)
    return {
        "positions": len(snap.positions), "markets": len(snap.markets), "pools": len(snap.pools),
        "tokens_shocked": len(table), "snapshot_s": t1 - t0, "build_book_s": t2 - t1, "thresholds_s": t3 - t2,
        "fixed_points": fixed_points, "ms_per_fixed_point": 1e3 * (t3 - t2) / max(fixed_points, 1),
        "rounds": sum(r.rounds_run for r in results), "liquidations": sum(len(r.liquidations) for r in results),
        "with_first_liquidation": int(table["first_liquidation_frac"].notna().sum()),
        "with_cascade": int(table["cascade_frac"].notna().sum()), "with_bad_debt": int(table["bad_debt_frac"].notna().sum()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }  # fmt: skip


class _Profiler:
    """pyinstrument if installed, else cProfile (top 25 by own time, then by cumulative time)."""

    def __init__(self) -> None:
        try:
            from pyinstrument import Profiler
        except ImportError:
            self.kind, self.profiler = "cProfile", cProfile.Profile()
        else:
            self.kind, self.profiler = "pyinstrument", Profiler(interval=0.001)

    def start(self) -> None:
        self.profiler.enable() if self.kind == "cProfile" else self.profiler.start()

    def stop(self, out) -> None:
        if self.kind == "pyinstrument":
            self.profiler.stop()
            print(self.profiler.output_text(unicode=True, color=False, show_all=False), file=out)
            return
        self.profiler.disable()
        for key in ("tottime", "cumulative"):
            text = io.StringIO()
            pstats.Stats(self.profiler, stream=text).sort_stats(key).print_stats(25)
            print(f"-- cProfile, by {key} --", text.getvalue(), sep="\n", file=out)


def _growth(rows: list[dict], key: str) -> list[str]:
    out = []
    for a, b in zip(rows, rows[1:], strict=False):
        if a[key] > 0 and b[key] > 0 and b["positions"] != a["positions"]:
            slope = math.log(b[key] / a[key]) / math.log(b["positions"] / a["positions"])
            out.append(f"{a['positions']:,}→{b['positions']:,}: ×{b[key] / a[key]:.1f} (∝ N^{slope:.2f})")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated position counts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="profile the largest size and print where time goes")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # child: one size, JSON out
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.one, args.seed, args.profile)))
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    print(f"loopscan solver bench — Python {platform.python_version()}, {platform.machine()}, "
          f"goal: thresholds for 100k positions ≤ {GOAL_S:.0f} s")  # fmt: skip
    rows = []
    for n in sizes:
        command = [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)]
        done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)  # a fresh process per size
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  N={n:,}: {rows[-1]['thresholds_s']:.1f} s", flush=True)
    head = ("positions", "snapshot s", "build_book s", "thresholds s", "fixed points", "ms / fixed pt",
            "rounds / fp", "liqs / fp", "peak RSS MB")  # fmt: skip
    print("\n| " + " | ".join(head) + " |\n|" + "---:|" * len(head))
    for r in rows:
        fp = max(r["fixed_points"], 1)
        cells = (f"{r['positions']:,}", f"{r['snapshot_s']:.2f}", f"{r['build_book_s']:.2f}", f"{r['thresholds_s']:.2f}",
                 f"{r['fixed_points']:,}", f"{r['ms_per_fixed_point']:.1f}", f"{r['rounds'] / fp:.1f}",
                 f"{r['liquidations'] / fp:.0f}", f"{r['peak_rss_mb']:.0f}")  # fmt: skip
        print("| " + " | ".join(cells) + " |")
    last = rows[-1]
    print(f"\n{last['markets']} markets, {last['pools']} pools, {last['tokens_shocked']} tokens shocked; at N={last['positions']:,}: "
          f"{last['with_first_liquidation']} with δ₁, {last['with_cascade']} with δ_c, {last['with_bad_debt']} with δ_bd")  # fmt: skip
    print("thresholds time:     " + "; ".join(_growth(rows, "thresholds_s")))
    print("time per fixed point: " + "; ".join(_growth(rows, "ms_per_fixed_point")))
    big = [r for r in rows if r["positions"] >= 100_000]
    if big:
        verdict = "met" if big[-1]["thresholds_s"] <= GOAL_S else "missed"
        print(
            f"goal ≤ {GOAL_S:.0f} s at {big[-1]['positions']:,} positions: {verdict} ({big[-1]['thresholds_s']:.1f} s)"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if args.profile:  # a run of its own: the profiler slows what it watches
        print(f"\nprofile of N={max(sizes):,} (thresholds only):", flush=True)
        command = [sys.executable, __file__, "--one", str(max(sizes)), "--seed", str(args.seed), "--profile"]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
