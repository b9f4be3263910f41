"""Uniswap v3 swaps, integer for integer as the pool contract (`@uniswap/v3-core@1.0.1`).

Why exact: seized collateral leaves through the pools, and the solver's claims are checked
against the chain to the wei. Float maths would drift at every step and the cascade's fixed point
would stop where the chain does not. Every function below mirrors one contract function (named in
its comment) with the same rounding and the same reverts, raised as `UniswapV3Error` with the
contract's reason string where it has one. Python's integers stand in for FullMath's 512-bit
products; the 256/160/128-bit bounds the contract checks are checked here too.

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

import numpy as np

from loopscan.errors import LoopscanError

__all__ = [
    "MIN_TICK", "MAX_TICK", "MIN_SQRT_RATIO", "MAX_SQRT_RATIO", "Q96", "UniswapV3Error",
    "get_sqrt_ratio_at_tick", "get_tick_at_sqrt_ratio", "get_amount0_delta", "get_amount1_delta",
    "get_next_sqrt_price_from_input", "get_next_sqrt_price_from_output", "compute_swap_step",
    "PoolState", "SwapResult", "swap", "state_after", "count_initialized_ticks_crossed",
    "price_of", "price_after_selling", "amount_to_move_price_to", "DepthCurve", "depth_curve",
]  # fmt: skip

MIN_TICK, MAX_TICK = -887272, 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
Q96 = 1 << 96
_U256, _U160, _U128, _I256 = 1 << 256, 1 << 160, 1 << 128, 1 << 255
_PIPS = 10**6  # fees are in hundredths of a bip

# TickMath.getSqrtRatioAtTick: 2^128 / sqrt(1.0001)^(2^k), k = 0..19, as Q128.128.
_TICK_FACTORS = (
    0xFFFCB933BD6FAD37AA2D162D1A594001, 0xFFF97272373D413259A46990580E213A, 0xFFF2E50F5F656932EF12357CF3C7FDCC,
    0xFFE5CACA7E10E4E61C3624EAA0941CD0, 0xFFCB9843D60F6159C9DB58835C926644, 0xFF973B41FA98C081472E6896DFB254C0,
    0xFF2EA16466C96A3843EC78B326B52861, 0xFE5DEE046A99A2A811C461F1969C3053, 0xFCBE86C7900A88AEDCFFC83B479AA3A4,
    0xF987A7253AC413176F2B074CF7815E54, 0xF3392B0822B70005940C7A398E4B70F3, 0xE7159475A2C29B7443B29C7FA6E889D9,
    0xD097F3BDFD2022B8845AD8F792AA5825, 0xA9F746462D870FDF8A65DC1F90E061E5, 0x70D869A156D2A1B890BB3DF62BAF32F7,
    0x31BE135F97D08FD981231505542FCFA6, 0x9AA508B5B7A84E1C677DE54F3E99BC9, 0x5D6AF8DEDB81196699C329225EE604,
    0x2216E584F5FA1EA926041BEDFE98, 0x48A170391F7DC42444E8FA2,
)  # fmt: skip


class UniswapV3Error(LoopscanError):
    """The pool contract would revert on this input; the message is its reason where it has one."""


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise UniswapV3Error(reason)


def _mul_div(a: int, b: int, d: int) -> int:
    # FullMath.mulDiv: floor(a*b/d) over 512 bits, reverting if d == 0 or the result overflows
    _require(d > 0, "FullMath.mulDiv: denominator is zero")
    result = a * b // d
    _require(result < _U256, "FullMath.mulDiv: overflow")
    return result


def _mul_div_up(a: int, b: int, d: int) -> int:
    # FullMath.mulDivRoundingUp
    result = _mul_div(a, b, d)
    if a * b % d:
        _require(result < _U256 - 1, "FullMath.mulDivRoundingUp: overflow")
        result += 1
    return result


def _div_up(a: int, d: int) -> int:
    # UnsafeMath.divRoundingUp (callers guarantee d > 0, as in the contract)
    return -(-a // d)


# -- TickMath ----------------------------------------------------------------------------------
def get_sqrt_ratio_at_tick(tick: int) -> int:
    """sqrt(1.0001^tick) · 2^96, rounded up (TickMath.getSqrtRatioAtTick)."""
    a = abs(tick)
    _require(a <= MAX_TICK, "T")
    ratio = _TICK_FACTORS[0] if a & 1 else 1 << 128
    for bit in range(1, 20):
        if a & (1 << bit):
            ratio = ratio * _TICK_FACTORS[bit] >> 128
    if tick > 0:
        ratio = (_U256 - 1) // ratio
    return (ratio >> 32) + (1 if ratio & 0xFFFFFFFF else 0)


def get_tick_at_sqrt_ratio(sqrt_price_x96: int) -> int:
    """The greatest tick whose sqrt ratio is <= `sqrt_price_x96` (TickMath.getTickAtSqrtRatio).

    The contract's own log2 approximation, step by step, so that even its tie-break is the same.
    """
    _require(MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO, "R")
    ratio = sqrt_price_x96 << 32
    msb = ratio.bit_length() - 1
    r = ratio >> (msb - 127) if msb >= 128 else ratio << (127 - msb)
    log_2 = (msb - 128) << 64
    for shift in range(63, 49, -1):
        r = (r * r) >> 127
        f = r >> 128
        log_2 |= f << shift
        r >>= f
    log_sqrt10001 = log_2 * 255738958999603826347141
    tick_low = (log_sqrt10001 - 3402992956809132418596140100660247210) >> 128
    tick_high = (log_sqrt10001 + 291339464771989622907027621153398088495) >> 128
    if tick_low == tick_high:
        return tick_low
    return tick_high if get_sqrt_ratio_at_tick(tick_high) <= sqrt_price_x96 else tick_low


# -- SqrtPriceMath -----------------------------------------------------------------------------
def _next_from_amount0_up(sqrt_p: int, liquidity: int, amount: int, add: bool) -> int:
    # SqrtPriceMath.getNextSqrtPriceFromAmount0RoundingUp, overflow branches included
    if amount == 0:
        return sqrt_p
    numerator1 = liquidity << 96
    product = amount * sqrt_p
    if add:
        if product < _U256 and numerator1 + product < _U256:
            return _mul_div_up(numerator1, sqrt_p, numerator1 + product)
        denominator = numerator1 // sqrt_p + amount
        _require(denominator < _U256, "LowGasSafeMath.add: overflow")
        return _div_up(numerator1, denominator)
    _require(product < _U256 and numerator1 > product, "SqrtPriceMath: amount0 exceeds the reserves")
    result = _mul_div_up(numerator1, sqrt_p, numerator1 - product)
    _require(result < _U160, "SafeCast.toUint160: overflow")
    return result


def _next_from_amount1_down(sqrt_p: int, liquidity: int, amount: int, add: bool) -> int:
    # SqrtPriceMath.getNextSqrtPriceFromAmount1RoundingDown (its two quotient branches agree)
    if add:
        result = sqrt_p + _mul_div(amount, Q96, liquidity)
        _require(result < _U160, "SafeCast.toUint160: overflow")
        return result
    quotient = _mul_div_up(amount, Q96, liquidity)
    _require(sqrt_p > quotient, "SqrtPriceMath: amount1 exceeds the reserves")
    return sqrt_p - quotient


def get_next_sqrt_price_from_input(sqrt_p: int, liquidity: int, amount_in: int, zero_for_one: bool) -> int:
    """The price after adding `amount_in`, rounded so as not to pass the target
    (SqrtPriceMath.getNextSqrtPriceFromInput)."""
    _require(sqrt_p > 0 and liquidity > 0, "SqrtPriceMath: zero price or liquidity")
    if zero_for_one:
        return _next_from_amount0_up(sqrt_p, liquidity, amount_in, True)
    return _next_from_amount1_down(sqrt_p, liquidity, amount_in, True)


def get_next_sqrt_price_from_output(sqrt_p: int, liquidity: int, amount_out: int, zero_for_one: bool) -> int:
    """The price after removing `amount_out`, rounded so as to pass the target
    (SqrtPriceMath.getNextSqrtPriceFromOutput)."""
    _require(sqrt_p > 0 and liquidity > 0, "SqrtPriceMath: zero price or liquidity")
    if zero_for_one:
        return _next_from_amount1_down(sqrt_p, liquidity, amount_out, False)
    return _next_from_amount0_up(sqrt_p, liquidity, amount_out, False)


def get_amount0_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Token0 between two prices: L·(√b − √a)/(√a·√b) (SqrtPriceMath.getAmount0Delta)."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    _require(sqrt_a > 0, "SqrtPriceMath: zero price")
    numerator1, numerator2 = liquidity << 96, sqrt_b - sqrt_a
    if round_up:
        return _div_up(_mul_div_up(numerator1, numerator2, sqrt_b), sqrt_a)
    return _mul_div(numerator1, numerator2, sqrt_b) // sqrt_a


def get_amount1_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Token1 between two prices: L·(√b − √a) (SqrtPriceMath.getAmount1Delta)."""
    diff = abs(sqrt_b - sqrt_a)
    return _mul_div_up(liquidity, diff, Q96) if round_up else _mul_div(liquidity, diff, Q96)


