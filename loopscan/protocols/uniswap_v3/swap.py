"""Uniswap v3 swaps, integer for integer as the pool contract (`@uniswap/v3-core@1.0.1`).

The pool's state (`PoolState`), its swap loop (`UniswapV3Pool.swap`) and what the solver asks of
a pool: prices, the price after a sale, the sale that moves the price to a target, depth curves.
The contract libraries it runs on (TickMath, SqrtPriceMath, SwapMath, LiquidityMath, FullMath),
and why they are exact to the wei, are in `uniswap_v3_math`.

The one departure is the input, not the maths: the tick bitmap is replaced by the initialized
ticks themselves (`PoolState.ticks`). The swap loop still stops at the bitmap's word boundaries
(every 256 tick spacings) exactly where the contract does, because each stop rounds on its own.

>>> s = PoolState(sqrt_price_x96=Q96, tick=0, liquidity=2 * 10**18, fee=500, tick_spacing=10,
...               ticks={-10: 2 * 10**18, 10: -2 * 10**18})
>>> r = swap(s, zero_for_one=True, amount_specified=1000)
>>> (r.amount0, r.amount1, r.tick_after)
(1000, -998, -1)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache

import numpy as np

from loopscan.protocols.uniswap_v3.maths import (
    I256,
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    PIPS,
    Q96,
    U128,
    UniswapV3Error,
    add_delta,
    compute_swap_step,
    get_amount0_delta,
    get_amount1_delta,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
    last_empty_word_stop,
    require,
)

# The contract libraries' names stay importable from here (re-exported from `uniswap_v3_math`),
# so that `from loopscan.protocols.uniswap_v3.swap import Q96, swap` works as it did before the split.
__all__ = [
    "MIN_TICK", "MAX_TICK", "MIN_SQRT_RATIO", "MAX_SQRT_RATIO", "Q96", "UniswapV3Error",
    "get_sqrt_ratio_at_tick", "get_tick_at_sqrt_ratio", "get_amount0_delta", "get_amount1_delta",
    "get_next_sqrt_price_from_input", "get_next_sqrt_price_from_output", "compute_swap_step",
    "PoolState", "SwapResult", "swap", "Seller", "state_after", "count_initialized_ticks_crossed",
    "price_of", "price_after_selling", "amount_to_move_price_to", "DepthCurve", "depth_curve",
]  # fmt: skip


# -- the pool ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolState:
    """What a swap reads from a pool: slot0's price and tick, the active liquidity, the fee (in
    hundredths of a bip), the tick spacing, and every initialized tick with its `liquidityNet`.

    Independent of I/O: an indexer or a test fills it from `slot0()`, `liquidity()`, `fee()`,
    `tickSpacing()`, `tickBitmap(word)` and `ticks(tick)`.
    """

    sqrt_price_x96: int
    tick: int
    liquidity: int
    fee: int
    tick_spacing: int
    ticks: Mapping[int, int]
    _sorted: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        require(MIN_SQRT_RATIO <= self.sqrt_price_x96 < MAX_SQRT_RATIO, "R")
        require(0 <= self.liquidity < U128 and 0 <= self.fee < PIPS, "PoolState: liquidity or fee out of range")
        require(self.tick_spacing > 0, "PoolState: tick spacing must be positive")
        for t in self.ticks:
            require(t % self.tick_spacing == 0 and MIN_TICK <= t <= MAX_TICK, f"PoolState: tick {t} is not usable")
        object.__setattr__(self, "ticks", dict(sorted(self.ticks.items())))
        object.__setattr__(self, "_sorted", tuple(self.ticks))

    def next_initialized_tick_within_one_word(self, tick: int, lte: bool) -> tuple[int, bool]:
        # TickBitmap.nextInitializedTickWithinOneWord, on the sorted ticks instead of the bitmap
        spacing, ticks = self.tick_spacing, self._sorted
        compressed = tick // spacing  # rounds towards negative infinity, as the contract does
        if lte:
            word_start = (compressed >> 8) << 8
            i = bisect_right(ticks, compressed * spacing) - 1
            if i >= 0 and ticks[i] >= word_start * spacing:
                return ticks[i], True
            return word_start * spacing, False
        word_end = (((compressed + 1) >> 8) << 8) + 255
        i = bisect_left(ticks, (compressed + 1) * spacing)
        if i < len(ticks) and ticks[i] <= word_end * spacing:
            return ticks[i], True
        return word_end * spacing, False


@dataclass(frozen=True)
class SwapResult:
    """The pool's view of a swap: amounts it receives (> 0) or pays (< 0), and its state after.
    `ticks_crossed` counts the initialized ticks the loop actually crossed."""

    amount0: int
    amount1: int
    sqrt_price_x96_after: int
    tick_after: int
    liquidity_after: int
    ticks_crossed: int


def swap(
    state: PoolState, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int | None = None
) -> SwapResult:
    """Exactly `UniswapV3Pool.swap`: exact input if `amount_specified` > 0, exact output if < 0.

    `sqrt_price_limit_x96=None` means no limit, as the periphery's 0 does (MIN+1 or MAX−1). A
    swap that runs out of liquidity stops at the limit with part of the amount unused.
    """
    require(amount_specified != 0, "AS")
    require(-I256 <= amount_specified < I256, "amount does not fit int256")
    limit = sqrt_price_limit_x96
    if limit is None:
        limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
    if zero_for_one:
        require(MIN_SQRT_RATIO < limit < state.sqrt_price_x96, "SPL")
    else:
        require(state.sqrt_price_x96 < limit < MAX_SQRT_RATIO, "SPL")
    at = (amount_specified, 0, state.sqrt_price_x96, state.tick, state.liquidity, 0)
    return _result(zero_for_one, amount_specified, _loop(state, zero_for_one, limit, at)[0])


def _loop(
    state: PoolState, zero_for_one: bool, limit: int, at: tuple, final_tick: bool = True
) -> tuple[tuple, tuple | None]:
    """The swap loop from `at` = (amount remaining, calculated, sqrt price, tick, liquidity, ticks
    crossed) to its end, and the last point passed where a larger exact-input swap passes too.

    Each step that reaches its target takes an amount that depends on its range only, so a swap
    of more input crosses it the same way: after every such step with input left is such a point,
    and so is the end at the price limit. Without liquidity, the steps that only hop from bitmap
    word to bitmap word (no amount) are jumped over at once.
    """
    remaining, calculated, sqrt_p, tick, liquidity, crossed = at
    exact_input, checkpoint, limit_tick = remaining > 0, None, None
    while remaining != 0 and sqrt_p != limit:
        if liquidity == 0:
            if limit_tick is None:
                limit_tick = _tick_of_limit(limit)
            stop = last_empty_word_stop(state._sorted, state.tick_spacing, tick, zero_for_one, limit_tick)
            if stop is not None:
                sqrt_p, tick = get_sqrt_ratio_at_tick(stop), stop - 1 if zero_for_one else stop
                if exact_input:
                    checkpoint = (remaining, calculated, sqrt_p, tick, liquidity, crossed)
                continue
        start = sqrt_p
        tick_next, initialized = state.next_initialized_tick_within_one_word(tick, zero_for_one)
        tick_next = min(max(tick_next, MIN_TICK), MAX_TICK)
        sqrt_next = get_sqrt_ratio_at_tick(tick_next)
        beyond = sqrt_next < limit if zero_for_one else sqrt_next > limit
        sqrt_p, amount_in, amount_out, fee = compute_swap_step(
            sqrt_p, limit if beyond else sqrt_next, liquidity, remaining, state.fee
        )
        if exact_input:
            remaining -= amount_in + fee
            calculated -= amount_out
        else:
            remaining += amount_out
            calculated += amount_in + fee
        if sqrt_p == sqrt_next:
            if initialized:  # Tick.cross: liquidityNet, negated when moving left
                net = state.ticks[tick_next]
                liquidity = add_delta(liquidity, -net if zero_for_one else net)
                crossed += 1
            tick = tick_next - 1 if zero_for_one else tick_next
            if exact_input and remaining > 0:
                checkpoint = (remaining, calculated, sqrt_p, tick, liquidity, crossed)
        elif sqrt_p != start and (final_tick or sqrt_p == limit):  # a step short of its target is the last
            tick = get_tick_at_sqrt_ratio(sqrt_p)
    end = (remaining, calculated, sqrt_p, tick, liquidity, crossed)
    return end, (end if exact_input and remaining > 0 and sqrt_p == limit else checkpoint)


_tick_of_limit = lru_cache(maxsize=256)(get_tick_at_sqrt_ratio)  # swaps mostly use the default limits


def _result(zero_for_one: bool, amount_specified: int, end: tuple) -> SwapResult:
    remaining, calculated, sqrt_p, tick, liquidity, crossed = end
    if zero_for_one == (amount_specified > 0):
        amount0, amount1 = amount_specified - remaining, calculated
    else:
        amount0, amount1 = calculated, amount_specified - remaining
    return SwapResult(amount0, amount1, sqrt_p, tick, liquidity, crossed)


class Seller:
    """Exact-input sales of one token into one pool, without a price limit, at growing sizes: what
    a cascade asks of a pool after each liquidator's sale. `sell(a)` is `swap(state, zero_for_one,
    a)`; when `a` is at least the previous sale it resumes from the last point that sale passed
    (see `_loop`) instead of starting over."""

    def __init__(self, state: PoolState, zero_for_one: bool) -> None:
        self.state, self.zero_for_one = state, zero_for_one
        self.limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
        self.sold, self.checkpoint = 0, None  # a point the sale of `sold` passed, as _loop's `at`
        self.ahead: tuple | None = None  # (point, input that takes its first step to its target): `_within_step`

    def sell(self, amount: int, final_tick: bool = True) -> SwapResult:
        require(amount != 0, "AS")
        require(-I256 <= amount < I256, "amount does not fit int256")
        price = self.state.sqrt_price_x96
        require(self.limit < price if self.zero_for_one else price < self.limit, "SPL")  # as swap's check
        if amount > 0 and self.checkpoint is not None and amount >= self.sold:
            at = (self.checkpoint[0] + amount - self.sold, *self.checkpoint[1:])
        else:
            at = (amount, 0, self.state.sqrt_price_x96, self.state.tick, self.state.liquidity, 0)
        end, checkpoint = _loop(self.state, self.zero_for_one, self.limit, at, final_tick)
        if checkpoint is not None:
            self.sold, self.checkpoint = amount, checkpoint
        return _result(self.zero_for_one, amount, end)

    @property
    def exhausted(self) -> bool:
        """A sale has reached the price limit (the pool's liquidity on this side is used up): a
        larger sale ends there too, as `_loop` resumes at the limit and stops at once."""
        return self.checkpoint is not None and self.checkpoint[2] == self.limit

    def sqrt_price_after(self, amount: int) -> int:
        """`sell(amount).sqrt_price_x96_after`, without working out the tick of that price."""
        if self.exhausted and self.sold <= amount < I256:
            return self.limit
        within = self._within_step(amount)
        return within if within is not None else self.sell(amount, final_tick=False).sqrt_price_x96_after

    def _within_step(self, amount: int) -> int | None:
        """The price after selling `amount` where that sale ends inside the first step of the loop
        `sell` would run (from the last checkpoint, or the pin): None where it does not, or where
        `sell` would revert. That step stops short of its target, so its price is
        `compute_swap_step`'s `get_next_sqrt_price_from_input` of the input less the fee, and the
        input its range takes up to the target is the same for every such sale: it is worked out
        once per checkpoint. A cascade's sales into one pool mostly grow by less than one range."""
        price = self.state.sqrt_price_x96
        if not 0 < amount < I256 or not (self.limit < price if self.zero_for_one else price < self.limit):
            return None
        if self.checkpoint is not None and amount >= self.sold:
            point, remaining = self.checkpoint, self.checkpoint[0] + amount - self.sold
        else:
            point, remaining = None, amount
        if self.ahead is None or self.ahead[0] is not point:
            self.ahead = (point, self._step_input(point))
        sqrt_p, liquidity, reach, _ = self.ahead[1]
        less_fee = remaining * (PIPS - self.state.fee) // PIPS  # FullMath.mulDiv, as compute_swap_step
        if reach is None or less_fee >= reach:
            return None
        return get_next_sqrt_price_from_input(sqrt_p, liquidity, less_fee, self.zero_for_one)

    def _step_input(self, point: tuple | None) -> tuple[int, int, int | None, int]:
        """From `point` (a checkpoint, or None: the pin), the loop's first step as `_loop` takes it:
        (its sqrt price, liquidity, the input that reaches its target, the target), the input None
        (and the target the price itself) where the loop would not take that step (no liquidity,
        or already at the limit)."""
        state = self.state
        at = point[2:5] if point is not None else (state.sqrt_price_x96, state.tick, state.liquidity)
        sqrt_p, tick, liquidity = at
        if liquidity == 0 or sqrt_p == self.limit:
            return sqrt_p, liquidity, None, sqrt_p
        tick_next, _ = state.next_initialized_tick_within_one_word(tick, self.zero_for_one)
        sqrt_next = get_sqrt_ratio_at_tick(min(max(tick_next, MIN_TICK), MAX_TICK))
        beyond = sqrt_next < self.limit if self.zero_for_one else sqrt_next > self.limit
        target = self.limit if beyond else sqrt_next
        if self.zero_for_one:
            return sqrt_p, liquidity, get_amount0_delta(target, sqrt_p, liquidity, True), target
        return sqrt_p, liquidity, get_amount1_delta(sqrt_p, target, liquidity, True), target


def state_after(state: PoolState, result: SwapResult) -> PoolState:
    """The pool after `result`: swaps never change liquidityNet, so only slot0 and liquidity move."""
    return replace(
        state, sqrt_price_x96=result.sqrt_price_x96_after, tick=result.tick_after, liquidity=result.liquidity_after
    )


def count_initialized_ticks_crossed(state: PoolState, tick_before: int, tick_after: int) -> int:
    """QuoterV2's `initializedTicksCrossed` (v3-periphery PoolTicksCounter), quirks included.

    It counts bitmap bits between the two ticks with Solidity's truncating division, so for a
    negative tick that is not on the spacing grid it may count one tick the swap never crossed;
    `SwapResult.ticks_crossed` is the true count.
    """
    spacing, initialized = state.tick_spacing, set(state.ticks)

    def compress(t: int) -> int:
        return abs(t) // spacing * (1 if t >= 0 else -1)  # int24 division truncates towards zero

    lo, hi = sorted((compress(tick_before), compress(tick_after)))
    count = sum(1 for t in state._sorted if lo <= t // spacing <= hi)
    if tick_after in initialized and tick_before > tick_after:  # on the grid and initialized
        count -= 1
    if tick_before in initialized and tick_before < tick_after:
        count -= 1
    return count


# -- what the solver asks ----------------------------------------------------------------------
def price_of(sqrt_price_x96: int) -> Fraction:
    """The pool's price, token1 units per token0 unit, exactly."""
    return Fraction(sqrt_price_x96 * sqrt_price_x96, 1 << 192)


def price_after_selling(state: PoolState, token_in: int, amount: int) -> Fraction:
    """The marginal price of `token_in` (0 or 1) in units of the other token, fee excluded, after
    selling `amount` of it into the pool (as much as the liquidity takes)."""
    require(token_in in (0, 1), "token_in must be 0 or 1")
    if amount == 0:
        p = price_of(state.sqrt_price_x96)
    else:
        p = price_of(swap(state, token_in == 0, amount).sqrt_price_x96_after)
    return p if token_in == 0 else 1 / p


def amount_to_move_price_to(state: PoolState, sqrt_price_target: int) -> int:
    """The least input (fee included) that, sold without a price limit, moves the price to
    `sqrt_price_target` or beyond: token0 if the target is below the current price, token1 if
    above; 0 only when the target is the current price.

    Start from what the pool takes when selling without bound up to that price limit (the core
    tests' `swapToLowerSqrtPrice`, or a router's `sqrtPriceLimitX96`); that is almost always the
    answer. Rounding at dust liquidity can make one wei less enough, and a target inside a range
    without liquidity needs one wei more (the sale stops at the range's edge otherwise); in both
    cases bisect on the (monotone) end price.
    """
    current = state.sqrt_price_x96
    if sqrt_price_target == current:
        return 0
    zero_for_one = sqrt_price_target < current

    def reaches(amount: int) -> bool:
        after = swap(state, zero_for_one, amount).sqrt_price_x96_after
        return after <= sqrt_price_target if zero_for_one else after >= sqrt_price_target

    bounded = swap(state, zero_for_one, I256 - 1, sqrt_price_target)
    high = max(1, bounded.amount0 if zero_for_one else bounded.amount1)
    if reaches(high):
        if high == 1 or not reaches(high - 1):
            return high
        low = 0  # selling nothing reaches nothing
    else:
        low, high = high, high + 1
        while not reaches(high):
            low, high = high, min(2 * high, I256 - 1)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if reaches(mid) else (mid, high)
    return high


@dataclass(frozen=True)
class DepthCurve:
    """Selling `token_in` into a pool at growing sizes (token units, floats for plotting).

    `amount_in` is what the pool took (less than asked once the liquidity is exhausted);
    `impact` = 1 − marginal price after / before; `slippage` = 1 − execution price / spot price
    (fee included); prices are of `token_in` in units of the other token.
    """

    token_in: int
    amount_in: np.ndarray
    amount_out: np.ndarray
    price_after: np.ndarray
    impact: np.ndarray
    slippage: np.ndarray


def depth_curve(state: PoolState, token_in: int, sizes: Sequence[int]) -> DepthCurve:
    """Price impact as a function of size, one exact swap per size.

    >>> sizes = [int(x) for x in np.geomspace(1e3, 1e24, 50)]  # e.g. log-spaced for a plot
    """
    spot = price_after_selling(state, token_in, 0)
    rows = []
    for size in sizes:
        r = swap(state, token_in == 0, int(size))
        taken, got = (r.amount0, -r.amount1) if token_in == 0 else (r.amount1, -r.amount0)
        after = price_of(r.sqrt_price_x96_after)
        after = after if token_in == 0 else 1 / after
        slip = float(1 - Fraction(got, taken) / spot) if taken else float("nan")
        rows.append((taken, got, float(after), float(1 - after / spot), slip))
    cols = np.array(rows, dtype=float).reshape(len(rows), 5).T
    return DepthCurve(token_in, *cols)
