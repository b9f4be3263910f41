"""Which positions the protocols' own checks let a liquidator close at the cascade's prices."""

from __future__ import annotations

import numpy as np

from loopscan.solver.book import Book
from loopscan.solver.book_constants import clearly_above, constants
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["candidates"]


def candidates(book: Book, state: CascadeState, prices: Pricer) -> list[tuple]:
    """Every liquidatable position as (health, kind, reference), health = collateral limit / debt."""
    out: list[tuple] = []
    static = constants(book)
    for key, m in book.markets.items():
        if m.margin != "isolated" or not len(m.accounts):
            continue
        untouched = key not in state.touched  # its positions are still the snapshot's
        if untouched and key in static.constant:
            continue
        answer = prices.oracle(m)
        if untouched and clearly_above(answer, static.trigger[key]):
            continue  # no position is liquidatable at this oracle price
        if state.quiet.get(key) == answer:
            continue  # the same positions at the same oracle answer: still none liquidatable
        limit = m.rules.borrow_limit(state.collateral[key], answer, m.lltv)
        debt = state.debt[key]
        found = np.flatnonzero((debt > 0) & (debt > limit))
        if not len(found):
            state.quiet[key] = answer
        for i in found:
            out.append((limit[i] / debt[i], "isolated", (key, int(i))))
    for pool, index in static.pooled.items():
        health, _ = index.health(state, prices)
        for a in np.flatnonzero(health < 1.0).tolist():
            out.append((health[a], "pooled", (pool, index.accounts[a])))
    return out
