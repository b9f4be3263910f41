"""Which tokens a shock of one token reaches: the attribution of positions and losses to tokens.

A position appears under a token T only if T reaches it: its collateral is T, or the
collateral's value rests on T. "Rests on" follows the look-through graph and the prices:

* a vault share rests on its asset and on the collateral of every market it lends to (a loss
  there is a loss of its book);
* a token priced through its exit rests on its venues' quote tokens (unless it has a price of its
  own: `Book.anchored`);
* a pooled reserve whose oracle is another reserve's feed rests on that reserve's token.
"""

from __future__ import annotations

from loopscan.solver.book import Book
from loopscan.solver.book_constants import constants

__all__ = ["rests_on", "collateral_tokens"]


def rests_on(book: Book) -> dict[str, frozenset[str]]:
    """Every token of the book, with the tokens its value rests on (itself included)."""
    edges: dict[str, set[str]] = {}
    pooled_collateral: dict[str, set[str]] = {}
    for m in book.markets.values():
        if m.margin == "pooled" and (m.collateral_amount > 0).any():
            pooled_collateral.setdefault(m.key.split(":")[0], set()).add(m.loan)
    for token, exit_ in book.exits.items():
        if token not in book.anchored:
            edges.setdefault(token, set()).update(v.quote for v in exit_.venues)
    for share, v in book.vaults.items():
        lent_against = edges.setdefault(share, set())
        lent_against.add(v.asset)
        for key in v.supplies:
            m = book.markets.get(key)
            if m is None:
                continue  # a market the solver leaves out (`Book.unsolved`)
            if m.margin == "isolated":
                lent_against.add(m.collateral)
            else:
                lent_against |= pooled_collateral.get(key.split(":")[0], set())
    for m in book.markets.values():
        if m.tracks is not None:
            edges.setdefault(m.loan, set()).add(book.markets[m.tracks].loan)
    tokens = set(book.p0) | set(edges) | {m.collateral for m in book.markets.values()} | {m.loan for m in book.markets.values()}
    closure: dict[str, frozenset[str]] = {}
    for token in tokens:
        seen, todo = {token}, list(edges.get(token, ()))
        while todo:
            t = todo.pop()
            if t not in seen:
                seen.add(t)
                todo.extend(edges.get(t, ()))
        closure[token] = frozenset(seen)
    return closure


def collateral_tokens(book: Book, position: tuple[str, str]) -> frozenset[str]:
    """The tokens a position holds as collateral. `position` is (market key, account) for an
    isolated market, (protocol address, account) for a pooled account."""
    key, account = position
    m = book.markets.get(key)
    if m is not None:
        return frozenset({m.collateral})
    index = constants(book).pooled.get(key)
    return frozenset(r.loan for r, i, *_ in index.legs(account) if r.collateral_amount[i] > 0) if index else frozenset()
