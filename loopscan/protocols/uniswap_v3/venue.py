"""A Uniswap v3 pool as an exit venue of one of its tokens (`loopscan.solver.exits.Venue`): the
pool's own swap loop (`swap`), sold into without a price limit, or down to a price as a router's
`sqrtPriceLimitX96` does.

Prices are raw: quote units per token unit, the float nearest the pool's exact price (whole tokens:
times 10**(decimals − quote_decimals)).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from loopscan.model.venues import Segments
from loopscan.protocols.liquidity import kept
from loopscan.protocols.uniswap_v3.maths import (
    I256,
    MAX_SQRT_RATIO,
    MIN_SQRT_RATIO,
    PIPS,
    Q96,
    _mul_div_up,
    get_sqrt_ratio_at_tick,
)
from loopscan.protocols.uniswap_v3.swap import PoolState, Seller, SwapResult, price_of, swap

__all__ = ["UniswapV3Venue", "venues"]


@dataclass(frozen=True)
class UniswapV3Venue:
    """Selling `token` for `quote` into one pool, from its state at the pin."""

    venue: ClassVar[str] = "uniswap_v3"
    address: str
    token: str
    quote: str
    decimals: int
    quote_decimals: int
    state: PoolState
    token_is_0: bool
    proven_on_node: bool = True  # the published v3-core contracts run on the devnet (tests/solver/test_swap_truth.py)
    # Caches, exact whatever their history: each thread its own `Seller` (it resumes a larger sale
    # from the last one's checkpoint), and what the pool takes down to its price limit.
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False, compare=False)
    _capacity: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _segments: list[Segments] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def price0(self) -> float:
        """The pool's price of `token` at the pin, in whole `quote` tokens."""
        raw = float(price_of(self.state.sqrt_price_x96))  # token1 units per token0 unit
        scale = self.decimals - self.quote_decimals
        return raw * 10**scale if self.token_is_0 else 10**scale / raw

    @property
    def liquidity(self) -> int:
        """The in-range liquidity at the pin: how a pool is ranked against the token's other pools."""
        return self.state.liquidity

    @property
    def _limit(self) -> int:
        return MIN_SQRT_RATIO + 1 if self.token_is_0 else MAX_SQRT_RATIO - 1

    def _seller(self) -> Seller:
        seller = getattr(self._local, "seller", None)
        if seller is None:
            seller = self._local.seller = Seller(self.state, self.token_is_0)
        return seller

    def _price(self, sqrt_price_x96: int) -> float:
        # int / int rounds correctly, as float(Fraction) does: the same float without the Fraction
        square = sqrt_price_x96 * sqrt_price_x96
        return square / (1 << 192) if self.token_is_0 else (1 << 192) / square

    def marginal_after(self, amount: int) -> float:
        """The pool's price (raw, fee excluded) after selling `amount` token units from the pin."""
        sqrt_price = self.state.sqrt_price_x96
        # A pool sold down to its price limit at the pin (drained) takes nothing more.
        if amount and sqrt_price != self._limit:
            sqrt_price = self._seller().sqrt_price_after(amount)
        return self._price(sqrt_price)

    def quote_out(self, amount: int) -> int:
        """Quote units paid for `amount` token units sold from the pin (exact input, no limit)."""
        if amount == 0 or self.state.sqrt_price_x96 == self._limit:
            return 0
        r = self._seller().sell(amount)
        return -r.amount1 if self.token_is_0 else -r.amount0

    def sale_to(self, price: float) -> tuple[int, int]:
        """(token units taken, quote units paid) selling down to the raw `price`, as a swap with that
        price limit does (`swap_to`); (0, 0) if the price is there already."""
        r = self.swap_to(price)
        if r is None:
            return 0, 0
        return (r.amount0, -r.amount1) if self.token_is_0 else (r.amount1, -r.amount0)

    def swap_to(self, price: float) -> SwapResult | None:
        """The swap selling `token` with the price limit nearest the raw `price` (a price at or
        below 0: the swap maths' own limit); None if the price is there already."""
        lowest, highest = get_sqrt_ratio_at_tick(-887272), get_sqrt_ratio_at_tick(887272)
        if price <= 0:
            sqrt_target = lowest + 1 if self.token_is_0 else highest - 1
        else:
            raw = price if self.token_is_0 else 1.0 / price  # token1 per token0
            sqrt_target = min(max(int(raw**0.5 * 2**96), lowest + 1), highest - 1)
        zero_for_one = self.token_is_0  # selling token0 lowers its price
        current = self.state.sqrt_price_x96
        if not (sqrt_target < current if zero_for_one else sqrt_target > current):
            return None
        return swap(self.state, zero_for_one, I256 - 1, sqrt_target)

    def exhausted(self, amount: int) -> bool:
        """A sale of `amount` reaches the price limit with input left over (the liquidity on this
        side is used up): every larger sale ends at the same price."""
        if not self._capacity:
            at_limit = self.state.sqrt_price_x96 == self._limit
            taken = 0 if at_limit else self.sale_to(0.0)[0]
            self._capacity.append(taken)
        return amount > self._capacity[0]

    def segments(self) -> Segments:
        """The pool's swap loop, sold into without a price limit, as its steps (`Segments`): each
        step's price, liquidity and the input that takes it to its target, from `Seller`'s own
        checkpoints, to the price limit. A sale of one unit more than a step takes passes its
        target with input left, so the sale's checkpoint is the next step's start."""
        if self._segments:
            return self._segments[0]
        seller, fee = Seller(self.state, self.token_is_0), self.state.fee
        rows, point, begun = [], None, 0
        while True:
            sqrt_p, liquidity, reach, target = seller._step_input(point)
            if reach is None and sqrt_p == self._limit:
                rows.append((begun, sqrt_p, 0, float("inf"), sqrt_p))
                break
            # no liquidity: the loop hops to the next range at no cost, as a piece of no width
            taken = 0 if reach is None else reach + _mul_div_up(reach, fee, PIPS - fee)
            rows.append((begun, sqrt_p, 0 if reach is None else liquidity, 0 if reach is None else reach, target))
            probe = begun + taken + 1
            seller.sell(probe, final_tick=False)
            point, begun = seller.checkpoint, probe - seller.checkpoint[0]
        start, sqrt_p, liquidity, reach, end = zip(*rows, strict=True)
        found = Segments(np.array(start, dtype=float), np.array([p / Q96 for p in sqrt_p]), np.array(liquidity, dtype=float),
                         np.array(reach, dtype=float), np.array([p / Q96 for p in end]), fee, self.token_is_0)  # fmt: skip
        self._segments.append(found)
        return found

    def haircut(self, fraction: Fraction) -> UniswapV3Venue:
        """The pool with `fraction` of every position's liquidity withdrawn: the active liquidity and
        every tick's `liquidity_net` scaled alike (`kept`), prices and ticks unchanged."""
        state = self.state
        ticks = {t: kept(net, fraction) for t, net in state.ticks.items()}
        return replace(self, state=replace(state, liquidity=kept(state.liquidity, fraction), ticks=ticks))


def venues(pool: Any, rows: Mapping[str, Sequence[Any]], decimals: Mapping[str, int]) -> list[UniswapV3Venue]:
    """Both directions of one snapshot `pools` row (token0 for token1, token1 for token0), with the
    pool's `ticks` rows (`rows["ticks"]`)."""
    ticks = {int(t.tick): int(t.liquidity_net) for t in rows.get("ticks", ())}
    state = PoolState(
        int(pool.sqrt_price_x96), int(pool.tick), int(pool.liquidity), int(pool.fee_raw), int(pool.tick_spacing), ticks
    )
    d0, d1 = decimals.get(pool.token0, 18), decimals.get(pool.token1, 18)
    return [UniswapV3Venue(pool.pool, pool.token0, pool.token1, d0, d1, state, True),
            UniswapV3Venue(pool.pool, pool.token1, pool.token0, d1, d0, state, False)]  # fmt: skip
