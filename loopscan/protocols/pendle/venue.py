"""A Pendle v2 market as the exit venue of its PT (`loopscan.solver.exits.Venue`): PT sold for SY with
the market's own swap maths (`maths.swap_exact_pt_for_sy`, equal to `PendleMarketV7`'s swaps to
the wei), at the pin's block time.

Prices are raw: SY units per PT unit (both have the SY's decimals here, so raw is whole-token).
A PT's marginal price, fee excluded, is what the market's implied rate says it is worth in the
asset (1 / e^(rate × time left)), over the asset per SY of the PY index; the solver values SY at
its exchange rate times the asset's price (the SY is a vault over the yield token: `indexer`).

Held to expiry instead, a PT is worth one asset unit: `redeemable_at_expiry` says what it pays
then, in SY, at the pin's index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, ClassVar

from loopscan.protocols.pendle.logexp import PendleMathError
from loopscan.protocols.pendle.maths import ONE, MarketState, pt_to_asset_rate, swap_exact_pt_for_sy

__all__ = ["PendleVenue", "venues"]


@dataclass(frozen=True)
class PendleVenue:
    """Selling `token` (a PT) for `quote` (its SY) into one Pendle market, from its state at the pin."""

    venue: ClassVar[str] = "pendle"
    address: str
    token: str
    quote: str
    decimals: int
    quote_decimals: int
    state: MarketState
    py_index: int  # max(SY.exchangeRate(), YT.pyIndexStored()) at the pin: what the next trade uses
    now: int  # the pin's block time: the time to expiry every sale is priced at
    total_lp: int  # the market's LP supply: what a liquidity haircut burns a share of
    proven_on_node: bool = True  # the published PendleMarketV7 runs on the devnet (tests/protocols/pendle)
    _capacity: list[int] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def liquidity(self) -> int:
        """The SY the market holds: how a market is ranked against the PT's other venues."""
        return self.state.total_sy

    @property
    def price0(self) -> float:
        """The market's price of the PT at the pin, in whole SY."""
        return self._whole(self._price(self.state.last_ln_implied_rate))

    def _whole(self, raw: float) -> float:
        return raw * 10 ** (self.decimals - self.quote_decimals)

    def _price(self, ln_implied_rate: int) -> float:
        """SY units per PT unit at an implied rate: the PT's asset value over the asset per SY."""
        return pt_to_asset_rate(ln_implied_rate, self.state.expiry, self.now) / self.py_index

    def _swap(self, amount: int):
        return swap_exact_pt_for_sy(self.state, self.py_index, amount, self.now)

    def marginal_after(self, amount: int) -> float:
        """The market's price (raw, fee excluded) after selling `amount` PT units from the pin; a
        sale past what the market takes (`exhausted`) ends at the last price it takes."""
        if amount == 0:
            return self._price(self.state.last_ln_implied_rate)
        return self._price(self._swap(min(amount, self._max_sale())).state.last_ln_implied_rate)

    def quote_out(self, amount: int) -> int:
        """SY units paid for `amount` PT units sold from the pin; past what the market takes, what
        it pays for as much as it takes (the rest is not sold)."""
        amount = min(amount, self._max_sale())
        return self._swap(amount).net_sy_out if amount else 0

    def sale_to(self, price: float) -> tuple[int, int]:
        """(PT units taken, SY units paid) selling until the market's price is at most the raw
        `price` (the smallest such sale, found exactly over integers; Pendle's swap has no price
        limit); (0, 0) if it is there already, what the market takes at most if it never gets there."""
        if self.marginal_after(0) <= price:
            return 0, 0
        low, high = 0, self._max_sale()
        if self.marginal_after(high) > price:
            return high, self.quote_out(high)
        while high - low > 1:  # marginal_after(low) > price >= marginal_after(high)
            mid = (low + high) // 2
            if self.marginal_after(mid) > price:
                low = mid
            else:
                high = mid
        return high, self.quote_out(high)

    def exhausted(self, amount: int) -> bool:
        """A sale of `amount` is more than the market takes: past the curve's 96 % PT proportion or
        an exchange rate below 1 (`MarketProportionTooHigh`, `MarketExchangeRateBelowOne`), or after
        expiry. Every larger sale ends at the same price."""
        return amount > self._max_sale()

    def _max_sale(self) -> int:
        """The largest sale the market takes, found exactly (a sale succeeds up to a bound and
        reverts past it)."""
        if not self._capacity:
            if not self._takes(1):
                self._capacity.append(0)
            else:
                low, high = 1, 2
                while self._takes(high):
                    low, high = high, high * 2
                while high - low > 1:
                    mid = (low + high) // 2
                    low, high = (mid, high) if self._takes(mid) else (low, mid)
                self._capacity.append(low)
        return self._capacity[0]

    def _takes(self, amount: int) -> bool:
        try:
            self._swap(amount)
        except PendleMathError:
            return False
        return True

    def redeemable_at_expiry(self, amount: int) -> int:
        """SY units `amount` PT redeem for at expiry at the pin's index (one asset unit per PT:
        `PendleYieldToken.redeemPY` pays PT × ONE / index)."""
        return amount * ONE // self.py_index

    def segments(self) -> None:
        """None: a PT's logit curve is no constant product (`Segments`): its sales are priced one at a time."""
        return None

    def haircut(self, fraction: Fraction) -> PendleVenue:
        """The market after its LPs burn `fraction` of the LP supply (floor(totalLp · F)), as the
        market burns (`MarketMathCore.removeLiquidityCore`, lines 153–177 of 6.11.0: each balance
        loses lp × balance / totalLp, rounded down); the last implied rate is unchanged, so the
        price at the pin is the same and only the depth goes."""
        s, lp = self.state, self.total_lp * fraction.numerator // fraction.denominator
        state = replace(s, total_pt=s.total_pt - lp * s.total_pt // self.total_lp,
                        total_sy=s.total_sy - lp * s.total_sy // self.total_lp)  # fmt: skip
        return replace(self, state=state, total_lp=self.total_lp - lp)


def venues(pool: Any, rows: Mapping[str, Sequence[Any]], decimals: Mapping[str, int]) -> list[PendleVenue]:
    """The PT-for-SY direction of one snapshot `pools` row (venue `pendle`: token0 the PT, token1 the
    SY), with the market's `pool_coins` (balances) and `market_params` (its own fields, as the
    indexer names them) rows. Buying PT is no exit: only the PT is sold here."""
    params = {p.param: int(p.value) for p in rows.get("market_params", ()) if p.market_id == pool.pool}
    balance = {int(c.coin_index): int(c.balance) for c in rows.get("pool_coins", ()) if c.pool == pool.pool}
    state = MarketState(balance[0], balance[1], params["scalar_root"], params["expiry"], params["ln_fee_rate_root"],
                        params["reserve_fee_percent"], params["last_ln_implied_rate"])  # fmt: skip
    index = max(params["sy_exchange_rate"], params["py_index_stored"])
    d0, d1 = decimals.get(pool.token0, 18), decimals.get(pool.token1, 18)
    return [PendleVenue(pool.pool, pool.token0, pool.token1, d0, d1, state, index, params["pin_timestamp"], params["total_lp"])]
