"""Liquidations whose order changes nothing, done as arrays (step 3 of a round, see `cascade`).

A round liquidates its positions one after another because each sale can move a price the next
liquidation reads: the collateral's market price (the liquidator's profit, the USD seized), an
oracle answer that follows it (the amount seized), a vault's book (a write-off). Once none of the
round's remaining liquidations can move a price that any of them reads, the rest of the round is
*frozen*: every remaining position is liquidated at the same prices whatever the order, so they
are liquidated together as arrays (`rules.liquidate_many`) and what they change is added up in
the round's order — each token's sales, each market's realised bad debt, each vault's write-offs,
the round's volume — with one addition after another (`np.cumsum`), as one liquidation at a time
would: the same floats.

Frozen means, for the markets of the remaining liquidations (all of isolated markets):

* the collateral they sell cannot move its price: it has no exit, or every venue of its exit is
  used up (`Pricer.moves_with_sales`); a vault share always can (redemptions move its book);
* the vaults lending to them (whose books a write-off lowers) and those collateral tokens are read
  by none of their prices: neither directly (a market's oracle reads its two tokens, `pricing`)
  nor through another price (`BookConstants.readers`), and none of their prices is on a cycle of
  prices (`BookConstants.unsettled`), which is worked out anew at every price refresh.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from loopscan.solver.book import Book
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["add_in_order", "frozen", "liquidate_frozen"]


def frozen(book: Book, prices: Pricer, keys: Iterable[str]) -> bool:
    """Whether liquidating positions of these isolated markets can move no price any of them reads."""
    static = prices.constants
    markets = [book.markets[k] for k in keys]
    changing: set[str] = set()
    for m in markets:
        if prices.moves_with_sales(m.collateral):
            changing.add(m.collateral)
        if m.rules.SOCIALISES_BAD_DEBT:
            changing.update(vault for vault, _ in static.lenders[m.key][1])
    moving = set(static.unsettled)
    for token in changing:
        moving.update(static.readers.get(token, (token,)))
    return not any(m.collateral in moving or m.loan in moving for m in markets)


def liquidate_frozen(book: Book, state: CascadeState, prices: Pricer, names: list[str], where: np.ndarray, rows: np.ndarray) -> tuple:
    """Liquidate these positions of isolated markets (market `names[where]`, row `rows`, in the
    round's order) at today's prices, which none of them moves (`frozen`). Returns those done, in
    that order, as columns of what `liquidation.liquidate_isolated` gives for each: (place in
    `names`, row, seized, repaid, bad debt, seized USD)."""
    seized, repaid, bad, usd = (np.zeros(len(rows)) for _ in range(4))
    done = np.zeros(len(rows), dtype=bool)
    written: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}  # vault -> (places, its loss there)
    sold_at: dict[str, list[np.ndarray]] = {}  # token -> places of the sales of it
    for w in np.unique(where).tolist():
        key = names[w]
        m = book.markets[key]
        mine = np.flatnonzero(where == w)
        at = rows[mine]
        col, debt = state.collateral[key][at], state.debt[key][at]
        ok, s, r, b = m.rules.liquidate_many(col, debt, prices.oracle(m), m.lltv, m.incentive)
        value = s * prices.market(m.collateral)
        ok &= ~(value < r * prices.market(m.loan))  # the liquidator would be paid less than they repay: nobody liquidates
        if not ok.any():
            continue
        seized[mine], repaid[mine], bad[mine], usd[mine], done[mine] = s, r, b, value, ok
        cols, debts = state.writable(key)
        cols[at[ok]] = col[ok] - s[ok]
        debts[at[ok]] = np.where(b[ok] != 0, 0.0, debt[ok] - r[ok])
        lost = ok & (b != 0)
        if lost.any():
            _write_off(prices, key, mine[lost], b[lost], written)
        sold_at.setdefault(m.collateral, []).append(mine[ok & (s > 0)])
        state.repriced.add(m.collateral)
    for token, parts in sold_at.items():
        state.sold[token] = add_in_order(state.sold.get(token, 0.0), seized[np.sort(np.concatenate(parts))])
    for vault, parts in written.items():
        places = np.concatenate([p for p, _ in parts])
        loss = np.concatenate([v for _, v in parts])[np.argsort(places, kind="stable")]
        state.total_assets[vault] = add_in_order(state.total_assets[vault], -loss)
    which = np.flatnonzero(done)
    return where[which], rows[which], seized[which], repaid[which], bad[which], usd[which]


def add_in_order(start: float, values: np.ndarray) -> float:
    """start + values[0] + values[1] + ..., one addition after another (a − b is a + (−b) exactly)."""
    return float(np.cumsum(np.concatenate(([start], values)))[-1]) if len(values) else start


def _write_off(prices: Pricer, key: str, where: np.ndarray, bad: np.ndarray, written: dict) -> None:
    """`liquidation.write_off` of each of a market's bad debts: the market's realised sum now, each
    lending vault's loss kept by place in the round (`written`), to be subtracted in that order."""
    state = prices.state
    state.realized[key] = add_in_order(state.realized.get(key, 0.0), bad)
    m = prices.book.markets[key]
    if not m.rules.SOCIALISES_BAD_DEBT:
        return
    total, vaults = prices.constants.lenders[key]
    if total > 0:
        for vault, supplied in vaults:
            written.setdefault(vault, []).append((where, bad * supplied / total))
            state.repriced.add(vault)
