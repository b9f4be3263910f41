"""What every venue shares: the integer rule for withdrawing a fraction of liquidity, the error a
venue raises for a pool it cannot price, and the pieces of constant-product curve a concentrated-
liquidity venue's price is made of (`Segments`, what the solver's compiled round sells into).

A liquidity provider who withdraws a fraction F of a position holding L removes floor(L·F)
(`decreaseLiquidity` on Uniswap v3 and `remove_liquidity` on Curve take integers; rounding the
removal down never withdraws more than F) and keeps L − floor(L·F).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from loopscan.errors import LoopscanError

__all__ = ["Segments", "VenueUnpriced", "kept"]


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


@dataclass(frozen=True)
class Segments:
    """A venue's marginal price after a sale, as pieces of constant-product curves (one per step of
    a concentrated-liquidity swap loop), each from the exact input at which the venue's own maths
    enters it. A sale of `start[k]` + r, 0 < r ≤ `start[k + 1]` − `start[k]`, ends in piece k: r
    less the fee, a = ⌊r · (10⁶ − fee) / 10⁶⌋, moves the square root of the price (token1 per
    token0, whole units of 2**96) from `sqrt_price[k]` to L·√P / (L + a·√P) when token0 is sold and
    to √P + a / L when token1 is, L = `liquidity[k]`, up to `end[k]`, reached once a is `reach[k]`.
    A piece without liquidity takes nothing: the loop hops over it (one of no width), or it is the
    last, the swap's price limit. Floats of the exact integers: evaluated in floats, a price is
    within a few ulps of the exact swap's, except for a sale within a float's rounding of a
    piece's start, which may land on either side of it (and of a hop there)."""

    start: np.ndarray  # float64, non-decreasing: the input (fee included) at which each piece starts
    sqrt_price: np.ndarray  # float64: √(token1 per token0) at the piece's start, over 2**96
    liquidity: np.ndarray  # float64
    reach: np.ndarray  # float64: the input less fee that takes the piece to its end (inf: never)
    end: np.ndarray  # float64: √(token1 per token0) at the piece's end (its step's target), over 2**96
    fee: int  # parts per million of each input taken as fee
    token_is_0: bool  # the token sold is token0 (its price is the square, else its inverse)

    @property
    def capacity(self) -> float:
        """What the venue takes to its price limit: where its last piece (no liquidity) starts."""
        return float(self.start[-1])
