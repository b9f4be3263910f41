"""The accounts of a pooled-margin protocol (Aave-like), indexed once per Book.

An account of such a protocol is one position across every reserve of its pool: its health
factor sums its legs (collateral × oracle answer × liquidation threshold over debt × oracle
answer, `GenericLogic.calculateUserAccountData`). `PooledAccounts` keeps, for each account (in
sorted order), its legs as integer arrays — which reserve, which row of that reserve's arrays,
the liquidation threshold and bonus that apply (the account's e-mode category's, where the
reserve is in it) — so that the health of every account at once is a few numpy operations, and
one account's legs are a slice instead of a search through every reserve's accounts.

Sums over an account's legs are taken in the order of its reserves, one addition after another
(`np.bincount` adds its weights in order, and so does the compiled `health`), as a Python `sum`
over the legs would: the same floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from loopscan.solver.book import Book, MarketBook

__all__ = ["PooledAccounts", "pooled_accounts"]


@dataclass(frozen=True)
class PooledAccounts:
    """One pooled protocol contract's reserves and accounts; legs sorted by (account, reserve)."""

    pool: str  # the protocol contract's address
    reserves: tuple[MarketBook, ...]
    accounts: tuple[str, ...]  # sorted
    index: dict[str, int]  # account -> its place in `accounts`
    start: np.ndarray  # the legs of account a are start[a]:start[a + 1]
    leg_account: np.ndarray
    leg_reserve: np.ndarray  # place in `reserves`
    leg_row: np.ndarray  # row in that reserve's arrays (`MarketBook.accounts`)
    threshold: np.ndarray  # per leg: the liquidation threshold that applies (its e-mode's or the reserve's)
    bonus: np.ndarray  # per leg: the liquidation incentive that applies
    by_reserve: tuple[tuple[np.ndarray, np.ndarray], ...]  # per reserve: (its legs' places, their rows)
    usable: np.ndarray  # per leg: its reserve lets a liquidation repay or seize it (`rules.usable`: not paused)
    ask_order: tuple[int, ...]  # the reserves with legs, in the order the accounts, one by one, first reach them

    @cached_property
    def leg_lists(self) -> list[list[tuple[MarketBook, int, int, str, float, bool]]]:
        """Per account, its legs (`legs`): built when one account is first worked out on its own
        (the compiled round and `health` read the arrays)."""
        legs = [(self.reserves[r], row, k, self.reserves[r].key, t, u) for k, (r, row, t, u) in
                enumerate(zip(self.leg_reserve.tolist(), self.leg_row.tolist(), self.threshold.tolist(), self.usable.tolist(), strict=True))]  # fmt: skip
        bounds = self.start.tolist()
        return [legs[bounds[a]:bounds[a + 1]] for a in range(len(self.accounts))]

    def legs(self, account: str) -> list[tuple[MarketBook, int, int, str, float, bool]]:
        """The account's legs as (reserve, row in its arrays, leg number, reserve key, liquidation
        threshold that applies, usable by a liquidation), in the reserves' order."""
        a = self.index.get(account)
        return self.leg_lists[a] if a is not None else []

    def account(self, state, prices, account: str) -> dict | None:
        """`GenericLogic.calculateUserAccountData` of one account (`of_legs`)."""
        return self.of_legs(state, prices, self.legs(account))

    @staticmethod
    def of_legs(state, prices, legs: list[tuple[MarketBook, int, int, str, float, bool]]) -> dict | None:
        """`GenericLogic.calculateUserAccountData` of an account with these legs at `prices.oracle`'s
        answers (floats); None if it owes nothing. Also, among the legs a liquidation may touch
        (`usable`), those of largest debt and largest collateral value (the first of equals), and
        whether one of them owes and one holds collateral (`liquidable`: else nobody can liquidate
        it, whatever its health). `state` holds the positions (`CascadeState`)."""
        if not legs:
            return None
        answers: dict[str, float] = {}
        collateral, owing = state.collateral, state.debt
        col_value = weighted = debt_value = 0
        debt_leg = col_leg = most_debt = most_col = None
        owes = holds = False
        for leg in legs:
            m, i, _, key, threshold, usable = leg
            answer = answers[key] = prices.oracle(m)
            # Python floats (`item`), not numpy scalars: the same doubles, a few times faster to work with
            col, debt = collateral[key].item(i), owing[key].item(i)
            held, owed = col * answer, debt * answer
            col_value += held
            weighted += held * threshold
            debt_value += owed
            if usable:
                owes, holds = owes or debt > 0, holds or col > 0
                if most_debt is None or owed > most_debt:
                    debt_leg, most_debt = leg, owed
                if most_col is None or held > most_col:
                    col_leg, most_col = leg, held
        if debt_value <= 0:
            return None
        return {"legs": legs, "oracle": answers, "col_value": col_value, "debt_value": debt_value, "hf": weighted / debt_value,
                "debt_leg": debt_leg, "collateral_leg": col_leg, "liquidable": owes and holds}  # fmt: skip

    def gather(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """Per leg, the value of its row in its reserve's array (`arrays`: market key -> array)."""
        out = np.empty(len(self.leg_row))
        for m, (places, rows) in zip(self.reserves, self.by_reserve, strict=True):
            out[places] = arrays[m.key][rows]
        return out

    @cached_property
    def at_pin(self) -> tuple[np.ndarray, np.ndarray]:
        """Per leg, the collateral and the debt of the Book (`gather`): every cascade starts there."""
        return self.gather({m.key: m.collateral_amount for m in self.reserves}), self.gather({m.key: m.debt for m in self.reserves})

    def amounts(self, state) -> tuple[np.ndarray, np.ndarray]:
        """Per leg, the collateral and the debt in `state` (`gather`), kept in the state from the
        first call on and changed leg by leg as liquidations change them (`changed`): every round
        reads them all (`health`), while its liquidations change a few legs."""
        kept = state.pooled_legs.get(self.pool)
        if kept is None:
            if state.touched.isdisjoint(m.key for m in self.reserves):
                kept = [*self.at_pin, False]  # shared until the first change (`changed` copies)
            else:
                kept = [self.gather(state.collateral), self.gather(state.debt), True]
            state.pooled_legs[self.pool] = kept
        return kept[0], kept[1]

    def changed(self, state, *legs: tuple) -> None:
        """A liquidation changed these legs (as `legs` gives them) in `state`'s arrays: so in its
        kept `amounts`, if any (else `amounts` will gather the arrays as they are)."""
        if self.pool not in state.pooled_legs:
            return
        col, debt = self.own_amounts(state)
        for m, row, leg, *_ in legs:
            col[leg], debt[leg] = state.collateral[m.key][row], state.debt[m.key][row]

    def own_amounts(self, state) -> tuple[np.ndarray, np.ndarray]:
        """`amounts`, as `state`'s own copy to change (copied from the Book's on the first change)."""
        self.amounts(state)
        kept = state.pooled_legs[self.pool]
        if not kept[2]:
            kept[:] = kept[0].copy(), kept[1].copy(), True
        return kept[0], kept[1]

    def per_account(self, values: np.ndarray) -> np.ndarray:
        """Per account, the sum of its legs' `values`, added in the order of its reserves."""
        return np.bincount(self.leg_account, weights=values, minlength=len(self.accounts))

    def health(self, state, prices) -> tuple[np.ndarray, np.ndarray]:
        """Every account's health factor at `prices.oracle`'s answers, as `account` works them out
        one by one (NaN where it owes nothing), and whether a liquidation may touch it (`of_legs`'
        `liquidable`). Compiled (`kernels.health`): every round of a cascade asks it of every account."""
        answers = np.full(len(self.reserves), np.nan)
        for r in self.ask_order:  # as accounts one by one would first ask (prices on a cycle depend on it)
            answers[r] = prices.oracle(self.reserves[r])
        col, debt = self.amounts(state)
        from loopscan.solver.kernels import health  # numba, only for books with a pool (`kernels`)

        return health(self.start, self.leg_reserve, self.threshold, self.usable, col, debt, answers)


def pooled_accounts(book: Book) -> dict[str, PooledAccounts]:
    """The accounts of each pooled-margin protocol contract of the book (by its address)."""
    grouped: dict[str, list[MarketBook]] = {}
    for m in book.markets.values():
        if m.margin == "pooled":
            grouped.setdefault(m.key.split(":")[0], []).append(m)
    return {pool: _index(book, pool, reserves) for pool, reserves in grouped.items()}


def _index(book: Book, pool: str, reserves: list[MarketBook]) -> PooledAccounts:
    names = sorted({a for m in reserves for a in m.accounts})
    index = {a: i for i, a in enumerate(names)}
    accounts, which, rows = [], [], []
    for r, m in enumerate(reserves):
        places = np.fromiter((index[a] for a in m.accounts), dtype=np.int64, count=len(m.accounts))
        places, first = np.unique(places, return_index=True)  # an account's first row, as `list.index` finds it
        accounts.append(places)
        which.append(np.full(len(places), r, dtype=np.int64))
        rows.append(first.astype(np.int64))
    leg_account, leg_reserve, leg_row = (np.concatenate(x) if x else np.zeros(0, dtype=np.int64) for x in (accounts, which, rows))
    order = np.lexsort((leg_reserve, leg_account))
    leg_account, leg_reserve, leg_row = leg_account[order], leg_reserve[order], leg_row[order]
    start = np.searchsorted(leg_account, np.arange(len(names) + 1))
    emode = np.array([book.account_emode.get((pool, a), 0) for a in names], dtype=np.int64)
    categories = {c: book.emodes.get((pool, c)) for c in set(emode.tolist()) if c}
    threshold, bonus = np.empty(len(leg_row)), np.empty(len(leg_row))
    for r, m in enumerate(reserves):
        mine = leg_reserve == r
        category = _emode(m)
        in_emode = (emode[leg_account[mine]] == category) & (category != 0) & (categories.get(category) is not None)
        own = categories.get(category) or (m.lltv, m.incentive)
        threshold[mine] = np.where(in_emode, own[0], m.lltv)
        bonus[mine] = np.where(in_emode, own[1], m.incentive)
    by_reserve = tuple((np.flatnonzero(leg_reserve == r), leg_row[leg_reserve == r]) for r in range(len(reserves)))
    usable = np.array([m.rules.usable(m.params) for m in reserves], dtype=bool)[leg_reserve]
    first = {}
    for r in leg_reserve.tolist():  # legs are sorted by account, then reserve
        first.setdefault(r, len(first))
    return PooledAccounts(pool, tuple(reserves), tuple(names), index, start, leg_account, leg_reserve, leg_row, threshold, bonus,
                          by_reserve, usable, tuple(first))  # fmt: skip


def _emode(m: MarketBook) -> int:
    """The e-mode category of a pooled reserve (0: none), as its protocol records it."""
    return m.params.get("emode_category", 0)
