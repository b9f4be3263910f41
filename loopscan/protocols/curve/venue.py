"""A Curve stableswap pool as an exit venue of one of its coins (`loopscan.solver.exits.Venue`):
coin i sold for coin j with the pool's own `exchange` (`maths` for classic pools, `ng` for
stableswap-NG with its dynamic fee), checked against curvesim and @paraswap/dex-lib, not on a
node (no deployable package: `proven_on_node` is False).

Prices are raw: coin j units per coin i unit, the marginal price on the pool's invariant (fee
excluded: `maths.spot_price_at`, times rate_i / rate_j to leave the 18-decimal units). A Curve pool
has no price limit: its price only tends to 0 as a sale grows, so it is never exhausted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from loopscan.protocols.curve import PROVEN_ON_NODE, maths, ng
from loopscan.protocols.curve.maths import CurveError, StableSwapPool, spot_price_at
from loopscan.protocols.curve.ng import NGPool
from loopscan.protocols.curve.pools import pool_from_rows
from loopscan.protocols.liquidity import kept

__all__ = ["CurveVenue", "MAX_SALE", "venues"]

MAX_SALE = 2**128  # what `sale_to` answers for a price no sale reaches (0 or below): a uint128 amount


@dataclass(frozen=True)
class CurveVenue:
    """Selling coin `i` (`token`) for coin `j` (`quote`) into one pool, from its state at the pin."""

    address: str
    token: str
    quote: str
    decimals: int
    quote_decimals: int
    pool: StableSwapPool | NGPool
    i: int
    j: int
    proven_on_node: bool = PROVEN_ON_NODE

    @property
    def price0(self) -> float:
        """The pool's marginal price of `token` at the pin, in whole `quote` tokens."""
        return float(_marginal(self.pool, self.i, self.j) * Fraction(10) ** (self.decimals - self.quote_decimals))

    @property
    def liquidity(self) -> int:
        """The pool's balance of the coin sold, in 18-decimal units: how it ranks among the token's pools."""
        return self.pool.xp()[self.i]

    def _after(self, amount: int) -> StableSwapPool | NGPool | None:
        """The pool after selling `amount`; None if the pool refuses it as too small to pay anything."""
        try:
            return _exchange(self.pool, self.i, self.j, amount)[1]
        except CurveError as exc:
            if "too small" in str(exc):
                return None
            raise

    def marginal_after(self, amount: int) -> float:
        """The pool's price (raw, fee excluded) after selling `amount` token units from the pin."""
        after = self._after(amount) if amount else None
        return float(_marginal(after or self.pool, self.i, self.j))

    def quote_out(self, amount: int) -> int:
        """Quote units `exchange(i, j, amount)` pays from the pin (0 for a sale too small to pay)."""
        if amount == 0 or self._after(amount) is None:
            return 0
        return _exchange(self.pool, self.i, self.j, amount)[0]

    def sale_to(self, price: float) -> tuple[int, int]:
        """(least token units whose sale brings the price to the raw `price` or below, quote units
        paid for them); (0, 0) if the price is there already. Bisection on the amount: the price
        after a sale falls as the sale grows. A price no sale reaches (0 or below, or beyond
        `MAX_SALE`) answers `MAX_SALE`."""
        if self.marginal_after(0) <= price:
            return 0, 0
        low, high = 0, 1  # low never reaches the price, high may
        while self.marginal_after(high) > price:
            if high >= MAX_SALE:
                return MAX_SALE, self.quote_out(MAX_SALE)
            low, high = high, min(2 * high, MAX_SALE)
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (low, mid) if self.marginal_after(mid) <= price else (mid, high)
        return high, self.quote_out(high)

    def exhausted(self, amount: int) -> bool:
        """Never: a stableswap pool has no price limit, every larger sale lowers its price further."""
        return False

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
    """Every coin of one snapshot `pools` row against every other (`rows["pool_coins"]`); none for a
    pool whose maths is not modelled (kind `other`) or cannot price it at the pin (an empty coin)."""
    coins = sorted((c._asdict() for c in rows.get("pool_coins", ())), key=lambda c: c["coin_index"])
    tokens = [c["token"] for c in coins]
    try:
        state = pool_from_rows(pool._asdict(), coins, [decimals.get(t, 18) for t in tokens])
        _marginal(state, 0, 1)  # D at the pin: raises for a pool the maths cannot price
    except CurveError:
        return []
    return [CurveVenue(pool.pool, a, b, decimals.get(a, 18), decimals.get(b, 18), state, i, j)
            for i, a in enumerate(tokens) for j, b in enumerate(tokens) if i != j]  # fmt: skip
