"""What the cascade reads from a Book that no cascade changes, worked out once per Book.

A Book is read-only after `build_book`, and the solver runs some 23 cascades per token on the
same one: these constants are kept beside it (by identity, dropped with it) instead of being
recomputed by every cascade.
"""

from __future__ import annotations

import weakref

import numpy as np

from loopscan.solver.book import Book

__all__ = ["BookConstants", "constants", "clearly_above"]


class BookConstants:
    def __init__(self, book: Book) -> None:
        self.readers, self.unsettled = _price_readers(book)
        self.owner: dict[str, str] = {}  # vault contract -> its share token (the first)
        for share, v in book.vaults.items():
            self.owner.setdefault(v.vault, share)
        self.trigger: dict[str, float] = {}  # isolated market -> max debt / (collateral · LLTV)
        self.ltv: dict[str, float] = {}  # isolated market -> max debt / collateral
        self.constant: set[str] = set()  # isolated markets whose oracle never moves, above every trigger
        self.lenders: dict[str, tuple[float, list[tuple[str, float]]]] = {}  # market -> (supply, vaults' supply)
        self.isolated_on: dict[str, list[str]] = {}  # token -> isolated markets lending or taking it as collateral
        self.shares: dict[str, np.ndarray] = {}  # market -> each supplier's share of its supply, as `suppliers`
        for key, m in book.markets.items():
            vaults = [(self.owner[a], s) for a, s in m.suppliers.items() if a in self.owner]
            total = sum(m.suppliers.values())
            self.lenders[key] = (total, vaults)
            supplied = np.array(list(m.suppliers.values()), dtype=float)
            self.shares[key] = supplied / total if total else np.zeros(len(supplied))
            if m.margin != "isolated":
                continue
            for token in {m.collateral, m.loan}:
                self.isolated_on.setdefault(token, []).append(key)
            borrowing = m.debt > 0
            debt, col = m.debt[borrowing], m.collateral_amount[borrowing]
            with np.errstate(divide="ignore", invalid="ignore"):
                self.trigger[key] = float((debt / (col * m.lltv)).max()) if len(debt) else 0.0
                self.ltv[key] = float((debt / col).max()) if len(debt) else 0.0
            fixed = m.oracle_kind == "fixed" or (m.oracle_kind == "exchange_rate" and m.collateral not in book.vaults)
            if fixed and m.tracks is None and np.isfinite(m.oracle0) and clearly_above(m.oracle0, self.trigger[key]):
                self.constant.add(key)


def clearly_above(value: float, bound: float) -> bool:
    """`value` is clearly above `bound`: by far more than a float product's rounding, so that
    x · value > y holds for every x, y whose ratio y / x is at most `bound`."""
    return value >= bound * (1 + 1e-9)


def _price_readers(book: Book) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """Whose market price reads whose: a pooled token's reads its venues' quotes' (unless anchored),
    a vault share's its asset's. Returns each token's readers, itself and transitively, and the
    tokens on a cycle of such reads or reading one: the Pricer resolves a cycle by the order it is
    asked in, so their prices are worked out anew wherever the cascade used to start afresh."""
    reads: dict[str, set[str]] = {}
    for token, exit_ in book.exits.items():
        if token not in book.anchored:
            reads.setdefault(token, set()).update(v.quote for v in exit_.venues)
    for share, v in book.vaults.items():
        reads.setdefault(share, set()).add(v.asset)
    reach: dict[str, set[str]] = {}
    for token in reads:
        seen, todo = set(), list(reads[token])
        while todo:
            t = todo.pop()
            if t not in seen:
                seen.add(t)
                todo.extend(reads.get(t, ()))
        reach[token] = seen
    readers: dict[str, set[str]] = {}
    for token, seen in reach.items():
        for t in seen:
            readers.setdefault(t, {t}).add(token)
    cyclic = {t for t, seen in reach.items() if t in seen}
    unsettled = frozenset(t for t, seen in reach.items() if t in cyclic or seen & cyclic)
    return {t: tuple(r) for t, r in readers.items()}, unsettled


_CONSTANTS: dict[int, BookConstants] = {}


def constants(book: Book) -> BookConstants:
    found = _CONSTANTS.get(id(book))
    if found is None:
        found = _CONSTANTS[id(book)] = BookConstants(book)
        weakref.finalize(book, _CONSTANTS.pop, id(book), None)
    return found
