"""A token's exit (`loopscan.solver.exits`): one venue takes a sale whole, several split it by
greedy slices, and a split down to a price sells each venue to that price. Pools built as the
core tests build them (`test_swap_math.pool`), values checked against each venue's own maths."""

from __future__ import annotations

from fractions import Fraction

import pytest

from loopscan.protocols.curve.maths import StableSwapPool
from loopscan.protocols.curve.venue import CurveVenue
from loopscan.protocols.uniswap_v3.venue import UniswapV3Venue
from loopscan.solver import Solver, build_book
from loopscan.solver.depth import absorbable, depth_table
from loopscan.solver.exits import SLICES, Exit
from tests.literal_snapshots import market, position, snapshot, token
from tests.solver.test_swap_math import enc, pool

E18 = 10**18
TOKEN, USDC, DAI = "0xtoken", "0xusdc", "0xdai"


def v3(name: str, liquidity: int, fee: int = 500, quote: str = USDC) -> UniswapV3Venue:
    """`TOKEN` (token0, 18 decimals) against `quote` at par, liquidity in ±600 ticks and a thin band beyond."""
    state = pool(fee, 10, enc(1, 1), [(-600, 600, liquidity), (-6000, 6000, liquidity // 100)])
    return UniswapV3Venue(name, TOKEN, quote, 18, 18, state, True)


def curve(name: str, balance: int) -> CurveVenue:
    return CurveVenue(
        name, TOKEN, DAI, 18, 18, StableSwapPool.from_decimals(100, [balance, balance], [18, 18], 4 * 10**6), 0, 1
    )


def test_one_venue_takes_the_sale_whole() -> None:
    venue = v3("0xa", 10 * E18)
    exit_ = Exit(TOKEN, (venue,), (1.0,))
    assert exit_.split(3 * E18) == (3 * E18,) and exit_.split(E18, (2 * E18,)) == (3 * E18,)
    assert exit_.price((3 * E18,)) == (venue.marginal_after(3 * E18) / venue.marginal_after(0), 0)
    assert exit_.weights == (1.0,) and exit_.unproven_on_node == ()


def test_greedy_slices_leave_the_venues_within_one_slice() -> None:
    deep, thin = v3("0xdeep", 10 * E18), v3("0xthin", 3 * E18, fee=3000)
    exit_ = Exit(TOKEN, (deep, thin), (1.0, 1.0))
    amount = 5 * E18 + 7
    parts = exit_.split(amount)
    size = -(-amount // SLICES)
    assert sum(parts) == amount and all(p > 0 for p in parts)
    # Each venue got its last slice while it was the best: one slice back, it is above the other's end.
    final = [exit_.relative(k, p) for k, p in enumerate(parts)]
    for k, p in enumerate(parts):
        assert exit_.relative(k, p - size) >= max(final)
    assert exit_.price(parts) == (max(final), final.index(max(final)))
    # The split pays more than the deepest venue alone, and each part is that venue's own swap.
    assert sum(v.quote_out(p) for v, p in zip(exit_.venues, parts, strict=True)) > deep.quote_out(amount)
    # A sale made on top of an earlier one starts from its parts, in slices of 1/SLICES of all
    # sold so far: a sale of one slice's size or less goes whole to the best venue.
    assert sum(exit_.split(E18, parts)) == amount + E18
    small = -(-(amount + 10**16) // SLICES)
    after = exit_.split(10**16, parts)
    assert 10**16 <= small and sum(a != b for a, b in zip(after, parts, strict=True)) == 1
    best = max(range(2), key=lambda k: exit_.relative(k, parts[k]))
    assert after[best] == parts[best] + 10**16
    # Sold in many small sales, the venues still end within one slice of the same price.
    parts = (0, 0)
    for _ in range(40):
        parts = exit_.split(amount // 40, parts)
    size = -(-sum(parts) // SLICES)
    final = [exit_.relative(k, p) for k, p in enumerate(parts)]
    assert all(exit_.relative(k, p - size) >= max(final) for k, p in enumerate(parts) if p)


def test_a_venue_priced_below_the_best_waits_until_the_best_comes_down() -> None:
    cheap_quote = 0.99  # the thin pool's quote is worth 1 % less: its price in USD starts 1 % lower
    deep, thin = v3("0xdeep", 10 * E18), v3("0xthin", 10 * E18, quote=DAI)
    exit_ = Exit(TOKEN, (deep, thin), (1.0, cheap_quote))
    assert exit_.weights == (1.0, pytest.approx(cheap_quote))
    assert exit_.split(10**15) == (10**15, 0)  # a small sale: the 1 % gap is not closed
    # Down to 5 % below the best price the thin venue only sells its last 4 %.
    (deep_sold, _), (thin_sold, _) = exit_.sale_to(0.95)
    assert deep_sold == deep.sale_to(deep.marginal_after(0) * 0.95)[0]
    assert 0 < thin_sold < deep_sold


def test_sold_down_to_a_price_each_venue_ends_there() -> None:
    deep, stable = v3("0xdeep", 10 * E18), curve("0xcurve", 2_000_000 * E18)
    exit_ = Exit(TOKEN, (deep, stable), (1.0, 1.0))
    sales = exit_.sale_to(0.99)
    for venue, pin, weight, (sold, paid) in zip(exit_.venues, exit_.pins, exit_.weights, sales, strict=True):
        target = pin * 0.99 / weight
        assert sold > 0 and venue.marginal_after(sold) <= target * (1 + 1e-12)
        if isinstance(venue, CurveVenue):  # the least such sale, and what `exchange` pays for it
            assert venue.marginal_after(sold - 1) > target and paid == venue.quote_out(sold)
    assert exit_.unproven_on_node == ("0xcurve",)


def test_a_venue_is_exhausted_past_what_it_takes() -> None:
    deep = v3("0xdeep", 10 * E18)
    capacity = deep.sale_to(0.0)[0]  # down to the swap maths' price limit
    assert not deep.exhausted(capacity) and deep.exhausted(capacity + 1)
    assert deep.marginal_after(capacity + 1) == deep.marginal_after(capacity + 10**30)
    # A Curve pool's limit is the largest sale its Newton loops converge on (the contract reverts beyond).
    stable = curve("0xcurve", 10**6 * E18)
    taken = stable.capacity()
    assert stable.sale_to(0.0) == (taken, stable.quote_out(taken)) and 0 < stable.quote_out(taken) < 10**6 * E18
    assert not stable.exhausted(taken) and stable.exhausted(taken + 1)
    assert stable.quote_out(taken + 10**30) == stable.quote_out(taken)
    exit_ = Exit(TOKEN, (deep, stable), (1.0, 1.0))
    assert not exit_.exhausted((capacity + 1, taken)) and exit_.exhausted((capacity + 1, taken + 1))


def test_haircut_keeps_the_curve_price_and_scales_its_balances() -> None:
    stable = curve("0xcurve", 10**6 * E18 + 3)
    cut = stable.haircut(Fraction(9, 10))
    assert cut.pool.balances == (10**5 * E18 + 1, 10**5 * E18 + 1)
    assert cut.price0 == stable.price0 and cut.proven_on_node is False
    assert cut.sale_to(cut.marginal_after(0) * 0.99)[0] < stable.sale_to(stable.marginal_after(0) * 0.99)[0]


CURVE_POOL = "0x" + "c" * 40


def curve_snapshot(balance: int):
    """X lent against at LLTV 86 % (one position at LTV 80 %), sold for USDC in a classic Curve pool."""
    x, usdc = "0x" + "a" * 40, "0x" + "b" * 40
    pool = {"venue": "curve", "pool": CURVE_POOL, "token0": x, "token1": usdc, "fee_raw": 4 * 10**6, "fee_scale": 10**10,
            "admin_fee": 5 * 10**9, "amp": 100, "n_coins": 2, "pool_kind": "classic", "amp_precise": 10_000,
            "future_amp": 10_000, "future_amp_time": 0}  # fmt: skip
    coins = [{"pool": CURVE_POOL, "coin_index": i, "token": t, "balance": balance} for i, t in enumerate((x, usdc))]
    return x, snapshot({
        "tokens": [token(x, "X"), token(usdc, "USDC")], "markets": [market(x, usdc, 1000, 80)],
        "positions": [position("0x" + "d" * 40, x, 100, 80, 0), position("0x" + "e" * 40, usdc, 0, 0, 1000)],
        "pools": [pool], "pool_coins": coins,
    })  # fmt: skip


def test_figures_resting_on_a_curve_pool_say_unproven_on_node() -> None:
    x, snap = curve_snapshot(10**6)
    solver = Solver(build_book(snap))
    (venue,) = solver.book.exits[x].venues
    assert isinstance(venue, CurveVenue) and venue.price0 == pytest.approx(1.0)
    row = solver.thresholds("depeg").set_index("token").loc[x]
    # LTV 80 % against LLTV 86 %: the oracle follows the pool's price, 1 − 0.80 / 0.86 below it.
    assert row["first_liquidation_frac"] == pytest.approx(1 - 0.80 / 0.86, abs=2e-4)
    assert row["unproven_on_node"] == CURVE_POOL
    depth = depth_table(solver).set_index("level_frac")
    assert (depth["unproven_on_node"] == CURVE_POOL).all() and (depth["exit_pool"] == CURVE_POOL).all()
    sold, usd = absorbable(solver.book, x, 0.05)
    assert venue.marginal_after(int(sold)) <= venue.marginal_after(0) * 0.95 < venue.marginal_after(int(sold) - 1)
    assert usd == venue.quote_out(int(sold))  # USDC at par


def test_a_curve_pool_the_maths_cannot_price_is_named_not_dropped() -> None:
    x, snap = curve_snapshot(10**6)
    snap.pool_coins.loc[snap.pool_coins["coin_index"] == 1, "balance"] = 0  # an empty coin: D divides by zero
    book = build_book(snap)
    assert x not in book.exits
    assert book.unpriced_pools == {CURVE_POOL: "curve: _get_D: a zero balance divides by zero"}
