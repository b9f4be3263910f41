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
   Credit accounts (several collaterals against one debt: Gearbox, Compound v3, Euler v2): see `accounts`.
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

import numpy as np
import pandas as pd

from loopscan.solver import accounts
from loopscan.solver.batch import add_in_order, frozen, liquidate_frozen
from loopscan.solver.book import Book
from loopscan.solver.liquidatable import Found, candidates, positions
from loopscan.solver.liquidation import liquidate_isolated, liquidate_pooled
from loopscan.solver.losses import Losses, losses
from loopscan.solver.pooled_round import liquidate_round, plan
from loopscan.solver.pricing import Pricer
from loopscan.solver.shock import Shock, shock_sale
from loopscan.solver.state import CascadeState, initial_state

__all__ = ["CascadeResult", "LiquidationLog", "at_risk_before_feedback", "run_cascade", "MAX_ROUNDS"]

MAX_ROUNDS = 10_000
FROZEN_EVERY = 32  # a round's liquidations between two checks that the rest can be done together (`batch.frozen`)
COMPILED_RUN = 8  # a shorter run of one pool's accounts between other liquidations costs more to set up compiled


@dataclass
class CascadeResult:
    """One cascade's outcome. Its tables (`rounds`, `liquidations`, `losses`) are built when first
    read: the thresholds' searches run some 23 cascades per token and read none of them."""

    shock: Shock
    prices: dict[str, float]
    final_depeg: float  # 1 − final market price / starting price, of the shocked token
    liquidatable_at_start: int  # positions liquidatable in the first round (before any feedback)
    rounds_run: int
    at_risk_ids: np.ndarray  # the positions liquidatable at the start, numbered (`liquidatable.position_ids`)
    bad_debt: float  # realised and hidden, USD, over every lender: the sum of `losses`
    unpriced_sales: tuple[str, ...]  # tokens sold with no pool read and no unit price: their sales moved nothing
    round_rows: list[dict] = field(repr=False)
    log: LiquidationLog = field(repr=False)
    market_losses: Losses = field(repr=False)
    book: Book = field(repr=False)

    @cached_property
    def at_risk(self) -> tuple[tuple[str, str], ...]:
        """The positions liquidatable at the start, as (market key or pool, account), worst first."""
        return tuple(positions(self.book, self.at_risk_ids))

    @cached_property
    def rounds(self) -> pd.DataFrame:
        return pd.DataFrame(self.round_rows)

    @property
    def liquidation_count(self) -> int:
        return len(self.log)

    @cached_property
    def liquidation_rows(self) -> list[tuple]:
        """Each liquidation as (round, market, account, seized, repaid, bad debt, seized USD)."""
        return self.log.rows()

    @cached_property
    def liquidations(self) -> pd.DataFrame:
        return self.log.frame()

    @cached_property
    def losses(self) -> pd.DataFrame:
        """Per market and lender: realised and hidden bad debt (USD)."""
        return self.market_losses.frame()


def run_cascade(book: Book, shock: Shock, max_rounds: int = MAX_ROUNDS) -> CascadeResult:
    """Apply `shock` and iterate liquidations to the fixed point.

    A round finds every position liquidatable at its starting prices, worst health first, then
    liquidates them one after another, each at the prices the previous sales left (liquidators
    race: each sees the pool the last one sold into) — and the rest of the round together, as
    arrays, from the point where none of them can move a price any of them reads (`batch`). A run
    of one pool's accounts in a row runs the same loop compiled, where the pool allows it (`pooled_round`).
    """
    state, prices = _shocked(book, shock)
    rounds, log = [], LiquidationLog(book)
    first, at_risk = 0, np.zeros(0, dtype=np.int64)
    n = 0
    for n in range(1, max_rounds + 1):
        prices.refresh()
        found = candidates(book, state, prices)
        if n == 1:
            first, at_risk = len(found), found.ids(book)
        done, volume = _liquidate(book, state, prices, found, log, n)
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
                         lost.total(), unpriced, rounds, log, lost, book)  # fmt: skip


def at_risk_before_feedback(book: Book, shock: Shock) -> np.ndarray:
    """The positions liquidatable at the shocked prices before any feedback, numbered: the
    cascade's `at_risk_ids`, without the cascade (its first round's `candidates`). The δ₁ search
    asks only this of most of the shocks it tries."""
    state, prices = _shocked(book, shock)
    prices.refresh()
    return candidates(book, state, prices).ids(book)


def _shocked(book: Book, shock: Shock) -> tuple[CascadeState, Pricer]:
    """The state at the pin with `shock` applied, and its prices."""
    state = initial_state(book)
    if shock.kind == "backing_loss":
        state.total_assets[shock.token] -= shock.size * book.vaults[shock.token].opaque
    elif shock.kind != "depeg":
        raise ValueError(f"unknown shock kind {shock.kind!r}: depeg or backing_loss")
    return state, Pricer(book, state, shock, shock_sale(book, shock))


