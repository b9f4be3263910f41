"""Euler v2's float rules (the solver's ``account`` margin) against its integer rules (the EVK's own
maths, `test_euler_v2_rules.py` holds them to the EVK's tests): the violation, the collateral a
rational liquidator chooses, what it repays and seizes, and the debt socialised must agree, so the
two cannot drift apart."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from loopscan.protocols.euler_v2 import rules
from loopscan.protocols.euler_v2.rules import CFG_DONT_SOCIALIZE_DEBT, Collateral, LTVConfig, account_liquidity

W = 10**18
T = 1_000_000

collaterals = st.lists(
    st.tuples(st.integers(1, 10**24), st.integers(0, 10**24), st.integers(1, 9_500)),  # shares, quote, liquidation LTV
    min_size=1,
    max_size=4,
)


def _integer(raw) -> list[Collateral]:
    return [Collateral(f"0x{k + 1:040x}", balance, value, LTVConfig(ltv, ltv, 0, 1, 0)) for k, (balance, value, ltv) in enumerate(raw)]


@settings(max_examples=300, deadline=None)
@given(collaterals, st.integers(1, 10**24), st.integers(0, 9_999), st.booleans())
def test_one_liquidation_is_the_integer_one(raw, liability, cap, dont_socialize):
    """Debt in its own unit (1 asset = 1 unit of account, 18 decimals): the float liquidation seizes
    the collateral whose integer `max_liquidation` repays the most, repays and seizes what it allows,
    and socialises what `socialized_debt` does."""
    cols = _integer(raw)
    adjusted, _ = account_liquidity(cols, liability, T, liquidation=True)
    exact = sum(c.value * c.ltv.liquidation_ltv for c in cols)  # × 1e-4, unrounded
    assume(exact <= liability * 10_000 * (1 - 1e-9))  # a violation, clear of the integers' rounding
    assert adjusted <= liability
    values = np.array([c.value / W for c in cols] + [0.0])  # the loan token's column: no collateral
    lts = np.array([c.ltv.liquidation_ltv / 1e4 for c in cols] + [0.0])
    assert rules.liquidatable(rules.weighted_values(values[None, :], lts, rules.caps({}, ["a"], [], ""))[0], liability / W)
    params = {"max_liquidation_discount": cap, "config_flags": CFG_DONT_SOCIALIZE_DEBT if dont_socialize else 0}
    done = rules.liquidate_account(values, 1.0, [c.vault for c in cols] + ["loan"], liability / W, liability / W, params, lts)
    assert not done.forced and done.paid == done.to_pool
    repays = [rules.max_liquidation(cols, c.vault, liability, liability, cap, T).repay for c in cols]
    if not any(c.value for c in cols):  # all worthless: claimed for nothing, every one of them
        assert (done.taken == 1.0).all() and done.paid == 0.0
        return
    (k,) = np.flatnonzero(done.taken[:-1] > 0)
    assume(max(repays) - repays[k] > 1e-9 * liability + 2)  # ties (to rounding) may go either way
    assert repays[k] == max(repays)
    most = rules.max_liquidation(cols, cols[k].vault, liability, liability, cap, T)
    tolerance = 1e-9 * liability / W + 2 / W
    assert abs(done.paid - most.repay / W) <= tolerance
    assert abs(done.taken[k] * cols[k].balance - most.yield_balance) <= 1e-9 * cols[k].balance + 2
    after = [(True, c.balance - (most.yield_balance if j == k else 0)) for j, c in enumerate(cols)]
    lost = rules.socialized_debt(liability, most.repay, liability, after, dont_socialize)
    assume(liability >= rules.MIN_SOCIALIZATION_LIABILITY_VALUE)  # the floats leave out that floor
    assume(all(c.value for j, c in enumerate(cols) if j != k) or most.yield_balance != cols[k].balance)  # a worthless one left
    assert abs(done.loss - lost / W) <= tolerance
    assert abs(done.repaid - (most.repay + lost) / W) <= tolerance
