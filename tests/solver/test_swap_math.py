"""Uniswap v3 maths on literal inputs, with answers from v3-core's own test suite, and invariants.

The literals are the expected values in Uniswap/v3-core `test/*.spec.ts` and
`test/__snapshots__/UniswapV3Pool.swaps.spec.ts.snap` (the contracts' answers, recorded by
Uniswap). The chain itself is the truth in `test_swap_truth.py`.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from loopscan.protocols.uniswap_v3 import swap as u
from loopscan.protocols.uniswap_v3.swap import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    Q96,
    PoolState,
    UniswapV3Error,
    swap,
)

E18 = 10**18
MAX_IN = (1 << 255) - 1  # the core tests' swapToLower/HigherSqrtPrice pass type(int256).max


def enc(reserve1: int, reserve0: int) -> int:
    """v3-core's `encodePriceSqrt`: floor(sqrt(reserve1 / reserve0) · 2^96)."""
    return math.isqrt(reserve1 * (1 << 192) // reserve0)


def pool(fee: int, spacing: int, price: int, positions: list[tuple[int, int, int]]) -> PoolState:
    """A pool as the core tests build it: initialized at `price`, then the positions minted."""
    tick = u.get_tick_at_sqrt_ratio(price)
    ticks: dict[int, int] = {}
    for lower, upper, liquidity in positions:
        ticks[lower] = ticks.get(lower, 0) + liquidity
        ticks[upper] = ticks.get(upper, 0) - liquidity
    active = sum(lq for lo, up, lq in positions if lo <= tick < up)
    return PoolState(price, tick, active, fee, spacing, ticks)


def full(spacing: int) -> tuple[int, int]:
    return -(887272 // spacing) * spacing, 887272 // spacing * spacing


# -- TickMath (test/TickMath.spec.ts and its snapshot) ------------------------------------------
@pytest.mark.parametrize(
    "tick, ratio",
    [
        (MIN_TICK, 4295128739),
        (MIN_TICK + 1, 4295343490),
        (MAX_TICK - 1, 1461373636630004318706518188784493106690254656249),
        (MAX_TICK, 1461446703485210103287273052203988822378723970342),
        (0, Q96),
        (-50, 79030349367926598376800521322),
        (-2500, 69919044979842180277688105136),
        (-738203, 7409801140451),
        (50, 79426470787362580746886972461),
        (1000, 83290069058676223003182343270),
    ],
)
def test_sqrt_ratio_at_tick_matches_v3_core(tick, ratio):
    assert u.get_sqrt_ratio_at_tick(tick) == ratio


def test_tick_bounds_revert_like_the_contract():
    with pytest.raises(UniswapV3Error, match="T"):
        u.get_sqrt_ratio_at_tick(MAX_TICK + 1)
    with pytest.raises(UniswapV3Error, match="R"):
        u.get_tick_at_sqrt_ratio(MIN_SQRT_RATIO - 1)
    with pytest.raises(UniswapV3Error, match="R"):
        u.get_tick_at_sqrt_ratio(MAX_SQRT_RATIO)
    assert u.get_tick_at_sqrt_ratio(MIN_SQRT_RATIO) == MIN_TICK
    assert u.get_tick_at_sqrt_ratio(4295343490) == MIN_TICK + 1
    assert u.get_tick_at_sqrt_ratio(MAX_SQRT_RATIO - 1) == MAX_TICK - 1


@settings(max_examples=500, deadline=None)
@given(st.integers(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1))
def test_tick_at_sqrt_ratio_is_the_greatest_tick_at_or_below(sqrt_price):
    """The contract's log2 approximation against the definition it documents."""
    tick = u.get_tick_at_sqrt_ratio(sqrt_price)
    assert u.get_sqrt_ratio_at_tick(tick) <= sqrt_price
    assert tick == MAX_TICK or u.get_sqrt_ratio_at_tick(tick + 1) > sqrt_price


@settings(max_examples=300, deadline=None)
@given(st.integers(MIN_TICK, MAX_TICK - 1))
def test_sqrt_ratio_is_increasing_and_round_trips(tick):
    ratio = u.get_sqrt_ratio_at_tick(tick)
    assert ratio < u.get_sqrt_ratio_at_tick(tick + 1)
    assert u.get_tick_at_sqrt_ratio(ratio) == tick


# -- SqrtPriceMath (test/SqrtPriceMath.spec.ts) ------------------------------------------------
def test_sqrt_price_math_matches_v3_core():
    one = enc(1, 1)
    assert u.get_next_sqrt_price_from_input(one, E18, E18 // 10, False) == 87150978765690771352898345369
    assert u.get_next_sqrt_price_from_input(one, E18, E18 // 10, True) == 72025602285694852357767227579
    assert u.get_next_sqrt_price_from_input(one, 10 * E18, 2**100, True) == 624999999995069620
    assert u.get_next_sqrt_price_from_input(one, 1, (2**256 - 1) // 2, True) == 1
    assert u.get_next_sqrt_price_from_input(1, 1, 2**255, True) == 1
    assert u.get_next_sqrt_price_from_input(one, E18 // 10, 0, True) == one
    top, max128 = 2**160 - 1, 2**128 - 1
    assert u.get_next_sqrt_price_from_input(top, max128, 2**256 - 1 - (max128 << 96) // top, True) == 1
    assert u.get_next_sqrt_price_from_output(one, E18, E18 // 10, False) == 88031291682515930659493278152
    assert u.get_next_sqrt_price_from_output(one, E18, E18 // 10, True) == 71305346262837903834189555302
    p = 20282409603651670423947251286016
    assert u.get_next_sqrt_price_from_output(p, 1024, 262143, True) == 77371252455336267181195264
    assert u.get_amount0_delta(one, enc(121, 100), E18, True) == 90909090909090910
    assert u.get_amount0_delta(one, enc(121, 100), E18, False) == 90909090909090909
    assert u.get_amount1_delta(one, enc(121, 100), E18, True) == 100000000000000000
    assert u.get_amount1_delta(one, enc(121, 100), E18, False) == 99999999999999999
    hi_a, hi_b = enc(2**90, 1), enc(2**96, 1)
    assert u.get_amount0_delta(hi_a, hi_b, E18, True) == u.get_amount0_delta(hi_a, hi_b, E18, False) + 1
    sqrt_p, liquidity = 1025574284609383690408304870162715216695788925244, 50015962439936049619261659728067971248
    sqrt_q = u.get_next_sqrt_price_from_input(sqrt_p, liquidity, 406, True)
    assert sqrt_q == 1025574284609383582644711336373707553698163132913
    assert u.get_amount0_delta(sqrt_q, sqrt_p, liquidity, True) == 406


@pytest.mark.parametrize(
    "price, liquidity, amount, zero_for_one",
    [
        (2**160 - 1, 1024, 1024, False),  # the input overflows the price
        (20282409603651670423947251286016, 1024, 262144, True),  # exactly the token1 reserves
        (20282409603651670423947251286016, 1024, 4, False),  # "puzzling echidna test"
        (enc(1, 1), 1, 2**256 - 1, True),
    ],
)
def test_sqrt_price_math_reverts_like_v3_core(price, liquidity, amount, zero_for_one):
    fn = u.get_next_sqrt_price_from_input if (price, amount) == (2**160 - 1, 1024) else u.get_next_sqrt_price_from_output
    with pytest.raises(UniswapV3Error):
        fn(price, liquidity, amount, zero_for_one)


# -- SwapMath (test/SwapMath.spec.ts) ----------------------------------------------------------
@pytest.mark.parametrize(
    "args, expected",
    [
        ((enc(1, 1), enc(101, 100), 2 * E18, E18, 600), (enc(101, 100), 9975124224178055, 9925619580021728, 5988667735148)),
        ((enc(1, 1), enc(101, 100), 2 * E18, -E18, 600), (enc(101, 100), 9975124224178055, 9925619580021728, 5988667735148)),
        ((enc(1, 1), enc(1000, 100), 2 * E18, E18, 600), (None, 999400000000000000, 666399946655997866, 600000000000000)),
        ((enc(1, 1), enc(10000, 100), 2 * E18, -E18, 600), (None, 2000000000000000000, E18, 1200720432259356)),
        (
            (417332158212080721273783715441582, 1452870262520218020823638996, 159344665391607089467575320103, -1, 1),
            (417332158212080721273783715441581, 1, 1, 1),
        ),
        ((2, 1, 1, 3915081100057732413702495386755767, 1), (1, 39614081257132168796771975168, 0, 39614120871253040049813)),
        ((2413, 79887613182836312, 1985041575832132834610021537970, 10, 1872), (2413, 0, 0, 10)),
        ((20282409603651670423947251286016, 20282409603651670423947251286016 * 11 // 10, 1024, -4, 3000), (None, 26215, 0, 79)),
        ((20282409603651670423947251286016, 20282409603651670423947251286016 * 9 // 10, 1024, -263000, 3000), (None, 1, 26214, 1)),
    ],
)
def test_compute_swap_step_matches_v3_core(args, expected):
    sqrt_next, amount_in, amount_out, fee = u.compute_swap_step(*args)
    assert (amount_in, amount_out, fee) == expected[1:]
    if expected[0] is not None:
        assert sqrt_next == expected[0]


# -- whole swaps (test/__snapshots__/UniswapV3Pool.swaps.spec.ts.snap) -------------------------
STABLE = pool(500, 10, enc(1, 1), [(-10, 10, 2 * E18)])
GAPPED = pool(3000, 60, enc(1, 1), [(full(60)[0], -60, 2 * E18), (60, full(60)[1], 2 * E18)])
EXTRA = pool(3000, 60, enc(1, 1), [(*full(60), 2 * E18), (full(60)[0], -60, 2 * E18), (60, full(60)[1], 2 * E18)])
TOKEN0_ONLY = pool(3000, 60, enc(1, 1), [(0, 120000, 2 * E18)])
NEAR_MAX = pool(3000, 60, enc(2**127, 1), [(*full(60), 2 * E18)])


@pytest.mark.parametrize(
    "state, zero_for_one, amount, limit, amount0, amount1, tick_after",
    [
        (STABLE, True, 1000, None, 1000, -998, -1),
        (STABLE, False, 1000, None, -998, 1000, 0),
        (STABLE, True, -1000, None, 1002, -1000, -1),
        (STABLE, True, E18, None, 1000700370186095, -999700069986002, MIN_TICK),  # exhausts the liquidity
        (STABLE, True, E18, enc(50, 100), 1000700370186095, -999700069986002, -6932),
        (STABLE, False, E18, enc(200, 100), -999700069986002, 1000700370186095, 6931),
        (GAPPED, True, 1000, None, 1000, -991, -61),
        (GAPPED, False, 1000, None, -991, 1000, 60),
        (GAPPED, True, E18, None, E18, -662011820624678025, -8130),
        (GAPPED, True, E18, enc(50, 100), 824893095908431542, -579795727715083389, -6932),
        (GAPPED, True, -E18, None, 2024171064311638316, -E18, -13984),
        (GAPPED, False, -E18, None, -E18, 2024171064311638316, 13983),
        (GAPPED, True, MAX_IN, enc(2, 5), 1159748196632793863, -729098226020826705, -9164),
        (EXTRA, True, E18, None, E18, -795933705287758544, -4476),
        (EXTRA, True, -E18, None, 1342022152495072924, -E18, -5794),
        (EXTRA, False, MAX_IN, enc(5, 2), -1464187161953474971, 2325523181756544449, 9163),
        (EXTRA, True, MAX_IN, enc(2, 5), 2325523181756544449, -1464187161953474971, -9164),
        (TOKEN0_ONLY, False, E18, None, -665331998665331998, E18, 8089),
        (TOKEN0_ONLY, False, MAX_IN, enc(5, 2), -735088935932648267, 1165774985123750584, 9163),
        (NEAR_MAX, True, 1000, None, 1000, -26083549850867114346332688477747755628, 705098),
    ],
)
def test_swap_matches_v3_core_snapshots(state, zero_for_one, amount, limit, amount0, amount1, tick_after):
    result = swap(state, zero_for_one, amount, limit)
    assert (result.amount0, result.amount1, result.tick_after) == (amount0, amount1, tick_after)
    if limit is not None:
        assert result.sqrt_price_x96_after == limit


def test_swap_reverts_like_the_pool():
    with pytest.raises(UniswapV3Error, match="SPL"):
        swap(GAPPED, True, MAX_IN, enc(5, 2))  # a limit on the wrong side
    with pytest.raises(UniswapV3Error, match="AS"):
        swap(GAPPED, True, 0)


def test_crossing_counts_and_liquidity():
    result = swap(GAPPED, True, E18)  # crosses -60 into the lower position
    assert result.ticks_crossed == 1 and result.liquidity_after == 2 * E18
    result = swap(STABLE, True, E18)  # leaves the only position through -10
    assert result.ticks_crossed == 1 and result.liquidity_after == 0


def test_quoter_tick_count_mirrors_its_truncating_division():
    """PoolTicksCounter compresses with int24 division (towards zero): from tick -5 down to -25
    with spacing 10 it counts tick 0, which the swap never crosses."""
    state = PoolState(u.get_sqrt_ratio_at_tick(-5), -5, E18, 500, 10, {-20: 0, 0: 0, -100: E18, 100: -E18})
    assert u.count_initialized_ticks_crossed(state, -5, -25) == 2  # -20 (crossed) and 0 (not)
    assert u.count_initialized_ticks_crossed(state, -25, -5) == 2
    assert u.count_initialized_ticks_crossed(state, 5, -20) == 1  # -20 is where it stopped
    assert u.count_initialized_ticks_crossed(state, -20, 5) == 1  # 0 is counted, -20 is not


# -- invariants on random pools ----------------------------------------------------------------
@st.composite
def pools(draw):
    spacing = draw(st.sampled_from([1, 10, 60, 200]))
    fee = {1: 100, 10: 500, 60: 3000, 200: 10000}[spacing]
    tick = draw(st.integers(-300000, 300000))
    positions = []
    for _ in range(draw(st.integers(1, 6))):
        lo = (tick + draw(st.integers(-3000, 1000))) // spacing * spacing
        hi = lo + spacing * draw(st.integers(1, 400))
        positions.append((lo, hi, draw(st.integers(1, 10**24))))
    price = draw(st.integers(u.get_sqrt_ratio_at_tick(tick), u.get_sqrt_ratio_at_tick(tick + 1) - 1))
    return pool(fee, spacing, price, positions)


@settings(max_examples=300, deadline=None)
@given(pools(), st.booleans(), st.integers(1, 10**30))
@example(state=PoolState(2**96, 0, 16, 10000, 200, {0: 16, 2400: -16}), zero_for_one=False, amount=3)  # pay 3, get 1, back: 4
def test_exact_input_invariants(state, zero_for_one, amount):
    r = swap(state, zero_for_one, amount)
    paid, got = (r.amount0, -r.amount1) if zero_for_one else (r.amount1, -r.amount0)
    assert 0 <= paid <= amount and got >= 0
    if paid < amount:  # only running into the limit leaves input unused
        assert r.sqrt_price_x96_after == (MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1)
    moved = r.sqrt_price_x96_after - state.sqrt_price_x96
    assert (moved <= 0) if zero_for_one else (moved >= 0)
    assert u.get_sqrt_ratio_at_tick(r.tick_after) <= r.sqrt_price_x96_after
    assert r.tick_after == MAX_TICK or r.sqrt_price_x96_after <= u.get_sqrt_ratio_at_tick(r.tick_after + 1)
    after = u.state_after(state, r)
    assert after.liquidity == sum(net for t, net in state.ticks.items() if t <= after.tick)
    if got > 0 and paid == amount:  # buying back exactly what came out costs no more than was paid,
        back = swap(state, zero_for_one, -got)  # give or take the pool's own rounding: each step
        slack = 1 + r.ticks_crossed + back.ticks_crossed  # rounds a wei against the trader
        assert (back.amount0 if zero_for_one else back.amount1) <= amount + slack


@settings(max_examples=200, deadline=None)
@given(pools(), st.integers(-5000, 5000), st.integers(0, 2**32))
def test_amount_to_move_price_to_is_the_least_that_lands_on_target(state, ticks_away, jitter):
    target = u.get_sqrt_ratio_at_tick(max(MIN_TICK + 1, min(MAX_TICK - 1, state.tick + ticks_away))) + jitter
    assume(MIN_SQRT_RATIO < target < MAX_SQRT_RATIO and target != state.sqrt_price_x96)
    zero_for_one = target < state.sqrt_price_x96

    def reaches(amount: int) -> bool:
        after = swap(state, zero_for_one, amount).sqrt_price_x96_after
        return after <= target if zero_for_one else after >= target

    amount = u.amount_to_move_price_to(state, target)
    assert reaches(amount)
    assert amount == 1 or not reaches(amount - 1)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**27), st.integers(10**15, 10**27), st.sampled_from([100, 500, 3000, 10000]))
def test_one_step_swap_is_within_two_wei_of_the_real_curve(amount, liquidity, fee):
    """A second implementation: x·y = L² in exact rationals, for a swap that is one step of the
    loop (it starts mid-word at tick 25600 and stays above tick 0, where the word ends)."""
    start = u.get_sqrt_ratio_at_tick(25600)
    state = PoolState(start, 25600, liquidity, fee, 200, {-887200: liquidity, 887200: -liquidity})
    r = swap(state, True, amount)
    assume(r.tick_after >= 0 and r.sqrt_price_x96_after > u.get_sqrt_ratio_at_tick(0))
    less_fee = amount * (10**6 - fee) // 10**6
    sqrt_p = Fraction(start, Q96)
    sqrt_q = liquidity * sqrt_p / (liquidity + less_fee * sqrt_p)
    ideal_out = liquidity * (sqrt_p - sqrt_q)
    assert ideal_out - 2 <= -r.amount1 <= ideal_out


def test_solver_helpers_on_the_stable_pool():
    assert u.price_after_selling(STABLE, 0, 0) == 1
    p0 = u.price_after_selling(STABLE, 0, 10**15)
    p1 = u.price_after_selling(STABLE, 1, 10**15)
    assert 0 < p0 < 1 and 0 < p1 < 1  # selling either side makes it cheaper
    target = u.get_sqrt_ratio_at_tick(-5)
    amount = u.amount_to_move_price_to(STABLE, target)
    assert swap(STABLE, True, amount).sqrt_price_x96_after <= target < swap(STABLE, True, amount - 1).sqrt_price_x96_after
    bounded = swap(STABLE, True, amount, target)  # a router's price limit lands on it exactly
    assert (bounded.amount0, bounded.sqrt_price_x96_after) == (amount, target)
    assert u.amount_to_move_price_to(STABLE, STABLE.sqrt_price_x96) == 0
    curve = u.depth_curve(STABLE, 0, [10**k for k in range(3, 19)])
    assert curve.amount_in.shape == (16,)
    assert (curve.impact[1:] >= curve.impact[:-1]).all() and (curve.slippage >= 0).all()
    assert curve.amount_in[-1] < 10**18  # the last size exhausted the liquidity


@settings(max_examples=200, deadline=None)
@given(pools(), st.booleans(), st.lists(st.integers(1, 10**26), min_size=1, max_size=12), st.booleans())
def test_a_seller_prices_growing_sales_as_the_swap_does(state, zero_for_one, steps, grow):
    """A cascade's sales into a pool: amounts that mostly grow (each resumes from the last one's
    checkpoint, and ends inside the range ahead of it), sometimes shrink (from the pin again)."""
    seller, amount = u.Seller(state, zero_for_one), 0
    for step in steps:
        amount = amount + step if grow or amount <= step else amount - step
        assert seller.sqrt_price_after(amount) == swap(state, zero_for_one, amount).sqrt_price_x96_after
