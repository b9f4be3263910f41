"""What the cascade reads from a Book that no cascade changes, worked out once per Book.

A Book is read-only after `build_book`, and the solver runs some 23 cascades per token on the
same one: these constants are kept beside it (by identity, dropped with it) instead of being
recomputed by every cascade.
"""

from __future__ import annotations

import weakref

import numpy as np

from loopscan.solver.book import Book, MarketBook
from loopscan.solver.pooled import PooledAccounts, pooled_accounts

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
        self.scanned: list[tuple[str, MarketBook, bool, float]] = []  # isolated markets with positions:
        # (key, market, in `constant`, the least oracle answer clearly above its trigger)
        self.lenders: dict[str, tuple[float, list[tuple[str, float]]]] = {}  # market -> (supply, vaults' supply)
        self.oracle_on: dict[str, list[str]] = {}  # token -> markets whose oracle answer (or loan) reads its price or vault book
        self.oracle_reads: dict[str, set[str]] = {}  # market -> those tokens (`oracle_on` the other way)
        self.pin: tuple[dict[str, float], dict[str, float]] | None = None  # `Pricer`: market prices and oracle answers at the pin
        self.shares: dict[str, np.ndarray] = {}  # market -> each supplier's share of its supply, as `suppliers`
        self.pooled: dict[str, PooledAccounts] = pooled_accounts(book)  # pooled protocol contract -> its accounts
        self.position_ids: tuple | None = None  # `liquidatable.position_ids`, worked out when first asked
        self.compiled: dict[str, object] = {}  # pool -> its compiled round, or None (`pooled_round.plan`)
        legs = [leg for c in book.markets.values() if c.credit is not None for leg in c.credit.legs]  # credit accounts' oracles
        for m in [*book.markets.values(), *legs]:
            self.oracle_reads[m.key] = _oracle_reads(book, m) | {m.loan}  # and the price a pooled reserve's sales are valued at
            for token in self.oracle_reads[m.key]:
                self.oracle_on.setdefault(token, []).append(m.key)
        for key, m in book.markets.items():
            vaults = [(self.owner[a], s) for a, s in m.suppliers.items() if a in self.owner]
            total = sum(m.suppliers.values())
            self.lenders[key] = (total, vaults)
            supplied = np.array(list(m.suppliers.values()), dtype=float)
            self.shares[key] = supplied / total if total else np.zeros(len(supplied))
            if m.margin != "isolated":
                continue
            borrowing = m.debt > 0
            debt, col = m.debt[borrowing], m.collateral_amount[borrowing]
            with np.errstate(divide="ignore", invalid="ignore"):
                self.trigger[key] = float((debt / (col * m.lltv)).max()) if len(debt) else 0.0
                self.ltv[key] = float((debt / col).max()) if len(debt) else 0.0
            fixed = m.oracle_kind == "fixed" or (m.oracle_kind == "exchange_rate" and m.collateral not in book.vaults)
            if fixed and m.tracks is None and np.isfinite(m.oracle0) and clearly_above(m.oracle0, self.trigger[key]):
                self.constant.add(key)
            if len(m.accounts):  # what `liquidatable.candidates` scans, with the bound `clearly_above` sets
                self.scanned.append((key, m, key in self.constant, self.trigger[key] * (1 + 1e-9)))


def _oracle_reads(book: Book, m: MarketBook) -> set[str]:
    """The tokens whose market price or vault book `pricing._oracle` reads for this market: an
    isolated market's two tokens; a pooled reserve's (or a credit account collateral's, its leg's)
    own asset, the asset whose feed it shares (`tracks`), or its vault's and what the feed of the
    vault's asset reads (the asset's market price where the protocol has no feed of it)."""
    if m.margin == "isolated":
        return {m.collateral, m.loan}
    if m.oracle_kind == "fixed":
        return {book.markets[m.tracks].loan} if m.tracks is not None else set()
    if m.oracle_kind == "exchange_rate" and m.loan in book.vaults:
        pool, asset = m.key.split(":")[0], book.vaults[m.loan].asset
        under = next((r for r in book.markets.values() if r.key.split(":")[0] == pool and r.loan == asset), None)
        return {m.loan} | (_oracle_reads(book, under) if under is not None else {asset})
    return {m.loan}


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
