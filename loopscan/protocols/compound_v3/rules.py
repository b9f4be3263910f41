"""Compound v3 (Comet): who can be absorbed, what absorbing does, and what the protocol then sells
its seized collateral for, integer for integer as the contract computes it.

Source: compound-finance/comet at d5a30b0aaeff7755f1431e87f818990902237b03, `contracts/Comet.sol`
and `contracts/CometCore.sol` (cited beside each rule). Comet's liquidation differs from Aave's and
Morpho's: nobody repays part of the debt for a bonus. `absorb` takes the *whole* account: every
collateral balance goes to the protocol, valued at `liquidationFactor` of its price, that value is
credited against the debt, and whatever debt is left over is written off against the protocol's
reserves (the account's balance is floored at zero). The seized collateral is then sold by
`buyCollateral` at the store-front discount `storeFrontPriceFactor · (1 − liquidationFactor)`,
only while reserves are below `targetReserves`.

Prices are the feeds' answers (8 decimals, `PRICE_SCALE`), factors 1e18 (`FACTOR_SCALE`), indices
1e15 (`BASE_INDEX_SCALE`). Solidity's signed division truncates toward zero: `_tdiv`.

The float functions at the end (`weighted_values`, `liquidatable`, `caps`, `owed`, `reserves`,
`liquidate_account`) are the same rules for the solver's ``account`` margin (`loopscan.solver.accounts`):
values in the numeraire at the feeds, no rounding; `tests/protocols/test_compound_v3_float_rules.py`
holds them to the integer ones.

Deployed Comets run the implementation their proxy points at, which may predate this commit (e.g.
`quoteCollateral`'s rounding was reordered by PR 303); the rules here are those of this commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from loopscan.errors import LoopscanError
from loopscan.protocols.spec import AccountLiquidation

__all__ = [
    "FACTOR_SCALE", "BASE_INDEX_SCALE", "PRICE_SCALE", "CometError", "CometAsset", "CometState", "CometAccount",
    "Absorption", "accrued_indices", "present_value", "principal_value", "liquidity", "is_liquidatable", "absorb", "get_reserves",
    "quote_collateral", "buy_collateral", "ORACLE_QUOTE", "SOCIALISES_BAD_DEBT", "weighted_values", "liquidatable", "caps",
    "owed", "reserves", "liquidate_account",
]  # fmt: skip

FACTOR_SCALE = 10**18
BASE_INDEX_SCALE = 10**15
PRICE_SCALE = 10**8
ORACLE_QUOTE = "numeraire"  # getPrice answers USD with 8 decimals
# Comet.sol `absorbInternal` floors the account at zero: the debt beyond the credited collateral is
# taken out of the reserves (`getReserves` falls); beyond them the Comet owes its suppliers more base
# than it holds, and they lose pro rata.
SOCIALISES_BAD_DEBT = True


class CometError(LoopscanError):
    """Comet would revert on this (NotLiquidatable, NotForSale, InsufficientReserves, an underflow)."""


@dataclass(frozen=True)
class CometAsset:
    """One collateral asset as `getAssetInfo(i)` returns it, with its feed's price at the pin."""

    asset: str
    scale: int  # 10 ** decimals
    borrow_collateral_factor: int
    liquidate_collateral_factor: int
    liquidation_factor: int
    supply_cap: int
    price: int  # getPrice(priceFeed), PRICE_SCALE


@dataclass(frozen=True)
class CometState:
    """The market-wide state `absorb` and `buyCollateral` read: `totalsBasic()` with its indices
    accrued to the pin, the base token's scale and price, and the assets in `getAssetInfo` order."""

    base_scale: int
    base_price: int
    base_supply_index: int
    base_borrow_index: int
    total_supply_base: int  # principal
    total_borrow_base: int  # principal
    store_front_price_factor: int
    target_reserves: int
    assets: tuple[CometAsset, ...]
    totals_collateral: Mapping[str, int] = field(default_factory=dict)  # asset -> totalsCollateral.totalSupplyAsset

    def asset(self, address: str) -> CometAsset:
        # Comet.sol getAssetInfoByAddress: reverts BadAsset for an unlisted asset
        for a in self.assets:
            if a.asset == address:
                return a
        raise CometError(f"BadAsset: {address} is not a collateral of this Comet")


