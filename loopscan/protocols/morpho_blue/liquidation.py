"""Morpho Blue's `liquidate`, in exact integers.

Mirrors `Morpho.liquidate` of morpho-blue v1.0.0 (`src/Morpho.sol`): both of its branches
(`seizedAssets` or `repaidShares`), the liquidation incentive, the bad-debt realisation when the
collateral runs out, and its roundings (always against the liquidator) and `uint128` checks
(raised as `MorphoRevert`). Plus the liquidator's view of it: blue-sdk's
`getSeizableCollateral` and the arguments that close the most. Markets must already be accrued
to the liquidation block (`loopscan.protocols.morpho_blue.maths.expected_market_balances`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from loopscan.protocols.morpho_blue.maths import (
    ORACLE_PRICE_SCALE,
    MarketState,
    MorphoRevert,
    PositionState,
    _u128,
    is_healthy,
    liquidation_incentive_factor,
    mul_div_down,
    mul_div_up,
    to_assets_down,
    to_assets_up,
    to_shares_up,
    w_div_up,
    w_mul_down,
)

__all__ = [
    "Liquidation", "full_liquidation_args", "liquidate", "max_seizable_collateral",
    "repaid_shares_for_seized", "seized_for_repaid_shares",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Liquidation:
    """What `Morpho.liquidate` moves (its `Liquidate` event) and the states it leaves."""

    seized_assets: int
    repaid_assets: int
    repaid_shares: int
    bad_debt_assets: int
    bad_debt_shares: int
    market: MarketState
    position: PositionState


# -- liquidation -----------------------------------------------------------------------------
def seized_for_repaid_shares(repaid_shares: int, market: MarketState, price: int, lltv: int) -> int:
    """Collateral seized for repaying `repaid_shares`: their assets (down) × incentive (down),
    converted at the oracle price (down) — `liquidate`'s `repaidShares` branch."""
    assets = to_assets_down(repaid_shares, market.total_borrow_assets, market.total_borrow_shares)
    return mul_div_down(w_mul_down(assets, liquidation_incentive_factor(lltv)), ORACLE_PRICE_SCALE, price)


def repaid_shares_for_seized(seized_assets: int, market: MarketState, price: int, lltv: int) -> int:
    """Borrow shares repaid for seizing `seized_assets`, every step rounded up (against the
    liquidator) — `liquidate`'s `seizedAssets` branch."""
    quoted = mul_div_up(seized_assets, price, ORACLE_PRICE_SCALE)
    return to_shares_up(
        w_div_up(quoted, liquidation_incentive_factor(lltv)), market.total_borrow_assets, market.total_borrow_shares
    )


def liquidate(
    market: MarketState,
    position: PositionState,
    price: int,
    lltv: int,
    *,
    seized_assets: int = 0,
    repaid_shares: int = 0,
) -> Liquidation:
    """`Morpho.liquidate` on a market already accrued to the liquidation block.

    Exactly one of `seized_assets` / `repaid_shares` is non-zero. When the seizure empties the
    collateral, the remaining debt is bad debt: its shares are burned and its assets taken from
    both total borrow and total supply (the lenders' loss).
    """
    if (seized_assets == 0) == (repaid_shares == 0):
        raise MorphoRevert("inconsistent input")
    if is_healthy(position.collateral, position.borrow_shares, market, price, lltv):
        raise MorphoRevert("position is healthy")
    if seized_assets > 0:
        repaid_shares = repaid_shares_for_seized(seized_assets, market, price, lltv)
    else:
        seized_assets = seized_for_repaid_shares(repaid_shares, market, price, lltv)
    tba, tbs = market.total_borrow_assets, market.total_borrow_shares
    repaid_assets = to_assets_up(repaid_shares, tba, tbs)

    borrow_shares = _u128(position.borrow_shares - _u128(repaid_shares))
    tbs = _u128(tbs - repaid_shares)
    tba = _u128(max(tba - repaid_assets, 0))  # zeroFloorSub
    collateral = _u128(position.collateral - _u128(seized_assets))
    tsa = market.total_supply_assets
    bad_shares = bad_assets = 0
    if collateral == 0:
        bad_shares = borrow_shares
        bad_assets = min(tba, to_assets_up(bad_shares, tba, tbs))
        tba, tsa, tbs = _u128(tba - bad_assets), _u128(tsa - bad_assets), _u128(tbs - bad_shares)
        borrow_shares = 0
    after = replace(market, total_borrow_assets=tba, total_borrow_shares=tbs, total_supply_assets=tsa)
    return Liquidation(
        seized_assets,
        repaid_assets,
        repaid_shares,
        bad_assets,
        bad_shares,
        after,
        PositionState(borrow_shares, collateral),
    )


def max_seizable_collateral(position: PositionState, market: MarketState, price: int, lltv: int) -> int:
    """Collateral a liquidator can take: 0 if healthy, else min(collateral, what repaying every
    borrow share would seize) — blue-sdk's `getSeizableCollateral`."""
    if price == 0 or is_healthy(position.collateral, position.borrow_shares, market, price, lltv):
        return 0
    return min(position.collateral, seized_for_repaid_shares(position.borrow_shares, market, price, lltv))


def full_liquidation_args(position: PositionState, market: MarketState, price: int, lltv: int) -> dict[str, int]:
    """The `liquidate` keyword that closes the most: all borrow shares if the collateral covers
    them, else all the collateral (bad debt follows), lowered by the wei needed so that the
    rounded-up repaid shares do not exceed the borrower's (which would revert on chain)."""
    seizable = max_seizable_collateral(position, market, price, lltv)
    if seizable == 0:
        raise MorphoRevert("position is healthy")
    if seizable < position.collateral:
        return {"repaid_shares": position.borrow_shares}
    while seizable > 0:
        try:
            liquidate(market, position, price, lltv, seized_assets=seizable)
            return {"seized_assets": seizable}
        except MorphoRevert:
            seizable -= 1
    raise MorphoRevert("arithmetic underflow")
