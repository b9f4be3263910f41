"""What every venue shares: the integer rule for withdrawing a fraction of liquidity, and the
error a venue raises for a pool it cannot price.

A liquidity provider who withdraws a fraction F of a position holding L removes floor(L·F)
(`decreaseLiquidity` on Uniswap v3 and `remove_liquidity` on Curve take integers; rounding the
removal down never withdraws more than F) and keeps L − floor(L·F).
"""

from __future__ import annotations

from fractions import Fraction

from loopscan.errors import LoopscanError

__all__ = ["VenueUnpriced", "kept"]


class VenueUnpriced(LoopscanError):
    """A pool read at the pin that the solver cannot sell into (its maths is not modelled, or
    does not price the pool's state): its depth is in no figure, and the report says so."""


def kept(amount: int, fraction: Fraction) -> int:
    """What is left of a liquidity amount (a signed `liquidity_net`, a balance) after withdrawing
    `fraction` of it, the withdrawal rounded down.

    >>> kept(10**18 + 1, Fraction(1, 2)), kept(-7, Fraction(9, 10))
    (500000000000000001, -1)
    """
    size = abs(amount)
    left = size - size * fraction.numerator // fraction.denominator
    return left if amount >= 0 else -left
