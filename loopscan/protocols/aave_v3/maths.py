"""Aave v3's account health and balances, in exact integers.

Why integers: Aave rounds half-up in rays and basis points, and a looper's health factor sits
near 1 to the wei. Each function names the contract code it mirrors, from v3.0.x
(`@aave/core-v3@1.19.3` = aave-v3-core v1.19.3): `GenericLogic.calculateUserAccountData`,
`ReserveLogic.getNormalizedIncome/Debt`, `MathUtils`, `WadRayMath`, `PercentageMath`. They hold
for `POOL_REVISION` 1–8 (v3.0–v3.4; `EModeCategory` covers v3.2's e-mode bitmap). From 9 (v3.5)
on, balances and base-currency values round up or down by direction (`TokenMath`, `mulDivCeil`,
HF computed differently): not exact there, to a few wei. `liquidationCall`, per revision, and
the revision mapping are in `loopscan.protocols.aave_v3.liquidation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from loopscan.errors import LoopscanError

__all__ = [
    "PERCENTAGE_FACTOR", "RAY", "SECONDS_PER_YEAR", "UINT256_MAX", "WAD", "AaveRevert",
    "AccountData", "EModeCategory", "Reserve", "UserReserve", "a_token_balance",
    "compounded_interest", "linear_interest", "normalized_debt", "normalized_income",
    "percent_div", "percent_mul", "ray_div", "ray_mul", "user_account_data",
    "variable_debt_balance", "wad_div", "wad_mul",
]  # fmt: skip

WAD, RAY = 10**18, 10**27
PERCENTAGE_FACTOR = 10_000
SECONDS_PER_YEAR = 365 * 86400
UINT256_MAX = 2**256 - 1


class AaveRevert(LoopscanError):
    """The call would revert on chain; `code` is Aave's `Errors` string ('45': HF not below 1)."""

    def __init__(self, code: str, what: str) -> None:
        super().__init__(f"{code} ({what})")
        self.code = code


