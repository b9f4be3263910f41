"""Which positions the protocols' own checks let a liquidator close at the cascade's prices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loopscan.solver.book import Book
from loopscan.solver.book_constants import constants
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["Found", "candidates", "position_ids", "positions"]


@dataclass(frozen=True)
class Found:
    """A round's liquidatable positions as arrays, in the order they are liquidated: worst health
    (collateral limit / debt, or the health factor) first, ties by kind (isolated markets first),
    then by market key or pool, then by row or account — the order of (health, kind, reference)."""

    names: list[str]  # market keys (isolated) and pool addresses (pooled)
    health: np.ndarray
    pooled: np.ndarray  # bool: an account of a pooled protocol, not a position of an isolated market
    where: np.ndarray  # place in `names`
    item: np.ndarray  # row in the market's arrays, or place in the pool's `PooledAccounts.accounts`

    def __len__(self) -> int:
        return len(self.health)

    def ids(self, book: Book) -> np.ndarray:
        """Each as its number among the book's positions (`position_ids`)."""
        start = position_ids(book)[1]
        return np.array([start[n] for n in self.names], dtype=np.int64)[self.where] + self.item


def position_ids(book: Book) -> tuple[list[str], dict[str, int], np.ndarray]:
    """The book's positions numbered: isolated markets' rows, then pooled accounts, in the order
    of `book.markets` and `BookConstants.pooled`. Returns the markets and pools (names), where
    each one's numbers start, and those starts as an array."""
    static = constants(book)
    if static.position_ids is None:
        names = [k for k, m in book.markets.items() if m.margin == "isolated"] + list(static.pooled)
        sizes = [len(book.markets[n].accounts) if n in book.markets else len(static.pooled[n].accounts) for n in names]
        starts = np.concatenate(([0], np.cumsum(sizes, dtype=np.int64)))
        static.position_ids = (names, dict(zip(names, starts.tolist(), strict=False)), starts)
    return static.position_ids


def positions(book: Book, ids: np.ndarray) -> list[tuple[str, str]]:
    """The positions numbered `ids` (`position_ids`), each as (market key or pool, account)."""
    names, _, starts = position_ids(book)
    pooled = constants(book).pooled
    which = np.searchsorted(starts, ids, side="right") - 1
    out = []
    for w, i in zip(which.tolist(), (ids - starts[which]).tolist(), strict=True):
        name = names[w]
        out.append((name, pooled[name].accounts[i] if name in pooled else book.markets[name].accounts[i]))
    return out


def candidates(book: Book, state: CascadeState, prices: Pricer) -> Found:
    """Every liquidatable position at the round's starting prices (`Found`)."""
    names: list[str] = []
    parts: list[tuple[np.ndarray, bool, np.ndarray]] = []
    static = constants(book)
    oracles, touched, quiet = prices.oracles, state.touched, state.quiet
    for key, m, constant, above in static.scanned:
        untouched = key not in touched  # its positions are still the snapshot's
        if untouched and constant:
            continue
        answer = oracles.get(key)
        if answer is None:
            answer = prices.oracle(m)
        if untouched and answer >= above:
            continue  # no position is liquidatable at this oracle price (`clearly_above` its trigger)
        if quiet.get(key) == answer:
            continue  # the same positions at the same oracle answer: still none liquidatable
        limit = m.rules.borrow_limit(state.collateral[key], answer, m.lltv)
        debt = state.debt[key]
        found = np.flatnonzero((debt > 0) & (debt > limit))
        if not len(found):
            state.quiet[key] = answer
            continue
        names.append(key)
        parts.append((limit[found] / debt[found], False, found))
    for pool, index in static.pooled.items():
        # An account below health 1 whose every leg that owes, or every one that holds collateral,
        # sits in a reserve nobody may liquidate (paused) is not one: it stays open (`now` names it).
        health, liquidable = index.health(state, prices)
        found = np.flatnonzero((health < 1.0) & liquidable)
        if len(found):
            names.append(pool)
            parts.append((health[found], True, found))
    if not parts:
        return Found(names, np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    rank = {name: r for r, name in enumerate(sorted(names))}
    health = np.concatenate([h for h, _, _ in parts])
    pooled = np.concatenate([np.full(len(h), p) for h, p, _ in parts])
    where = np.concatenate([np.full(len(h), w, dtype=np.int64) for w, (h, _, _) in enumerate(parts)])
    item = np.concatenate([f for _, _, f in parts]).astype(np.int64)
    ranked = np.array([rank[n] for n in names], dtype=np.int64)[where]
    order = np.lexsort((item, ranked, pooled, health))
    return Found(names, health[order], pooled[order], where[order], item[order])
