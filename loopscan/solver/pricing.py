"""Prices during a cascade (steps 1 and 2 of a round, see `cascade`): each token's market price
moved by the sales into its exit (`exits`), vault book values, and what each market's oracle answers."""

from __future__ import annotations

import numpy as np

from loopscan.solver.book import Book, MarketBook
from loopscan.solver.book_constants import constants
from loopscan.solver.shock import Shock
from loopscan.solver.state import CascadeState

__all__ = ["Pricer"]

_PT_FEEDS = ("linear_discount", "amm_twap")  # `OracleKind` values of a PT's own feeds


class Pricer:
    """Market and book prices of every token during one cascade, memoised.

    A price is kept until `refresh` finds that a sale or a vault's book (`CascadeState.repriced`)
    changed it or a price it reads: a liquidation changes one or two tokens' prices, and the
    next one mostly reads others or the same few again.
    """

    def __init__(self, book: Book, state: CascadeState, shock: Shock, shock_sale: tuple[int, ...]) -> None:
        self.book, self.state, self.shock, self.shock_sale = book, state, shock, shock_sale
        self.memo: dict[str, float] = {}
        self.oracles: dict[str, float] = {}  # isolated market -> its oracle's answer
        self.constants = constants(book)

    def refresh(self) -> None:
        """Forget the prices that changed since the last refresh (and those on a cycle), and the
        isolated markets' oracle answers that read them."""
        readers = self.constants.readers
        for token in self.state.repriced:
            if self._moves_with_sales(token):
                for t in readers.get(token, (token,)):
                    self._forget(t)
        self.state.repriced.clear()
        for t in self.constants.unsettled:
            self._forget(t)

    def _forget(self, token: str) -> None:
        self.memo.pop(token, None)
        for key in self.constants.isolated_on.get(token, ()):
            self.oracles.pop(key, None)

    def oracle(self, m: MarketBook) -> float:
        """The market's oracle answer now (`_oracle`), memoised for isolated markets: their oracle
        reads the prices (or, for an exchange rate, the vault book) of the market's two tokens only,
        so it is forgotten with them."""
        if m.key in self.oracles:
            return self.oracles[m.key]
        answer = _oracle(self.book, m, self)
        if m.margin == "isolated":
            self.oracles[m.key] = answer
        return answer

    def _moves_with_sales(self, token: str) -> bool:
        """Whether a change to `token` (a sale, or its vault's book) can move its price. A sale
        through an exit whose venues' liquidity is used up cannot (nor can one of a token without
        an exit): once every venue is at its price limit, every larger sale ends there."""
        if token in self.book.vaults or token not in self.book.exits:
            return token in self.book.vaults
        parts = self.state.exit_parts.get(token)
        return parts is None or not self.book.exits[token].exhausted(parts)

    def book_value(self, share: str) -> float:
        v = self.book.vaults[share]
        supply = self.state.supply[share]
        return (self.state.total_assets[share] / supply if supply else 0.0) * self.market(v.asset)

    def market(self, token: str) -> float:
        if token in self.memo:
            return self.memo[token]
        self.memo[token] = self.book.p0.get(token, 0.0)  # a cycle of prices resolves to the start
        price = self.book.p0.get(token, 0.0) * self._pool_factor(token)
        if token in self.book.vaults:
            price = min(price, self.book_value(token))
        self.memo[token] = price
        return price

    def _pool_factor(self, token: str) -> float:
        """How far sales (the shock's and the liquidators') moved the token's exit, relative.

        A depeg shock is the sale that brings the exit to (1 − δ) of its price: what its venues
        hold between the two prices. Liquidation sales come on top, split across the venues
        (`Exit.split`) into whatever depth is left below — none, if the liquidity ends above:
        then the price collapses.
        """
        shocked = self.shock.kind == "depeg" and self.shock.token == token
        target = 1.0 - self.shock.size if shocked else 1.0
        exit_ = self.book.exits.get(token)
        if exit_ is None:
            return target
        sold = int(self.state.sold.get(token, 0.0) * 10**exit_.decimals)
        setter = 0  # the venue whose price is the token's: the best at the pin until a sale
        if sold == 0:
            factor = target
        else:
            moved = self.state.exit_moves.get((token, sold))
            if moved is None:  # one exact split per amount sold, on top of the shock's exact sale
                # The shock's sale stays exact integers: one wei more can empty a range.
                parts = self.state.exit_parts[token] = exit_.split(sold, self.shock_sale if shocked and self.shock_sale else None)
                moved = self.state.exit_moves[(token, sold)] = exit_.price(parts)
            factor, setter = min(moved[0], target), moved[1]
        if token in self.book.anchored:
            return factor  # an anchored token's price is its own feed's, not its pool partner's
        quote = exit_.venues[setter].quote
        start = self.book.p0.get(quote, 0.0)
        return factor * (self.market(quote) / start if start else 1.0)


def _oracle(book: Book, m: MarketBook, prices: Pricer) -> float:
    """The market's oracle price now, quoted as its rules say (`ORACLE_QUOTE`): loan tokens per
    collateral token, or the numeraire per token (a pooled reserve)."""
    if not np.isfinite(m.oracle0):
        return m.oracle0
    in_loan = m.quote == "loan"
    asset = m.collateral if in_loan else m.loan
    if m.oracle_kind == "fixed":
        if m.tracks is not None:  # priced with another reserve's feed: follows that asset
            return m.oracle0 * _moved(book, prices, book.markets[m.tracks].loan)
        return m.oracle0
    if m.oracle_kind in _PT_FEEDS:
        # A Pendle PT feed does not see a cascade. A linear discount moves with time only. A TWAP
        # of window W averages the AMM's ln implied rate over [t − W, t]; a cascade happens at one
        # instant t, where a sale's new rate has weight 0: the answer is the pin's until time
        # passes (docs/methodology.md, "PT oracles"). Either way a PT sell-off liquidates nobody
        # and its loss is hidden bad debt (`losses`: debt above the collateral at market).
        return m.oracle0
    if m.oracle_kind == "exchange_rate":
        ratio = 1.0
        if asset in book.vaults:
            v = book.vaults[asset]
            start = v.total_assets / v.total_supply if v.total_supply else 0.0
            supply = prices.state.supply[asset]
            ratio = (prices.state.total_assets[asset] / supply / start) if start and supply else 0.0
            if not in_loan:  # rate x the feed of the vault's asset, as Aave's adapters price it
                under = next((r for r in book.markets.values() if r.key.split(":")[0] == m.key.split(":")[0] and r.loan == v.asset), None)
                if under is not None and np.isfinite(under.oracle0) and under.oracle0 > 0:
                    ratio *= prices.oracle(under) / under.oracle0
        return m.oracle0 * ratio
    # market, and unknown (treated as market, flagged): follows the market price
    ratio = _moved(book, prices, asset)
    if in_loan:
        ratio /= _moved(book, prices, m.loan) or 1.0
    return m.oracle0 * ratio


def _moved(book: Book, prices: Pricer, token: str) -> float:
    """A token's market price now, relative to its starting price."""
    start = book.p0.get(token, 0.0)
    return prices.market(token) / start if start else 1.0
