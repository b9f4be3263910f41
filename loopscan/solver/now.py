"""The state at the pin, before anybody acts: what is liquidatable now, under water now, and stuck.

* **Liquidatable now**: by the protocol's own rule at the oracle answers read at the pin (not
  at loopscan's market prices: a feed that has not caught up yet liquidates nothing yet).
* **Bad debt now**: what closing the position now would leave unpaid. For a position of an
  isolated market that is liquidatable now, the protocol's own write-off (Morpho: the debt left
  once all collateral is seized at the oracle price with its incentive, `badDebtAssets`). For any
  other position, its debt above its collateral's market value at the pin (hidden bad debt: the
  oracle keeps it open, or nobody profits from closing it). Market prices at the pin are the
  solver's starting prices, a vault share at most its book value (`pricing`).
* **Blocked**: a pooled account below health 1 whose reserves a liquidator may not touch (the
  rules' `refusal`: a paused reserve) is not liquidatable now; `liquidation_blocked` says why and
  `blocked_reserves` which reserves.
* **Lenders stuck**: a market lent out in full (utilisation 1): its lenders cannot withdraw.
* **Shortfall**: what the lenders were credited (supplied − borrowed) beyond the loan token the
  market actually holds (`underlying_held`, where the protocol reads it): a fee-on-transfer or
  rebasing token took it, and the lenders bear it. Not read: missing, not zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loopscan.solver import accounts
from loopscan.solver.book import Book
from loopscan.solver.book_constants import constants
from loopscan.solver.pooled import PooledAccounts
from loopscan.solver.pricing import Pricer
from loopscan.solver.reach import rests_on
from loopscan.solver.shock import Shock
from loopscan.solver.state import initial_state

__all__ = ["NOW_COLUMNS", "MARKET_NOW_COLUMNS", "positions_now", "markets_now", "flagged", "under"]

NOW_COLUMNS = [
    "position", "protocol", "account", "collateral", "loan", "debt_usd", "collateral_usd", "health",
    "liquidatable_now", "liquidation_blocked", "blocked_reserves", "bad_debt_now_usd",
]  # fmt: skip
MARKET_NOW_COLUMNS = [
    "market", "protocol", "loan", "collateral", "supplied", "borrowed", "utilisation_frac", "lenders_stuck",
    "shortfall", "shortfall_usd",
]  # fmt: skip


class _AtPin:
    """The oracle answers read at the pin, and the market prices the cascade starts from."""

    def __init__(self, book: Book) -> None:
        self.state = initial_state(book)
        self.pricer = Pricer(book, self.state, Shock("depeg", "", 0.0), 0)

    def oracle(self, m) -> float:
        return m.oracle0

    def market(self, token: str) -> float:
        return self.pricer.market(token)


def positions_now(book: Book) -> pd.DataFrame:
    """Every open position (debt > 0) as it stands at the pin. `position` is the market key (an
    isolated market or a credit account's) or the protocol address (a pooled account, all its
    reserves at once); `collateral` the token address, or addresses joined by `+` for a pooled or
    credit account; `health` is
    the protocol's own ratio (borrow limit / debt, or the health factor): liquidatable below 1."""
    pin = _AtPin(book)
    rows: list[tuple] = []
    for key, m in book.markets.items():
        if m.margin != "isolated" or not len(m.accounts):
            continue
        debt, col = m.debt, m.collateral_amount
        open_ = np.flatnonzero(debt > 0)
        if not len(open_):
            continue
        limit = m.rules.borrow_limit(col[open_], m.oracle0, m.lltv)
        p_col, p_loan = pin.market(m.collateral), pin.market(m.loan)
        for i, lim in zip(open_.tolist(), limit.tolist(), strict=True):
            owed, held = debt.item(i), col.item(i)
            liquidatable = bool(owed > lim)
            bad = max(owed * p_loan - held * p_col, 0.0)
            if liquidatable:
                done = m.rules.liquidate(held, owed, m.oracle0, m.lltv, m.incentive)
                bad = done[2] * p_loan if done is not None else bad
            rows.append((key, m.protocol, m.accounts[i], m.collateral, m.loan, owed * p_loan, held * p_col,
                         lim / owed, liquidatable, None, None, bad))  # fmt: skip
    for pool, index in constants(book).pooled.items():
        rows += _pooled_now(pool, index, pin)
    rows += accounts.positions_now(book, pin)
    return pd.DataFrame(rows, columns=NOW_COLUMNS)


