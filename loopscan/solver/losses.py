"""Who loses what at a cascade's fixed point: bad debt per market, shared among its lenders.

Realised bad debt is what Morpho wrote off; hidden bad debt is a position left open whose
collateral's market value is below its debt (its oracle keeps it healthy, or nobody profits from
liquidating it): the lender would lose that much if it were closed at market.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loopscan.solver.book import Book
from loopscan.solver.book_constants import clearly_above, constants
from loopscan.solver.liquidatable import pooled_reserves
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["LOSS_COLUMNS", "losses"]

LOSS_COLUMNS = ["market", "lender", "lender_symbol", "realized_bad_debt_usd", "hidden_bad_debt_usd"]


def losses(book: Book, state: CascadeState, prices: Pricer) -> pd.DataFrame:
    """Realised and hidden bad debt per market, shared among its suppliers pro rata."""
    hidden: dict[str, float] = {}
    static = constants(book)
    for key, m in book.markets.items():
        if m.protocol.startswith("morpho"):
            p_col, p_loan = prices.market(m.collateral), prices.market(m.loan)
            if key not in state.touched and p_loan > 0 and clearly_above(p_col / p_loan, static.ltv[key]):
                continue  # every position's collateral is worth more than its debt: no hidden bad debt
            value = state.collateral[key] * prices.market(m.collateral)
            hidden[key] = float(np.maximum(state.debt[key] * prices.market(m.loan) - value, 0.0).sum())
    for reserves in pooled_reserves(book).values():
        # A pooled account's shortfall (debt over all its collateral, at market) falls on the
        # reserves it owes, in proportion to what it owes each.
        for account in sorted({a for m in reserves for a in m.accounts}):
            legs = [(m, m.accounts.index(account)) for m in reserves if account in m.accounts]
            col = sum(state.collateral[m.key][i] * prices.market(m.loan) for m, i in legs)
            owed = {m.key: state.debt[m.key][i] * prices.market(m.loan) for m, i in legs if state.debt[m.key][i] > 0}
            debt = sum(owed.values())
            if debt > col:
                for key, value in owed.items():
                    hidden[key] = hidden.get(key, 0.0) + (debt - col) * value / debt
    rows = []
    for key, m in book.markets.items():
        realized = state.realized.get(key, 0.0) * prices.market(m.loan)
        if not (realized or hidden.get(key)):
            continue
        total = sum(m.suppliers.values())
        for account, supplied in m.suppliers.items():
            share = supplied / total if total else 0.0
            vault = static.owner.get(account)
            rows.append({
                "market": key, "lender": account, "lender_symbol": book.symbols.get(vault) if vault else None,
                "realized_bad_debt_usd": realized * share, "hidden_bad_debt_usd": hidden.get(key, 0.0) * share,
            })  # fmt: skip
    return pd.DataFrame(rows, columns=LOSS_COLUMNS)
