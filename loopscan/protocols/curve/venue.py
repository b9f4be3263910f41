"""A Curve stableswap pool as an exit venue of one of its coins (`loopscan.solver.exits.Venue`):
coin i sold for coin j with the pool's own `exchange` (`maths` for classic pools, `ng` for
stableswap-NG with its dynamic fee), checked against curvesim and @paraswap/dex-lib, not on a
node (no deployable package: `proven_on_node` is False).

Prices are raw: coin j units per coin i unit, the marginal price on the pool's invariant (fee
excluded: `maths.spot_price_at`, times rate_i / rate_j to leave the 18-decimal units). A Curve pool
has no price limit of its own: its price tends to 0 as a sale grows, until the sale is so large that
the contract's Newton loops no longer converge (it reverts): that largest sale is its limit.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, ClassVar

import pandas as pd

from loopscan.protocols.curve import PROVEN_ON_NODE, maths, ng
from loopscan.protocols.curve.maths import CurveError, StableSwapPool, spot_price_at
from loopscan.protocols.curve.ng import NGPool
from loopscan.protocols.curve.pools import pool_from_rows
from loopscan.protocols.liquidity import VenueUnpriced, kept

__all__ = ["CurveVenue", "MAX_SALE", "venues"]

MAX_SALE = 2**128  # the largest sale tried (a uint128 amount): where no Newton loop fails, the pool's limit


@dataclass(frozen=True)
class CurveVenue:
    """Selling coin `i` (`token`) for coin `j` (`quote`) into one pool, from its state at the pin."""

    venue: ClassVar[str] = "curve"
    address: str
    token: str
    quote: str
    decimals: int
    quote_decimals: int
    pool: StableSwapPool | NGPool
    i: int
    j: int
    proven_on_node: bool = PROVEN_ON_NODE
    _capacity: list[int] = field(default_factory=list, init=False, repr=False, compare=False)  # a cache

    @property
    def price0(self) -> float:
        """The pool's marginal price of `token` at the pin, in whole `quote` tokens."""
        return float(_marginal(self.pool, self.i, self.j) * Fraction(10) ** (self.decimals - self.quote_decimals))

    @property
    def liquidity(self) -> int:
        """The pool's balance of the coin sold, in 18-decimal units: how it ranks among the token's pools."""
        return self.pool.xp()[self.i]

    def _sell(self, amount: int) -> tuple[int, Fraction]:
        """(quote units paid, marginal price after) selling `amount`, as far as the pool takes it.

        The pool refuses two kinds of sale (its contract reverts): one too small to pay anything
        leaves it where it was; one so large that its Newton loops do not converge is the pool's
        limit, and a larger sale goes only as far as the largest one it takes (`capacity`)."""
        try:
            return self._exact(amount)
        except CurveError:
            if amount <= self.capacity():
                raise
            return self._exact(self.capacity())

    def _exact(self, amount: int) -> tuple[int, Fraction]:
        """`_sell` without the limit: raises `CurveError` where the contract reverts."""
        if amount == 0:
            return 0, _marginal(self.pool, self.i, self.j)
        try:
            dy, after = _exchange(self.pool, self.i, self.j, amount)
        except CurveError as exc:
            if "too small" not in str(exc):
                raise
            return 0, _marginal(self.pool, self.i, self.j)
        return dy, _marginal(after, self.i, self.j)

    def _takes(self, amount: int) -> bool:
        try:
            self._exact(amount)
        except CurveError:
            return False
        return True

    def capacity(self) -> int:
        """The largest sale (at most `MAX_SALE`) whose exchange the pool's maths computes; its
        contract reverts on a larger one."""
        if not self._capacity:
            high = 1
            while high < MAX_SALE and self._takes(high):
                high *= 2
            low = high // 2
            if self._takes(high):
                low = high
            while high - low > 1:
                mid = (low + high) // 2
                low, high = (mid, high) if self._takes(mid) else (low, mid)
            self._capacity.append(low)
        return self._capacity[0]

    def marginal_after(self, amount: int) -> float:
        """The pool's price (raw, fee excluded) after selling `amount` token units from the pin."""
        return float(self._sell(amount)[1])

    def quote_out(self, amount: int) -> int:
        """Quote units `exchange(i, j, amount)` pays from the pin (0 for a sale too small to pay)."""
        return self._sell(amount)[0]

    def sale_to(self, price: float) -> tuple[int, int]:
        """(least token units whose sale brings the price to the raw `price` or below, quote units
        paid for them); (0, 0) if the price is there already. Bisection on the amount: the price
        after a sale falls as the sale grows. A price no sale reaches (0 or below) answers the
        largest sale the pool takes (`capacity`)."""
        if self.marginal_after(0) <= price:
            return 0, 0
        low, high = 0, 1  # low never reaches the price, high may
        while self.marginal_after(high) > price:
            if high >= self.capacity():
                return self.capacity(), self.quote_out(self.capacity())
            low, high = high, min(2 * high, self.capacity())
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (low, mid) if self.marginal_after(mid) <= price else (mid, high)
        return high, self.quote_out(high)

    def exhausted(self, amount: int) -> bool:
        """A sale of `amount` is beyond what the pool takes (`capacity`): a larger one moves its
        price no further. Below that, every larger sale lowers its price further."""
        return not self._takes(amount) and amount > self.capacity()

    def segments(self) -> None:
        """None: a stableswap curve is no constant product (`Segments`): its sales are priced one at a time."""
        return None

    def haircut(self, fraction: Fraction) -> CurveVenue:
        """The pool with `fraction` of its liquidity withdrawn: every balance scaled alike (a
        balanced withdrawal, `kept`), so its price stays where it was."""
        balances = tuple(kept(b, fraction) for b in self.pool.balances)
        return replace(self, pool=replace(self.pool, balances=balances))


