"""One shock, followed to its fixed point: liquidations, sales into pool depth, bad debt, repricing.

Each round (prices: `pricing`; the protocols' rules: `liquidatable` and `liquidation`):

1. **Price.** A token's market price is its starting price moved by its pool: the shock (a
   depeg δ is the sale that moves its deepest pool to (1 − δ) of its price) plus every
   liquidation's sale so far, priced with Uniswap v3's exact swap maths from the snapshot's
   ticks; a token without a pool just takes the shock. A vault share is never above its book
   value (reported assets per share × its asset's price), which falls with bad debt in the
   markets it lends to, or with a write-down of its opaque backing (a backing-loss shock).
2. **Oracles.** A market-price oracle follows the collateral's market price; an exchange-rate
   oracle follows the vault's book value; a fixed oracle does not move; one loopscan could not
   classify (`unknown`) is treated as a market oracle and flagged.
3. **Liquidate.** Morpho: a position is liquidatable when debt > collateral × oracle × LLTV; it is
   liquidated whole (no close factor), seizing debt × LIF / oracle of collateral, or all of it,
   and the rest of its debt is bad debt, socialised to the market's suppliers at once. Aave v3:
   an account is liquidatable when its health factor is below 1; the close factor is 50 % of the
   debt (100 % below HF 0.95; v3.3+ also 100 % for positions under $2,000), the bonus the
   collateral's (or its e-mode's). A liquidation only happens if the liquidator is not paid less
   than they repay at market prices; a liquidatable position nobody profits from stays open.
4. **Exit.** Seized vault shares are first redeemed at book from the vault's idle assets; the
   rest is sold into the token's pool, which moves its price for the next round.

Prices only fall (sales only add up, books only lose), so a position once liquidatable stays so
and every round liquidates at least one more position or ends the cascade: it stops after at
most (positions × rounds an Aave account can be closed in) rounds; `MAX_ROUNDS` is a guard.

After the fixed point, a position whose collateral's market value is below its debt is *hidden*
bad debt: its oracle keeps it healthy (or nobody profits from liquidating it), but the lender
would lose that much if it were closed at market (`losses`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from loopscan.solver.book import Book
from loopscan.solver.liquidatable import candidates, pooled_reserves
from loopscan.solver.liquidation import liquidate_isolated, liquidate_pooled
from loopscan.solver.losses import Losses, losses
from loopscan.solver.pricing import Pricer
from loopscan.solver.shock import Shock, shock_sale
from loopscan.solver.state import initial_state

__all__ = ["CascadeResult", "run_cascade", "MAX_ROUNDS"]

MAX_ROUNDS = 10_000


@dataclass
class CascadeResult:
    """One cascade's outcome. Its tables (`rounds`, `liquidations`, `losses`) are built when first
    read: the thresholds' searches run some 23 cascades per token and read none of them."""

    shock: Shock
    prices: dict[str, float]
    final_depeg: float  # 1 − final market price / starting price, of the shocked token
    liquidatable_at_start: int  # positions liquidatable in the first round (before any feedback)
    rounds_run: int
    at_risk: tuple[tuple[str, str], ...]  # (market key or pool, account) liquidatable at the start
    bad_debt: float  # realised and hidden, USD, over every lender: the sum of `losses`
    unpriced_sales: tuple[str, ...]  # tokens sold with no pool read and no unit price: their sales moved nothing
    round_rows: list[dict] = field(repr=False)
    liquidation_rows: list[tuple] = field(repr=False)
    market_losses: Losses = field(repr=False)

    @cached_property
    def rounds(self) -> pd.DataFrame:
        return pd.DataFrame(self.round_rows)

    @cached_property
    def liquidations(self) -> pd.DataFrame:
        return pd.DataFrame(self.liquidation_rows, columns=_LIQ_COLUMNS)

    @cached_property
    def losses(self) -> pd.DataFrame:
        """Per market and lender: realised and hidden bad debt (USD)."""
        return self.market_losses.frame()


def run_cascade(book: Book, shock: Shock, max_rounds: int = MAX_ROUNDS) -> CascadeResult:
    """Apply `shock` and iterate liquidations to the fixed point.

    A round finds every position liquidatable at its starting prices, worst health first, then
    liquidates them one after another, each at the prices the previous sales left (liquidators
    race: each sees the pool the last one sold into).
    """
    state = initial_state(book)
    if shock.kind == "backing_loss":
        state.total_assets[shock.token] -= shock.size * book.vaults[shock.token].opaque
    elif shock.kind != "depeg":
        raise ValueError(f"unknown shock kind {shock.kind!r}: depeg or backing_loss")
    sale = shock_sale(book, shock)
    pools = pooled_reserves(book)
    prices = Pricer(book, state, shock, sale)
    rounds, liquidations = [], []
    first, at_risk = 0, ()
    n = 0
    for n in range(1, max_rounds + 1):
        prices.refresh()
        found = sorted(candidates(book, state, prices, pools))
        if n == 1:
            first = len(found)
            at_risk = tuple((ref[0], book.markets[ref[0]].accounts[ref[1]]) if kind == "isolated" else ref
                            for _, kind, ref in found)  # fmt: skip
        done, volume = 0, 0.0
        for _, kind, ref in found:
            prices.refresh()
            if kind == "isolated":
                row = liquidate_isolated(book, state, prices, *ref)
            else:
                row = liquidate_pooled(book, state, prices, ref, pools[ref[0]])
            if row is not None:
                liquidations.append((n, *row))
                done += 1
                volume += row[-1]
        prices.refresh()
        rounds.append({"round": n, "liquidatable": len(found), "liquidations": done,
                       "price": prices.market(shock.token), "volume_usd": volume})  # fmt: skip
        if done == 0:
            break
    prices.refresh()
    final = {t: prices.market(t) for t in book.p0}
    start = book.p0.get(shock.token, 0.0)
    lost = losses(book, state, prices)
    unpriced = tuple(sorted(t for t, amount in state.sold.items() if amount > 0 and t not in book.exits and t not in book.assumed_par))
    return CascadeResult(shock, final, 1.0 - final.get(shock.token, 0.0) / start if start else 0.0, first, n, at_risk,
                         lost.total(), unpriced, rounds, liquidations, lost)  # fmt: skip


_LIQ_COLUMNS = ["round", "market", "account", "seized", "repaid", "bad_debt", "seized_usd"]
