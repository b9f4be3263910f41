"""What every venue's liquidity haircut shares: the integer rule for withdrawing a fraction.

A liquidity provider who withdraws a fraction F of a position holding L removes floor(L·F)
(`decreaseLiquidity` on Uniswap v3 and `remove_liquidity` on Curve take integers; rounding the
removal down never withdraws more than F) and keeps L − floor(L·F).
"""

from __future__ import annotations

from fractions import Fraction

__all__ = ["kept"]


def kept(amount: int, fraction: Fraction) -> int:
    """What is left of a liquidity amount (a signed `liquidity_net`, a balance) after withdrawing
    `fraction` of it, the withdrawal rounded down.

    >>> kept(10**18 + 1, Fraction(1, 2)), kept(-7, Fraction(9, 10))
    (500000000000000001, -1)
    """
    size = abs(amount)
    left = size - size * fraction.numerator // fraction.denominator
    return left if amount >= 0 else -left
