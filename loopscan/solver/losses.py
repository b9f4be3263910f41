"""Who loses what at a cascade's fixed point: bad debt per market, shared among its lenders.

Realised bad debt is what Morpho wrote off; hidden bad debt is a position left open whose
collateral's market value is below its debt (its oracle keeps it healthy, or nobody profits from
liquidating it): the lender would lose that much if it were closed at market.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from loopscan.solver import accounts
from loopscan.solver.book import Book
from loopscan.solver.book_constants import clearly_above, constants
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["LOSS_COLUMNS", "Losses", "losses"]

LOSS_COLUMNS = ["market", "lender", "lender_symbol", "realized_bad_debt_usd", "hidden_bad_debt_usd"]


@dataclass(frozen=True)
class Losses:
    """Each market's bad debt (USD) split among its suppliers pro rata: `by_market` holds, for
    every market with any, (key, realised by supplier, hidden by supplier), suppliers in the
    order of `MarketBook.suppliers`."""

    book: Book
    by_market: list[tuple[str, np.ndarray, np.ndarray]]

    def total(self) -> float:
        """Realised plus hidden bad debt over every lender: the sums of the table's two columns,
        as pandas adds them (pairwise over the column, NaN as 0), without building the table."""
        if not self.by_market:
            return 0.0
        realized = np.nansum(np.concatenate([r for _, r, _ in self.by_market]))
        hidden = np.nansum(np.concatenate([h for _, _, h in self.by_market]))
        return float(realized + hidden)

    def market_totals(self) -> dict[str, float]:
        """Each market's bad debt (realised and hidden), USD."""
        return {key: float(np.nansum(r) + np.nansum(h)) for key, r, h in self.by_market}

    def new_since(self, base: Losses) -> float:
        """Bad debt this cascade adds over `base` (the baseline): per market, what exceeds the
        baseline's, summed. A market whose loss a shock only moves elsewhere adds nothing."""
        before = base.market_totals()
        return sum(max(v - before.get(k, 0.0), 0.0) for k, v in self.market_totals().items())

    def by_lender_since(self, base: Losses) -> dict[str, float]:
        """Per lender (a supplier's address), the bad debt this cascade adds over `base`, USD."""
        before = {key: r + h for key, r, h in base.by_market}
        out: dict[str, float] = {}
        for key, realized, hidden in self.by_market:
            now = np.nan_to_num(realized + hidden)
            added = np.maximum(now - np.nan_to_num(before[key]), 0.0) if key in before else now
            for account, value in zip(self.book.markets[key].suppliers, added.tolist(), strict=True):
                if value > 0:
                    out[account] = out.get(account, 0.0) + value
        return out

    def frame(self) -> pd.DataFrame:
        """One row per (market, lender); a vault among the lenders is named by its share token."""
        owner = constants(self.book).owner
        rows = []
        for key, realized, hidden in self.by_market:
            for account, r, h in zip(self.book.markets[key].suppliers, realized.tolist(), hidden.tolist(), strict=True):
                vault = owner.get(account)
                rows.append({"market": key, "lender": account, "lender_symbol": self.book.symbols.get(vault) if vault else None,
                             "realized_bad_debt_usd": r, "hidden_bad_debt_usd": h})  # fmt: skip
        return pd.DataFrame(rows, columns=LOSS_COLUMNS)


def losses(book: Book, state: CascadeState, prices: Pricer) -> Losses:
    """Realised and hidden bad debt per market, shared among its suppliers pro rata."""
    hidden: dict[str, float] = {}
    static = constants(book)
    for key, m in book.markets.items():
        if m.margin == "isolated":
            p_col, p_loan = prices.market(m.collateral), prices.market(m.loan)
            if key not in state.touched and p_loan > 0 and clearly_above(p_col / p_loan, static.ltv[key]):
                continue  # every position's collateral is worth more than its debt: no hidden bad debt
            value = state.collateral[key] * prices.market(m.collateral)
            hidden[key] = float(np.maximum(state.debt[key] * prices.market(m.loan) - value, 0.0).sum())
    for index in static.pooled.values():
        # A pooled account's shortfall (debt over all its collateral, at market) falls on the
        # reserves it owes, in proportion to what it owes each.
        price = np.array([prices.market(m.loan) for m in index.reserves])[index.leg_reserve]
        held, debt = index.amounts(state)
        col = index.per_account(held * price)
        owed = np.where(debt > 0, debt * price, 0.0)
        total = index.per_account(owed)
        short = (total > col)[index.leg_account] & (debt > 0)
        if short.any():
            a = index.leg_account[short]
            share = (total[a] - col[a]) * owed[short] / total[a]
            for r, value in enumerate(np.bincount(index.leg_reserve[short], weights=share, minlength=len(index.reserves)).tolist()):
                if value:
                    hidden[index.reserves[r].key] = value
    hidden.update(accounts.hidden(book, state, prices))
    by_market = []
    for key, m in book.markets.items():
        if key not in state.realized and not hidden.get(key):
            continue  # no loss (its loan token's price, finite, times 0)
        realized = state.realized.get(key, 0.0) * prices.market(m.loan)
        if realized or hidden.get(key):
            shares = static.shares[key]
            by_market.append((key, realized * shares, hidden.get(key, 0.0) * shares))
    return Losses(book, by_market)
