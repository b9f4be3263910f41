"""Where a token's sales go: its exit venues, and how one sale is split across them.

A **venue** (`Venue`) sells one token for one quote token through one pool, with that pool's exact
swap maths, from its state at the pin. Each venue protocol's package builds its own from the
snapshot's `pools` rows (`registry.venues`); nothing here names one. Prices a venue answers are
raw (quote units per token unit, fee excluded); `price0` alone is in whole tokens.

A token's **exit** (`Exit`) is every venue selling it against a priced quote token, the best price
at the pin first (each quote valued at its price at the pin, `Book.p0`).

**The split** (one venue takes a sale whole): a sale through several venues goes by **greedy
slices of a stated size, not an optimal router**: the amount is cut into slices of 1/`SLICES` of
everything sold into the exit so far, this sale included (rounded up; the last one takes what is
left), in the order the sales come (a cascade's liquidators sell one after another), and each
slice goes, in turn, to the venue whose
marginal price after what it has taken so far is the best in the numeraire. The venues that took
something end within one slice of the same marginal price, and none left out is above it. The
token's market price after the sale is the marginal price the split leaves: the best of the
venues' (each quote at its price), relative to the best at the pin; each venue's quote is valued
at its own price.

Down to a price (a depeg shock, the depth table's "absorbable within X %") the split is exact:
every venue is sold down to that price on its own (what the slices approach, one slice at a time),
as a router with a price limit would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol

from loopscan.model.venues import Segments

__all__ = ["SLICES", "Exit", "Venue"]

SLICES = 100  # a split sale goes in this many equal slices: the venues end within one slice of each other


class Venue(Protocol):
    """One pool selling `token` for `quote`, from its state at the pin."""

    venue: str  # the registered venue protocol that trades it
    address: str  # the pool
    token: str  # what is sold
    quote: str  # what is received
    decimals: int  # of `token`
    quote_decimals: int  # of `quote`
    proven_on_node: bool  # False: its maths was never checked against the real contract on a node

    @property
    def price0(self) -> float:
        """The marginal price of `token` at the pin, in whole `quote` tokens."""
        ...

    @property
    def liquidity(self) -> int:
        """The venue's own measure of its depth, to rank pools of the same kind."""
        ...

    def marginal_after(self, amount: int) -> float:
        """The marginal price (raw: quote units per token unit, fee excluded) after selling `amount`
        token units from the pin state."""
        ...

    def quote_out(self, amount: int) -> int:
        """The exact quote units received for `amount` token units sold from the pin."""
        ...

    def sale_to(self, price: float) -> tuple[int, int]:
        """(token units, quote units received) of the least sale whose marginal price ends at the
        raw `price` or below, as a swap with that price limit takes it; (0, 0) if already there."""
        ...

    def exhausted(self, amount: int) -> bool:
        """A sale of `amount` has used up the venue's liquidity (its price limit): a larger sale
        moves its price no further."""
        ...

    def segments(self) -> Segments | None:
        """The venue's price after a sale as pieces of constant-product curves, what a compiled
        round sells into (`pooled_round`); None where its curve is not made of them."""
        ...

    def haircut(self, fraction: Fraction) -> Venue:
        """The venue with `fraction` of its liquidity withdrawn, prices unchanged."""
        ...


@dataclass(frozen=True)
class Exit:
    """A token's venues, the best price at the pin first, and each one's quote price at the pin
    (numeraire per whole quote token)."""

    token: str
    venues: tuple[Venue, ...]
    quote_prices: tuple[float, ...]
    pins: tuple[float, ...] = field(init=False, repr=False)  # each venue's raw price at the pin
    weights: tuple[float, ...] = field(init=False, repr=False)  # each venue's pin price / the best's (numeraire)
    # Per venue, the last (amount, `relative`) worked out: a split starts from the parts the last
    # price was read at, and the price after it reads the parts the split just tried.
    _last: list[tuple[int, float]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.venues or len(self.venues) != len(self.quote_prices):
            raise ValueError(f"exit of {self.token}: needs venues, each with its quote's price")
        value = [v.price0 * q for v, q in zip(self.venues, self.quote_prices, strict=True)]
        best = max(value)
        object.__setattr__(self, "pins", tuple(v.marginal_after(0) for v in self.venues))
        object.__setattr__(self, "weights", tuple(x / best if best > 0 else 1.0 for x in value))
        object.__setattr__(self, "_last", [(-1, 0.0)] * len(self.venues))

    @property
    def decimals(self) -> int:
        return self.venues[0].decimals

    @property
    def unproven_on_node(self) -> tuple[str, ...]:
        """The venues (pool addresses) whose maths no node has checked."""
        return tuple(v.address for v in self.venues if not v.proven_on_node)

    def relative(self, k: int, amount: int) -> float:
        """Venue k's marginal price after selling `amount` into it, relative to the exit's best at the pin."""
        last = self._last[k]
        if last[0] == amount:
            return last[1]
        found = self.venues[k].marginal_after(amount) / self.pins[k] * self.weights[k]
        self._last[k] = (amount, found)
        return found

    def price(self, parts: Sequence[int]) -> tuple[float, int]:
        """The token's price after each venue k sold `parts[k]`, relative to the best at the pin
        (the best venue's marginal price then), and which venue sets it."""
        found = [self.relative(k, a) for k, a in enumerate(parts)]
        best = max(range(len(found)), key=found.__getitem__)
        return found[best], best

    def split(self, amount: int, start: Sequence[int] | None = None) -> tuple[int, ...]:
        """Each venue's part of a sale of `amount` token units made after `start` (each venue's
        part of the earlier sales; none by default), by greedy slices of 1/`SLICES` of all sold into
        the exit so far (module docstring): a small sale on top of large ones takes a few slices."""
        parts = list(start) if start is not None else [0] * len(self.venues)
        if len(self.venues) == 1:
            return (parts[0] + amount,)
        size = -(-(sum(parts) + amount) // SLICES)
        now = [self.relative(k, a) for k, a in enumerate(parts)]
        left = amount
        while left > 0:
            k = max(range(len(now)), key=now.__getitem__)  # the first of equals: the best at the pin
            parts[k] += min(size, left)
            left -= min(size, left)
            now[k] = self.relative(k, parts[k])
        return tuple(parts)

    def sale_to(self, fraction: float) -> tuple[tuple[int, int], ...]:
        """Each venue's (token units, quote units received) selling it down to `fraction` of the
        exit's best price at the pin (in the numeraire): the split at that price."""
        return tuple(v.sale_to(pin * fraction / w) if w > 0 else (0, 0)  # a quote worth nothing: never sold into
                     for v, pin, w in zip(self.venues, self.pins, self.weights, strict=True))  # fmt: skip

    def exhausted(self, parts: Sequence[int]) -> bool:
        """Every venue's liquidity is used up by its part: a larger sale moves no price."""
        return all(v.exhausted(a) for v, a in zip(self.venues, parts, strict=True))
