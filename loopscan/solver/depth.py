"""The unwind table: for each token, what its exit can absorb within a price impact, beside the
collateral that a shock of the same size makes liquidatable — the headline figure of an unwind
("a 5 % depeg makes $300M liquidatable; $6M can be sold within 4 %").

For each token the solver can shock and each level L (1, 2, 5, 10, 15, 25 %):

* **absorbable**: the exact sale that brings the token's exit (`exits.Exit`, the venues the
  cascade sells into) down to (1 − L) of its best price today, split across its venues as a
  router with that price limit would (each venue sold down to that price on its own: the split
  the cascade's greedy slices approach), each with its pool's own maths from the snapshot
  (Uniswap v3 ticks, Curve balances and A): the tokens sold, and the quote tokens paid for them,
  each quote in USD at the pin's prices. `exit_pool` lists the venues (best price first);
  `unproven_on_node` those whose maths no node has checked (Curve).
* **liquidatable**: the positions that a market depeg of L makes liquidatable before any
  feedback (the protocols' own checks at the shocked prices; positions liquidatable already at
  the pin are left out: they are the pin's own), valued at the pin's prices: all the collateral of
  each such position (for a pooled account, every reserve it posts).
* **ratio**: liquidatable / absorbable; infinite where the exit has no depth within L; None where
  nothing becomes liquidatable, or where no pool was read for the token (not computable: its
  `exit_pool` is None, and no depth is claimed for it).
"""

from __future__ import annotations

import math

import pandas as pd

from loopscan.solver.book import Book
from loopscan.solver.book_constants import constants
from loopscan.solver.thresholds import Solver

__all__ = ["DEPTH_COLUMNS", "LEVELS", "absorbable", "depth_table", "liquidatable_usd"]

LEVELS = (0.01, 0.02, 0.05, 0.10, 0.15, 0.25)
DEPTH_COLUMNS = ["token", "symbol", "level_frac", "exit_pool", "absorbable_tokens", "absorbable_usd",
                 "liquidatable_positions", "liquidatable_usd", "liquidatable_to_absorbable", "unproven_on_node"]  # fmt: skip


def absorbable(book: Book, token: str, impact: float) -> tuple[float, float] | None:
    """(tokens sold, USD received) to move `token`'s exit price down by `impact`, exactly; None if
    the token has no exit."""
    exit_ = book.exits.get(token)
    if exit_ is None:
        return None
    sales = exit_.sale_to(1.0 - impact)
    sold = sum(taken for taken, _ in sales) / 10**exit_.decimals
    usd = sum(paid / 10**v.quote_decimals * book.p0.get(v.quote, 0.0) for v, (_, paid) in zip(exit_.venues, sales, strict=True))
    return sold, usd


def liquidatable_usd(solver: Solver, token: str, shock: float) -> tuple[int, float]:
    """(positions, collateral USD at the pin's prices) that a market depeg of `shock` of `token`
    makes liquidatable before any feedback, leaving out those the baseline liquidates already."""
    book = solver.book
    found = sorted(solver.newly_at_risk("depeg", token, shock))
    value = 0.0
    for where, account in found:
        if where in book.markets:  # an isolated market's position
            m = book.markets[where]
            value += float(m.collateral_amount[m.accounts.index(account)]) * book.p0.get(m.collateral, 0.0)
        else:  # a pooled account: every reserve it posts
            for m, i, *_ in constants(book).pooled[where].legs(account):
                value += float(m.collateral_amount[i]) * book.p0.get(m.loan, 0.0)
    return len(found), value


def depth_table(solver: Solver, levels: tuple[float, ...] = LEVELS) -> pd.DataFrame:
    """One row per (token the solver can shock, level): absorbable depth, liquidatable collateral
    and their ratio (see the module docstring)."""
    book = solver.book
    rows = []
    for token in solver.shockable("depeg"):
        exit_ = book.exits.get(token)
        for level in levels:
            depth = absorbable(book, token, level)
            count, value = liquidatable_usd(solver, token, level)
            sold, usd = depth if depth is not None else (0.0, 0.0)
            ratio = None if not count or depth is None else (value / usd if usd > 0 else math.inf)
            rows.append({"token": token, "symbol": book.symbols.get(token, token), "level_frac": level,
                         "exit_pool": ",".join(v.address for v in exit_.venues) if exit_ is not None else None, "absorbable_tokens": sold,
                         "absorbable_usd": usd, "liquidatable_positions": count, "liquidatable_usd": value,
                         "liquidatable_to_absorbable": ratio,
                         "unproven_on_node": ",".join(exit_.unproven_on_node) or None if exit_ is not None else None})  # fmt: skip
    return pd.DataFrame(rows, columns=DEPTH_COLUMNS)
