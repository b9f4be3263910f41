"""Curve stableswap-NG exchanges, integer for integer as the contracts compute them.

Which contracts: curvefi/stableswap-ng at 2abe778f40206a6c0fd108a0a53ad3266cbedeee,
`contracts/main/CurveStableSwapNG.vy` (the pool: `exchange`, `_dynamic_fee`, `get_D`) and
`contracts/main/CurveStableSwapNGViews.vy` (what the pool's own `get_dy` delegates to). What differs
from the classic template (`maths`):

- `get_D` divides `D_P` by `N**N` once per Newton round, after multiplying by D/x for every coin,
  instead of dividing by `x·N` per coin: the rounding, hence D, differs.
- The fee grows off peg: `fee · m / ((m − 1e10) · 4·xi·xj / (xi + xj)² + 1e10)` with
  `m = offpeg_fee_multiplier`, taken at the mean of the balances before and after the trade.
- Rates come from `stored_rates()` (a rate oracle for asset type 1, `convertToAssets` for ERC-4626
  coins, the base pool's virtual price for a metapool's LP coin): the caller reads them at the pin.
- The views' `get_dy` uses `A() · A_PRECISION`, A rounded down to an integer, while the pool's
  `exchange` uses `_A()` itself: they differ by a few wei while A ramps. Both are here.

Metapools' `get_dy(0, 1)` (the metacoin against the base LP coin) is this same maths with the
rates `stored_rates()` returns; `exchange_underlying` through the base pool is not covered.

>>> pool = NGPool(amp=20_000, balances=(10**24, 2 * 10**24), rates=(10**18, 10**18), fee=10**6,
...               offpeg_fee_multiplier=2 * 10**10)
>>> dynamic_fee(10**24, 2 * 10**24, pool.fee, pool.offpeg_fee_multiplier)  # 4·1·2/9 of the way back to 1×
1058823
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loopscan.protocols.curve.maths import A_PRECISION, FEE_DENOMINATOR, PRECISION, CurveError, get_y_for_D

__all__ = ["ADMIN_FEE", "MAX_FEE", "NGPool", "NGExchange", "get_D", "dynamic_fee", "get_dy", "exchange"]

ADMIN_FEE = 5 * 10**9  # CurveStableSwapNG.vy: `admin_fee: public(constant(uint256)) = 5000000000`
MAX_FEE = 5 * 10**9  # CurveStableSwapNG.vy: `MAX_FEE`; set_new_fee caps fee and fee · multiplier by it
_ITERATIONS = 255


@dataclass(frozen=True)
class NGPool:
    """An NG pool at the pin: `amp` is `A_precise()` (A·100, mid-ramp included), `balances` as
    `get_balances()` (admin fees excluded), `rates` as `stored_rates()`, `fee` and
    `offpeg_fee_multiplier` in 1e10 units."""

    amp: int
    balances: tuple[int, ...]
    rates: tuple[int, ...]
    fee: int
    offpeg_fee_multiplier: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "balances", tuple(self.balances))
        object.__setattr__(self, "rates", tuple(self.rates))
        if len(self.balances) != len(self.rates) or not 2 <= len(self.balances) <= 8:
            raise CurveError("an NG pool has 2 to 8 coins, each with a balance and a rate")
        if self.amp <= 0 or min(self.balances) < 0 or min(self.rates) <= 0:
            raise CurveError("amp and rates must be positive, balances non-negative")
        # set_new_fee (2abe778) asserts both; a larger product could charge more than 100 %
        if not 0 <= self.fee <= MAX_FEE or not 0 <= self.offpeg_fee_multiplier * self.fee <= MAX_FEE * FEE_DENOMINATOR:
            raise CurveError("the fee must be within 0..MAX_FEE and fee · off-peg multiplier within MAX_FEE · 1e10")

    @property
    def n(self) -> int:
        return len(self.balances)

    def xp(self) -> list[int]:
        # CurveStableSwapNG.vy `_xp_mem` (2abe778): rates[i] * balances[i] / PRECISION
        return [r * b // PRECISION for r, b in zip(self.rates, self.balances, strict=True)]


@dataclass(frozen=True)
class NGExchange:
    """One `exchange`: what the caller receives (`dy`, token j units), the admin's share of the fee
    (token j units) and the pool afterwards, its balances moved as `get_balances()` would show."""

    dy: int
    admin_fee: int
    pool: NGPool


def get_D(xp: Sequence[int], amp: int) -> int:
    """The invariant, as `get_D` in CurveStableSwapNG.vy and CurveStableSwapNGViews.vy (2abe778)."""
    n, s = len(xp), sum(xp)
    if s == 0:
        return 0
    if min(xp) == 0:
        raise CurveError("get_D: a zero balance divides by zero")
    d, ann = s, amp * n
    if ann < A_PRECISION:
        raise CurveError("get_D: A · n below 1 underflows")
    for _ in range(_ITERATIONS):
        d_p = d
        for x in xp:
            d_p = d_p * d // x
        d_p //= n**n  # once per round, not per coin: the one rounding that differs from the classic pools
        d_prev = d
        d = (ann * s // A_PRECISION + d_p * n) * d // ((ann - A_PRECISION) * d // A_PRECISION + (n + 1) * d_p)
        if abs(d - d_prev) <= 1:
            return d
    raise CurveError("get_D did not converge")


def dynamic_fee(xpi: int, xpj: int, fee: int, offpeg_fee_multiplier: int) -> int:
    """The fee (1e10 units) between two balances, as `_dynamic_fee` in CurveStableSwapNG.vy and
    CurveStableSwapNGViews.vy (2abe778): the base fee on peg, up to `fee · m / 1e10` far off it."""
    if offpeg_fee_multiplier <= FEE_DENOMINATOR:
        return fee
    xps2 = (xpi + xpj) ** 2
    if xps2 == 0:
        raise CurveError("_dynamic_fee: both balances are zero (division by zero)")
    return (
        offpeg_fee_multiplier
        * fee
        // ((offpeg_fee_multiplier - FEE_DENOMINATOR) * 4 * xpi * xpj // xps2 + FEE_DENOMINATOR)
    )


def _swap(pool: NGPool, i: int, j: int, dx: int, amp: int) -> tuple[int, int, int]:
    # (dy in token j units, dy_fee in 18-decimal units, y): the shared body of the views' `get_dy`
    # and the pool's `__exchange` (2abe778), which differ only in the amp they are handed.
    if dx < 0:
        raise CurveError("dx must be non-negative")
    if i == j or not (0 <= i < pool.n and 0 <= j < pool.n):
        raise CurveError("get_y: coins must differ and exist")
    xp = pool.xp()
    x = xp[i] + dx * pool.rates[i] // PRECISION
    y = get_y_for_D(i, j, x, xp, amp, get_D(xp, amp))
    dy = xp[j] - y - 1  # "-1 just in case there were some rounding errors"
    if dy < 0:
        raise CurveError("get_dy: dy underflows (the trade is too small to pay anything)")
    dy_fee = (
        dy * dynamic_fee((xp[i] + x) // 2, (xp[j] + y) // 2, pool.fee, pool.offpeg_fee_multiplier) // FEE_DENOMINATOR
    )
    return (dy - dy_fee) * PRECISION // pool.rates[j], dy_fee, y


def get_dy(pool: NGPool, i: int, j: int, dx: int) -> int:
    """What the pool's `get_dy(i, j, dx)` answers: CurveStableSwapNGViews.vy `get_dy` (2abe778),
    which takes A as `A() · A_PRECISION` (the ramping A rounded down to an integer)."""
    return _swap(pool, i, j, dx, pool.amp // A_PRECISION * A_PRECISION)[0]


def exchange(pool: NGPool, i: int, j: int, dx: int) -> NGExchange:
    """Sell `dx` of coin i for coin j, as the pool's `_exchange` / `__exchange` (2abe778) with
    `_A()`; the input is what the pool received (no fee-on-transfer coins)."""
    if dx == 0:
        raise CurveError("exchange: do not exchange 0 coins")
    dy, dy_fee, _ = _swap(pool, i, j, dx, pool.amp)
    admin = dy_fee * ADMIN_FEE // FEE_DENOMINATOR * PRECISION // pool.rates[j]
    balances = list(pool.balances)
    balances[i] += dx
    balances[j] -= dy + admin  # stored_balances[j] -= dy, admin_balances[j] += admin
    if balances[j] < 0:
        raise CurveError("exchange: the pool cannot pay that much")
    after = NGPool(pool.amp, tuple(balances), pool.rates, pool.fee, pool.offpeg_fee_multiplier)
    return NGExchange(dy, admin, after)
