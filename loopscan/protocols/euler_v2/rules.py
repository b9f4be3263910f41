"""Euler v2 (EVK vaults on the EVC): account health, the liquidation discount and what a liquidation
repays and seizes, integer for integer as the contracts compute them.

Source: euler-xyz/euler-vault-kit at 5b98b42048ba11ae82fb62dfec06d1010c8e41e6
(`src/EVault/modules/Liquidation.sol`, `src/EVault/shared/LiquidityUtils.sol`,
`src/EVault/shared/types/LTVConfig.sol`) and euler-xyz/ethereum-vault-connector at
34bb788288a0eb0fbba06bc370cb8ca3dd42614e (`src/EthereumVaultConnector.sol`), cited beside each rule.

How Euler differs from Aave and Morpho: the debt vault (the *controller*) sets an LTV per collateral
vault; a liquidation's discount is not a fixed bonus but the violator's health score itself
(`1 − discount = collateral × liquidationLTV / liability`), floored at `1 − maxLiquidationDiscount`;
the liquidator takes over debt and receives collateral *vault shares* from one chosen collateral of
the violator; debt left on an account with no collateral left is socialised (written off against
the vault's depositors). Lowered liquidation LTVs ramp down linearly instead of jumping.

The float functions at the end (`weighted_values`, `liquidatable`, `caps`, `owed`, `reserves`,
`liquidate_account`) are the same rules for the solver's ``account`` margin
(`loopscan.solver.accounts`), values in one unit per vault, no rounding;
`tests/protocols/test_euler_v2_float_rules.py` holds them to the integer ones.

Values are in the vault's unit of account, as its oracle router's `getQuote` answers them (mid
prices for liquidation); the caller supplies those quotes. Every account is one EVC address: a
sub-account is a separate account with its own controller and collaterals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from loopscan.errors import LoopscanError
from loopscan.protocols.spec import AccountLiquidation

__all__ = [
    "CONFIG_SCALE", "MIN_SOCIALIZATION_LIABILITY_VALUE", "EulerError", "LTVConfig", "Collateral", "Liquidation",
    "have_common_owner", "sub_account", "collateral_value", "account_liquidity", "max_liquidation", "liquidate",
    "socialized_debt", "CFG_DONT_SOCIALIZE_DEBT", "ORACLE_QUOTE", "SOCIALISES_BAD_DEBT", "weighted_values", "liquidatable",
    "caps", "owed", "reserves", "liquidate_account",
]  # fmt: skip

CONFIG_SCALE = 10_000  # Constants.sol: ConfigAmount is a uint16 fraction of 1e4
WAD = 10**18
MIN_SOCIALIZATION_LIABILITY_VALUE = 10**6  # Liquidation.sol
CFG_DONT_SOCIALIZE_DEBT = 1 << 0  # src/EVault/shared/Constants.sol: a vault's `configFlags` bit
ORACLE_QUOTE = "loan"  # the indexer writes each collateral's quote over the debt's: asset units per share
# Liquidation.sol `executeLiquidation`: debt left on an account with no collateral is written off
# the vault's total borrows, so its depositors' shares are worth less (unless CFG_DONT_SOCIALIZE_DEBT).
SOCIALISES_BAD_DEBT = True


class EulerError(LoopscanError):
    """The vault would revert (E_ExcessiveRepayAmount, E_MinYield, ...)."""


def have_common_owner(account: str, other: str) -> bool:
    """EthereumVaultConnector.sol `haveCommonOwnerInternal`: addresses differing only in the last
    byte belong to one owner, who has 256 sub-accounts."""
    return int(account, 16) ^ int(other, 16) < 0x100


def sub_account(owner: str, index: int) -> str:
    """Sub-account `index` (0..255) of `owner`: its address with the last byte XORed by `index`."""
    if not 0 <= index < 256:
        raise EulerError(f"sub-account index {index} is outside 0..255")
    return "0x" + f"{int(owner, 16) ^ index:040x}"


@dataclass(frozen=True)
class LTVConfig:
    """A controller vault's LTV for one collateral vault (`LTVFull(collateral)`), in CONFIG_SCALE."""

    borrow_ltv: int
    liquidation_ltv: int
    initial_liquidation_ltv: int
    target_timestamp: int
    ramp_duration: int

    @property
    def recognized(self) -> bool:
        # LTVConfig.sol `isRecognizedCollateral`: an LTV was ever set
        return self.target_timestamp != 0

    def ltv(self, timestamp: int, liquidation: bool) -> int:
        """LTVConfig.sol `getLTV`: the borrow LTV at once; the liquidation LTV ramps linearly down
        from its initial value to its target over `ramp_duration` (only ever down)."""
        if not liquidation:
            return self.borrow_ltv
        if timestamp >= self.target_timestamp or self.liquidation_ltv >= self.initial_liquidation_ltv:
            return self.liquidation_ltv
        remaining = self.target_timestamp - timestamp
        return (
            self.liquidation_ltv
            + (self.initial_liquidation_ltv - self.liquidation_ltv) * remaining // self.ramp_duration
        )


