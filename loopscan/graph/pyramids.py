"""Pyramids: the receipts built on each base asset, how deep they go, and how much they multiply it.

For each vault, its *base* is the base token its value rests on most (look-through exposure)
and its *depth* is the length of the longest chain of receipts below it: a vault over a base
token has depth 1 (USDC → xUSD); a vault over a receipt, or lending against one, sits one
above it (deUSD lends against xUSD: 2; sdeUSD over deUSD: 3).

Leverage multipliers — receipts outstanding per unit of base actually held:

* per vault: `1 / base fraction` — reported assets per unit of base that ultimately backs them
  (xUSD: $253.34M resting on $21.74M of USDC: 11.65x);
* per base, for the whole pyramid: the receipts outstanding on that base (each vault's reported
  assets, valued in the base through the receipts below it) over the base actually held by the
  pyramid — idle in its vaults, and idle in the markets its vaults lend to.

    >>> pyramids(snapshot, look_through(snapshot))        # doctest: +SKIP
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from loopscan.model import Snapshot

__all__ = ["vault_depths", "pyramids", "VAULT_COLUMNS", "BASE_COLUMNS"]

VAULT_COLUMNS = ["vault", "symbol", "base", "base_symbol", "depth", "total_assets_in_base", "base_fraction", "opaque_fraction", "multiplier"]
BASE_COLUMNS = ["base", "base_symbol", "vaults", "depth", "receipts_outstanding", "base_held", "multiplier"]


def vault_depths(snap: Snapshot) -> dict[str, int]:
    """Depth of each vault above its base (cycles are cut where they close)."""
    issuer = {v.share_token: v.vault for v in snap.vaults.itertuples()}
    asset = {v.vault: v.asset for v in snap.vaults.itertuples()}
    collateral: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c in snap.market_collaterals.itertuples():
        collateral[c.protocol_address, c.market_id].append(c.collateral_token)
    below: dict[str, set[str]] = defaultdict(set)
    for v in snap.vaults.itertuples():
        if v.asset in issuer:
            below[v.vault].add(issuer[v.asset])
    for h in snap.holdings.itertuples():
        if isinstance(h.market_id, str):
            for c in collateral.get((h.protocol_address, h.market_id), ()):
                if c in issuer and issuer[c] != h.vault:
                    below[h.vault].add(issuer[c])
    memo: dict[str, int] = {}

    def depth(vault: str, stack: tuple[str, ...]) -> int:
        if vault in memo:
            return memo[vault]
        if vault in stack:
            return 0
        d = 1 + max((depth(b, (*stack, vault)) for b in below[vault]), default=0)
        if not stack or all(s not in below[vault] for s in stack):
            memo[vault] = d
        return d

    return {vault: depth(vault, ()) for vault in asset}


def pyramids(snap: Snapshot, exposure: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-vault table, per-base table). Amounts are in the base's units (floats, for display)."""
    depths = vault_depths(snap)
    symbols = dict(zip(snap.tokens["address"], snap.tokens["symbol"], strict=True))
    decimals = dict(zip(snap.tokens["address"], snap.tokens["decimals"].astype(int), strict=True))
    issuer = {v.share_token: v for v in snap.vaults.itertuples()}
    base_of, base_frac = {}, {}
    for vault, rows in exposure[exposure["kind"] == "base"].groupby("vault"):
        top = rows.loc[rows["fraction"].idxmax()]
        base_of[vault], base_frac[vault] = top["target"], float(top["fraction"])
    per_vault = []
    for v in snap.vaults.itertuples():
        base = base_of.get(v.vault)
        frac = base_frac.get(v.vault, 0.0)
        opaque = exposure[(exposure["vault"] == v.vault) & (exposure["kind"] == "opaque")]["fraction"].sum()
        per_vault.append(
            {
                "vault": v.vault, "symbol": symbols.get(v.vault), "base": base, "base_symbol": symbols.get(base),
                "depth": depths[v.vault], "total_assets_in_base": _in_base(v.total_assets, v.asset, issuer, decimals),
                "base_fraction": frac, "opaque_fraction": float(opaque),
                "multiplier": 1 / frac if frac > 0 else float("inf"),
            }
        )  # fmt: skip
    vaults = pd.DataFrame(per_vault, columns=VAULT_COLUMNS)
    per_base = []
    for base, group in vaults.groupby("base"):
        held = _base_held(snap, set(group["vault"]), base) / 10 ** decimals.get(base, 18)
        outstanding = float(group["total_assets_in_base"].sum())
        per_base.append(
            {"base": base, "base_symbol": symbols.get(base), "vaults": len(group), "depth": int(group["depth"].max()),
             "receipts_outstanding": outstanding, "base_held": held,
             "multiplier": outstanding / held if held > 0 else float("inf")}
        )  # fmt: skip
    return vaults, pd.DataFrame(per_base, columns=BASE_COLUMNS)


def _in_base(amount: int, asset: str, issuer: dict, decimals: dict[str, int]) -> float:
    """An amount of `asset` valued in the base under it, through each receipt's share price."""
    value = float(amount)
    while asset in issuer:
        v = issuer[asset]
        value = value * v.total_assets / v.total_supply if v.total_supply else 0.0
        asset = v.asset
    return value / 10 ** decimals.get(asset, 18)


def _base_held(snap: Snapshot, vaults: set[str], base: str) -> int:
    """Base idle in the pyramid's vaults and in the markets they lend to (each market once)."""
    held = 0
    markets = set()
    for h in snap.holdings.itertuples():
        if h.vault not in vaults:
            continue
        if isinstance(h.market_id, str):
            markets.add((h.protocol_address, h.market_id))
        elif h.token == base:
            held += h.amount
    for m in snap.markets.itertuples():
        if (m.protocol_address, m.market_id) in markets and m.loan_token == base:
            held += max(m.total_supply_assets - m.total_borrow_assets, 0)
    return held
