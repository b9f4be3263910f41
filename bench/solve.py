"""How fast the solver computes the full depeg thresholds table: figures, no asserts.

    python bench/solve.py                          # N = 1k, 10k, 100k positions, spread over 200 markets
    python bench/solve.py --shape all --sizes 10000,100000 --timeout 300
    python bench/solve.py --sizes 1000,10000 --profile

Shapes (`--shape`): *spread* is the snapshot below; *concentrated* puts the positions in 4 markets
(USDC or USDT against two volatile and two stable-ish tokens, market oracles, equally popular),
*single* in one such market, as mainnet concentrates them in a few Morpho markets; *pooled* is an
Aave v3.3-like pool (`pooled_snapshot`): N accounts over 6 reserves (WETH, wstETH, WBTC, USDC,
USDT, DAI) with an ETH-correlated e-mode, each reserve with a pool against USDC.

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

For each shape and N, in a fresh process: the snapshot build, ``build_book(snap)``, then
``Solver(book).thresholds("depeg")`` (every collateral token): wall and CPU time, fixed points
computed (``Solver._memo``), time per fixed point, rounds and liquidations they ran, peak RSS. Then how
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
N_POOLS = 50
SHAPES = {"spread": 200, "concentrated": 4, "single": 1, "pooled": 6, "mixed": 9}  # markets (pooled: reserves of one pool)
GOAL_S, GOAL_10K_S, GOAL_RSS_MB = 5.0, 1.0, 1024  # at 100k and at 10k positions; peak RSS (MiB) at 100k


def _address(label: str) -> str:
    return "0x" + hashlib.sha1(label.encode()).hexdigest()


def _id(label: str) -> str:
    return "0x" + hashlib.sha256(label.encode()).hexdigest()


# -- the synthetic snapshot --------------------------------------------------------------------
def synthetic_snapshot(n_positions: int, seed: int = 7, shape: str = "spread") -> Snapshot:
    """The bench's snapshot: `n_positions` rows of `positions` over the fixed 50 tokens,
    50 pools and 6 vaults (the same for every N but the positions), in `SHAPES[shape]` markets:
    spread (200 markets, Zipf-like popularity), concentrated (4 markets lending USDC or USDT against
    two volatile and two stable-ish tokens, market oracles, equally popular) or single (one such
    market). `pooled` is `pooled_snapshot`."""
    if shape in ("pooled", "mixed"):
        return pooled_snapshot(n_positions, seed, morpho=0.3 if shape == "mixed" else 0.0)
    n_markets = SHAPES[shape]
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
    chosen = (volatile[0], stablish[0], volatile[1], stablish[1])  # concentrated and single: like wstETH, sUSDe, WBTC...
    for k in range(n_markets):
        if shape != "spread":
            token = chosen[k]
        elif k < len(collateral):
            token = collateral[order[k]]
        else:
            token = collateral[order[rng.choice(len(collateral), p=popularity)]]
        loan = stables[int(rng.choice(N_STABLES, p=[0.45, 0.3, 0.1, 0.1, 0.05]))]
        kind = kind_of[token]
        lltv = float(rng.choice([0.77, 0.86])) if kind == "volatile" else float(rng.choice([0.86, 0.915, 0.945]))
        if token not in seen and kind != "vault" or shape != "spread":
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
    weights = np.array([m["weight"] if shape == "spread" else 1.0 for m in markets])
    weights /= weights.sum()
    which = rng.choice(n_markets, size=n_borrowers, p=weights)
    usd = rng.lognormal(math.log(5_000), 2.0, size=n_borrowers)
    buffer = np.clip(rng.beta(1.2, 6.0, size=n_borrowers), 0.002, 0.95)
    positions, borrowed, supplied = [], [0] * n_markets, [0] * n_markets
    for n, (k, value, buf) in enumerate(zip(which, usd, buffer, strict=True)):
        m = markets[k]
        debt = int(value * m["lltv"] * (1 - buf) / price[m["loan"]] * 10 ** decimals[m["loan"]])
        borrowed[k] += debt
        col = int(value / price[m["collateral"]] * 10 ** decimals[m["collateral"]])
        positions.append(_position(m, _address(f"borrower{n}"), col, debt, 0))

    # Lenders: each market 70-92 % utilised; vaults supply 20-60 % of theirs, others the rest.
    target = [int(b / u) for b, u in zip(borrowed, rng.uniform(0.7, 0.92, size=n_markets), strict=True)]
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
    lender_market = rng.choice(n_markets, size=n_suppliers, p=weights)
    slices = rng.lognormal(0.0, 1.5, size=n_suppliers)
    slice_total = np.bincount(lender_market, weights=slices, minlength=n_markets)
    rest = [max(t - s, 0) for t, s in zip(target, supplied, strict=True)]
    for n, (k, part) in enumerate(zip(lender_market, slices, strict=True)):
        raw = int(rest[k] * part / slice_total[k])
        supplied[k] += raw
        positions.append(_position(markets[k], _address(f"lender{n}"), 0, 0, raw))
    market_rows = [_market(m, price, decimals, supplied[k], borrowed[k]) for k, m in enumerate(markets)]

    pools, ticks = _pools(_pool_specs(rng, collateral, stables, positions, price, decimals), price, decimals, kind_of)
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


# (symbol, USD, decimals, liquidation threshold bps, bonus bps, e-mode category, kind): like Aave's largest reserves.
_RESERVES = (
    ("WETH", 3_000.0, 18, 8_300, 10_500, 1, "volatile"), ("wstETH", 3_500.0, 18, 8_100, 10_600, 1, "volatile"),
    ("WBTC", 60_000.0, 8, 7_800, 10_500, 0, "volatile"), ("USDC", 1.0, 6, 7_800, 10_450, 0, "stable"),
    ("USDT", 1.0, 6, 7_800, 10_450, 0, "stable"), ("DAI", 1.0, 18, 7_700, 10_500, 0, "stable"),
)  # fmt: skip
_EMODE = (1, 9_300, 9_500, 10_100)  # ETH-correlated: category, LTV, liquidation threshold, bonus (bps)
AAVE = "0x" + "aa" * 20


def pooled_snapshot(n_accounts: int, seed: int = 7, morpho: float = 0.0) -> Snapshot:
    """An Aave v3.3-like pool: `n_accounts` accounts over the 6 reserves of `_RESERVES` (market
    oracles, e-mode 1 for WETH and wstETH). 90 % borrow: 30 % of them in e-mode (wstETH or WETH
    against WETH), the others post one or two of WETH, wstETH, WBTC, USDC, DAI and owe one or two of
    USDC, USDT, DAI, WETH; collateral log-normal in USD (median $5k, σ = 2), health factor
    1 / (1 − Beta(1.2, 6)); 10 % only lend, so that each reserve is ~80 % utilised. One Uniswap v3
    pool per reserve against USDC (USDC's against USDT) worth ~30 % of the collateral posted in it.

    *mixed* (`morpho` > 0): that many positions more (a share of `n_accounts`) borrow USDC on Morpho
    Blue against the pool's WETH, wstETH and WBTC (3 markets, LLTV 86 %, market oracles, LTV =
    LLTV × (1 − Beta(1.2, 6)), 80 % utilised), as mainnet's lenders share their collateral: a depeg
    liquidates both in the same rounds, interleaved by health."""
    rng = np.random.default_rng(seed)
    tokens, price, decimals, kind_of, address = [], {}, {}, {}, {}
    for symbol, usd, dec, *_, kind in _RESERVES:
        a = address[symbol] = _address(f"reserve-{symbol}")
        tokens.append({"address": a, "symbol": symbol, "name": symbol, "decimals": dec, "kind": "base", "price": usd,
                       "price_source": None})  # fmt: skip
        price[a], decimals[a], kind_of[a] = usd, dec, kind
    spec = {address[r[0]]: r for r in _RESERVES}
    n_borrowers = int(n_accounts * 0.9)
    in_emode = rng.random(n_borrowers) < 0.3
    usd = rng.lognormal(math.log(5_000), 2.0, size=n_borrowers)
    buffer = np.clip(rng.beta(1.2, 6.0, size=n_borrowers), 0.002, 0.95)
    posted_choice = ["WETH", "wstETH", "WBTC", "USDC", "DAI"]
    owed_choice = ["USDC", "USDT", "DAI", "WETH"]
    legs: dict[tuple[str, str], list[int]] = {}  # (account, reserve) -> [collateral, debt]
    emode_of: dict[str, int] = {}
    for n in range(n_borrowers):
        account = _address(f"aave-borrower{n}")
        if in_emode[n]:
            posted = {"wstETH" if rng.random() < 0.8 else "WETH": 1.0}
            owed = {"WETH": 1.0}
            emode_of[account] = _EMODE[0]
        else:
            posted_n = 1 + int(rng.random() < 0.4)
            posted = dict(zip(rng.choice(posted_choice, size=posted_n, replace=False).tolist(), rng.dirichlet(np.ones(posted_n)).tolist(),
                              strict=True))  # fmt: skip
            free = [s for s in owed_choice if s not in posted]
            owed_n = 1 + int(rng.random() < 0.3)
            owed = dict(zip(rng.choice(free, size=owed_n, replace=False).tolist(), rng.dirichlet(np.ones(owed_n)).tolist(), strict=True))
            emode_of[account] = 0
        limit = 0.0
        for symbol, part in posted.items():
            lt = _EMODE[2] if in_emode[n] else spec[address[symbol]][3]
            limit += usd[n] * part * lt / 1e4
            a = address[symbol]
            legs.setdefault((account, a), [0, 0])[0] = int(usd[n] * part / price[a] * 10 ** decimals[a])
        for symbol, part in owed.items():
            a = address[symbol]
            legs.setdefault((account, a), [0, 0])[1] = int(limit * (1 - buffer[n]) * part / price[a] * 10 ** decimals[a])
    supplied = {a: 0 for a in spec}
    borrowed = {a: 0 for a in spec}
    for (_, a), (col, debt) in legs.items():
        supplied[a] += col
        borrowed[a] += debt
    lenders = n_accounts - n_borrowers
    which = rng.choice(list(spec), size=lenders)
    slices = rng.lognormal(0.0, 1.5, size=lenders)
    for a in spec:
        mine = which == a
        rest = max(int(borrowed[a] / 0.8) - supplied[a], 0)
        total = slices[mine].sum()
        for n in np.flatnonzero(mine).tolist():
            account = _address(f"aave-lender{n}")
            raw = int(rest * slices[n] / total)
            legs[(account, a)] = [0, 0, raw]
            supplied[a] += raw
            emode_of[account] = 0
    base = {"protocol": "aave_v3", "protocol_address": AAVE}
    markets, collaterals, params = [], [], []
    for a, (symbol, usd_price, _, lt, bonus, category, _) in spec.items():
        key = {"protocol_address": AAVE, "market_id": a}
        raw_price = int(round(usd_price * 1e8))
        oracle = {"oracle": _address(f"feed-{symbol}"), "oracle_kind": "market", "oracle_price_raw": raw_price, "oracle_price_scale": 10**8}
        markets.append({**base, "market_id": a, "loan_token": a, "loan_oracle": oracle["oracle"], "loan_oracle_kind": "market",
                        "loan_price_raw": raw_price, "loan_price_scale": 10**8, "total_supply_assets": supplied[a],
                        "total_borrow_assets": borrowed[a]})  # fmt: skip
        collaterals.append({**key, "collateral_token": a, "liquidation_threshold_wad": lt * 10**14, "max_ltv_wad": (lt - 500) * 10**14,
                            "liquidation_incentive_wad": bonus * 10**14, **oracle, "price_quote": "numeraire"})  # fmt: skip
        params += [{**key, "param": name, "value": value} for name, value in (
            ("ltv_bps", lt - 500), ("liquidation_threshold_bps", lt), ("liquidation_bonus_bps", bonus),
            ("emode_category", category), ("protocol_revision", 7))]  # fmt: skip
    positions, posted_rows = [], []
    for (account, a), leg in sorted(legs.items()):
        col, debt, supply = leg[0], leg[1], leg[2] if len(leg) > 2 else leg[0]
        positions.append({**base, "market_id": a, "account": account, "debt_amount": debt, "supply_amount": supply})
        if col:
            posted_rows.append({**base, "market_id": a, "account": account, "collateral_token": a, "amount": col})
    accounts = [{**base, "account": u, "emode_category": e} for u, e in sorted(emode_of.items())]
    emodes = [{**base, "category": _EMODE[0], "ltv_bps": _EMODE[1], "liquidation_threshold_bps": _EMODE[2],
               "liquidation_bonus_bps": _EMODE[3], "price_source": None, "label": "ETH correlated"}]  # fmt: skip
    held = {a: 0.0 for a in spec}
    for (_, a), leg in legs.items():
        held[a] += leg[0] / 10 ** decimals[a] * price[a]
    usdc, usdt = address["USDC"], address["USDT"]
    specs = [(a, usdt if a == usdc else usdc, max(held[a] * rng.lognormal(math.log(0.3), 0.7), 250_000.0)) for a in spec]
    morpho_tables = _morpho_on(rng, int(n_accounts * morpho), [address[s] for s in ("WETH", "wstETH", "WBTC")], usdc, price, decimals)
    pools, ticks = _pools(specs, price, decimals, kind_of)
    meta = SnapshotMeta(chain_id=1, block_number=BLOCK, block_hash="0x" + "ab" * 32, block_timestamp=1_700_000_000,
                        endpoint="synthetic")  # fmt: skip
    tables = {"tokens": tokens, "pools": pools, "ticks": ticks, "markets": markets + morpho_tables["markets"],
              "market_collaterals": collaterals + morpho_tables["market_collaterals"], "market_params": params,
              "positions": positions + morpho_tables["positions"], "position_collaterals": posted_rows + morpho_tables["position_collaterals"],
              "accounts": accounts, "emode_categories": emodes}  # fmt: skip
    return Snapshot(meta, **{name: to_frame(name, [{"block": BLOCK, **r} for r in rows]) for name, rows in tables.items()})


def _morpho_on(rng: np.random.Generator, n: int, collateral: list[str], loan: str, price: dict, decimals: dict) -> dict[str, list]:
    """`n` Morpho Blue positions (90 % borrowers) lending `loan` against each of `collateral`: the
    rows of `markets`, `market_collaterals`, `positions` and `position_collaterals` (`pooled_snapshot`)."""
    markets = [{"id": _id(f"mixed-{c}"), "loan": loan, "collateral": c, "lltv": 0.86, "oracle": "market"} for c in collateral]
    borrowed, supplied, rows = [0] * len(markets), [0] * len(markets), []
    n_borrowers = int(n * 0.9)
    which = rng.integers(0, len(markets), size=n)
    usd = rng.lognormal(math.log(5_000), 2.0, size=n)
    buffer = np.clip(rng.beta(1.2, 6.0, size=n), 0.002, 0.95)
    for k in range(n_borrowers):
        m = markets[which[k]]
        debt = int(usd[k] * m["lltv"] * (1 - buffer[k]) / price[loan] * 10 ** decimals[loan])
        borrowed[which[k]] += debt
        rows.append(_position(m, _address(f"morpho-borrower{k}"), int(usd[k] / price[m["collateral"]] * 10 ** decimals[m["collateral"]]), debt, 0))
    lenders = np.bincount(which[n_borrowers:], minlength=len(markets))
    for k in range(n_borrowers, n):  # the lenders of each market share what makes it 80 % utilised
        i = which[k]
        raw = int(borrowed[i] / 0.8 / lenders[i])
        supplied[i] += raw
        rows.append(_position(markets[i], _address(f"morpho-lender{k}"), 0, 0, raw))
    found = [_market(m, price, decimals, supplied[i], borrowed[i]) for i, m in enumerate(markets)]
    return {"markets": [{k: v for k, v in m.items() if k != "_collateral"} for m in found],
            "market_collaterals": [m["_collateral"] for m in found],
            "positions": [{k: v for k, v in p.items() if k not in ("collateral_token", "collateral_amount")} for p in rows],
            "position_collaterals": [{**{k: p[k] for k in ("protocol", "protocol_address", "market_id", "account")},
                                      "collateral_token": p["collateral_token"], "amount": p["collateral_amount"]}
                                     for p in rows if p["collateral_amount"]]}  # fmt: skip


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


def _pool_specs(rng, collateral, stables, positions, price, decimals) -> list[tuple[str, str, float]]:
    """One pool per collateral token against USDC or USDT worth ~30 % of its collateral, and a
    second, shallower one against DAI or USDS for the first few: (token, quote, USD value)."""
    held: dict[str, float] = {}
    for p in positions:
        if p["collateral_amount"]:
            token = p["collateral_token"]
            held[token] = held.get(token, 0.0) + p["collateral_amount"] / 10 ** decimals[token] * price[token]
    specs = [(t, stables[int(rng.integers(2))], max(held.get(t, 0.0) * rng.lognormal(math.log(0.3), 0.7), 250_000.0))
             for t in collateral]  # fmt: skip
    return specs + [(t, stables[2 + int(rng.integers(2))], v / 5) for t, _, v in specs[: N_POOLS - len(specs)]]


def _pools(specs, price, decimals, kind_of) -> tuple[list[dict], list[dict]]:
    """Uniswap v3 pools (rows of `pools` and `ticks`) of the given (token, quote, USD value): four
    concentrated ranges around the price, narrower for pegged tokens (`_RANGES`)."""
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
def measure(n_positions: int, seed: int, shape: str = "spread", profile: bool = False) -> dict:
    """One size of one shape, in this process: snapshot, book, thresholds table, and their figures."""
    t0 = time.perf_counter()
    snap = synthetic_snapshot(n_positions, seed, shape)
    t1 = time.perf_counter()
    book = build_book(snap)
    if any(m.margin == "pooled" for m in book.markets.values()):
        # A book with a pool loads the solver's compiled loops (numba) on first use: a library's
        # import, ~0.25 s, kept out of the thresholds' time as every other import is.
        import loopscan.solver.kernels  # noqa: F401
    t2 = time.perf_counter()
    solver = Solver(book)
    profiler = _Profiler() if profile else None
    if profiler:
        profiler.start()
    c2 = time.process_time()
    table = solver.thresholds("depeg")
    t3, c3 = time.perf_counter(), time.process_time()
    if profiler:
        profiler.stop(sys.stderr)
    results = list(solver._memo.values())
    fixed_points = len(results)
    return {
        "shape": shape, "size": n_positions, "positions": len(snap.positions), "markets": len(snap.markets), "pools": len(snap.pools),
        "tokens_shocked": len(table), "snapshot_s": t1 - t0, "build_book_s": t2 - t1, "thresholds_s": t3 - t2, "thresholds_cpu_s": c3 - c2,
        "fixed_points": fixed_points, "ms_per_fixed_point": 1e3 * (t3 - t2) / max(fixed_points, 1),
        "rounds": sum(r.rounds_run for r in results), "liquidations": sum(r.liquidation_count for r in results),
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
        if a[key] > 0 and b[key] > 0 and b["size"] != a["size"]:
            slope = math.log(b[key] / a[key]) / math.log(b["size"] / a["size"])
            out.append(f"{a['size']:,}→{b['size']:,}: ×{b[key] / a[key]:.1f} (∝ N^{slope:.2f})")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated position counts (pooled: accounts)")
    parser.add_argument("--shape", default="spread", choices=[*SHAPES, "all"], help="how the positions are spread (default: spread)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=None, help="stop a size that runs longer than this (s): reported as such")
    parser.add_argument("--profile", action="store_true", help="profile the largest size and print where time goes")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # child: one size, JSON out
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(measure(args.one, args.seed, args.shape, args.profile)))
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    shapes = list(SHAPES) if args.shape == "all" else [args.shape]
    print(f"loopscan solver bench — Python {platform.python_version()}, {platform.machine()}, "
          f"goal: thresholds ≤ {GOAL_S:.0f} s at 100k positions, ≤ {GOAL_10K_S:.0f} s at 10k, ≤ {GOAL_RSS_MB:,} MB peak RSS")  # fmt: skip
    everything = []
    for shape in shapes:
        rows = []
        for n in sizes:
            command = [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed), "--shape", shape]
            try:  # a fresh process per size
                done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                rows.append({"shape": shape, "size": n, "timed_out": args.timeout})
                print(f"  {shape} N={n:,}: stopped after {args.timeout:.0f} s", flush=True)
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  {shape} N={n:,}: {rows[-1]['thresholds_s']:.2f} s", flush=True)
        _table(shape, rows)
        everything += rows
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2))
    if args.profile:  # a run of its own: the profiler slows what it watches
        for shape in shapes:
            print(f"\nprofile of {shape} N={max(sizes):,} (thresholds only):", flush=True)
            command = [sys.executable, __file__, "--one", str(max(sizes)), "--seed", str(args.seed), "--shape", shape, "--profile"]
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def _table(shape: str, rows: list[dict]) -> None:
    """One shape's figures, a row per size, and how they grow and compare with the goals."""
    head = ("size", "positions", "snapshot s", "build_book s", "thresholds s", "CPU s", "fixed points", "ms / fixed pt",
            "rounds", "liquidations", "peak RSS MB")  # fmt: skip
    print(f"\n{shape} ({SHAPES[shape]} {'reserves' if shape == 'pooled' else 'reserves and markets' if shape == 'mixed' else 'markets'}):")
    print("| " + " | ".join(head) + " |\n|" + "---:|" * len(head))
    for r in rows:
        if "timed_out" in r:
            print(f"| {r['size']:,} | | | | > {r['timed_out']:.0f} (stopped) | | | | | | |")
            continue
        cells = (f"{r['size']:,}", f"{r['positions']:,}", f"{r['snapshot_s']:.2f}", f"{r['build_book_s']:.2f}",
                 f"{r['thresholds_s']:.2f}", f"{r['thresholds_cpu_s']:.2f}", f"{r['fixed_points']:,}", f"{r['ms_per_fixed_point']:.1f}", f"{r['rounds']:,}",
                 f"{r['liquidations']:,}", f"{r['peak_rss_mb']:.0f}")  # fmt: skip
        print("| " + " | ".join(cells) + " |")
    done = [r for r in rows if "timed_out" not in r]
    if not done:
        return
    last = done[-1]
    print(f"{last['markets']} markets, {last['pools']} pools, {last['tokens_shocked']} tokens shocked; at N={last['size']:,}: "
          f"{last['with_first_liquidation']} with δ₁, {last['with_cascade']} with δ_c, {last['with_bad_debt']} with δ_bd")  # fmt: skip
    print("thresholds time:      " + "; ".join(_growth(done, "thresholds_s")))
    print("time per fixed point: " + "; ".join(_growth(done, "ms_per_fixed_point")))
    for r in rows:
        goal = GOAL_S if r["size"] >= 100_000 else GOAL_10K_S if r["size"] >= 10_000 else None
        if goal is None:
            continue
        if "timed_out" in r:
            print(f"goal ≤ {goal:.0f} s at {r['size']:,}: missed (stopped after {r['timed_out']:.0f} s)")
            continue
        verdict = "met" if r["thresholds_s"] <= goal else "missed"
        memory = "met" if r["peak_rss_mb"] <= GOAL_RSS_MB else "missed"
        print(f"goal ≤ {goal:.0f} s at {r['size']:,}: {verdict} ({r['thresholds_s']:.2f} s); "
              f"≤ {GOAL_RSS_MB:,} MB peak RSS: {memory} ({r['peak_rss_mb']:.0f} MB)")  # fmt: skip


if __name__ == "__main__":
    main()