def _pooled_now(pool: str, index: PooledAccounts, pin: _AtPin) -> list[tuple]:
    """`positions_now`'s rows of a pool's accounts that owe something (or whose debt's price could not
    be read), worked out for all of them at once (`PooledAccounts.health` at the pin's oracle
    answers; values added leg by leg in the reserves' order, as `of_legs` adds them)."""
    col, debt = index.at_pin
    health, liquidable = index.health(pin.state, pin)
    owed = index.per_account(debt * np.array([m.oracle0 for m in index.reserves])[index.leg_reserve])
    price = np.array([pin.market(m.loan) for m in index.reserves])[index.leg_reserve]
    col_usd, debt_usd = index.per_account(col * price), index.per_account(debt * price)
    held, loans = _tokens(index, col > 0), _tokens(index, debt > 0)
    protocol = index.reserves[0].protocol
    rows = []
    for a in np.flatnonzero(~(owed <= 0)).tolist():  # as `of_legs`: an unreadable price (NaN) owes, health unknown
        hf = health.item(a)
        refused = {}  # reserve -> why no liquidation may touch it, for an account only they keep open
        if hf < 1.0 and not liquidable[a]:
            refused = {m.loan: m.rules.refusal(m.params) for m, i, *_ in index.leg_lists[a]
                       if (m.debt[i] > 0 or m.collateral_amount[i] > 0) and not m.rules.usable(m.params)}  # fmt: skip
        why, which = ("+".join(sorted(set(refused.values()))), "+".join(sorted(refused))) if refused else (None, None)
        debt_a, col_a = debt_usd.item(a), col_usd.item(a)
        rows.append((pool, protocol, index.accounts[a], held[a], loans[a], debt_a, col_a, hf, bool(hf < 1.0 and not refused), why, which,
                     max(debt_a - col_a, 0.0)))  # fmt: skip
    return rows


def _tokens(index: PooledAccounts, legs: np.ndarray) -> list[str]:
    """Per account, the assets of its reserves where `legs` holds, sorted and joined by `+`: worked
    out once per distinct set of reserves (mainnet's pools have some sixty reserves, and a few
    hundred such sets among their accounts)."""
    present = np.zeros((len(index.accounts), len(index.reserves)), dtype=bool)
    present[index.leg_account[legs], index.leg_reserve[legs]] = True
    sets, first, which = np.unique(np.packbits(present, axis=1), axis=0, return_index=True, return_inverse=True)
    names = ["+".join(sorted(index.reserves[r].loan for r in np.flatnonzero(row).tolist())) for row in present[first]]
    return [names[k] for k in which.ravel().tolist()]


def markets_now(book: Book) -> pd.DataFrame:
    """Every market with lenders: its utilisation, whether its lenders are stuck (lent out in full),
    and its shortfall: loan tokens credited to lenders that the market does not hold (tokens, and
    USD at the pin's price; 0 when it holds enough, NaN where its holdings were not read)."""
    pin = _AtPin(book)
    rows = []
    for key, m in book.markets.items():
        if m.total_supply <= 0:
            continue
        used = m.total_borrow / m.total_supply
        short = m.shortfall if m.shortfall is not None else float("nan")
        rows.append((key, m.protocol, m.loan, m.collateral, m.total_supply, m.total_borrow, used, bool(used >= 1.0),
                     short, short * pin.market(m.loan)))  # fmt: skip
    return pd.DataFrame(rows, columns=MARKET_NOW_COLUMNS)


def flagged(positions: pd.DataFrame) -> pd.DataFrame:
    """The rows of a `positions_now` table a reader must see: liquidatable now, kept open only by
    a reserve nobody may liquidate (`liquidation_blocked`), or under water."""
    if not len(positions):
        return positions
    return positions[positions["liquidatable_now"] | positions["liquidation_blocked"].notna() | (positions["bad_debt_now_usd"] > 0)]


def under(book: Book, positions: pd.DataFrame, token: str, resting: dict[str, frozenset[str]] | None = None) -> pd.Series:
    """Which of `positions` (a `positions_now` table) a shock of `token` reaches: their collateral
    is `token` or rests on it (`reach`)."""
    resting = resting if resting is not None else rests_on(book)
    held = positions["collateral"]
    reached = [c for c in held.unique() if any(token in resting.get(t, frozenset({t})) for t in c.split("+") if t)]
    return held.isin(reached)  # a few collateral sets among many positions: each decided once
