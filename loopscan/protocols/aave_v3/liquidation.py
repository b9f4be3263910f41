"""Aave v3's `liquidationCall`, in exact integers, per protocol revision.

Why revisions: the rules of a liquidation changed in v3.3 (close factor over the whole position,
dust rule, bad debt written off as a reserve deficit). The solver must apply the rules of the
pool it reads, so each function names the contract code it mirrors:

- v3.0.x: `@aave/core-v3@1.19.3` (= aave-v3-core v1.19.3), `LiquidationLogic.executeLiquidationCall`,
  `_calculateDebt`, `_calculateAvailableCollateralToLiquidate`, `ValidationLogic.validateLiquidationCall`.
- v3.3: aave-dao/aave-v3-origin tag v3.3.0 (5431379f), `src/contracts/protocol/libraries/logic/LiquidationLogic.sol`
  lines 199–437 (`executeLiquidationCall`), 531–601 (`_burnDebtTokens`), 633–684, 696–730.

Health factor, balances and the rounding helpers are `loopscan.protocols.aave_v3.maths`'s.

`POOL_REVISION` → rules (read from the sources; see `rules_for_revision`):
1 v3.0.0/3.0.1 (aave-v3-core ≥ 1.14 `Pool.POOL_REVISION = 0x1`), 2–3 v3.0.2 upgrades (3 is
bgd-labs/protocol-v3.1-upgrade `src/PoolInstance.sol`; 2 is inferred, not seen in source),
4 v3.1.0, 5 v3.2.0, 6 v3.2.1, 7 v3.3.0, 8 v3.4.0, 9 v3.5.0, 10 v3.6.0, 11 v3.7.0 (v3.1+ from
aave-v3-origin `PoolInstance.sol` at each tag). Revisions 1–6 liquidate with the v3.0 arithmetic
(v3.1 adds only a grace period; v3.2 drops stable debt and e-mode price sources, which the
v3.0 function handles as zero / None); 7–8 with v3.3's. From 9 (v3.5) on, balances and
base-currency values round up or down by direction (`TokenMath`, `mulDivCeil`, HF computed
differently): neither function is exact there, to a few wei.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from loopscan.protocols.aave_v3.maths import (
    PERCENTAGE_FACTOR,
    WAD,
    AaveRevert,
    EModeCategory,
    Reserve,
    UserReserve,
    a_token_balance,
    normalized_debt,
    normalized_income,
    percent_div,
    percent_mul,
    ray_div,
    ray_mul,
    user_account_data,
    variable_debt_balance,
)

__all__ = [
    "CLOSE_FACTOR_HF_THRESHOLD", "HEALTH_FACTOR_LIQUIDATION_THRESHOLD",
    "MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD", "MIN_LEFTOVER_BASE", "AaveLiquidation",
    "liquidation_call", "liquidation_call_v30", "liquidation_call_v33", "rules_for_revision",
]  # fmt: skip

HEALTH_FACTOR_LIQUIDATION_THRESHOLD = WAD
CLOSE_FACTOR_HF_THRESHOLD = 95 * 10**16
MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD = 2000 * 10**8  # v3.3, USD with 8 decimals
MIN_LEFTOVER_BASE = MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD // 2


# -- liquidationCall ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AaveLiquidation:
    """What `liquidationCall` does: the `LiquidationCall` event's `debtToCover` and
    `liquidatedCollateralAmount`, the aToken fee to the treasury, and the scaled amounts burned
    or moved (the contract's own bookkeeping, to check balances after)."""

    debt_repaid: int
    collateral_to_liquidator: int
    protocol_fee: int
    health_factor: int
    max_liquidatable_debt: int
    scaled_collateral_out: int  # to the liquidator (burned, or moved with receive_a_token)
    scaled_fee_out: int  # to the treasury
    scaled_variable_debt_burned: int
    stable_debt_burned: int = 0
    deficits: dict[str, int] = field(default_factory=dict)  # v3.3: bad debt written off per reserve
    collateral_disabled: bool = False


def _validate(hf: int, cr: Reserve, cu: UserReserve, debt: int) -> None:
    # ValidationLogic.validateLiquidationCall (reserve active/paused, sentinel and v3.1+ grace
    # period are configuration the caller checks; they do not depend on prices).
    if hf >= HEALTH_FACTOR_LIQUIDATION_THRESHOLD:
        raise AaveRevert("45", "HEALTH_FACTOR_NOT_BELOW_THRESHOLD")
    if cr.liquidation_threshold == 0 or not cu.use_as_collateral:
        raise AaveRevert("46", "COLLATERAL_CANNOT_BE_LIQUIDATED")
    if debt == 0:
        raise AaveRevert("47", "SPECIFIED_CURRENCY_NOT_BORROWED_BY_USER")


def _available_collateral(
    c_price: int, c_unit: int, d_price: int, d_unit: int, debt_to_cover: int, balance: int, bonus: int, fee_bps: int
) -> tuple[int, int, int, int]:
    """`_calculateAvailableCollateralToLiquidate` (identical in v3.0 and v3.3): collateral to the
    liquidator, debt repaid, protocol fee (a share of the bonus), and collateral incl. the fee."""
    base = d_price * debt_to_cover * c_unit // (c_price * d_unit)
    amount, needed = percent_mul(base, bonus), debt_to_cover
    if amount > balance:  # not enough collateral: take all of it, repay what it is worth
        amount = balance
        needed = percent_div(c_price * amount * d_unit // (d_price * c_unit), bonus)
    fee = percent_mul(amount - percent_div(amount, bonus), fee_bps) if fee_bps else 0
    return amount - fee, needed, fee, amount


def _move_collateral(
    cr: Reserve, cu: UserReserve, coll: int, fee: int, ts: int, receive_a_token: bool
) -> tuple[int, int, int]:
    """`_burnCollateralATokens` / `_liquidateATokens`, then the fee transfer with its 1-wei cap."""
    index = normalized_income(cr, ts)
    scaled_out = ray_div(coll, index)
    if scaled_out == 0 and not receive_a_token:
        raise AaveRevert("25", "INVALID_BURN_AMOUNT")  # ScaledBalanceTokenBase._burnScaled
    if fee and ray_div(fee, index) > cu.scaled_a_token - scaled_out:
        fee = ray_mul(cu.scaled_a_token - scaled_out, index)
    return scaled_out, ray_div(fee, index) if fee else 0, fee


def _burn_scaled(amount: int, index: int) -> int:
    scaled = ray_div(amount, index)
    if scaled == 0:
        raise AaveRevert("25", "INVALID_BURN_AMOUNT")
    return scaled


def liquidation_call_v30(
    reserves: Mapping[str, Reserve], user: Mapping[str, UserReserve], collateral_asset: str, debt_asset: str,
    debt_to_cover: int, timestamp: int, *, emode: int = 0, category: EModeCategory | None = None,
    receive_a_token: bool = False,
) -> AaveLiquidation:  # fmt: skip
    """`LiquidationLogic.executeLiquidationCall` of v3.0.x (also exact for v3.1 and v3.2).

    Close factor: 50 % of the user's debt in `debt_asset` while HF > 0.95, 100 % below.
    `timestamp` is the liquidation block's: interest accrues to it first, as `updateState` does.
    """
    acct = user_account_data(reserves, user, timestamp, emode, category)
    cr, dr = reserves[collateral_asset], reserves[debt_asset]
    cu, du = user.get(collateral_asset, UserReserve()), user.get(debt_asset, UserReserve())
    d_index = normalized_debt(dr, timestamp)
    variable = ray_mul(du.scaled_variable_debt, d_index)
    total = variable + du.stable_debt
    close = PERCENTAGE_FACTOR // 2 if acct.health_factor > CLOSE_FACTOR_HF_THRESHOLD else PERCENTAGE_FACTOR
    max_debt = percent_mul(total, close)
    _validate(acct.health_factor, cr, cu, total)
    bonus, c_price, d_price = cr.liquidation_bonus, cr.price, dr.price  # _getConfigurationData
    if emode != 0 and category is not None:
        if category.holds(collateral_asset, cr, emode):
            bonus = category.liquidation_bonus
            c_price = category.price or c_price
        d_price = category.price or d_price
    balance = a_token_balance(cu.scaled_a_token, cr, timestamp)
    coll, needed, fee, _ = _available_collateral(
        c_price, 10**cr.decimals, d_price, 10**dr.decimals, min(debt_to_cover, max_debt), balance, bonus,
        cr.liquidation_protocol_fee,
    )  # fmt: skip
    if variable >= needed:  # _burnDebtTokens: variable first, then stable
        scaled_debt, stable = _burn_scaled(needed, d_index), 0
    else:
        scaled_debt, stable = (_burn_scaled(variable, d_index) if variable else 0), needed - variable
    disabled = coll + fee == balance
    scaled_out, scaled_fee, fee = _move_collateral(cr, cu, coll, fee, timestamp, receive_a_token)
    return AaveLiquidation(
        needed, coll, fee, acct.health_factor, max_debt, scaled_out, scaled_fee, scaled_debt, stable, {}, disabled
    )


def liquidation_call_v33(
    reserves: Mapping[str, Reserve], user: Mapping[str, UserReserve], collateral_asset: str, debt_asset: str,
    debt_to_cover: int, timestamp: int, *, emode: int = 0, category: EModeCategory | None = None,
    receive_a_token: bool = False,
) -> AaveLiquidation:  # fmt: skip
    """`LiquidationLogic.executeLiquidationCall` of v3.3.0 (also exact for v3.4.0).

    Close factor 100 %, cut to half of the user's *total* debt (in base currency) only when HF >
    0.95 and both this collateral and this debt are worth ≥ 2,000 USD; a liquidation that leaves
    debt and collateral must leave ≥ 1,000 USD of each ('103'); when it takes the user's last
    collateral, every remaining debt is burned and recorded as the reserve's deficit. GHO's
    special cases (reserves without virtual accounting) are not modelled.
    """
    acct = user_account_data(reserves, user, timestamp, emode, category)
    cr, dr = reserves[collateral_asset], reserves[debt_asset]
    cu, du = user.get(collateral_asset, UserReserve()), user.get(debt_asset, UserReserve())
    c_unit, d_unit = 10**cr.decimals, 10**dr.decimals
    balance = a_token_balance(cu.scaled_a_token, cr, timestamp)
    d_index = normalized_debt(dr, timestamp)
    debt = ray_mul(du.scaled_variable_debt, d_index)
    _validate(acct.health_factor, cr, cu, debt)
    in_emode = emode != 0 and category is not None and category.holds(collateral_asset, cr, emode)
    bonus = category.liquidation_bonus if in_emode else cr.liquidation_bonus
    debt_base, coll_base = debt * dr.price // d_unit, balance * cr.price // c_unit
    max_debt = debt
    if (
        coll_base >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
        and debt_base >= MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
        and acct.health_factor > CLOSE_FACTOR_HF_THRESHOLD
    ):
        half_total = percent_mul(acct.total_debt_base, PERCENTAGE_FACTOR // 2)
        if debt_base > half_total:
            max_debt = half_total * d_unit // dr.price
    coll, needed, fee, gross = _available_collateral(
        cr.price, c_unit, dr.price, d_unit, min(debt_to_cover, max_debt), balance, bonus, cr.liquidation_protocol_fee
    )
    if needed < debt and coll + fee < balance:  # the dust rule
        debt_left_ok = (debt - needed) * dr.price // d_unit >= MIN_LEFTOVER_BASE
        coll_left_ok = (balance - coll - fee) * cr.price // c_unit >= MIN_LEFTOVER_BASE
        if not (debt_left_ok and coll_left_ok):
            raise AaveRevert("103", "MUST_NOT_LEAVE_DUST")
    no_collateral_left = acct.total_collateral_base == gross * cr.price // c_unit
    scaled_debt = _burn_scaled(debt if no_collateral_left else needed, d_index)
    deficits: dict[str, int] = {}
    if no_collateral_left:  # _burnDebtTokens, then _burnBadDebt on every other debt
        if debt > needed:
            deficits[debt_asset] = debt - needed
        for asset, u in user.items():
            if asset != debt_asset and u.scaled_variable_debt:
                deficits[asset] = variable_debt_balance(u.scaled_variable_debt, reserves[asset], timestamp)
    disabled = coll + fee == balance
    scaled_out, scaled_fee, fee = _move_collateral(cr, cu, coll, fee, timestamp, receive_a_token)
    return AaveLiquidation(
        needed, coll, fee, acct.health_factor, max_debt, scaled_out, scaled_fee, scaled_debt, 0, deficits, disabled
    )


def rules_for_revision(pool_revision: int, *, strict: bool = True) -> Callable[..., AaveLiquidation]:
    """The liquidation function for a pool's `POOL_REVISION` (mapping in the module docstring).

    Revisions ≥ 9 (v3.5+) round some values the other way; with `strict=False` they get the
    v3.3 function, off by a few wei, else this raises `ValueError`.
    """
    if 1 <= pool_revision <= 6:
        return liquidation_call_v30
    if pool_revision in (7, 8) or (pool_revision >= 9 and not strict):
        return liquidation_call_v33
    raise ValueError(f"no exact Aave liquidation rules for POOL_REVISION {pool_revision} (exact: 1-8)")


def liquidation_call(pool_revision: int, *args, **kwargs) -> AaveLiquidation:
    """`liquidationCall` under the rules of `pool_revision`; arguments as `liquidation_call_v30`."""
    return rules_for_revision(pool_revision)(*args, **kwargs)
