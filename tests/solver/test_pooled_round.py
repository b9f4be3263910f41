"""The compiled round of a pool's liquidations (`loopscan.solver.pooled_round`) against the
one-at-a-time path it replaces (`liquidation.liquidate_pooled`, itself held to Aave's contracts by
`test_liquidation_truth`): the same liquidations, in the same order, of the same accounts, and the
same figures to ~1e-14 (the venues' prices inside a round are floats of the exact swap steps).

The books are `bench/solve.py`'s Aave-like pool: six reserves in e-mode, USDC and USDT each sold
through several Uniswap v3 pools (so splits across venues, whose order depends on when a price is
read), every depeg's thresholds searched as `analyse` searches them; and the same pool with Morpho
Blue markets on its collateral (`mixed`).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loopscan.solver.cascade as cascade
from bench.solve import pooled_snapshot
from loopscan.protocols.uniswap_v3.venue import UniswapV3Venue
from loopscan.solver import Solver, build_book, kernels, pooled_round
from loopscan.solver.book_constants import constants
from loopscan.solver.pricing import Pricer
from loopscan.solver.shock import Shock
from loopscan.solver.state import initial_state
from tests.solver.test_swap_math import pools

CLOSE = 1e-12  # relative: what floats of the exact swap steps move a figure by, with room


def _solved(monkeypatch, n: int, seed: int, compiled: bool, morpho: float = 0.0) -> tuple[Solver, int]:
    """The thresholds of every token of a fresh pooled book, and how many runs of it went compiled."""
    ran = []
    if compiled:
        real = pooled_round.liquidate_round
        monkeypatch.setattr(cascade, "liquidate_round", lambda *a: ran.append(1) or real(*a))
    else:
        monkeypatch.setattr(cascade, "plan", lambda *a: None)
    solver = Solver(build_book(pooled_snapshot(n, seed, morpho)))
    solver.table = solver.thresholds("depeg")
    monkeypatch.undo()
    return solver, len(ran)


def _close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= CLOSE * max(abs(a), abs(b))


@pytest.mark.parametrize("n, seed", [(1500, 7), (2500, 11)])
def test_compiled_rounds_liquidate_as_the_one_at_a_time_path(monkeypatch, n, seed):
    fast, rounds = _solved(monkeypatch, n, seed, compiled=True)
    slow, _ = _solved(monkeypatch, n, seed, compiled=False)
    assert rounds > 100  # the compiled round ran, in most of the searches' cascades
    usd = [c for c in fast.table.columns if c.endswith("_usd")]
    assert fast.table.drop(columns=usd).equals(slow.table.drop(columns=usd))  # the thresholds themselves: exactly
    for column in usd:
        assert all(_close(x, y) for x, y in zip(fast.table[column], slow.table[column], strict=True)), column
    assert fast._memo.keys() == slow._memo.keys()
    exact = 0
    for shock, a in fast._memo.items():
        b = slow._memo[shock]
        assert (a.liquidation_count, a.rounds_run) == (b.liquidation_count, b.rounds_run), shock
        assert _close(a.final_depeg, b.final_depeg) and _close(a.bad_debt, b.bad_debt), shock
        left, right = a.liquidations, b.liquidations
        assert left[["round", "market", "account"]].equals(right[["round", "market", "account"]]), shock
        for column in ("seized", "repaid", "bad_debt", "seized_usd"):
            assert all(_close(x, y) for x, y in zip(left[column], right[column], strict=True)), (shock, column)
        assert a.rounds["liquidations"].tolist() == b.rounds["liquidations"].tolist()
        exact += a.final_depeg == b.final_depeg and a.bad_debt == b.bad_debt
    assert exact > len(fast._memo) // 2  # most cascades agree to the last bit


def test_runs_of_a_pool_between_morpho_liquidations_move_no_threshold(monkeypatch):
    # Morpho Blue positions on the pool's own collateral, liquidated in the same rounds, interleaved
    # by health: the pool's runs between them compiled. Positions whose debt the floats alone keep
    # (1e-20 of a token and less, below a wei) can decide differently at prices the last ulps
    # apart, so counts may differ by a few such dust liquidations; figures stay within 1e-6.
    fast, runs = _solved(monkeypatch, 1500, 7, compiled=True, morpho=0.3)
    slow, _ = _solved(monkeypatch, 1500, 7, compiled=False, morpho=0.3)
    assert runs > 50
    usd = [c for c in fast.table.columns if c.endswith("_usd")]
    assert fast.table.drop(columns=usd).equals(slow.table.drop(columns=usd))
    for shock, a in fast._memo.items():
        b = slow._memo[shock]
        for x, y in ((a.final_depeg, b.final_depeg), (a.bad_debt, b.bad_debt)):
            assert x == y or abs(x - y) <= 1e-6 * max(abs(x), abs(y)), shock
        assert abs(a.liquidation_count - b.liquidation_count) <= 0.005 * b.liquidation_count, shock


def test_a_pool_runs_one_at_a_time_where_the_compiled_round_cannot_follow_it():
    book = build_book(pooled_snapshot(200, 7))
    pool = next(iter(constants(book).pooled))
    prices = Pricer(book, initial_state(book), Shock("depeg", "", 0.0), ())
    assert pooled_round.plan(book, prices, pool) is not None
    reserve = constants(book).pooled[pool].reserves[0]
    for kind in ("exchange_rate", "linear_discount"):  # a vault's book, a PT's own feed
        other = build_book(pooled_snapshot(200, 7))
        other.markets[reserve.key].oracle_kind = kind
        prices = Pricer(other, initial_state(other), Shock("depeg", "", 0.0), ())
        assert pooled_round.plan(other, prices, pool) is None, kind
    other = build_book(pooled_snapshot(200, 7))
    other.anchored.discard(reserve.loan)  # its price read through its venues' quote
    prices = Pricer(other, initial_state(other), Shock("depeg", "", 0.0), ())
    assert pooled_round.plan(other, prices, pool) is None


def _price(segments, amount: float) -> float:
    """The compiled round's price of one venue after `amount` (raw, as `marginal_after`: pin 1)."""
    venue = np.array([[1.0], [1.0], [float(segments.fee)], [segments.capacity]])
    pieces = np.array([segments.start, segments.sqrt_price, segments.liquidity, segments.reach, segments.end])
    return kernels.relative(0, amount, np.full(1, -1.0), np.zeros(1), venue, np.array([segments.token_is_0]),
                                  np.array([0, len(segments.start)]), pieces)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(pools(), st.booleans(), st.lists(st.floats(0.0, 1.3), min_size=1, max_size=8))
def test_segments_price_every_sale_as_the_pool_s_swap_does(state, token_is_0, fractions):
    venue = UniswapV3Venue("0xpool", "0xa", "0xb", 18, 18, state, token_is_0)
    segments = venue.segments()
    assert venue.exhausted(int(segments.capacity * (1 + 1e-12)) + 1)
    assert segments.capacity == 0 or not venue.exhausted(int(segments.capacity * (1 - 1e-12)))
    for fraction in fractions:
        amount = int(segments.capacity * fraction)
        if amount and np.isclose(segments.start, amount, rtol=1e-12, atol=0).any():
            continue  # within a float's rounding of where a range ends: the price may jump there (a hop to the limit)
        exact = venue.marginal_after(amount)
        found = _price(segments, float(amount))
        assert found == exact or abs(found - exact) <= 1e-12 * exact, (amount, exact, found)