@dataclass(frozen=True)
class CometAccount:
    """`userBasic(account).principal` (negative: a borrower) and `userCollateral` balances by asset.

    An asset counts when its balance is non-zero: Comet.sol `updateAssetsIn` sets the account's
    `assetsIn` bit exactly when a balance leaves zero and clears it when it returns to zero.
    """

    principal: int
    collateral: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Absorption:
    """What `absorbInternal` did to one account: every collateral balance seized (asset -> amount),
    the base credited to the account (`basePaidOut`, base units), the account's new principal, and
    the market afterwards. Reserves fell by `base_paid_out` (up to the indices' rounding)."""

    seized: dict[str, int]
    seized_value: dict[str, int]  # asset -> mulPrice(amount, price, scale), as AbsorbCollateral logs it
    credited: int  # deltaBalance: the base the seized collateral is credited at (each asset at its liquidationFactor)
    base_paid_out: int
    new_principal: int
    state: CometState


def _tdiv(a: int, b: int) -> int:
    """Solidity's signed division: the quotient truncated toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def accrued_indices(
    supply_index: int, borrow_index: int, supply_rate: int, borrow_rate: int, elapsed: int
) -> tuple[int, int]:
    """Comet.sol `accruedInterestIndices`: each index grows by index · rate · elapsed / 1e18, the
    per-second rates being `getSupplyRate`/`getBorrowRate` at the utilization of the stored indices."""
    if elapsed < 0:
        raise CometError("accruedInterestIndices: the pin is before lastAccrualTime")
    if elapsed:
        supply_index += supply_index * (supply_rate * elapsed) // FACTOR_SCALE
        borrow_index += borrow_index * (borrow_rate * elapsed) // FACTOR_SCALE
    if max(supply_index, borrow_index) >= 2**64:
        raise CometError("accruedInterestIndices: an index overflows uint64 (safe64)")
    return supply_index, borrow_index


def present_value(principal: int, supply_index: int, borrow_index: int) -> int:
    """CometCore.sol `presentValue` / `presentValueSupply` / `presentValueBorrow`: both round down."""
    if principal >= 0:
        return principal * supply_index // BASE_INDEX_SCALE
    return -(-principal * borrow_index // BASE_INDEX_SCALE)


def principal_value(present: int, supply_index: int, borrow_index: int) -> int:
    """CometCore.sol `principalValue`: supply rounds down, borrow rounds up (against the borrower)."""
    if present >= 0:
        return present * BASE_INDEX_SCALE // supply_index
    return -((-present * BASE_INDEX_SCALE + borrow_index - 1) // borrow_index)


def liquidity(state: CometState, account: CometAccount) -> int:
    """Σ collateral × price × liquidateCollateralFactor minus the debt, in PRICE_SCALE units, as
    Comet.sol `isLiquidatable` sums it (it stops early once positive: the sign is the same)."""
    debt = present_value(account.principal, state.base_supply_index, state.base_borrow_index)
    total = _tdiv(debt * state.base_price, state.base_scale)  # signedMulPrice
    for a in state.assets:
        balance = account.collateral.get(a.asset, 0)
        if balance:
            total += balance * a.price // a.scale * a.liquidate_collateral_factor // FACTOR_SCALE
    return total


def is_liquidatable(state: CometState, account: CometAccount) -> bool:
    """Comet.sol `isLiquidatable`: a borrower whose liquidity is negative."""
    return account.principal < 0 and liquidity(state, account) < 0


def absorb(state: CometState, account: CometAccount) -> Absorption:
    """Comet.sol `absorbInternal`: the protocol takes the whole account."""
    if not is_liquidatable(state, account):
        raise CometError("NotLiquidatable")
    old_balance = present_value(account.principal, state.base_supply_index, state.base_borrow_index)
    delta_value, seized, values = 0, {}, {}
    totals = dict(state.totals_collateral)
    for a in state.assets:
        amount = account.collateral.get(a.asset, 0)
        if not amount:
            continue
        if a.asset in totals:
            if totals[a.asset] < amount:
                raise CometError(f"absorb: totalsCollateral of {a.asset} underflows")
            totals[a.asset] -= amount
        value = amount * a.price // a.scale  # mulPrice
        delta_value += value * a.liquidation_factor // FACTOR_SCALE  # mulFactor
        seized[a.asset], values[a.asset] = amount, value
    delta_balance = delta_value * state.base_scale // state.base_price  # divPrice
    new_balance = max(old_balance + delta_balance, 0)  # "all excess debt absorbed by reserves"
    new_principal = principal_value(new_balance, state.base_supply_index, state.base_borrow_index)
    repay, supply = _repay_and_supply(account.principal, new_principal)
    if repay > state.total_borrow_base:
        raise CometError("absorb: totalBorrowBase underflows")
    after = replace(
        state, total_supply_base=state.total_supply_base + supply, total_borrow_base=state.total_borrow_base - repay,
        totals_collateral=totals,
    )  # fmt: skip
    return Absorption(seized, values, delta_balance, new_balance - old_balance, new_principal, after)


def _repay_and_supply(old: int, new: int) -> tuple[int, int]:
    # Comet.sol `repayAndSupplyAmount`
    if new < old:
        return 0, 0
    if new <= 0:
        return new - old, 0
    if old >= 0:
        return 0, new - old
    return -old, new


def get_reserves(state: CometState, base_balance: int) -> int:
    """Comet.sol `getReserves` (indices already accrued to the pin): the Comet's base balance less
    what suppliers are owed plus what borrowers owe. Negative once absorbed losses exceed it."""
    supplied = state.total_supply_base * state.base_supply_index // BASE_INDEX_SCALE
    borrowed = state.total_borrow_base * state.base_borrow_index // BASE_INDEX_SCALE
    return base_balance - supplied + borrowed


def quote_collateral(state: CometState, asset: str, base_amount: int) -> int:
    """Comet.sol `quoteCollateral`: collateral bought for `base_amount` of base at the store-front
    discount `storeFrontPriceFactor · (1 − liquidationFactor)` off the feed's price."""
    a = state.asset(asset)
    discount = state.store_front_price_factor * (FACTOR_SCALE - a.liquidation_factor) // FACTOR_SCALE
    discounted = a.price * (FACTOR_SCALE - discount) // FACTOR_SCALE
    if discounted == 0:
        raise CometError("quoteCollateral: the discounted price is zero (division by zero)")
    return state.base_price * base_amount * a.scale // discounted // state.base_scale


