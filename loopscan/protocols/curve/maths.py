"""Curve StableSwap exchanges, integer for integer as the classic plain pool.

Which contract: curvefi/curve-contract `contracts/pool-templates/base/SwapTemplateBase.vy` at
574f44027d089de0eac765f5a74ea5ae96aba968 (the plain-pool template of 2020–2022: `A_PRECISION = 100`, fixed `RATES[i] = 10**(36 - decimals)`,
a flat fee in 1e10 units, `dy - 1` "just in case"). Why that one: it is the maths that curvesim
(the peer checked in the tests) implements, and the one most of the old stable pools run. With an
integer A (`amp` a multiple of `A_PRECISION`) its results equal the older templates' (3pool, no
`A_PRECISION`) to the wei, since A_PRECISION then cancels exactly.

Stableswap-NG (`CurveStableSwapNG.vy`: `D_P` divided by `N**N` once per loop, a dynamic fee,
rates from oracles or ERC-4626 tokens) is in `ng`; it shares `get_y_for_D` and `amp_at` with
this module. Classic metapools price their base LP token by `get_virtual_price`: not covered.

>>> pool = StableSwapPool.from_decimals(250, [500_000 * 10**6] * 2, [6, 6], fee=4 * 10**6)
>>> ex = exchange(pool, 0, 1, 150 * 10**6); (ex.dy, ex.fee)
(149939820, 59999)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import prod

from loopscan.errors import LoopscanError

__all__ = [
    "A_PRECISION", "FEE_DENOMINATOR", "PRECISION", "CurveError", "StableSwapPool", "Exchange", "rates_for",
    "amp_at", "get_D", "get_y", "get_y_for_D", "get_dy", "exchange", "spot_price", "spot_price_at", "price_after_selling",
]  # fmt: skip

A_PRECISION = 100
FEE_DENOMINATOR = 10**10
PRECISION = 10**18
_ITERATIONS = 255  # both Newton loops give up (revert) after 255 rounds


class CurveError(LoopscanError):
    """The pool contract would revert on this input (a Vyper assert, underflow or division by 0)."""


def rates_for(decimals: Sequence[int]) -> tuple[int, ...]:
    """The template's `RATES`: 10**18 · PRECISION_MUL, i.e. 10**(36 − decimals), per coin."""
    return tuple(10 ** (36 - d) for d in decimals)


