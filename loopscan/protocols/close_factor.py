"""The health-factor liquidation with a close factor, in floats: how much of a debt one
liquidation may repay and what collateral it seizes for it.

Pooled-margin rules modules (`MarketBook.rules` of a `pooled` market) that liquidate this way
delegate here, so that the solver's one-at-a-time path and its compiled round
(`loopscan.solver.pooled_round`) run the same source. The functions take floats and bools only:
the compiled round compiles them as they are.

* **Close factor** (`repay_cap`): without the total-debt cap (`capped_by_total` False), at most
  half of the debt while the health factor is above `CLOSE_FACTOR_HF_THRESHOLD`, all of it
  below. With it, all of the debt, except that when the health factor is above the threshold and
  both the chosen collateral and the chosen debt are worth at least `MIN_BASE_MAX_CLOSE_FACTOR`
  (base currency), the repayment is capped at half of the account's *total* debt value.
* **Seizure** (`seize`): debt repaid × debt price × bonus / collateral price, capped at the
  collateral held (then less debt is covered).
"""

from __future__ import annotations

__all__ = ["CLOSE_FACTOR_HF_THRESHOLD", "MIN_BASE_MAX_CLOSE_FACTOR", "repay_cap", "seize"]

CLOSE_FACTOR_HF_THRESHOLD = 0.95
MIN_BASE_MAX_CLOSE_FACTOR = 2_000.0  # base currency (USD)


def repay_cap(
    health_factor: float, capped_by_total: bool, debt: float, debt_value: float, collateral_value: float, total_debt_value: float
) -> float:  # fmt: skip
    """Most of `debt` (tokens of the reserve being repaid, worth `debt_value`) one liquidation may
    repay (`collateral_value`: the chosen collateral's, `total_debt_value`: the account's)."""
    if capped_by_total:
        big = collateral_value >= MIN_BASE_MAX_CLOSE_FACTOR and debt_value >= MIN_BASE_MAX_CLOSE_FACTOR
        if big and health_factor > CLOSE_FACTOR_HF_THRESHOLD and debt_value > 0.5 * total_debt_value:
            return debt * (0.5 * total_debt_value) / debt_value
        return debt
    return (0.5 if health_factor > CLOSE_FACTOR_HF_THRESHOLD else 1.0) * debt


def seize(repay: float, debt_price: float, collateral_price: float, bonus: float, collateral: float) -> tuple[float, float]:
    """(collateral seized, debt repaid) for repaying `repay`, capped at the `collateral` held."""
    seized = repay * debt_price * bonus / collateral_price
    if seized > collateral:  # not enough of this collateral: cover less debt
        seized = collateral
        repay = seized * collateral_price / bonus / debt_price
    return seized, repay
