"""The shock a cascade starts from, and the sale through its token's exit that a depeg amounts to."""

from __future__ import annotations

from dataclasses import dataclass

from loopscan.solver.book import Book

__all__ = ["Shock", "shock_sale"]


@dataclass(frozen=True)
class Shock:
    """`depeg`: `token`'s market price falls by `size` (0..1). `backing_loss`: the vault issuing
    `token` loses `size` (0..1) of its opaque backing."""

    kind: str
    token: str
    size: float


def shock_sale(book: Book, shock: Shock) -> tuple[int, ...]:
    """Each venue's part (token units) of the sale that brings the token's exit from its price to
    (1 − δ) of it (`Exit.sale_to`); () for no sale (no exit, or no depeg)."""
    exit_ = book.exits.get(shock.token)
    if shock.kind != "depeg" or exit_ is None or shock.size <= 0:
        return ()
    return tuple(sold for sold, _ in exit_.sale_to(1.0 - shock.size))
