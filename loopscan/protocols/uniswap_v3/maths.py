"""Uniswap v3's contract libraries, integer for integer (`@uniswap/v3-core@1.0.1`).

Why exact: seized collateral leaves through the pools, and the solver's claims are checked
against the chain to the wei. Float maths would drift at every step and the cascade's fixed point
would stop where the chain does not. Every function below mirrors one contract function (named in
its comment) with the same rounding and the same reverts, raised as `UniswapV3Error` with the
contract's reason string where it has one. Python's integers stand in for FullMath's 512-bit
products; the 256/160/128-bit bounds the contract checks are checked here too.

TickMath, SqrtPriceMath, SwapMath, LiquidityMath and the FullMath helpers live here; the pool
itself (`PoolState`, the swap loop) and what the solver asks of it are in `uniswap_v3`.

>>> get_sqrt_ratio_at_tick(0) == Q96
True
>>> compute_swap_step(Q96, get_sqrt_ratio_at_tick(-10), 2 * 10**18, 1000, 500)[1:]
(999, 998, 1)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from functools import lru_cache

from loopscan.errors import LoopscanError

__all__ = [
    "MIN_TICK", "MAX_TICK", "MIN_SQRT_RATIO", "MAX_SQRT_RATIO", "Q96", "U128", "I256", "PIPS",
    "UniswapV3Error", "require", "add_delta",
    "get_sqrt_ratio_at_tick", "get_tick_at_sqrt_ratio", "get_amount0_delta", "get_amount1_delta",
    "get_next_sqrt_price_from_input", "get_next_sqrt_price_from_output", "compute_swap_step",
    "last_empty_word_stop",
]  # fmt: skip

MIN_TICK, MAX_TICK = -887272, 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
Q96 = 1 << 96
_U256, _U160 = 1 << 256, 1 << 160
U128 = 1 << 128  # uint128 values are below this (liquidity)
I256 = 1 << 255  # int256 values are in [-I256, I256) (swap amounts)
PIPS = 10**6  # fees are in hundredths of a bip

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


def require(condition: bool, reason: str) -> None:
    """Revert (raise `UniswapV3Error` with `reason`) unless `condition`, as Solidity's `require`."""
    if not condition:
        raise UniswapV3Error(reason)


def _mul_div(a: int, b: int, d: int) -> int:
    # FullMath.mulDiv: floor(a*b/d) over 512 bits, reverting if d == 0 or the result overflows
    require(d > 0, "FullMath.mulDiv: denominator is zero")
    result = a * b // d
    require(result < _U256, "FullMath.mulDiv: overflow")
    return result


def _mul_div_up(a: int, b: int, d: int) -> int:
    # FullMath.mulDivRoundingUp
    result = _mul_div(a, b, d)
    if a * b % d:
        require(result < _U256 - 1, "FullMath.mulDivRoundingUp: overflow")
        result += 1
    return result


