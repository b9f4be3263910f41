"""Gearbox's float rules (for the solver) against its integer rules (the contracts' own maths, held
to the devnet by the liquidation tests): the weighted value, the payments and the price fall at
which an account becomes liquidatable must agree, so the two cannot drift apart."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, example, given
from hypothesis import strategies as st

from loopscan.protocols.gearbox import rules
from loopscan.protocols.gearbox.rules import TokenPosition, Underlying

E18, E6, USD = 10**18, 10**6, 10**8  # token scales; USD values have the feeds' 8 decimals
LT_UNDERLYING = 9_450  # 1 − 4 % premium − 1.5 % fee

tokens = st.lists(
    st.tuples(
        st.integers(10**3, 10**8),  # whole tokens held
        st.integers(50_000_000, 200_000_000),  # price, 8 decimals
        st.integers(5_000, 9_700),  # LT, bps
        st.integers(0, 2 * 10**8),  # quota, whole USDC
    ),
    min_size=1,
    max_size=4,
)


def _positions(raw) -> list[TokenPosition]:
    return [TokenPosition(held * E18, price, 18, lt, quota * E6) for held, price, lt, quota in raw]


def _arrays(positions: list[TokenPosition]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = np.array([p.balance / E18 * p.price / USD for p in positions])
    return values, np.array([p.lt_bps / 1e4 for p in positions]), np.array([p.quota / E6 for p in positions])


@given(tokens, st.integers(0, 10**7))
def test_the_weighted_value_is_the_integer_one(raw, underlying_held):
    positions = _positions(raw)
    underlying = Underlying(underlying_held * E6, USD, 6)
    _, weighted = rules.collateral_usd(positions, underlying, LT_UNDERLYING)
    ours = rules.weighted_value(*_arrays(positions), underlying_held, LT_UNDERLYING / 1e4)
    assert abs(ours - weighted / USD) <= 1e-9 * max(ours, 1.0)  # the integers round each term down by < 1e-8 USD


@given(st.integers(10**3, 10**9), st.integers(10**3, 10**9), st.integers(0, 10**7), st.integers(0, 10**6))
def test_payments_are_the_integer_ones(value, debt, interest, fees):
    """In whole USDC: the integer rules round each product down by under one unit."""
    exact = rules.liquidation_payments(debt * E6, interest * E6, fees * E6, value * E6, 150, 9_600)
    ours = rules.payments(float(value), float(debt + interest + fees), float(debt + interest), 0.015, 0.96)
    for got, want in ((ours.to_pool, exact.to_pool), (ours.remaining, exact.remaining_funds), (ours.loss, exact.loss),
                      (ours.premium, exact.premium)):  # fmt: skip
        assert abs(got - want / E6) <= 2e-6 * max(got, 1.0)


@given(tokens, st.integers(0, 10**6), st.integers(1, 99))
@example([(1030928, 50000000, 9700, 1)], 0, 1)  # the integer threshold at 1 feed unit, the float's at 1.0
def test_the_first_liquidation_is_the_integer_threshold_price(raw, underlying_held, debt_pct):
    """One token shocked, the rest fixed: the fall the float rule finds is the one the integer
    bisection finds over the token's feed answers (to the feed's resolution)."""
    positions = _positions(raw)
    underlying = Underlying(underlying_held * E6, USD, 6)
    _, weighted = rules.collateral_usd(positions, underlying, LT_UNDERLYING)
    debt = weighted * debt_pct // 100 // 100  # a healthy account: USD (8 decimals) → USDC units
    assume(debt > 0)
    token, others = positions[0], positions[1:]
    threshold = rules.threshold_price(token, others, underlying, LT_UNDERLYING, debt)
    values, lts, quotas = _arrays(positions)
    shocked = np.arange(len(positions)) == 0
    delta = rules.first_liquidation(values, lts, quotas, shocked, underlying_held * LT_UNDERLYING / 1e4, debt / E6)
    if threshold is None:  # no price is healthy: the quota caps the token
        assert delta == 0.0
    elif threshold <= 1:  # healthy down to the feed's last unit: the rest covers the debt, or nearly
        assert delta is None or (1 - delta) * token.price <= 2 + 1e-7 * token.price
    else:
        assert delta is not None
        assert abs((1 - delta) * token.price - threshold) <= 2 + 1e-7 * token.price
