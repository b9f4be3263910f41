"""Curve StableSwap maths: literal answers, then curvesim (Curve's own Python model) as the peer.

curvesim's `CurvePool` is the older template without `A_PRECISION`; with an integer A the two
agree to the wei, so every comparison below is exact. Where the contract reverts curvesim does
not: a trade too small to pay anything (`xp[j] - y - 1` < 0; Vyper underflows, curvesim returns
dy = 0 with fee = −1 or fails its own assert), and a pool so unbalanced that Newton's integer
iterates for D oscillate (the contract gives up after 255 rounds; curvesim loops forever, so
those pools are not handed to it).
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from curvesim.pool import CurvePool  # Curve's own maths, a test extra (pyproject.toml)
from hypothesis import example, given, settings
from hypothesis import strategies as st

from loopscan.protocols.curve import maths as c
from loopscan.protocols.curve.maths import A_PRECISION, CurveError, StableSwapPool


def peer(pool: StableSwapPool):
    return CurvePool(
        A=pool.amp // A_PRECISION, D=list(pool.balances), n=pool.n, rates=list(pool.rates), fee=pool.fee,
        admin_fee=pool.admin_fee,
    )  # fmt: skip


# -- literal answers ---------------------------------------------------------------------------
def test_curvesim_docstring_example():
    pool = StableSwapPool.from_decimals(250, [500_000 * 10**6] * 2, [6, 6], fee=4 * 10**6)
    ex = c.exchange(pool, 0, 1, 150 * 10**6)
    assert (ex.dy, ex.fee) == (149939820, 59999)
    assert ex.pool.balances == (500_000 * 10**6 + 150 * 10**6, 500_000 * 10**6 - 149939820 - 59999 // 2)


def test_balanced_pool_by_hand():
    """Equal balances solve the invariant with D = Σx (first Newton step is exact), price 1."""
    assert c.get_D([10**24] * 3, 100 * A_PRECISION) == 3 * 10**24
    pool = StableSwapPool.from_decimals(100, [10**24, 10**12, 10**12], [18, 6, 6], fee=0)
    assert pool.rates == (10**18, 10**30, 10**30)  # 3pool's RATES
    assert pool.xp() == [10**24] * 3
    assert c.spot_price(pool, 0, 1) == 1
    assert c.spot_price(pool, 0, 1, with_fee=True) == 1  # fee 0
    assert c.get_y(0, 1, 10**24, pool.xp(), pool.amp) in (10**24, 10**24 + 1)


def test_rates_follow_decimals():
    assert c.rates_for([18, 6, 8]) == (10**18, 10**30, 10**28)


def test_reverts_like_the_contract():
    pool = StableSwapPool.from_decimals(100, [10**24, 10**24], [18, 18], fee=4 * 10**6)
    with pytest.raises(CurveError, match="underflows"):
        c.exchange(pool, 0, 1, 0)  # dy = -1 in the contract
    with pytest.raises(CurveError):
        c.exchange(pool, 0, 0, 10**18)
    borked = StableSwapPool.from_decimals(2, [234339482705100, 6635532511194], [6, 8], fee=0)
    with pytest.raises(CurveError, match="converge"):  # Newton's iterates for D oscillate by 3
        c.get_D(borked.xp(), borked.amp)
    assert c.get_D([0, 0], 100) == 0


def test_fractional_A_is_allowed_mid_ramp():
    """`A_precise()` need not be a multiple of 100 while A ramps; the invariant then uses it."""
    pool = StableSwapPool(amp=12345, balances=(10**24, 2 * 10**24), rates=(10**18, 10**18), fee=10**6)
    low = StableSwapPool(amp=12300, balances=pool.balances, rates=pool.rates, fee=pool.fee)
    assert abs(c.spot_price(pool, 0, 1) - 1) < abs(c.spot_price(low, 0, 1) - 1)  # more A, flatter curve
    assert c.get_dy(pool, 1, 0, 10**21) > c.get_dy(low, 1, 0, 10**21)  # so the abundant coin buys more


# -- curvesim, exactly ------------------------------------------------------------------------
def _random_case(rng: random.Random, n: int):
    decimals = [rng.choice([6, 8, 18]) for _ in range(n)]
    A = rng.choice([1, 2, 10, 50, 100, 200, 1000, 5000, rng.randint(1, 10_000)])
    skew = rng.choice([0, 1, 2, 3])  # orders of magnitude of imbalance
    balances = [rng.randint(1, 10**9) * 10 ** d // 10 ** rng.randint(0, skew) + rng.randint(0, 10**d) for d in decimals]
    fee = rng.choice([0, 1, 4 * 10**6, 10**7, rng.randint(0, 5 * 10**9)])
    admin_fee = rng.choice([0, 5 * 10**9, 10**10])
    i, j = rng.sample(range(n), 2)
    dx = rng.randint(0, balances[i] * rng.choice([1, 2, 10])) // 10 ** rng.randint(0, 12)
    return StableSwapPool.from_decimals(A, balances, decimals, fee, admin_fee), i, j, dx


def _check_against_curvesim(pool: StableSwapPool, i: int, j: int, dx: int) -> str:
    try:
        d = c.get_D(pool.xp(), pool.amp)
    except CurveError:
        return "borked"  # curvesim would loop forever; the contract reverts
    them = peer(pool)
    assert d == them.D()
    assert float(c.spot_price(pool, i, j)) == pytest.approx(them.dydx(i, j), rel=1e-12)
    try:
        ex = c.exchange(pool, i, j, dx)
    except CurveError as exc:
        assert "dy underflows" in str(exc)
        try:
            assert them.exchange(i, j, dx) == (0, -1)
        except AssertionError:
            pass  # curvesim's own `assert dy >= 0` refused it too
        return "dust"
    assert them.exchange(i, j, dx) == (ex.dy, ex.fee)
    assert list(ex.pool.balances) == them.balances
    return "exact"


@pytest.mark.parametrize("n", [2, 3])
def test_thousands_of_random_pools_match_curvesim_exactly(n):
    rng = random.Random(20251105 + n)
    outcomes = [_check_against_curvesim(*_random_case(rng, n)) for _ in range(2500)]
    assert outcomes.count("exact") > 2400  # the rest: dust trades and oscillating D, both reverts


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from([2, 3]), st.integers(1, 10**6), st.integers(0, 5 * 10**9), st.fractions(0, 20))
def test_random_pools_match_curvesim(data, n, A, fee, dx_fraction):
    decimals = data.draw(st.lists(st.sampled_from([6, 8, 18]), min_size=n, max_size=n))
    balances = [data.draw(st.integers(10**3, 10**10)) * 10**d + data.draw(st.integers(0, 10**d)) for d in decimals]
    i, j = data.draw(st.permutations(range(n)))[:2]
    pool = StableSwapPool.from_decimals(A, balances, decimals, fee)
    _check_against_curvesim(pool, i, j, int(pool.balances[i] * Fraction(dx_fraction)))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5000), st.integers(10**20, 10**30), st.integers(10**20, 10**30), st.integers(1, 10**29))
@example(A=1, x0=446_766_901_423_413_704_005_779_453, x1=24_344_216_606_562_903_392_256, dx=6)  # D - 1 on a dust trade
def test_selling_more_pays_more_and_moves_the_price_down(A, x0, x1, dx):
    pool = StableSwapPool.from_decimals(A, [x0, x1], [18, 18], fee=4 * 10**6)
    try:  # a trade may leave the pool too unbalanced for D to converge: the next call reverts
        small, large = c.exchange(pool, 0, 1, dx), c.exchange(pool, 0, 1, 2 * dx)
        prices = [c.price_after_selling(pool, 0, 1, 2 * dx), c.price_after_selling(pool, 0, 1, dx)]
        d_before, d_after = c.get_D(pool.xp(), pool.amp), c.get_D(large.pool.xp(), pool.amp)
    except CurveError:
        return
    assert small.dy <= large.dy < x1
    slack = 1 + Fraction(1, 10**12)  # the price formula uses D rounded to the wei
    assert prices[0] <= prices[1] * slack <= c.spot_price(pool, 0, 1) * slack**2
    # Fees stay in the pool; get_D's Newton iteration stops within 1 wei, so a dust trade that
    # pays no fee (dy = 0) can leave D one wei lower, as the contract's own maths does.
    assert d_after >= d_before - 1
