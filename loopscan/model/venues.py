"""A venue's price curve as data: what a protocol's venue hands the solver's compiled loops.

Pure data, no maths of any one venue: a venue package builds it from its own exact swap steps
(`UniswapV3Venue.segments`), and the solver evaluates it (`solver.kernels.relative`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Segments"]


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
