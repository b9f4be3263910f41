"""Morpho Blue's liquidation rules for the solver, in floats (whole tokens), applicable to a
market's positions as arrays. The exact integer maths they follow is `maths` and `liquidation`,
checked against `Morpho.liquidate` on the devnet; the LLTV and the incentive factor come from the
snapshot (`market_collaterals`), where the indexer wrote the contract's own integer
`liquidationIncentiveFactor`.

* **Health** (`Morpho._isHealthy`): a position is liquidatable when its debt exceeds
  collateral × oracle price × LLTV; the oracle quotes the collateral in loan tokens.
* **Liquidation** (`Morpho.liquidate`): no close factor, so the solver closes a position whole:
  it seizes debt × LIF / price of collateral, or all of it, and repays seized × price / LIF.
* **Bad debt**: what is left owed once the collateral is gone is written off the market's
  supply at once: every supplier loses pro rata (`SOCIALISES_BAD_DEBT`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ORACLE_QUOTE", "SOCIALISES_BAD_DEBT", "borrow_limit", "liquidate", "liquidate_many"]

ORACLE_QUOTE = "loan"  # the oracle answers collateral's price in loan tokens
SOCIALISES_BAD_DEBT = True


def borrow_limit(collateral: np.ndarray, oracle: float, lltv: float) -> np.ndarray:
    """Most each position may owe and stay healthy: collateral × price × LLTV (loan tokens)."""
    return collateral * oracle * lltv


def liquidate(collateral: float, debt: float, oracle: float, lltv: float, incentive: float) -> tuple[float, float, float] | None:
    """`Morpho.liquidate` of a whole position: (collateral seized, debt repaid, bad debt written
    off), or None while the position is healthy."""
    if not (debt > 0 and debt > collateral * oracle * lltv):
        return None
    seized = min(collateral, debt * incentive / oracle) if oracle > 0 else collateral
    repaid = seized * oracle / incentive
    bad = debt - repaid if seized >= collateral else 0.0
    return seized, repaid, bad


def liquidate_many(
    collateral: np.ndarray, debt: np.ndarray, oracle: float, lltv: float, incentive: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """`liquidate` of each position at one oracle answer, element by element the same floats:
    (liquidatable, collateral seized, debt repaid, bad debt written off); zeros where healthy."""
    ok = (debt > 0) & (debt > collateral * oracle * lltv)
    if oracle > 0:
        most = debt * incentive / oracle
        seized = np.where(most < collateral, most, collateral)  # min(collateral, most), as Python picks it
    else:
        seized = collateral.copy()
    repaid = seized * oracle / incentive
    bad = np.where(seized >= collateral, debt - repaid, 0.0)
    return ok, np.where(ok, seized, 0.0), np.where(ok, repaid, 0.0), np.where(ok, bad, 0.0)