def _marginal(pool: StableSwapPool | NGPool, i: int, j: int) -> Fraction:
    xp = pool.xp()
    d = ng.get_D(xp, pool.amp) if isinstance(pool, NGPool) else maths.get_D(xp, pool.amp)
    return spot_price_at(xp, pool.amp, d, i, j) * Fraction(pool.rates[i], pool.rates[j])


def _exchange(pool: StableSwapPool | NGPool, i: int, j: int, amount: int) -> tuple[int, StableSwapPool | NGPool]:
    done = ng.exchange(pool, i, j, amount) if isinstance(pool, NGPool) else maths.exchange(pool, i, j, amount)
    return done.dy, done.pool


def venues(pool: Any, rows: Mapping[str, Sequence[Any]], decimals: Mapping[str, int]) -> list[CurveVenue]:
    """Every coin of one snapshot `pools` row against every other (`rows["pool_coins"]`). A pool
    whose maths is not modelled (kind `other`) or cannot price it at the pin (an empty coin) raises
    `VenueUnpriced`, saying why."""
    coins = sorted((_plain(c._asdict()) for c in rows.get("pool_coins", ())), key=lambda c: c["coin_index"])
    tokens = [c["token"] for c in coins]
    try:
        state = pool_from_rows(_plain(pool._asdict()), coins, [decimals.get(t, 18) for t in tokens])
        _marginal(state, 0, 1)  # D at the pin: raises for a pool the maths cannot price
    except CurveError as exc:
        raise VenueUnpriced(str(exc)) from exc
    return [CurveVenue(pool.pool, a, b, decimals.get(a, 18), decimals.get(b, 18), state, i, j)
            for i, a in enumerate(tokens) for j, b in enumerate(tokens) if i != j]  # fmt: skip


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot row as the maths takes it: Python ints (a numpy int64 overflows in the
    pools' products), None for a missing value."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, numbers.Integral):
            value = int(value)
        elif value is not None and not isinstance(value, str) and pd.isna(value):
            value = None
        out[key] = value
    return out