def buy_collateral(
    state: CometState, asset: str, base_amount: int, base_balance: int, collateral_reserves: int, min_amount: int = 0
) -> int:
    """Comet.sol `buyCollateral`: the collateral a buyer gets for `base_amount`, refused while
    reserves are at or above target (NotForSale), below `min_amount` (TooMuchSlippage) or beyond
    the collateral the protocol holds (`getCollateralReserves`: its balance of the asset less what
    users supplied). `base_balance` is the Comet's base balance before the buyer pays."""
    reserves = get_reserves(state, base_balance)
    if reserves >= 0 and reserves >= state.target_reserves:
        raise CometError("NotForSale: reserves are at or above targetReserves")
    amount = quote_collateral(state, asset, base_amount)
    if amount < min_amount:
        raise CometError("TooMuchSlippage: the quote is below the buyer's minimum")
    if amount > collateral_reserves:
        raise CometError("InsufficientReserves: the protocol holds less of that collateral")
    return amount


# -- floats, for the solver ----------------------------------------------------------------------


def weighted_values(values: np.ndarray, lts: np.ndarray, caps_usd: np.ndarray) -> np.ndarray:
    """`liquidity`'s collateral side for many accounts: Σ value × liquidateCollateralFactor
    (`values` accounts × assets at the feeds, `lts` the factors); Comet caps nothing in the check
    (`caps_usd` is all inf)."""
    return (values * lts).sum(axis=1)


def liquidatable(weighted: float | np.ndarray, debt: float | np.ndarray) -> bool | np.ndarray:
    """`is_liquidatable`: liquidity below zero, the weighted collateral strictly below the debt."""
    return weighted < debt


def caps(params: dict[str, int], accounts: list[str], tokens: list[str], base: str) -> np.ndarray:
    """No cap on an asset's weight (`supplyCap` bounds deposits, not the check): all inf."""
    return np.full((len(accounts), len(tokens)), np.inf)


def owed(params: dict[str, int], accounts: list[str], total_debt_raw: np.ndarray) -> np.ndarray:
    """Suppliers are owed the whole borrow balance: Comet takes no fee out of it."""
    return total_debt_raw


def reserves(params: dict[str, int]) -> int:
    """`getReserves()` at the pin (base units; negative once losses exceeded them), read by the indexer."""
    return params["reserves"]


def liquidate_account(values: np.ndarray, loan_price: float, tokens: list[str], debt: float, owed_: float,
                      params: dict[str, int], lts: np.ndarray) -> AccountLiquidation:  # fmt: skip
    """`absorb` in floats: the protocol takes every collateral (no liquidator, no profit check:
    `forced`), credits each asset's value at the feed (`values`, numeraire) times its own
    liquidationFactor (`liquidation_factor_wad:<asset>`; the base token's column is no collateral)
    against the debt; what the credit does not cover is the loss (reserves first), what exceeds the
    debt becomes the owner's supply."""
    factors = np.array([params.get(f"liquidation_factor_wad:{t}", 0) for t in tokens], dtype=float) / FACTOR_SCALE
    credited = float((values * factors).sum()) / loan_price if loan_price > 0 else 0.0
    return AccountLiquidation(np.ones(len(values)), debt, 0.0, min(credited, debt), max(owed_ - credited, 0.0), forced=True)
