"""The shock a cascade starts from, and the sale into its token's pool that a depeg amounts to."""

from __future__ import annotations

from dataclasses import dataclass

from loopscan.protocols.uniswap_v3.maths import get_sqrt_ratio_at_tick
from loopscan.protocols.uniswap_v3.swap import swap
from loopscan.solver.book import Book
from loopscan.solver.book_constants import constants

__all__ = ["Shock", "shock_sale"]


@dataclass(frozen=True)
class Shock:
    """`depeg`: `token`'s market price falls by `size` (0..1). `backing_loss`: the vault issuing
    `token` loses `size` (0..1) of its opaque backing."""

    kind: str
    token: str
    size: float


def shock_sale(book: Book, shock: Shock) -> int:
    """What the token's pool takes (token units) between its price and (1 − δ) of it."""
    pool = book.pools.get(shock.token)
    if shock.kind != "depeg" or pool is None or shock.size <= 0:
        return 0
    target_price = constants(book).pool_price[shock.token] * (1.0 - shock.size)  # token in quote units
    lowest, highest = get_sqrt_ratio_at_tick(-887272), get_sqrt_ratio_at_tick(887272)
    if target_price <= 0:
        sqrt_target = lowest + 1 if pool.token_is_0 else highest - 1
    else:
        raw = target_price if pool.token_is_0 else 1.0 / target_price  # token1 per token0
        sqrt_target = min(max(int(raw**0.5 * 2**96), lowest + 1), highest - 1)
    zero_for_one = pool.token_is_0  # selling token0 lowers its price
    moved = sqrt_target < pool.state.sqrt_price_x96 if zero_for_one else sqrt_target > pool.state.sqrt_price_x96
    if not moved:
        return 0
    result = swap(pool.state, zero_for_one, 2**255 - 1, sqrt_target)
    return result.amount0 if zero_for_one else result.amount1
