"""Joined views of a snapshot's tables for code that reads a market with its collateral or a
position with its collateral: the graph, the exports and the reports.

A market has one row per accepted collateral in `market_collaterals`, a position one row per
posted collateral in `position_collaterals`; these views put each back beside its market or
position. Sums over a view's rows stay right (a position's debt and supply are on its first row
only).

Warning: a row of `position_collateral` is a whole position only where a position has at most one
collateral (Morpho Blue, and Aave's per-reserve rows); where it has several, ratios of a row's
debt to its collateral mean nothing: use the tables themselves.
"""

from __future__ import annotations

import pandas as pd

from loopscan.model.snapshot import Snapshot

__all__ = ["market_collateral", "position_collateral"]

_MARKET = ["protocol_address", "market_id"]
_POSITION = [*_MARKET, "account"]


def market_collateral(snap: Snapshot) -> pd.DataFrame:
    """`markets` left-joined with `market_collaterals`: one row per (market, collateral); a market
    that takes no collateral has one row, its collateral columns null."""
    collaterals = snap.market_collaterals.drop(columns="block")
    joined = snap.markets.merge(collaterals, on=_MARKET, how="left", sort=False)
    for column in collaterals.columns.difference(_MARKET):
        joined[column] = [None if _missing(x) else x for x in joined[column]]
    return joined


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and x != x)


def position_collateral(snap: Snapshot) -> pd.DataFrame:
    """`positions` left-joined with `position_collaterals`: one row per (position, collateral) with
    `collateral_token` (null where none) and `collateral_amount` (0 where none); a position with
    several collaterals has its debt and supply on its first row and 0 on the others."""
    posted = snap.position_collaterals.drop(columns=["block", "protocol"]).rename(columns={"amount": "collateral_amount"})
    joined = snap.positions.merge(posted, on=_POSITION, how="left", sort=False)
    joined["collateral_amount"] = [0 if _missing(x) else int(x) for x in joined["collateral_amount"]]
    joined["collateral_token"] = [None if _missing(x) else x for x in joined["collateral_token"]]
    repeat = joined.duplicated(_POSITION)
    if repeat.any():
        for column in ("debt_amount", "supply_amount"):
            joined[column] = [0 if r else x for x, r in zip(joined[column], repeat, strict=True)]
    return joined