@dataclass(frozen=True)
class Collateral:
    """One collateral vault enabled by the account: its share balance, the mid-price quote of that
    balance in the unit of account (`getQuote(balance, vault, unitOfAccount)`) and its LTV."""

    vault: str
    balance: int
    value: int
    ltv: LTVConfig


class Liquidation(NamedTuple):
    """What a liquidation does: debt (`repay`, liability asset units) moved to the liquidator,
    collateral shares (`yield_balance`) moved to it, and the discount factor used (WAD)."""

    repay: int
    yield_balance: int
    discount_factor: int


def collateral_value(c: Collateral, timestamp: int, liquidation: bool) -> int:
    """LiquidityUtils.sol `getCollateralValue`: the quote times the LTV, 0 without LTV or balance."""
    ltv = c.ltv.ltv(timestamp, liquidation)
    if ltv == 0 or c.balance == 0:
        return 0
    return c.value * ltv // CONFIG_SCALE


def account_liquidity(
    collaterals: Sequence[Collateral], liability_value: int, timestamp: int, liquidation: bool
) -> tuple[int, int]:
    """LiquidityUtils.sol `calculateLiquidity`: (LTV-adjusted collateral value, liability value)."""
    return sum(collateral_value(c, timestamp, liquidation) for c in collaterals), liability_value


