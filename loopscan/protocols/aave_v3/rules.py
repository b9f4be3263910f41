"""Aave v3's liquidation rules for the solver, in floats (whole tokens, prices in the pool's base
currency), mirroring the integer `liquidation` module (`liquidation_call_v30` / `_v33`), which
is checked against `Pool.liquidationCall` on the devnet (v3.0) and follows the v3.3 sources.

* **Health** (`GenericLogic.calculateUserAccountData`): an account is liquidatable when its
  health factor, Σ collateral × price × liquidation threshold over Σ debt × price across every
  reserve of the pool, is below 1; each reserve's oracle quotes it in the numeraire.
* **Close factor** (`max_repay`, by `close_factor.repay_cap`): v3.0–v3.2 (POOL_REVISION 1–6) repay at most 50 % of the debt
  in the chosen reserve while HF > 0.95, all of it below; v3.3+ (7+) repay all of it, except
  that when HF > 0.95 and both this collateral and this debt are worth at least 2,000 (base
  currency) the repayment is capped at half of the account's *total* debt value.
* **Seizure** (`seize`, `close_factor`'s): debt repaid × debt price × bonus / collateral price, capped at the
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

from loopscan.protocols.close_factor import repay_cap, seize

__all__ = ["CLOSE_FACTOR", "ORACLE_QUOTE", "SOCIALISES_BAD_DEBT", "capped_by_total", "max_repay", "refusal", "seize", "usable"]

ORACLE_QUOTE = "numeraire"  # each reserve's price source answers in the pool's base currency
SOCIALISES_BAD_DEBT = False
CLOSE_FACTOR = True  # liquidates by `close_factor`'s rule alone: the solver may run its rounds compiled

FIRST_V33_REVISION = 7  # liquidation.rules_for_revision


def capped_by_total(params: dict[str, int]) -> bool:
    """Whether the close factor caps a repayment at half the account's total debt (v3.3+: the pool's
    `protocol_revision` in the debt reserve's `params` is 7 or more) rather than at half this debt."""
    return params.get("protocol_revision", 1) >= FIRST_V33_REVISION


def max_repay(
    health_factor: float, params: dict[str, int], debt: float, debt_value: float, collateral_value: float, total_debt_value: float
) -> float:  # fmt: skip
    """Most of `debt` (tokens of the reserve being repaid, worth `debt_value`) one `liquidationCall`
    may repay, by the pool's revision in the debt reserve's `params` (`collateral_value`: the
    chosen collateral's, `total_debt_value`: the account's)."""
    return repay_cap(health_factor, capped_by_total(params), debt, debt_value, collateral_value, total_debt_value)


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