# -- SwapMath ----------------------------------------------------------------------------------
def compute_swap_step(
    sqrt_current: int, sqrt_target: int, liquidity: int, amount_remaining: int, fee_pips: int
) -> tuple[int, int, int, int]:
    """One step of a swap within one tick range: (sqrt price next, amount in, amount out, fee)
    (SwapMath.computeSwapStep). `amount_remaining` > 0 is exact input, < 0 exact output."""
    zero_for_one = sqrt_current >= sqrt_target
    exact_in = amount_remaining >= 0
    amount_in = amount_out = 0
    if exact_in:
        less_fee = _mul_div(amount_remaining, _PIPS - fee_pips, _PIPS)
        amount_in = (
            get_amount0_delta(sqrt_target, sqrt_current, liquidity, True)
            if zero_for_one
            else get_amount1_delta(sqrt_current, sqrt_target, liquidity, True)
        )
        if less_fee >= amount_in:
            sqrt_next = sqrt_target
        else:
            sqrt_next = get_next_sqrt_price_from_input(sqrt_current, liquidity, less_fee, zero_for_one)
    else:
        amount_out = (
            get_amount1_delta(sqrt_target, sqrt_current, liquidity, False)
            if zero_for_one
            else get_amount0_delta(sqrt_current, sqrt_target, liquidity, False)
        )
        if -amount_remaining >= amount_out:
            sqrt_next = sqrt_target
        else:
            sqrt_next = get_next_sqrt_price_from_output(sqrt_current, liquidity, -amount_remaining, zero_for_one)
    at_target = sqrt_next == sqrt_target
    if zero_for_one:
        if not (at_target and exact_in):
            amount_in = get_amount0_delta(sqrt_next, sqrt_current, liquidity, True)
        if not (at_target and not exact_in):
            amount_out = get_amount1_delta(sqrt_next, sqrt_current, liquidity, False)
    else:
        if not (at_target and exact_in):
            amount_in = get_amount1_delta(sqrt_current, sqrt_next, liquidity, True)
        if not (at_target and not exact_in):
            amount_out = get_amount0_delta(sqrt_current, sqrt_next, liquidity, False)
    if not exact_in and amount_out > -amount_remaining:
        amount_out = -amount_remaining
    if exact_in and not at_target:
        fee = amount_remaining - amount_in  # the target was not reached: the rest is fee
    else:
        fee = _mul_div_up(amount_in, fee_pips, _PIPS - fee_pips)
    return sqrt_next, amount_in, amount_out, fee


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
        _require(MIN_SQRT_RATIO <= self.sqrt_price_x96 < MAX_SQRT_RATIO, "R")
        _require(0 <= self.liquidity < _U128 and 0 <= self.fee < _PIPS, "PoolState: liquidity or fee out of range")
        _require(self.tick_spacing > 0, "PoolState: tick spacing must be positive")
        for t in self.ticks:
            _require(t % self.tick_spacing == 0 and MIN_TICK <= t <= MAX_TICK, f"PoolState: tick {t} is not usable")
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