def max_liquidation(
    collaterals: Sequence[Collateral],
    seized: str,
    liability: int,
    liability_value: int,
    max_discount: int,
    timestamp: int,
) -> Liquidation:
    """Liquidation.sol `calculateMaxLiquidation`: the most debt (`liability` is `debtOf`, asset
    units) a liquidator may take over against collateral vault `seized`, and the shares it gets."""
    chosen = next((c for c in collaterals if c.vault == seized), None)
    if chosen is None or not chosen.ltv.recognized:
        raise EulerError("E_BadCollateral / E_CollateralDisabled: not a recognised, enabled collateral")
    if liability == 0:
        return Liquidation(0, 0, WAD)
    adjusted, _ = account_liquidity(collaterals, liability_value, timestamp, liquidation=True)
    if adjusted > liability_value or liability_value == 0:
        return Liquidation(0, 0, WAD)  # no violation
    # discountFactor = health score = 1 - discount, floored at 1 - maxLiquidationDiscount
    discount_factor = max(adjusted * WAD // liability_value, WAD - WAD * max_discount // CONFIG_SCALE)
    if chosen.value == 0:  # worthless collateral is claimed with no repay
        return Liquidation(0, chosen.balance, discount_factor)
    max_repay_value, max_yield_value = liability_value, liability_value * WAD // discount_factor
    if chosen.value < max_yield_value:  # all of this collateral does not cover the debt
        max_repay_value, max_yield_value = chosen.value * discount_factor // WAD, chosen.value
    return Liquidation(
        max_repay_value * liability // liability_value,
        max_yield_value * chosen.balance // chosen.value,
        discount_factor,
    )


def liquidate(most: Liquidation, desired_repay: int | None = None, min_yield: int = 0) -> Liquidation:
    """Liquidation.sol `calculateLiquidation` (desired repay) and `executeLiquidation` (minimum
    yield): a smaller repay seizes proportionally fewer shares; `None` is `type(uint256).max`."""
    if desired_repay is not None:
        if desired_repay > most.repay:
            raise EulerError("E_ExcessiveRepayAmount")
        if most.repay > 0:
            most = Liquidation(desired_repay, desired_repay * most.yield_balance // most.repay, most.discount_factor)
    if min_yield > most.yield_balance:
        raise EulerError("E_MinYield")
    return most


def socialized_debt(
    liability: int,
    repay: int,
    liability_value: int,
    balances_after: Sequence[tuple[bool, int]],
    dont_socialize: bool = False,
) -> int:
    """Liquidation.sol `executeLiquidation` / LiquidityUtils.sol `checkNoCollateral`: the debt the
    vault writes off after a liquidation that left the violator no recognised collateral.
    `balances_after` is (recognised, share balance) per enabled collateral, after the seizure."""
    no_collateral = all(balance == 0 for recognized, balance in balances_after if recognized)
    if (
        liability_value >= MIN_SOCIALIZATION_LIABILITY_VALUE
        and not dont_socialize
        and liability > repay
        and no_collateral
    ):
        return liability - repay
    return 0


# -- floats, for the solver ----------------------------------------------------------------------


def weighted_values(values: np.ndarray, lts: np.ndarray, caps_usd: np.ndarray) -> np.ndarray:
    """`account_liquidity`'s collateral side for many accounts (`liquidation=True`): Σ value × its
    liquidation LTV at the pin (`lts`, ramp included); nothing is capped (`caps_usd` all inf)."""
    return (values * lts).sum(axis=1)


def liquidatable(adjusted: float | np.ndarray, liability: float | np.ndarray) -> bool | np.ndarray:
    """`max_liquidation`'s violation: the adjusted collateral not above the liability."""
    return adjusted <= liability


def caps(params: dict[str, int], accounts: list[str], tokens: list[str], asset: str) -> np.ndarray:
    """The EVK caps supply and borrows, not a collateral's weight: all inf."""
    return np.full((len(accounts), len(tokens)), np.inf)


def owed(params: dict[str, int], accounts: list[str], total_debt_raw: np.ndarray) -> np.ndarray:
    """The depositors are owed the whole `debtOf` (interest fees are shares minted, not carved out)."""
    return total_debt_raw


def reserves(params: dict[str, int]) -> int:
    """Nothing stands before the depositors: socialised debt is theirs at once."""
    return 0


def liquidate_account(values: np.ndarray, loan_price: float, tokens: list[str], debt: float, owed_: float,
                      params: dict[str, int], lts: np.ndarray) -> AccountLiquidation:  # fmt: skip
    """One liquidation as `max_liquidation` allows it and a rational liquidator chooses it: the
    collateral (a column of `values`, each at the oracle in the market's unit; the debt is worth
    `debt` × `loan_price`) whose seizure repays the most, and all the repay that one allows (a
    liquidator's profit is the repay's value × (1 / discount factor − 1), so the most repay is the
    most profit). The discount factor is the health score floored at 1 − maxLiquidationDiscount;
    the liquidator takes over `repay` of debt and the shares worth repay / factor, up to all of
    that collateral. Where that leaves no collateral (no other column worth anything) the rest of
    the debt is socialised (`socialized_debt`), unless the vault sets CFG_DONT_SOCIALIZE_DEBT; the
    floats do not apply the floor MIN_SOCIALIZATION_LIABILITY_VALUE (1e6 units of account: a
    millionth of a cent with a USD unit). Where every collateral is worthless the liquidator takes
    them all for nothing (a zero `chosen.value` is claimed with no repay)."""
    liability = debt * loan_price
    adjusted = float((values * lts).sum())
    floor = 1.0 - params["max_liquidation_discount"] / CONFIG_SCALE
    factor = max(adjusted / liability, floor) if liability > 0 else 1.0
    taken = np.zeros(len(values))
    if not (values > 0).any():
        taken[:] = 1.0
        repay = 0.0
    else:
        k = int(np.argmax(np.minimum(values * factor, liability)))
        most_yield = liability / factor
        if values[k] < most_yield:  # all of it does not cover the debt
            taken[k], repay = 1.0, debt * (values[k] * factor / liability)
        else:
            taken[k], repay = most_yield / values[k], debt
    left = np.delete(values, np.flatnonzero(taken == 1.0))
    socialise = not params.get("config_flags", 0) & CFG_DONT_SOCIALIZE_DEBT
    if socialise and repay < debt and not (left > 0).any():
        return AccountLiquidation(taken, debt, repay, repay, debt - repay)
    return AccountLiquidation(taken, repay, repay, repay, 0.0)
