"""Gearbox v3.1's liquidation rules as its contracts compute them: integer maths, same rounding.

Every rule cites its source in `@gearbox-protocol/core-v3@1.52.1` (npm; Gearbox-protocol/core-v3
tag v1.52.1, commit b038597d), under `contracts/`. Amounts are raw token units; USD values have the
price feeds' 8 decimals; LTs, fees and premiums are basis points. The underlying is assumed to
have no transfer fee (`_amountWithFee` is the identity outside the USDT variants).

A credit account is liquidatable when its total weighted value (each enabled quoted token
`min(value × LT, quota)`, the underlying at `1 − premium − fee` with no cap) is below its total
debt (principal, base and quota interest, fees), both in USD.

The float functions at the end (`weighted_value`, `liquidatable`, `payments`, `first_liquidation`)
are the same rules for the solver: USD values and fractions, arrays of an account's tokens, no
rounding. `tests/protocols/gearbox/test_gearbox_float_rules.py` holds them to the integer ones.
`weighted_values`, `caps`, `owed`, `reserves` and `liquidate_account` are what the solver's credit-account
margin (`loopscan.solver.accounts`) asks of an ``account``-margin protocol: the same rules over
every account of a credit manager at once, its quotas and fees read from `market_params`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from loopscan.protocols.spec import AccountLiquidation

__all__ = [
    "PERCENTAGE_FACTOR",
    "RAY",
    "TokenPosition",
    "Underlying",
    "LiquidationPayments",
    "convert_to_usd",
    "convert_from_usd",
    "lt_underlying",
    "liquidation_threshold",
    "collateral_usd",
    "total_debt",
    "is_liquidatable",
    "has_bad_debt",
    "liquidation_payments",
    "PartialLiquidation",
    "partial_liquidation",
    "threshold_price",
    "ORACLE_QUOTE",
    "SOCIALISES_BAD_DEBT",
    "weighted_value",
    "liquidatable",
    "Payments",
    "payments",
    "first_liquidation",
    "weighted_values",
    "caps",
    "owed",
    "reserves",
    "liquidate_account",
]

PERCENTAGE_FACTOR = 10_000  # libraries/Constants.sol
RAY = 10**27  # libraries/Constants.sol
ORACLE_QUOTE = "numeraire"  # PriceOracleV3 answers USD
# pool/PoolV3.sol `repayCreditAccount`: a loss burns the treasury's shares first, then lowers the
# pool's expected liquidity: every liquidity provider loses pro rata.
SOCIALISES_BAD_DEBT = True


@dataclass(frozen=True)
class TokenPosition:
    """One enabled non-underlying token of an account: balance, feed answer, LT and quota."""

    balance: int
    price: int  # the main feed's answer, USD with 8 decimals
    decimals: int
    lt_bps: int  # the LT now (see `liquidation_threshold` for ramps)
    quota: int  # raw units of the underlying


@dataclass(frozen=True)
class Underlying:
    balance: int  # held by the account
    price: int
    decimals: int


@dataclass(frozen=True)
class LiquidationPayments:
    """`CreditLogic.calcLiquidationPayments`: what the pool, the owner and the liquidator get."""

    to_pool: int  # underlying transferred to the pool
    remaining_funds: int  # the least left on the account for its owner
    profit: int  # pool profit above debt + interest (the fees)
    loss: int  # debt + interest the pool does not get back
    premium: int  # total value less what the liquidator pays in: its discount on the collateral


def convert_to_usd(amount: int, price: int, decimals: int) -> int:
    """core/PriceOracleV3.sol:99-101 `convertToUSD`: amount × price / 10^decimals, rounded down."""
    return amount * price // 10**decimals


def convert_from_usd(amount_usd: int, price: int, decimals: int) -> int:
    """core/PriceOracleV3.sol:105-107 `convertFromUSD`: amount × 10^decimals / price, rounded down."""
    return amount_usd * 10**decimals // price


def lt_underlying(liquidation_premium_bps: int, fee_liquidation_bps: int) -> int:
    """credit/CreditManagerV3.sol:184: the underlying's LT is 1 − premium − liquidation fee."""
    return PERCENTAGE_FACTOR - liquidation_premium_bps - fee_liquidation_bps