def _add_delta(liquidity: int, delta: int) -> int:
    # LiquidityMath.addDelta
    result = liquidity + delta
    _require(result >= 0, "LS")
    _require(result < _U128, "LA")
    return result


def swap(
    state: PoolState, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int | None = None
) -> SwapResult:
    """Exactly `UniswapV3Pool.swap`: exact input if `amount_specified` > 0, exact output if < 0.

    `sqrt_price_limit_x96=None` means no limit, as the periphery's 0 does (MIN+1 or MAX−1). A
    swap that runs out of liquidity stops at the limit with part of the amount unused.
    """
    _require(amount_specified != 0, "AS")
    _require(-_I256 <= amount_specified < _I256, "amount does not fit int256")
    limit = sqrt_price_limit_x96
    if limit is None:
        limit = MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1
    if zero_for_one:
        _require(MIN_SQRT_RATIO < limit < state.sqrt_price_x96, "SPL")
    else:
        _require(state.sqrt_price_x96 < limit < MAX_SQRT_RATIO, "SPL")
    exact_input = amount_specified > 0
    remaining, calculated = amount_specified, 0
    sqrt_p, tick, liquidity, crossed = state.sqrt_price_x96, state.tick, state.liquidity, 0
    while remaining != 0 and sqrt_p != limit:
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
                liquidity = _add_delta(liquidity, -net if zero_for_one else net)
                crossed += 1
            tick = tick_next - 1 if zero_for_one else tick_next
        elif sqrt_p != start:
            tick = get_tick_at_sqrt_ratio(sqrt_p)
    if zero_for_one == exact_input:
        amount0, amount1 = amount_specified - remaining, calculated
    else:
        amount0, amount1 = calculated, amount_specified - remaining
    return SwapResult(amount0, amount1, sqrt_p, tick, liquidity, crossed)


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
    _require(token_in in (0, 1), "token_in must be 0 or 1")
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

    bounded = swap(state, zero_for_one, _I256 - 1, sqrt_price_target)
    high = max(1, bounded.amount0 if zero_for_one else bounded.amount1)
    if reaches(high):
        if high == 1 or not reaches(high - 1):
            return high
        low = 0  # selling nothing reaches nothing
    else:
        low, high = high, high + 1
        while not reaches(high):
            low, high = high, min(2 * high, _I256 - 1)
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
