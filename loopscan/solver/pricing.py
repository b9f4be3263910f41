"""Prices during a cascade (steps 1 and 2 of a round, see `cascade`): each token's market price
moved by the sales into its pool, vault book values, and what each market's oracle answers."""

from __future__ import annotations

import numpy as np

from loopscan.protocols.uniswap_v3.swap import Seller
from loopscan.solver.book import Book, MarketBook, PoolBook
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

    def __init__(self, book: Book, state: CascadeState, shock: Shock, shock_sale: int) -> None:
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
        into a pool whose liquidity on that side is used up cannot (nor can one of a token without
        a pool): once the pool is at the swap maths' price limit, every larger sale ends there.
        A cascade's sales are bounded by the collateral (uint128 amounts), far below the int256
        bound that `Seller` also requires."""
        if token in self.book.vaults or token not in self.book.pools:
            return token in self.book.vaults
        seller = self.state.sellers.get(token)
        return seller is None or not seller.exhausted

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
        """How far sales (the shock's and the liquidators') moved the token's pool, relative.

        A depeg shock is the sale that brings the pool to (1 − δ) of its price: what the pool
        holds between the two prices. Liquidation sales come on top, into whatever depth is
        left below — none, if the pool's liquidity ends above: then the price collapses.
        """
        shocked = self.shock.kind == "depeg" and self.shock.token == token
        target = 1.0 - self.shock.size if shocked else 1.0
        pool = self.book.pools.get(token)
        sold = int(self.state.sold.get(token, 0.0) * 10**pool.decimals) if pool else 0
        if pool is None or sold == 0:
            factor = target
        else:
            # The shock's sale stays an exact integer: one wei more can empty a range.
            amount = sold + (self.shock_sale if shocked else 0)
            moved = self.state.pool_moves.get((token, amount))
            if moved is None:  # one exact swap per amount sold, resumed from the previous sale's
                seller = self.state.sellers.get(token)
                if seller is None:
                    seller = self.state.sellers[token] = Seller(pool.state, pool.token_is_0)
                # A pool sold down to its price limit at the pin (drained) takes nothing more.
                at_limit = pool.state.sqrt_price_x96 == seller.limit
                after = _float_price(pool, pool.state.sqrt_price_x96 if at_limit else seller.sqrt_price_after(amount))
                moved = self.state.pool_moves[(token, amount)] = after / self.constants.pool_price[token]
            factor = min(moved, target)
        if pool is None or token in self.book.anchored:
            return factor  # an anchored token's price is its own feed's, not its pool partner's
        quote = self.book.p0.get(pool.quote, 0.0)
        return factor * (self.market(pool.quote) / quote if quote else 1.0)


def _float_price(pool: PoolBook, sqrt_price_x96: int) -> float:
    """`float(price_after_selling(...))` from the price after the sale: int / int rounds
    correctly, as float(Fraction) does, so this is the same float without the Fraction."""
    square = sqrt_price_x96 * sqrt_price_x96
    return square / (1 << 192) if pool.token_is_0 else (1 << 192) / square


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