def liquidation_threshold(lt_initial: int, lt_final: int, ramp_start: int, ramp_duration: int, timestamp: int) -> int:
    """libraries/CreditLogic.sol:111-126 `getLiquidationThreshold`: linear ramp, rounded down."""
    if timestamp <= ramp_start:
        return lt_initial
    ramp_end = ramp_start + ramp_duration
    if timestamp >= ramp_end:
        return lt_final
    return (lt_initial * (ramp_end - timestamp) + lt_final * (timestamp - ramp_start)) // (ramp_end - ramp_start)


def collateral_usd(tokens: Iterable[TokenPosition], underlying: Underlying, lt_underlying_bps: int) -> tuple[int, int]:
    """(total value, total weighted value) in USD: libraries/CollateralLogic.sol:36-83 `calcCollateral`.

    The quota is converted through the underlying's price of one RAY (line 46, 60); each token
    counts `min(value × LT / 10^4, quota in USD)` (line 107); the underlying has no quota cap.
    """
    underlying_price_ray = convert_to_usd(RAY, underlying.price, underlying.decimals)
    total = weighted = 0
    for token in tokens:
        if token.balance == 0:  # CollateralLogic.sol:105: a zero balance is worth nothing
            continue
        value = convert_to_usd(token.balance, token.price, token.decimals)
        total += value
        weighted += min(value * token.lt_bps // PERCENTAGE_FACTOR, token.quota * underlying_price_ray // RAY)
    if underlying.balance:
        value = convert_to_usd(underlying.balance, underlying.price, underlying.decimals)
        total += value
        weighted += value * lt_underlying_bps // PERCENTAGE_FACTOR
    return total, weighted


def total_debt(debt: int, accrued_interest: int, accrued_fees: int) -> int:
    """libraries/CreditLogic.sol:42-44 `calcTotalDebt`; interest includes quota interest."""
    return debt + accrued_interest + accrued_fees


def is_liquidatable(twv_usd: int, total_debt_usd: int) -> bool:
    """credit/CreditFacadeV3.sol:981: unhealthy when the weighted value is strictly below the debt
    (`totalDebtUSD` is the total debt through `convert_to_usd`, CreditManagerV3.sol:758)."""
    return twv_usd < total_debt_usd


def has_bad_debt(total_value: int, debt: int, accrued_interest: int, liquidation_discount_bps: int) -> bool:
    """credit/CreditFacadeV3.sol:986-991 `_hasBadDebt`: then the loss policy must allow it."""
    return total_value * liquidation_discount_bps < (debt + accrued_interest) * PERCENTAGE_FACTOR


def liquidation_payments(
    debt: int,
    accrued_interest: int,
    accrued_fees: int,
    total_value: int,
    fee_liquidation_bps: int,
    liquidation_discount_bps: int,
) -> LiquidationPayments:
    """libraries/CreditLogic.sol:67-101 `calcLiquidationPayments`, `total_value` in the underlying
    (`convert_from_usd` of the total USD value, CreditManagerV3.sol:783). The discount is
    1 − premium (CreditManagerV3.sol:187); for expired accounts pass the expired fee and discount."""
    to_pool = total_debt(debt, accrued_interest, accrued_fees) + total_value * fee_liquidation_bps // PERCENTAGE_FACTOR
    total_funds = total_value * liquidation_discount_bps // PERCENTAGE_FACTOR
    remaining = 0
    if total_funds > to_pool:
        remaining = total_funds - to_pool
    else:
        to_pool = total_funds
    owed = debt + accrued_interest
    profit, loss = (to_pool - owed, 0) if to_pool >= owed else (0, owed - to_pool)
    return LiquidationPayments(to_pool, remaining, profit, loss, total_value - total_funds)


@dataclass(frozen=True)
class PartialLiquidation:
    """`CreditFacadeV3.partiallyLiquidateCreditAccount`: of `amount` of the underlying paid in, `fee`
    goes to the treasury and `repaid` reduces the total debt; the liquidator takes `seized` of the
    token. The account must be healthy afterwards (CreditFacadeV3.sol:429-435) or it reverts."""

    repaid: int
    fee: int
    seized: int


def partial_liquidation(
    amount: int, underlying: Underlying, token_price: int, token_decimals: int, fee_liquidation_bps: int,
    liquidation_discount_bps: int,
) -> PartialLiquidation:  # fmt: skip
    """credit/CreditFacadeV3.sol:997-1017 `_calcPartialLiquidationPayments`: the amount converted
    into the token (core/PriceOracleV3.sol:111-115 `convert`, one rounding) and divided by the
    discount. When `repaid` covers the interest and fees, the total debt falls by exactly `repaid`
    (libraries/CreditLogic.sol:177 `calcDecrease` takes the same fee splits `total_debt` adds)."""
    converted = amount * underlying.price * 10**token_decimals // (token_price * 10**underlying.decimals)
    fee = amount * fee_liquidation_bps // PERCENTAGE_FACTOR
    return PartialLiquidation(amount - fee, fee, converted * PERCENTAGE_FACTOR // liquidation_discount_bps)


def threshold_price(
    token: TokenPosition, others: Iterable[TokenPosition], underlying: Underlying, lt_underlying_bps: int,
    total_debt_amount: int,
) -> int | None:  # fmt: skip
    """The lowest answer of `token`'s feed at which the account is not liquidatable, everything
    else fixed; None when no price makes it healthy (the quota caps the token's weight).

    Liquidation starts one feed unit below it. The weighted value is monotone in the price, so a
    bisection over integers finds it exactly.
    """
    others = tuple(others)
    debt_usd = convert_to_usd(total_debt_amount, underlying.price, underlying.decimals)

    def healthy(price: int) -> bool:
        tokens = (TokenPosition(token.balance, price, token.decimals, token.lt_bps, token.quota), *others)
        return not is_liquidatable(collateral_usd(tokens, underlying, lt_underlying_bps)[1], debt_usd)

    low, high = 0, 1
    while not healthy(high):
        if high > 2**128:
            return None
        high *= 2
    while high - low > 1:  # invariant: healthy(high), and low is 0 or not healthy
        mid = (low + high) // 2
        low, high = (low, mid) if healthy(mid) else (mid, high)
    return high if not healthy(low) else low


# -- floats, for the solver ----------------------------------------------------------------------


def weighted_value(values: np.ndarray, lts: np.ndarray, quotas: np.ndarray, underlying_value: float,
                   lt_underlying: float) -> float:  # fmt: skip
    """`collateral_usd`'s weighted value: Σ min(value × LT, quota) over the quoted tokens (USD, LTs
    as fractions, quotas in USD), plus the underlying's value × its LT."""
    return float(weighted_values(values[None, :], lts, quotas[None, :])[0]) + underlying_value * lt_underlying


def weighted_values(values: np.ndarray, lts: np.ndarray, caps_usd: np.ndarray) -> np.ndarray:
    """`collateral_usd`'s weighted value of many accounts: `values` (accounts × tokens, USD at the
    oracle), `lts` per token (fractions), `caps_usd` like `values` (the quotas in USD; inf where a
    token has no cap: the underlying). Σ over tokens of min(value × LT, cap)."""
    return np.minimum(values * lts, caps_usd).sum(axis=1)


def caps(params: dict[str, int], accounts: list[str], tokens: list[str], underlying: str) -> np.ndarray:
    """Each account's quota per token (accounts × tokens, raw units of the underlying) from the
    indexer's `quota:<account>:<token>` params; inf for the underlying (never capped,
    CollateralLogic.sol:88-92). A quoted token with no quota read counts nothing (quota 0), as
    the contract counts an enabled token without quota."""
    out = np.array([[params.get(f"quota:{a}:{t}", 0) for t in tokens] for a in accounts], dtype=float).reshape(len(accounts), len(tokens))
    out[:, [t == underlying for t in tokens]] = np.inf
    return out


def owed(params: dict[str, int], accounts: list[str], total_debt_raw: np.ndarray) -> np.ndarray:
    """What the pool is owed of each account's total debt (raw units): debt and interest, the
    total less the DAO's accrued fees (`fees:<account>`, CreditLogic.sol:86-98 counts a loss
    against debt + interest only)."""
    return total_debt_raw - np.array([params.get(f"fees:{a}", 0) for a in accounts], dtype=float)


def reserves(params: dict[str, int]) -> int:
    """What absorbs a loss before the lenders (raw units): nothing read. PoolV3 burns the
    treasury's shares first (`repayCreditAccount`); their value is not read, so a loss is the
    lenders' whole."""
    return 0


def liquidate_account(values: np.ndarray, loan_price: float, tokens: list[str], total_debt_: float, owed_: float,
                      params: dict[str, int], lts: np.ndarray) -> AccountLiquidation:  # fmt: skip
    """`liquidateCreditAccount` of a whole account (CreditFacadeV3.sol:327-400), `values` each
    token's value at the oracle (numeraire), priced in the underlying at `loan_price`: the pool
    gets the total debt plus the liquidation fee on the value, out of what the liquidator pays (the
    value less the premium); the owner keeps the rest; the liquidator takes every token; the
    shortfall against debt + interest is the pool's loss, which the loss policy lets through
    (the devnet's `AliasedLossPolicyV3` allows it; a policy that blocks it leaves only
    `partiallyLiquidateCreditAccount`, which must leave the account healthy, so it cannot close
    an account under water). The normal fee and discount: an expirable manager's expired terms
    (`fee_liquidation_expired_bps`) are not applied yet."""
    fee, discount = params["fee_liquidation_bps"], params["liquidation_discount_bps"]
    total_value = float(values.sum()) / loan_price if loan_price > 0 else 0.0
    paid = payments(total_value, total_debt_, owed_, fee / PERCENTAGE_FACTOR, discount / PERCENTAGE_FACTOR)
    return AccountLiquidation(np.ones(len(values)), total_debt_, paid.to_pool + paid.remaining, paid.to_pool, paid.loss)


def liquidatable(twv: float, debt: float) -> bool:
    """`is_liquidatable`: the weighted value strictly below the total debt (USD)."""
    return twv < debt


@dataclass(frozen=True)
class Payments:
    """`LiquidationPayments` in floats (units of the underlying)."""

    to_pool: float
    remaining: float
    loss: float
    premium: float


def payments(total_value: float, total_debt_: float, owed: float, fee_liquidation: float, discount: float) -> Payments:
    """`liquidation_payments` of a whole account: the pool is owed the total debt plus
    `fee_liquidation` of the value, gets at most value × `discount` (the liquidator's price); the
    owner keeps the rest; what falls short of `owed` (debt and interest, no fees) is lost."""
    funds = total_value * discount
    to_pool = min(total_debt_ + total_value * fee_liquidation, funds)
    return Payments(to_pool, funds - to_pool, max(owed - to_pool, 0.0), total_value - funds)


def first_liquidation(values: np.ndarray, lts: np.ndarray, quotas: np.ndarray, shocked: np.ndarray,
                      other_weighted: float, debt: float) -> float | None:  # fmt: skip
    """The fall δ of the `shocked` tokens' prices (all by the same fraction) at which the account
    becomes liquidatable; 0.0 if it already is, None if no fall makes it so (the unshocked rest
    covers the debt). `other_weighted` is the weighted value that does not move (the underlying).

    The weighted value is piecewise linear in the price factor f = 1 − δ: each shocked token adds
    value × LT × f until its quota binds at f = quota / (value × LT). Walking the breakpoints down
    from f = 1 finds the f where it meets the debt.
    """
    fixed = other_weighted + float(np.minimum(values * lts, quotas)[~shocked].sum())
    slopes, caps = (values * lts)[shocked], quotas[shocked]
    twv = lambda f: fixed + float(np.minimum(slopes * f, caps).sum())  # noqa: E731
    if liquidatable(twv(1.0), debt):
        return 0.0
    if not liquidatable(fixed, debt):
        return None
    ends = sorted({0.0, 1.0, *(float(b) for b in caps[slopes > 0] / slopes[slopes > 0] if b < 1.0)}, reverse=True)
    # The first segment whose lower end is at or under the debt holds the crossing (twv(0) is
    # `fixed`, under it); there twv is linear.
    high, low = next((h, lo) for h, lo in zip(ends, ends[1:], strict=False) if twv(lo) <= debt)
    at_high, at_low = twv(high), twv(low)
    return 1.0 - (low + (debt - at_low) * (high - low) / (at_high - at_low) if at_high > at_low else low)
