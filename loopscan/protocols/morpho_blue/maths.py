"""Morpho Blue's market maths: shares, interest accrual and the health check, in exact integers.

Why integers: a looper sits on its liquidation boundary to the wei, and Morpho decides which side
with its own roundings (borrowed assets round up, collateral value rounds down). Every function
here mirrors one of morpho-blue v1.0.0 (`src/Morpho.sol`, `src/libraries/MathLib.sol`,
`SharesMathLib.sol`, `UtilsLib.sol`, `ConstantsLib.sol`, `periphery/MorphoBalancesLib.sol`),
rounding direction included, so the solver's answer is the contract's answer. The Solidity
`uint128` casts are checked too: where the contract would revert, these raise `MorphoRevert`.
The IRM's rate is in `loopscan.protocols.morpho_blue.irm`; `liquidate` and its helpers in
`loopscan.protocols.morpho_blue.liquidation`.

>>> liquidation_incentive_factor(915 * 10**15)   # LLTV 91.5 %: 1 / (1 - 0.3 * 0.085)
1026167265264238070
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from loopscan.errors import LoopscanError
from loopscan.protocols.morpho_blue.irm import borrow_rate_view

__all__ = [
    "LIQUIDATION_CURSOR", "MAX_LIQUIDATION_INCENTIVE_FACTOR", "ORACLE_PRICE_SCALE",
    "VIRTUAL_ASSETS", "VIRTUAL_SHARES", "WAD", "Accrual", "MarketState", "MorphoRevert",
    "PositionState", "accrue_interest", "expected_market_balances", "is_healthy",
    "liquidation_incentive_factor", "liquidation_price", "max_borrow", "mul_div_down", "mul_div_up",
    "price_variation_to_liquidation", "to_assets_down", "to_assets_up", "to_shares_down",
    "to_shares_up", "w_div_down", "w_div_up", "w_mul_down", "w_taylor_compounded",
]  # fmt: skip

WAD = 10**18
ORACLE_PRICE_SCALE = 10**36  # ConstantsLib
LIQUIDATION_CURSOR = 3 * 10**17
MAX_LIQUIDATION_INCENTIVE_FACTOR = 115 * 10**16
VIRTUAL_SHARES = 10**6  # SharesMathLib
VIRTUAL_ASSETS = 1
_MAX_UINT128 = 2**128 - 1


class MorphoRevert(LoopscanError):
    """The call would revert on chain; `reason` is Morpho's own ErrorsLib string (or a panic)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MarketState:
    """`Morpho.market(id)`: the totals, `lastUpdate` and `fee` (WAD)."""

    total_supply_assets: int
    total_supply_shares: int
    total_borrow_assets: int
    total_borrow_shares: int
    last_update: int = 0
    fee: int = 0


@dataclass(frozen=True, slots=True)
class PositionState:
    """`Morpho.position(id, user)`: borrow shares and collateral (supply shares are not needed)."""

    borrow_shares: int
    collateral: int


@dataclass(frozen=True, slots=True)
class Accrual:
    market: MarketState
    interest: int
    fee_shares: int  # minted to the fee recipient


# -- MathLib / SharesMathLib ---------------------------------------------------------------
def mul_div_down(x: int, y: int, d: int) -> int:
    return x * y // d


def mul_div_up(x: int, y: int, d: int) -> int:
    return (x * y + (d - 1)) // d


def w_mul_down(x: int, y: int) -> int:
    return x * y // WAD


def w_div_down(x: int, y: int) -> int:
    return x * WAD // y


def w_div_up(x: int, y: int) -> int:
    return mul_div_up(x, WAD, y)


def w_taylor_compounded(x: int, n: int) -> int:
    """e^(x·n) − 1 to three terms, as MathLib.wTaylorCompounded (each term rounded down)."""
    first = x * n
    second = mul_div_down(first, first, 2 * WAD)
    return first + second + mul_div_down(second, first, 3 * WAD)


