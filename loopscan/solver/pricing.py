"""Prices during a cascade (steps 1 and 2 of a round, see `cascade`): each token's market price
moved by the sales into its exit (`exits`), vault book values, and what each market's oracle answers."""

from __future__ import annotations

import numpy as np

from loopscan.solver.book import Book, MarketBook
from loopscan.solver.book_constants import constants
from loopscan.solver.shock import Shock
from loopscan.solver.state import CascadeState, initial_state

__all__ = ["Pricer"]

_PT_FEEDS = ("linear_discount", "amm_twap")  # `OracleKind` values of a PT's own feeds


class Pricer:
    """Market and book prices of every token during one cascade, memoised.

    A price is kept until `refresh` finds that a sale or a vault's book (`CascadeState.repriced`)
    changed it or a price it reads: a liquidation changes one or two tokens' prices, and the
    next one mostly reads others or the same few again.
    """

    def __init__(self, book: Book, state: CascadeState, shock: Shock, shock_sale: tuple[int, ...], from_pin: bool = True) -> None:
        self.book, self.state, self.shock, self.shock_sale = book, state, shock, shock_sale
        self.memo: dict[str, float] = {}
        self.oracles: dict[str, float] = {}  # market -> its oracle's answer
        # market -> how often its oracle answer, or a market price its liquidations read, was
        # forgotten: while it stays the same, so do they (`liquidation.liquidate_pooled`)
        self.changes: dict[str, int] = {}
        self.constants = constants(book)
        if from_pin:
            self._start_from_pin()

    def _start_from_pin(self) -> None:
        """Start from the pin's prices and oracle answers (worked out once per Book) wherever the
        shock does not move them: a price that neither is the shocked token's nor reads it (a depeg
        moves its price, a backing loss its vault's book), and is on no cycle of prices; an oracle
        answer that reads none of those. Each is the float this Pricer would work out, and is
        forgotten as any other when what it reads changes."""
        static = self.constants
        if static.pin is None:
            pin = Pricer(self.book, initial_state(self.book), Shock("depeg", "", 0.0), (), from_pin=False)
            tokens = set(self.book.p0) | set(self.book.vaults) | {t for m in self.book.markets.values() for t in (m.collateral, m.loan)}
            static.pin = ({t: pin.market(t) for t in sorted(tokens)}, {k: pin.oracle(m) for k, m in self.book.markets.items()})
        prices, answers = static.pin
        moved = set(static.readers.get(self.shock.token, (self.shock.token,))) | static.unsettled
        self.memo = {t: p for t, p in prices.items() if t not in moved}
        self.oracles = {k: a for k, a in answers.items() if moved.isdisjoint(static.oracle_reads[k])}

    def refresh(self) -> None:
        """Forget the prices that changed since the last refresh (and those on a cycle), and the
        oracle answers that read them."""
        if not self.state.repriced and not self.constants.unsettled:
            return  # nothing to forget: most calls, between two liquidations
        readers = self.constants.readers
        for token in self.state.repriced:
            if self.moves_with_sales(token):
                for t in readers.get(token, (token,)):
                    self._forget(t)
        self.state.repriced.clear()
        for t in self.constants.unsettled:
            self._forget(t)

    def forget(self, token: str) -> None:
        """Forget `token`'s price, and every price and oracle answer reading it, whatever its sales:
        a compiled round (`pooled_round`) worked out its own since it was last read here."""
        for t in self.constants.readers.get(token, (token,)):
            self._forget(t)

    def _forget(self, token: str) -> None:
        self.memo.pop(token, None)
        for key in self.constants.oracle_on.get(token, ()):
            self.oracles.pop(key, None)
            self.changes[key] = self.changes.get(key, 0) + 1

    def oracle(self, m: MarketBook) -> float:
        """The market's oracle answer now (`_oracle`), memoised: it reads the prices (or, for an
        exchange rate, the vault book) of a few tokens only (`BookConstants.oracle_on`: an
        isolated market's two tokens, a pooled reserve's asset or the feed it shares), so it is
        forgotten with them."""
        if m.key in self.oracles:
            return self.oracles[m.key]
        answer = self.oracles[m.key] = _oracle(self.book, m, self)
        return answer

    def moves_with_sales(self, token: str) -> bool:
        """Whether a change to `token` (a sale, or its vault's book) can move its price. A sale
        through an exit whose venues' liquidity is used up cannot (nor can one of a token without
        an exit): once every venue is at its price limit, every larger sale ends there."""
        if token in self.book.vaults or token not in self.book.exits:
            return token in self.book.vaults
        found = self.state.exit_parts.get(token)
        return found is None or not self.book.exits[token].exhausted(found[1:])

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
                # Sales only add up: each new amount is split on top of the last one's parts.
                before, *last = self.state.exit_parts.get(token, (0,))
                if last and sold >= before:
                    parts = exit_.split(sold - before, last)
                else:
                    parts = exit_.split(sold, self.shock_sale if shocked and self.shock_sale else None)
                self.state.exit_parts[token] = (sold, *parts)
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
                elif under is None:  # the protocol prices the asset nowhere else: its feed, a market's, moves with it
                    ratio *= _moved(book, prices, v.asset)
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