@dataclass(frozen=True)
class StableSwapPool:
    """A plain pool's state: `amp` is `A · A_PRECISION` (the contract's `A_precise()`), balances
    in token units, `rates` from `rates_for`, `fee` and `admin_fee` in 1e10 units."""

    amp: int
    balances: tuple[int, ...]
    rates: tuple[int, ...]
    fee: int
    admin_fee: int = 5 * 10**9

    def __post_init__(self) -> None:
        object.__setattr__(self, "balances", tuple(self.balances))
        object.__setattr__(self, "rates", tuple(self.rates))
        if len(self.balances) != len(self.rates) or len(self.balances) < 2:
            raise CurveError("a pool needs at least two coins, each with a balance and a rate")
        if self.amp <= 0 or min(self.balances) < 0 or not 0 <= self.fee < FEE_DENOMINATOR:
            raise CurveError("amp must be positive, balances non-negative and the fee below 100%")

    @classmethod
    def from_decimals(
        cls, A: int, balances: Sequence[int], decimals: Sequence[int], fee: int, admin_fee: int = 5 * 10**9
    ) -> StableSwapPool:
        """A pool from the integer `A()` a UI shows and each coin's decimals."""
        return cls(A * A_PRECISION, tuple(balances), rates_for(decimals), fee, admin_fee)

    @property
    def n(self) -> int:
        return len(self.balances)

    def xp(self) -> list[int]:
        # _xp / _xp_mem: balances in 18-decimal units, rounded down
        return [r * b // PRECISION for r, b in zip(self.rates, self.balances, strict=True)]


@dataclass(frozen=True)
class Exchange:
    """One `exchange`: what the caller receives (`dy`), the fee kept by the pool and the admin's
    share of it (token j units; the contract itself only converts the admin share), and the pool
    afterwards, its balances moved as the contract moves them."""

    dy: int
    fee: int
    admin_fee: int
    pool: StableSwapPool


def get_D(xp: Sequence[int], amp: int) -> int:
    """The invariant D by Newton's method, as `_get_D` (template with A_PRECISION)."""
    n, s = len(xp), sum(xp)
    if s == 0:
        return 0
    if min(xp) == 0:
        raise CurveError("_get_D: a zero balance divides by zero")
    d, ann = s, amp * n
    if ann < A_PRECISION:
        raise CurveError("_get_D: A · n below 1 underflows")
    for _ in range(_ITERATIONS):
        d_p = d
        for x in xp:
            d_p = d_p * d // (x * n)
        d_prev = d
        d = (ann * s // A_PRECISION + d_p * n) * d // ((ann - A_PRECISION) * d // A_PRECISION + (n + 1) * d_p)
        if abs(d - d_prev) <= 1:
            return d
    raise CurveError("_get_D did not converge")


def amp_at(initial: int, initial_time: int, future: int, future_time: int, timestamp: int) -> int:
    """A as the pool computes it at `timestamp` while it ramps from `initial` to `future`, in the
    units the pool stores them (A·A_PRECISION in the templates with it, plain A in the older ones).

    As `_A()` in SwapTemplateBase.vy (574f440) and CurveStableSwapNG.vy (stableswap-ng 2abe778):
    linear in time, rounded toward the starting value, `future` once `future_time` has passed.

    >>> amp_at(10_000, 100, 20_000, 200, 150), amp_at(20_000, 100, 10_000, 200, 101), amp_at(1, 0, 7, 0, 5)
    (15000, 19900, 7)
    """
    if timestamp >= future_time:
        return future
    if timestamp < initial_time:
        raise CurveError("_A: the pin is before the ramp started (the contract underflows)")
    if future > initial:
        return initial + (future - initial) * (timestamp - initial_time) // (future_time - initial_time)
    return initial - (initial - future) * (timestamp - initial_time) // (future_time - initial_time)


def get_y(i: int, j: int, x: int, xp: Sequence[int], amp: int) -> int:
    """Coin j's balance (18-decimal units) once coin i's is `x`, D held fixed, as `_get_y`."""
    return get_y_for_D(i, j, x, xp, amp, get_D(xp, amp))


def get_y_for_D(i: int, j: int, x: int, xp: Sequence[int], amp: int, d: int) -> int:
    """`get_y` for a given invariant `d`: the same Newton loop in SwapTemplateBase.vy (574f440,
    `get_y`) and CurveStableSwapNG.vy / CurveStableSwapNGViews.vy (stableswap-ng 2abe778, `get_y`,
    `newton_y`), which differ only in how D was computed."""
    n = len(xp)
    if i == j or not (0 <= i < n and 0 <= j < n):
        raise CurveError("_get_y: coins must differ and exist")
    ann, c, s = amp * n, d, 0
    for k in range(n):
        if k == j:
            continue
        x_k = x if k == i else xp[k]
        if x_k == 0:
            raise CurveError("_get_y: a zero balance divides by zero")
        s += x_k
        c = c * d // (x_k * n)
    c = c * d * A_PRECISION // (ann * n)
    b = s + d * A_PRECISION // ann  # the contract subtracts D in the loop: b - D may be negative
    y = d
    for _ in range(_ITERATIONS):
        y_prev = y
        denominator = 2 * y + b - d
        if denominator <= 0:
            raise CurveError("_get_y: the Newton step underflows")
        y = (y * y + c) // denominator
        if abs(y - y_prev) <= 1:
            return y
    raise CurveError("_get_y did not converge")


def _swap(pool: StableSwapPool, i: int, j: int, dx: int) -> tuple[int, int, int]:
    # exchange / get_dy: (dy, dy_fee, admin fee) with dy_fee in 18-decimal units
    if dx < 0:
        raise CurveError("dx must be non-negative")
    xp = pool.xp()
    x = xp[i] + dx * pool.rates[i] // PRECISION
    y = get_y(i, j, x, xp, pool.amp)
    dy = xp[j] - y - 1  # "-1 just in case there were some rounding errors"
    if dy < 0:
        raise CurveError("exchange: dy underflows (the trade is too small to pay anything)")
    dy_fee = dy * pool.fee // FEE_DENOMINATOR
    out = (dy - dy_fee) * PRECISION // pool.rates[j]
    admin = dy_fee * pool.admin_fee // FEE_DENOMINATOR * PRECISION // pool.rates[j]
    if out + admin > pool.balances[j]:
        raise CurveError("exchange: the pool cannot pay that much")
    return out, dy_fee, admin


def get_dy(pool: StableSwapPool, i: int, j: int, dx: int) -> int:
    """What `exchange(i, j, dx)` pays, without moving the pool (the contract's `get_dy`)."""
    return _swap(pool, i, j, dx)[0]


def exchange(pool: StableSwapPool, i: int, j: int, dx: int) -> Exchange:
    """Sell `dx` of coin i for coin j, as `exchange(i, j, dx, 0)`."""
    dy, dy_fee, admin = _swap(pool, i, j, dx)
    balances = list(pool.balances)
    balances[i] += dx
    balances[j] -= dy + admin  # the contract: old_balances[j] - dy - dy_admin_fee
    after = StableSwapPool(pool.amp, tuple(balances), pool.rates, pool.fee, pool.admin_fee)
    return Exchange(dy, dy_fee * PRECISION // pool.rates[j], admin, after)


def spot_price(pool: StableSwapPool, i: int, j: int, with_fee: bool = False) -> Fraction:
    """The marginal price of coin i in coin j, in whole coins (−dx_j/dx_i on the invariant), exact.

    It is the derivative of the real-valued curve at the pool's D, as curvesim's `dydx`; no
    contract computes it. With `with_fee` the fee is taken off, as curvesim's `dydxfee`.
    """
    xp = pool.xp()
    price = spot_price_at(xp, pool.amp, get_D(xp, pool.amp), i, j)
    return price * (1 - Fraction(pool.fee, FEE_DENOMINATOR)) if with_fee else price


def spot_price_at(xp: Sequence[int], amp: int, d: int, i: int, j: int) -> Fraction:
    """`spot_price` (fee excluded, 18-decimal units) on the curve of invariant `d`: the classic and
    NG pools share the curve and differ only in how they round D."""
    n = len(xp)
    d_pow = d ** (n + 1)
    a_pow = Fraction(amp * n ** (n + 1), A_PRECISION)
    x_prod = prod(xp)
    return Fraction(xp[j]) * (xp[i] * a_pow * x_prod + d_pow) / (xp[i] * (xp[j] * a_pow * x_prod + d_pow))


def price_after_selling(pool: StableSwapPool, i: int, j: int, dx: int) -> Fraction:
    """The marginal price of coin i in coin j after selling `dx` of coin i into the pool."""
    return spot_price(exchange(pool, i, j, dx).pool if dx else pool, i, j)
