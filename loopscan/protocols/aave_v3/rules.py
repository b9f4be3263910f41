"""Aave v3's liquidation rules for the solver, in floats (whole tokens, prices in the pool's base
currency), mirroring the integer `liquidation` module (`liquidation_call_v30` / `_v33`), which
is checked against `Pool.liquidationCall` on the devnet (v3.0) and follows the v3.3 sources.

* **Health** (`GenericLogic.calculateUserAccountData`): an account is liquidatable when its
  health factor, Σ collateral × price × liquidation threshold over Σ debt × price across every
  reserve of the pool, is below 1; each reserve's oracle quotes it in the numeraire.
* **Close factor** (`max_repay`): v3.0–v3.2 (POOL_REVISION 1–6) repay at most 50 % of the debt
  in the chosen reserve while HF > 0.95, all of it below; v3.3+ (7+) repay all of it, except
  that when HF > 0.95 and both this collateral and this debt are worth at least 2,000 (base
  currency) the repayment is capped at half of the account's *total* debt value.
* **Seizure** (`seize`): debt repaid × debt price × bonus / collateral price, capped at the
  collateral held (then less debt is covered).
* **Which reserves a liquidation may touch** (`usable`, `refusal`;
  `ValidationLogic.validateLiquidationCall`): both the collateral and the debt reserve must be
  active (else `Errors.RESERVE_INACTIVE`, '27') and not paused (`Errors.RESERVE_PAUSED`, '29').
  A frozen reserve can still be liquidated. The health factor still counts every reserve: an
  account whose only legs are paused is liquidatable by health, yet nobody can close it.
* **Bad debt** is not written off by the float solver: what an account owes beyond its
  collateral stays as the reserves' loss (hidden bad debt; v3.3's deficit), not socialised.
"""

from __future__ import annotations

__all__ = ["ORACLE_QUOTE", "SOCIALISES_BAD_DEBT", "max_repay", "refusal", "seize", "usable"]

ORACLE_QUOTE = "numeraire"  # each reserve's price source answers in the pool's base currency
SOCIALISES_BAD_DEBT = False

CLOSE_FACTOR_HF_THRESHOLD = 0.95  # liquidation.CLOSE_FACTOR_HF_THRESHOLD
MIN_BASE_MAX_CLOSE_FACTOR = 2_000.0  # v3.3's MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD, in base currency (USD)
FIRST_V33_REVISION = 7  # liquidation.rules_for_revision


def max_repay(
    health_factor: float, params: dict[str, int], debt: float, debt_value: float, collateral_value: float, total_debt_value: float
) -> float:  # fmt: skip
    """Most of `debt` (tokens of the reserve being repaid, worth `debt_value`) one `liquidationCall`
    may repay, by the pool's `protocol_revision` in the debt reserve's `params` (`collateral_value`:
    the chosen collateral's, `total_debt_value`: the account's)."""
    if params.get("protocol_revision", 1) >= FIRST_V33_REVISION:
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


def refusal(params: dict[str, int]) -> str | None:
    """Why `Pool.liquidationCall` refuses a reserve as either leg, by its switches in `params`
    (`market_params`), or None if it accepts it: 'paused' (`RESERVE_PAUSED`) or 'inactive'
    (`RESERVE_INACTIVE`). A switch not read counts as the default (active, not paused): the
    indexer reads both with the reserve's configuration, so they are missing only with it."""
    if not params.get("active", 1):  # checked first, as the contract does
        return "inactive"
    if params.get("paused", 0):
        return "paused"
    return None


def usable(params: dict[str, int]) -> bool:
    """Whether a liquidation may repay debt of, or seize collateral from, this reserve (`refusal`)."""
    return refusal(params) is None