def to_shares_down(assets: int, total_assets: int, total_shares: int) -> int:
    return mul_div_down(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def to_shares_up(assets: int, total_assets: int, total_shares: int) -> int:
    return mul_div_up(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def to_assets_down(shares: int, total_assets: int, total_shares: int) -> int:
    return mul_div_down(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)


def to_assets_up(shares: int, total_assets: int, total_shares: int) -> int:
    return mul_div_up(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)


def _u128(x: int) -> int:
    """UtilsLib.toUint128 and the checked uint128 storage arithmetic around it."""
    if x > _MAX_UINT128:
        raise MorphoRevert("max uint128 exceeded")
    if x < 0:
        raise MorphoRevert("arithmetic underflow")  # Panic(0x11)
    return x


# -- interest ----------------------------------------------------------------------------------
def accrue_interest(market: MarketState, borrow_rate: int, elapsed: int) -> Accrual:
    """`Morpho._accrueInterest` for a rate per second (WAD) the IRM returned, over `elapsed` s.

    The fee is taken as supply shares priced at the post-interest supply minus the fee itself,
    as the contract does; `last_update` moves forward by `elapsed`.
    """
    if elapsed == 0:
        return Accrual(market, 0, 0)
    interest = _u128(w_mul_down(market.total_borrow_assets, w_taylor_compounded(borrow_rate, elapsed)))
    supply = _u128(market.total_supply_assets + interest)
    fee_shares = 0
    if market.fee != 0:
        fee_amount = w_mul_down(interest, market.fee)
        fee_shares = to_shares_down(fee_amount, supply - fee_amount, market.total_supply_shares)
    new = replace(
        market,
        total_borrow_assets=_u128(market.total_borrow_assets + interest),
        total_supply_assets=supply,
        total_supply_shares=_u128(market.total_supply_shares + fee_shares),
        last_update=market.last_update + elapsed,
    )
    return Accrual(new, interest, fee_shares)


def expected_market_balances(market: MarketState, rate_at_target: int | None, block_timestamp: int) -> MarketState:
    """`MorphoBalancesLib.expectedMarketBalances` with AdaptiveCurveIrm's `borrowRateView`.

    `rate_at_target` is `AdaptiveCurveIrm.rateAtTarget(id)` read at the same block as `market`;
    `None` means a market without IRM (`irm == address(0)`), which accrues nothing. Use this
    before any health check: `liquidate` accrues first, so the chain judges the accrued state.
    """
    elapsed = block_timestamp - market.last_update
    if elapsed < 0:
        raise ValueError(f"block_timestamp {block_timestamp} is before the market's last update {market.last_update}")
    if elapsed == 0 or market.total_borrow_assets == 0 or rate_at_target is None:
        return replace(market, last_update=block_timestamp)
    rate = borrow_rate_view(market.total_supply_assets, market.total_borrow_assets, rate_at_target, elapsed)
    return accrue_interest(market, rate, elapsed).market


# -- health --------------------------------------------------------------------------------
def max_borrow(collateral: int, price: int, lltv: int) -> int:
    """Collateral value at the oracle price (rounded down), times LLTV (rounded down)."""
    return w_mul_down(mul_div_down(collateral, price, ORACLE_PRICE_SCALE), lltv)


def is_healthy(collateral: int, borrow_shares: int, market: MarketState, price: int, lltv: int) -> bool:
    """`Morpho._isHealthy`: borrowed assets (rounded up) ≤ `max_borrow`. Accrue `market` first."""
    if borrow_shares == 0:
        return True
    borrowed = to_assets_up(borrow_shares, market.total_borrow_assets, market.total_borrow_shares)
    return max_borrow(collateral, price, lltv) >= borrowed


def liquidation_incentive_factor(lltv: int) -> int:
    """min(1.15, 1 / (1 − 0.3 · (1 − LLTV))) in WAD, as in `Morpho.liquidate`."""
    return min(MAX_LIQUIDATION_INCENTIVE_FACTOR, w_div_down(WAD, WAD - w_mul_down(LIQUIDATION_CURSOR, WAD - lltv)))


def liquidation_price(collateral: int, borrow_shares: int, market: MarketState, lltv: int) -> int:
    """The lowest oracle price at which the position is healthy: liquidatable iff price < this.

    Exact, inverting `is_healthy`'s two floor roundings (so it can be one unit below
    blue-sdk's `getLiquidationPrice`, which rounds the other way). 0 for a position without
    debt; raises `ValueError` when no price makes it healthy (no collateral or LLTV 0).
    """
    borrowed = to_assets_up(borrow_shares, market.total_borrow_assets, market.total_borrow_shares)
    if borrowed == 0:
        return 0
    if collateral == 0 or lltv == 0:
        raise ValueError("no oracle price makes this position healthy (no collateral power)")
    # Smallest collateral value V with V·lltv // WAD ≥ borrowed, then smallest p with c·p // 1e36 ≥ V.
    return mul_div_up(w_div_up(borrowed, lltv), ORACLE_PRICE_SCALE, collateral)


def price_variation_to_liquidation(
    collateral: int, borrow_shares: int, market: MarketState, price: int, lltv: int
) -> int:
    """Relative price move (WAD, negative = a fall) after which the position is liquidatable."""
    return w_div_up(liquidation_price(collateral, borrow_shares, market, lltv), price) - WAD
