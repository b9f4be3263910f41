"""Compound v3's float rules (the solver's ``account`` margin) against its integer rules (Comet's
own maths, `test_compound_v3_rules.py` holds them to Comet's tests): who is liquidatable and what
`absorb` credits and leaves short must agree, so the two cannot drift apart."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from loopscan.protocols.compound_v3 import rules
from loopscan.protocols.compound_v3.rules import (
    CometAccount,
    CometAsset,
    CometState,
    absorb,
    is_liquidatable,
    liquidity,
)

E18, USD = 10**18, 10**8
BASE = "0x" + "a0" * 20

assets = st.lists(
    st.tuples(
        st.integers(0, 10**6),  # whole tokens held (18 decimals)
        st.integers(10**6, 10**12),  # feed price, 8 decimals
        st.integers(50, 90),  # liquidateCollateralFactor, %
        st.integers(80, 99),  # liquidationFactor, %
    ),
    min_size=1,
    max_size=4,
)


def _market(raw, base_price: int) -> tuple[CometState, dict[str, int], np.ndarray, list[str], dict[str, int]]:
    tokens = [f"0x{k + 1:040x}" for k in range(len(raw))]
    infos = tuple(CometAsset(t, E18, lcf * 10**16 - 10**16, lcf * 10**16, lf * 10**16, 10**30, price)
                  for t, (_, price, lcf, lf) in zip(tokens, raw, strict=True))  # fmt: skip
    state = CometState(10**6, base_price, 10**15, 10**15, 10**40, 10**40, 10**18, 0, infos)
    held = {t: held * E18 for t, (held, *_) in zip(tokens, raw, strict=True) if held}
    values = np.array([[held.get(t, 0) / E18 * a.price / USD for t, a in zip(tokens, infos, strict=True)] + [0.0]])
    params = {f"liquidation_factor_wad:{a.asset}": a.liquidation_factor for a in infos}
    return state, held, values, [*tokens, BASE], params


@given(assets, st.integers(1, 10**12), st.integers(99 * 10**6, 101 * 10**6))
def test_liquidatable_is_the_integer_rule(raw, debt, base_price):
    """Debt in whole base units; away from the boundary (the integers round each term by a unit)."""
    state, held, values, tokens, _ = _market(raw, base_price)
    account = CometAccount(-debt * 10**6, held)
    lts = np.array([a.liquidate_collateral_factor / E18 for a in state.assets] + [0.0])
    weighted = rules.weighted_values(values, lts, rules.caps({}, ["x"], tokens, BASE))[0]
    debt_usd = debt * base_price / USD
    assume(abs(weighted - debt_usd) > 1e-6 * max(debt_usd, 1.0) + len(raw) * 1e-8 * 2)
    assert bool(rules.liquidatable(weighted, debt_usd)) == is_liquidatable(state, account)
    assert (liquidity(state, account) < 0) == is_liquidatable(state, account)


@given(assets, st.integers(1, 10**12), st.integers(99 * 10**6, 101 * 10**6), st.integers(-10**6, 10**9))
def test_absorb_credits_and_shortfall_are_the_integer_ones(raw, debt, base_price, reserves):
    """Whole base units: credited = Σ value × liquidationFactor, the shortfall = debt − credited."""
    state, held, values, tokens, params = _market(raw, base_price)
    account = CometAccount(-debt * 10**6, held)
    assume(is_liquidatable(state, account))
    out = absorb(state, account)
    done = rules.liquidate_account(values[0], base_price / USD, tokens, float(debt), float(debt), params | {"reserves": reserves},
                                   np.zeros(len(tokens)))  # fmt: skip
    shortfall = max(debt * 10**6 - out.credited, 0) / 10**6
    assert done.forced and (done.taken == 1.0).all() and done.repaid == debt and done.paid == 0.0
    tolerance = 1e-9 * max(debt, 1.0) + len(raw) * 2e-6  # the integers round each asset down to a base unit
    assert abs(done.loss - shortfall) <= tolerance
    assert abs(done.to_pool - min(out.credited / 10**6, debt)) <= tolerance
    assert out.base_paid_out == max(out.credited, debt * 10**6)  # what leaves the reserves at once: the debt, or the credit