def _liquidate(book: Book, state: CascadeState, prices: Pricer, found: Found, log: LiquidationLog, n: int) -> tuple[int, float]:
    """Round `n`'s liquidations one after another, each at the prices the last one left; a run of
    one pool's accounts in a row compiled, where the pool allows it (`pooled_round`); and the rest
    together as arrays from where none of them can move a price any of them reads (`batch`).
    Returns how many were made and their volume (USD, added in order)."""
    pooled = prices.constants.pooled
    done, volume = 0, 0.0
    if not len(found):
        return done, volume
    left = np.bincount(found.where, minlength=len(found.names))  # the round's liquidations left, by market or pool
    pooled_left = int(found.pooled.sum())
    ends = np.append(np.flatnonzero(np.diff(found.where)) + 1, len(found)).tolist()  # each run of one market or pool
    where, kinds, items = found.where.tolist(), found.pooled.tolist(), found.item.tolist()
    start = 0
    for end in ends:
        w, is_pooled = where[start], kinds[start]
        name = found.names[w]
        long = end - start >= COMPILED_RUN or len(ends) == 1  # or the whole round
        compiled = plan(book, prices, name) if is_pooled and name in pooled and long else None
        if compiled is not None:
            block, volume = liquidate_round(compiled, state, prices, found.item[start:end], volume)
            log.add_block(n, *block)
            done += len(block[1])
            left[w] -= end - start
            pooled_left -= end - start
            start = end
            continue
        for j in range(start, end):
            prices.refresh()
            if j % FROZEN_EVERY == 0 and not pooled_left and frozen(book, prices, [found.names[k] for k in np.flatnonzero(left)]):
                block = liquidate_frozen(book, state, prices, found.names, found.where[j:], found.item[j:])
                log.add_block(n, found.names, *block)
                return done + len(block[1]), add_in_order(volume, block[-1])
            if is_pooled and name not in pooled:  # a credit account (`accounts`)
                row = accounts.liquidate(book, state, prices, name, items[j])
            elif is_pooled:
                row = liquidate_pooled(book, state, prices, (name, pooled[name].accounts[items[j]]))
            else:
                row = liquidate_isolated(book, state, prices, name, items[j])
            if row is not None:
                log.add(n, row)
                done += 1
                volume += row[-1]
            left[w] -= 1
            pooled_left -= is_pooled
        start = end
    return done, volume


class LiquidationLog:
    """A cascade's liquidations, kept as columns: 100,000 positions can make millions of
    liquidations over a threshold search, too many to keep as a tuple each. One-at-a-time
    liquidations are gathered as rows, a round's batch (`batch.liquidate_frozen`, `pooled_round`) as arrays of
    market and row numbers, named only when read."""

    def __init__(self, book: Book) -> None:
        self.book = book
        self.blocks: list[tuple] = []  # (round, markets, accounts, seized, repaid, bad debt, seized USD): columns
        self.pending: list[tuple] = []  # rows not yet in a block
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def add(self, n: int, row: tuple) -> None:
        self.pending.append((n, *row))
        self.count += 1

    def add_block(self, n: int, names: list[str], where: np.ndarray, rows: np.ndarray, *values: np.ndarray) -> None:
        """A batch of liquidations (isolated markets' `batch.liquidate_frozen`, or a compiled round's,
        keyed by each one's debt reserve): market `names[where]`, row `rows` of it."""
        self._flush()
        if len(rows):
            self.blocks.append((n, names, where, rows, *values))
            self.count += len(rows)

    def _flush(self) -> None:
        if self.pending:
            columns = list(zip(*self.pending, strict=True))
            self.blocks.append((np.array(columns[0], dtype=np.int64), list(columns[1]), list(columns[2]),
                                *(np.array(c, dtype=float) for c in columns[3:])))  # fmt: skip
            self.pending = []

    def columns(self) -> list:
        self._flush()
        blocks = [b if len(b) == len(_LIQ_COLUMNS) else self._named(*b) for b in self.blocks]
        return [np.concatenate([b[k] for b in blocks]) if k not in (1, 2) else [x for b in blocks for x in b[k]]
                for k in range(len(_LIQ_COLUMNS))]  # fmt: skip

    def _named(self, n: int, names: list[str], where: np.ndarray, rows: np.ndarray, *values: np.ndarray) -> tuple:
        markets = [names[w] for w in where.tolist()]
        accounts = [self.book.markets[k].accounts[i] for k, i in zip(markets, rows.tolist(), strict=True)]
        return (np.full(len(rows), n, dtype=np.int64), markets, accounts, *values)

    def rows(self) -> list[tuple]:
        if not self.count:
            return []
        columns = self.columns()
        return list(zip(columns[0].tolist(), columns[1], columns[2], *(c.tolist() for c in columns[3:]), strict=True))

    def frame(self) -> pd.DataFrame:
        if not self.count:
            return pd.DataFrame([], columns=_LIQ_COLUMNS)
        return pd.DataFrame(dict(zip(_LIQ_COLUMNS, self.columns(), strict=True)))


_LIQ_COLUMNS = ["round", "market", "account", "seized", "repaid", "bad_debt", "seized_usd"]
