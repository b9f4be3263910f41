"""The chain is the truth: `uniswap_v3.swap` against QuoterV2 and real SwapRouter swaps on the
devnet's pools (the published v3-core / v3-periphery contracts), to the wei.

Every seeded pool of the `minimal`, `stream-2025` and `susde-aave-loop` scenarios is read with
plain web3 (slot0, liquidity, the tick bitmap and ticks), turned into a `PoolState`, and each
swap is compared three ways: the quote (amount, price after, initialized ticks crossed), the real
swap's balance changes, and the pool re-read afterwards (price, tick, liquidity).
"""

from __future__ import annotations

import pytest
from dex_conftest import BLOCK_GAS, DexPool, dex_pool_fixture  # noqa: F401  (registers `dex_pool`)

from loopscan.devnet.chain import TxReverted
from loopscan.protocols.uniswap_v3.maths import MIN_SQRT_RATIO, get_sqrt_ratio_at_tick
from loopscan.protocols.uniswap_v3.swap import (
    SwapResult,
    amount_to_move_price_to,
    count_initialized_ticks_crossed,
    state_after,
    swap,
)

pytestmark = pytest.mark.devnet


def _sides(r: SwapResult, zero_for_one: bool) -> tuple[int, int]:
    """(paid in, received out) for the trader, from the pool's signed amounts."""
    return (r.amount0, -r.amount1) if zero_for_one else (r.amount1, -r.amount0)


def check_exact_input(dex: DexPool, zero_for_one: bool, amount: int, limit: int | None = None) -> SwapResult:
    state = dex.state()
    mine = swap(state, zero_for_one, amount, limit)
    paid, out = _sides(mine, zero_for_one)
    q_out, q_price, q_ticks, q_gas = dex.quote_exact_input(zero_for_one, amount, limit or 0)
    assert (q_out, q_price) == (out, mine.sqrt_price_x96_after)
    assert q_ticks == count_initialized_ticks_crossed(state, state.tick, mine.tick_after)
    assert abs(q_ticks - mine.ticks_crossed) <= 1  # the quoter's count is off by one at most
    if q_gas > BLOCK_GAS * 9 // 10:  # the quote is all the chain can say: no block fits the swap
        with pytest.raises(TxReverted):
            dex.router_swap(zero_for_one, amount, limit or 0, fund=paid)
        return mine
    assert dex.router_swap(zero_for_one, amount, limit or 0, fund=paid) == (paid, out)
    assert dex.state() == state_after(state, mine)
    return mine


def check_exact_output(dex: DexPool, zero_for_one: bool, amount_out: int) -> SwapResult:
    state = dex.state()
    mine = swap(state, zero_for_one, -amount_out)
    paid, out = _sides(mine, zero_for_one)
    assert out == amount_out
    q_in, q_price, q_ticks, _ = dex.quote_exact_output(zero_for_one, amount_out)
    assert (q_in, q_price) == (paid, mine.sqrt_price_x96_after)
    assert q_ticks == count_initialized_ticks_crossed(state, state.tick, mine.tick_after)
    assert dex.router_swap(zero_for_one, -amount_out, fund=paid) == (paid, out)
    assert dex.state() == state_after(state, mine)
    return mine


def test_the_reader_sees_the_seeded_positions(dex_pool):
    state = dex_pool.state()
    seeded = [p for p in dex_pool.net.manifest["positions"]["uniswap"] if p["pool"] == dex_pool.pid]
    expected: dict[int, int] = {}
    for p in seeded:
        expected[p["tick_lower"]] = expected.get(p["tick_lower"], 0) + int(p["liquidity"])
        expected[p["tick_upper"]] = expected.get(p["tick_upper"], 0) - int(p["liquidity"])
    assert state.ticks == expected
    assert state.liquidity == sum(net for t, net in expected.items() if t <= state.tick)


def test_small_swaps_to_the_wei(dex_pool):
    """Dust, a hundredth of a token, and what moves the price three ticks (within one range)."""
    for zero_for_one in (True, False):
        decimals_in = dex_pool.decimals(0 if zero_for_one else 1)
        decimals_out = dex_pool.decimals(1 if zero_for_one else 0)
        state = dex_pool.state()
        three_ticks = amount_to_move_price_to(state, get_sqrt_ratio_at_tick(state.tick + (-3 if zero_for_one else 3)))
        for amount in (1, 10 ** max(decimals_in - 2, 0) + 7, three_ticks):
            assert check_exact_input(dex_pool, zero_for_one, amount).ticks_crossed == 0
        for amount_out in (1, 10 ** max(decimals_out - 2, 0) + 3):
            check_exact_output(dex_pool, zero_for_one, amount_out)


def _add_ranges(dex: DexPool) -> int:
    """Five more LP positions at several ranges around the price; returns the grid tick below it."""
    state = dex.state()
    s = state.tick_spacing
    base = state.tick // s * s
    size0, size1 = 50_000 * 10 ** dex.decimals(0), 50_000 * 10 ** dex.decimals(1)
    for lower, upper in ((-12, -3), (-7, 1), (2, 9), (-30, -20), (15, 40)):
        dex.add_position(base + lower * s, base + upper * s, size0, size1)
    return base


def test_swaps_crossing_several_initialized_ticks(dex_pool):
    base = _add_ranges(dex_pool)
    before = dex_pool.state()
    s = before.tick_spacing
    down = amount_to_move_price_to(before, get_sqrt_ratio_at_tick(base - 25 * s))
    mine = check_exact_input(dex_pool, True, down)
    assert mine.ticks_crossed >= 4
    quoted = count_initialized_ticks_crossed(before, before.tick, mine.tick_after)
    quirk = before.tick < 0 and before.tick % s != 0  # xUSD/USDC: int24 division counts base + s too
    assert quoted == mine.ticks_crossed + quirk
    up = amount_to_move_price_to(dex_pool.state(), get_sqrt_ratio_at_tick(base + 30 * s) + 12345)
    assert check_exact_input(dex_pool, False, up).ticks_crossed >= 7
    state = dex_pool.state()
    out = -swap(state, True, amount_to_move_price_to(state, get_sqrt_ratio_at_tick(base - 10 * s))).amount1
    assert check_exact_output(dex_pool, True, out).ticks_crossed >= 4
    limit = get_sqrt_ratio_at_tick(base + 8 * s) + 999
    assert check_exact_input(dex_pool, False, 10**60, limit).sqrt_price_x96_after == limit  # a partial fill


def test_swaps_exhausting_the_liquidity(dex_pool):
    _add_ranges(dex_pool)
    for zero_for_one in (True, False):
        state = dex_pool.state()
        edge = min(state.ticks) if zero_for_one else max(state.ticks)
        beyond = get_sqrt_ratio_at_tick(edge - 50 * state.tick_spacing if zero_for_one else edge + 50 * state.tick_spacing)
        mine = check_exact_input(dex_pool, zero_for_one, 10**60, beyond)  # all of it, stopping at a limit
        assert mine.liquidity_after == 0 and mine.sqrt_price_x96_after == beyond
    # Now above every position: sell token0 without any limit, through all of them to the bottom
    # (on a 1-bp pool the quote alone: the walk takes more gas than a block holds).
    crossed = len(dex_pool.state().ticks)
    mine = check_exact_input(dex_pool, True, 10**60)
    assert mine.sqrt_price_x96_after == MIN_SQRT_RATIO + 1 and mine.liquidity_after == 0
    assert mine.ticks_crossed == crossed