def _div_up(a: int, d: int) -> int:
    # UnsafeMath.divRoundingUp (callers guarantee d > 0, as in the contract)
    return -(-a // d)


# -- TickMath ----------------------------------------------------------------------------------
@lru_cache(maxsize=1 << 16)  # pure, and a pool's swaps stop at the same few ticks again and again
def get_sqrt_ratio_at_tick(tick: int) -> int:
    """sqrt(1.0001^tick) · 2^96, rounded up (TickMath.getSqrtRatioAtTick)."""
    a = abs(tick)
    require(a <= MAX_TICK, "T")
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
    require(MIN_SQRT_RATIO <= sqrt_price_x96 < MAX_SQRT_RATIO, "R")
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
        require(denominator < _U256, "LowGasSafeMath.add: overflow")
        return _div_up(numerator1, denominator)
    require(product < _U256 and numerator1 > product, "SqrtPriceMath: amount0 exceeds the reserves")
    result = _mul_div_up(numerator1, sqrt_p, numerator1 - product)
    require(result < _U160, "SafeCast.toUint160: overflow")
    return result


def _next_from_amount1_down(sqrt_p: int, liquidity: int, amount: int, add: bool) -> int:
    # SqrtPriceMath.getNextSqrtPriceFromAmount1RoundingDown (its two quotient branches agree)
    if add:
        result = sqrt_p + _mul_div(amount, Q96, liquidity)
        require(result < _U160, "SafeCast.toUint160: overflow")
        return result
    quotient = _mul_div_up(amount, Q96, liquidity)
    require(sqrt_p > quotient, "SqrtPriceMath: amount1 exceeds the reserves")
    return sqrt_p - quotient


def get_next_sqrt_price_from_input(sqrt_p: int, liquidity: int, amount_in: int, zero_for_one: bool) -> int:
    """The price after adding `amount_in`, rounded so as not to pass the target
    (SqrtPriceMath.getNextSqrtPriceFromInput)."""
    require(sqrt_p > 0 and liquidity > 0, "SqrtPriceMath: zero price or liquidity")
    if zero_for_one:
        return _next_from_amount0_up(sqrt_p, liquidity, amount_in, True)
    return _next_from_amount1_down(sqrt_p, liquidity, amount_in, True)


def get_next_sqrt_price_from_output(sqrt_p: int, liquidity: int, amount_out: int, zero_for_one: bool) -> int:
    """The price after removing `amount_out`, rounded so as to pass the target
    (SqrtPriceMath.getNextSqrtPriceFromOutput)."""
    require(sqrt_p > 0 and liquidity > 0, "SqrtPriceMath: zero price or liquidity")
    if zero_for_one:
        return _next_from_amount1_down(sqrt_p, liquidity, amount_out, False)
    return _next_from_amount0_up(sqrt_p, liquidity, amount_out, False)


def get_amount0_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Token0 between two prices: L·(√b − √a)/(√a·√b) (SqrtPriceMath.getAmount0Delta)."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    require(sqrt_a > 0, "SqrtPriceMath: zero price")
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
        less_fee = _mul_div(amount_remaining, PIPS - fee_pips, PIPS)
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
        fee = _mul_div_up(amount_in, fee_pips, PIPS - fee_pips)
    return sqrt_next, amount_in, amount_out, fee


# -- LiquidityMath -----------------------------------------------------------------------------
def add_delta(liquidity: int, delta: int) -> int:
    """`liquidity` + `delta`, reverting below zero or past uint128 (LiquidityMath.addDelta)."""
    result = liquidity + delta
    require(result >= 0, "LS")
    require(result < U128, "LA")
    return result


# -- TickBitmap, where a swap has no liquidity ---------------------------------------------------
def last_empty_word_stop(
    ticks: tuple[int, ...], spacing: int, tick: int, zero_for_one: bool, limit_tick: int
) -> int | None:
    """Where a swap without liquidity can jump to: the farthest bitmap-word boundary the swap loop
    would stop at (`nextInitializedTickWithinOneWord` finding nothing) before the next initialized
    tick of `ticks` (sorted) and strictly before the limit's tick; None if not past the next stop.

    Such stops move no amount: the loop's state there is only (that boundary's price, its tick).
    Going down the stops are word starts and leave the tick at boundary - 1; going up, word ends.
    """
    compressed = tick // spacing
    if zero_for_one:
        i = bisect_right(ticks, compressed * spacing) - 1
        word = max((ticks[i] // spacing >> 8) + 1 if i >= 0 else -(1 << 30), (limit_tick // spacing >> 8) + 1)
        return word * 256 * spacing if word <= (compressed >> 8) - 1 else None
    i = bisect_left(ticks, (compressed + 1) * spacing)
    word = min(
        (ticks[i] // spacing >> 8) - 1 if i < len(ticks) else 1 << 30, ((limit_tick - 1) // spacing - 255) // 256
    )
    return (word * 256 + 255) * spacing if word >= ((compressed + 1) >> 8) + 1 else None