# -- WadRayMath, PercentageMath, MathUtils (half-up roundings) --------------------------------
def ray_mul(a: int, b: int) -> int:
    return (a * b + RAY // 2) // RAY


def ray_div(a: int, b: int) -> int:
    return (a * RAY + b // 2) // b


def wad_mul(a: int, b: int) -> int:
    return (a * b + WAD // 2) // WAD


def wad_div(a: int, b: int) -> int:
    return (a * WAD + b // 2) // b


def percent_mul(value: int, bps: int) -> int:
    return (value * bps + PERCENTAGE_FACTOR // 2) // PERCENTAGE_FACTOR


def percent_div(value: int, bps: int) -> int:
    return (value * PERCENTAGE_FACTOR + bps // 2) // bps


def linear_interest(rate: int, last_update: int, timestamp: int) -> int:
    """MathUtils.calculateLinearInterest: 1 + rate·Δt / year, in rays (suppliers' index)."""
    return RAY + rate * (timestamp - last_update) // SECONDS_PER_YEAR


def compounded_interest(rate: int, last_update: int, timestamp: int) -> int:
    """MathUtils.calculateCompoundedInterest: e^(rate·Δt) to three Taylor terms (borrowers' index)."""
    exp = timestamp - last_update
    if exp == 0:
        return RAY
    base2 = ray_mul(rate, rate) // (SECONDS_PER_YEAR * SECONDS_PER_YEAR)
    base3 = ray_mul(base2, rate) // SECONDS_PER_YEAR
    second = exp * (exp - 1) * base2 // 2
    third = exp * (exp - 1) * max(exp - 2, 0) * base3 // 6
    return RAY + rate * exp // SECONDS_PER_YEAR + second + third


# -- reserves and users -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Reserve:
    """One reserve as `Pool.getReserveData` + its configuration + `AaveOracle.getAssetPrice`.

    Percentages are in bps as Aave stores them (`liquidation_bonus` 10500 = a 5 % bonus); rates
    and indexes in rays; `price` in base-currency units (USD · 1e8 on mainnet).
    """

    decimals: int
    price: int
    ltv: int = 0
    liquidation_threshold: int = 0
    liquidation_bonus: int = 0
    liquidation_protocol_fee: int = 0
    emode_category: int = 0  # v3.0–3.1: the asset's one category
    liquidity_index: int = RAY
    current_liquidity_rate: int = 0
    variable_borrow_index: int = RAY
    current_variable_borrow_rate: int = 0
    last_update_timestamp: int = 0


@dataclass(frozen=True, slots=True)
class UserReserve:
    """A user's holding in one reserve: scaled aToken / variable-debt balances, the stable debt
    balance at the timestamp considered (v3.0–3.1 only), and the collateral flag."""

    scaled_a_token: int = 0
    scaled_variable_debt: int = 0
    stable_debt: int = 0
    use_as_collateral: bool = False


@dataclass(frozen=True, slots=True)
class EModeCategory:
    """An e-mode category. v3.0–3.1: `price` is its price source's price (None: no source) and
    membership is `Reserve.emode_category`; v3.2+: `collateral_assets` (the collateral bitmap)."""

    ltv: int
    liquidation_threshold: int
    liquidation_bonus: int
    price: int | None = None
    collateral_assets: frozenset[str] | None = None

    def holds(self, asset: str, reserve: Reserve, category: int) -> bool:
        if self.collateral_assets is not None:
            return asset in self.collateral_assets
        return reserve.emode_category == category


def normalized_income(r: Reserve, timestamp: int) -> int:
    """ReserveLogic.getNormalizedIncome at `timestamp` (suppliers' index, linear)."""
    if timestamp == r.last_update_timestamp:
        return r.liquidity_index
    return ray_mul(linear_interest(r.current_liquidity_rate, r.last_update_timestamp, timestamp), r.liquidity_index)


def normalized_debt(r: Reserve, timestamp: int) -> int:
    """ReserveLogic.getNormalizedDebt at `timestamp` (borrowers' index, compounded)."""
    if timestamp == r.last_update_timestamp:
        return r.variable_borrow_index
    return ray_mul(
        compounded_interest(r.current_variable_borrow_rate, r.last_update_timestamp, timestamp), r.variable_borrow_index
    )


def a_token_balance(scaled: int, r: Reserve, timestamp: int) -> int:
    """`AToken.balanceOf`: scaled balance × normalised income (half-up)."""
    return ray_mul(scaled, normalized_income(r, timestamp))


def variable_debt_balance(scaled: int, r: Reserve, timestamp: int) -> int:
    """`VariableDebtToken.balanceOf`: scaled debt × normalised debt (half-up)."""
    return ray_mul(scaled, normalized_debt(r, timestamp))


@dataclass(frozen=True, slots=True)
class AccountData:
    total_collateral_base: int
    total_debt_base: int
    avg_ltv: int
    avg_liquidation_threshold: int
    health_factor: int  # WAD; UINT256_MAX without debt
    has_zero_ltv_collateral: bool


def _price(asset: str, r: Reserve, emode: int, cat: EModeCategory | None) -> int:
    # v3.0 GenericLogic: an e-mode price source prices the assets of the user's category.
    if cat is not None and cat.price and r.emode_category == emode:
        return cat.price
    return r.price


def user_account_data(
    reserves: Mapping[str, Reserve], user: Mapping[str, UserReserve], timestamp: int,
    emode: int = 0, category: EModeCategory | None = None,
) -> AccountData:  # fmt: skip
    """`GenericLogic.calculateUserAccountData` at `timestamp` (same code in v3.0 and v3.3).

    Each balance is valued at price / 10^decimals, rounded down per reserve; the averages are
    value-weighted, and HF = collateral · LT (percent, half-up) / debt (wad, half-up).
    """
    coll = debt = ltv_sum = lt_sum = 0
    zero_ltv = False
    if not any(u.use_as_collateral or u.scaled_variable_debt or u.stable_debt for u in user.values()):
        return AccountData(0, 0, 0, 0, UINT256_MAX, False)
    for asset, u in user.items():
        r = reserves[asset]
        unit, price = 10**r.decimals, _price(asset, r, emode, category)
        if r.liquidation_threshold != 0 and u.use_as_collateral:
            value = a_token_balance(u.scaled_a_token, r, timestamp) * price // unit
            coll += value
            in_emode = emode != 0 and category is not None and category.holds(asset, r, emode)
            if r.ltv != 0:
                ltv_sum += value * (category.ltv if in_emode else r.ltv)
            else:
                zero_ltv = True
            lt_sum += value * (category.liquidation_threshold if in_emode else r.liquidation_threshold)
        if u.scaled_variable_debt or u.stable_debt:
            owed = variable_debt_balance(u.scaled_variable_debt, r, timestamp) if u.scaled_variable_debt else 0
            debt += (owed + u.stable_debt) * price // unit
    avg_ltv, avg_lt = (ltv_sum // coll, lt_sum // coll) if coll else (0, 0)
    hf = UINT256_MAX if debt == 0 else wad_div(percent_mul(coll, avg_lt), debt)
    return AccountData(coll, debt, avg_ltv, avg_lt, hf, zero_ltv)
