"""Which positions the protocols' own checks let a liquidator close at the cascade's prices."""

from __future__ import annotations

import numpy as np

from loopscan.solver.book import Book, MarketBook
from loopscan.solver.book_constants import clearly_above, constants
from loopscan.solver.liquidation import pooled_account, usable_legs
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["candidates", "pooled_reserves"]


def pooled_reserves(book: Book) -> dict[str, list[MarketBook]]:
    """The reserves of each pooled-margin protocol contract."""
    pools: dict[str, list[MarketBook]] = {}
    for m in book.markets.values():
        if m.margin == "pooled":
            pools.setdefault(m.key.split(":")[0], []).append(m)
    return pools


def candidates(book: Book, state: CascadeState, prices: Pricer, pools: dict[str, list[MarketBook]]) -> list[tuple]:
    """Every liquidatable position as (health, kind, reference), health = collateral limit / debt.
    A pooled account below health 1 whose every leg sits in a reserve nobody may liquidate (paused)
    is not one: it stays open (`now` names it)."""
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
    for pool, reserves in pools.items():
        accounts = sorted({a for m in reserves for a in m.accounts})
        for account in accounts:
            acct = pooled_account(book, state, prices, pool, account, reserves)
            if acct is not None and acct["hf"] < 1.0 and usable_legs(state, acct) is not None:
                out.append((acct["hf"], "pooled", (pool, account)))
    return out
