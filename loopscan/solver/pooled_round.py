"""A round of a pooled protocol's liquidations, compiled: the cascade's one-at-a-time loop over a
pool's accounts (`liquidation.liquidate_pooled`, `pricing.Pricer`) as one numba function.

At mainnet's concentration one cascade liquidates tens of thousands of accounts of one pool,
each at the prices the previous liquidator's sale left: a loop that cannot be batched (each sale
moves the oracle the next account is checked at), and in Python some 30 µs per liquidation. Here
it runs compiled, with the same floats in the same order, and the same rule: the pooled rules'
`close_factor` functions, compiled from their one source.

**What differs, and by how much.** Between two liquidations the Python path prices the sold
token with the pool's exact integer swap maths; the compiled round evaluates the same swap
steps (`Venue.segments`: each step's exact start input, price, liquidity and target) in floats,
so a price inside a round is within a few ulps (relative ~1e-15) of the exact one. Where the
shock leaves an exit's venues tied to the last digits, the splits start from their exact prices,
so that the same venue fills first. After the round, every price is worked out again exactly from
the amounts sold. A figure can therefore differ from the one-at-a-time path by that much; a
decision (health below 1, a liquidator's profit) can only differ where it sits within that
distance of its bound. `tests/solver/test_pooled_round.py` holds the two paths to each other.

**When it runs** (`plan`, `cascade`): a round's accounts of one pool in a row (the whole round,
or `cascade.COMPILED_RUN` or more between other liquidations), whose every reserve liquidates by `close_factor`
(`rules.CLOSE_FACTOR`), with an oracle that follows its own asset's market price or another
reserve's, or does not move; whose assets are no
vault shares, on no cycle of prices, priced by their own feed (`Book.anchored`: not through their
venues' quotes), and sold through venues that all give their `segments`. Anything else runs
one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from loopscan.protocols import close_factor
from loopscan.solver.book import Book
from loopscan.solver.book_constants import constants
from loopscan.solver.exits import SLICES
from loopscan.solver.pooled import PooledAccounts
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["CompiledPool", "plan", "liquidate_round"]

_repay_cap = njit(cache=True)(close_factor.repay_cap)
_seize = njit(cache=True)(close_factor.seize)

_CONSTANT, _READS = 0, 1  # how a reserve's oracle answer moves: not at all, or with one token's market price


@dataclass(frozen=True)
class CompiledPool:
    """What the compiled round reads of one pool that no cascade changes."""

    index: PooledAccounts
    tokens: tuple[str, ...]  # every reserve's asset (and a tracked feed's), numbered
    r_token: np.ndarray  # per reserve: its asset's number
    r_kind: np.ndarray  # per reserve: _CONSTANT or _READS
    r_reads: np.ndarray  # per reserve: the number of the token its oracle answer follows
    r_oracle0: np.ndarray
    r_capped: np.ndarray  # per reserve: `rules.capped_by_total` of its params (as a debt reserve)
    t_p0: np.ndarray
    t_scale: np.ndarray  # 10 ** the token's decimals on its exit (as `Pricer` counts what was sold)
    t_venues: np.ndarray  # per token: its venues are t_venues[t]:t_venues[t + 1] (none: no exit)
    v_float: np.ndarray  # per venue (columns): `Exit.pins`, `Exit.weights`, the fee (ppm), what it takes to its limit
    v_is0: np.ndarray  # per venue: it sells token0
    v_pieces: np.ndarray  # per venue: its pieces are v_pieces[v]:v_pieces[v + 1] of `pieces`
    pieces: np.ndarray  # `Segments` of every venue, one after another: rows start, sqrt_price, liquidity, reach, end


def plan(book: Book, prices: Pricer, pool: str) -> CompiledPool | None:
    """The pool's compiled round, or None where a round of it must run one at a time (module
    docstring: when it runs). Worked out once per Book."""
    cache = constants(book).compiled
    if pool not in cache:
        cache[pool] = _compile(book, prices.constants.pooled[pool], prices.constants.unsettled)
    return cache[pool]


def _compile(book: Book, index: PooledAccounts, unsettled: frozenset[str]) -> CompiledPool | None:
    reserves = index.reserves
    if not all(getattr(m.rules, "CLOSE_FACTOR", False) for m in reserves):
        return None
    numbers: dict[str, int] = {}

    def number(token: str) -> int:
        return numbers.setdefault(token, len(numbers))

    r_token, r_kind, r_reads = [], [], []
    for m in reserves:
        r_token.append(number(m.loan))
        if not np.isfinite(m.oracle0) or (m.oracle_kind == "fixed" and m.tracks is None):
            r_kind.append(_CONSTANT)
            r_reads.append(0)
        elif m.oracle_kind in ("market", "unknown"):
            r_kind.append(_READS)
            r_reads.append(number(m.loan))
        elif m.oracle_kind == "fixed":  # priced with another reserve's feed: follows that asset
            r_kind.append(_READS)
            r_reads.append(number(book.markets[m.tracks].loan))
        else:
            return None  # an exchange rate (a vault's book) or a PT's own feed
    tokens = list(numbers)
    t_venues, scales, venues, pins, weights, pieces = [0], [], [], [], [], []
    for t in tokens:
        exit_ = book.exits.get(t)
        if t in book.vaults or t in unsettled or (exit_ is not None and t not in book.anchored):
            return None  # a book value, a price on a cycle, or one read through its venues' quotes
        if exit_ is not None:
            for v, pin, weight in zip(exit_.venues, exit_.pins, exit_.weights, strict=True):
                found = v.segments()
                if found is None:
                    return None  # a venue whose price is no constant-product pieces
                venues.append(v), pins.append(pin), weights.append(weight), pieces.append(found)
        t_venues.append(len(venues))
        scales.append(float(10**exit_.decimals) if exit_ is not None else 1.0)
    v_pieces = np.cumsum([0] + [len(p.start) for p in pieces])
    rows = ("start", "sqrt_price", "liquidity", "reach", "end")
    joined = np.array([np.concatenate([getattr(p, f) for p in pieces]) if pieces else np.zeros(0) for f in rows])
    return CompiledPool(
        index, tuple(tokens), np.array(r_token, dtype=np.int64), np.array(r_kind, dtype=np.int64), np.array(r_reads, dtype=np.int64),
        np.array([m.oracle0 for m in reserves], dtype=float), np.array([m.rules.capped_by_total(m.params) for m in reserves], dtype=bool),
        np.array([book.p0.get(t, 0.0) for t in tokens], dtype=float), np.array(scales), np.array(t_venues, dtype=np.int64),
        np.array([pins, weights, [p.fee for p in pieces], [p.capacity for p in pieces]], dtype=float),
        np.array([p.token_is_0 for p in pieces], dtype=bool), v_pieces.astype(np.int64), joined,
    )  # fmt: skip


def liquidate_round(compiled: CompiledPool, state: CascadeState, prices: Pricer, items: np.ndarray, volume: float) -> tuple:
    """Liquidate the pool's accounts `items` (places in `PooledAccounts.accounts`, in the round's
    order) one after another, compiled, and leave `state` and the prices as the one-at-a-time path
    would have. Returns the liquidations as columns for `LiquidationLog.add_block` (the reserve
    keys, each liquidation's debt reserve and its row there, then seized, repaid, bad debt and
    seized USD) and the round's volume (USD), each liquidation's added in order to `volume`."""
    prices.refresh()
    index, tokens, shock = compiled.index, compiled.tokens, prices.shock
    n_tokens, n_items = len(tokens), len(items)
    target = np.ones(n_tokens)
    shocked = np.zeros(len(compiled.v_is0))  # per venue: the shock's sale
    # A price the Pricer has not worked out since the last sale is worked out when first read, as
    # the Pricer would: with several venues, how an amount is split depends on when it is priced.
    dirty = np.array([t not in prices.memo for t in tokens])
    market = np.array([prices.memo.get(t, np.nan) for t in tokens])
    priced = np.full(n_tokens, -1.0)  # the amount (token units) the exit was last split at (`CascadeState.exit_parts`)
    parts = np.zeros(len(compiled.v_is0))
    moved = np.zeros(n_tokens)  # the exit's price then, relative to the pin (`CascadeState.exit_moves`),
    setter = np.zeros(n_tokens, dtype=np.int64)  # and the venue setting it
    # Each venue's exact price where the splits start, at the shock's sale (the pin's, unshocked):
    # the shock leaves the venues of its exit tied to the floats' last digits, and which one a split
    # fills first is the exact maths' call. Past it, a slice moves a price far more than that.
    base = np.zeros(len(compiled.v_is0))
    for t, token in enumerate(tokens):
        first, last = compiled.t_venues[t], compiled.t_venues[t + 1]
        sale = (0,) * (last - first)
        if shock.kind == "depeg" and shock.token == token:
            target[t] = 1.0 - shock.size
            sale = prices.shock_sale or sale
        if last > first:
            shocked[first:last] = [float(x) for x in sale]
            base[first:last] = [prices.book.exits[token].relative(k, a) for k, a in enumerate(sale)]
        known = state.exit_parts.get(token)
        if known is not None:
            priced[t], parts[first:last] = known[0], [float(x) for x in known[1:]]
            moved[t], setter[t] = state.exit_moves[(token, known[0])]
    answers = np.array([prices.oracles[m.key] if m.key in prices.oracles and not dirty[compiled.r_reads[r]] else np.nan
                        for r, m in enumerate(index.reserves)])  # fmt: skip
    stranded = state.stranded_in(index)
    sold = np.array([state.sold.get(t, 0.0) for t in tokens])
    before = sold.copy()
    col, debt = _own_legs(index, state)
    out_c, out_d = np.empty(n_items, dtype=np.int64), np.empty(n_items, dtype=np.int64)
    seized, repaid, usd = np.empty(n_items), np.empty(n_items), np.empty(n_items)
    done, volume = _round(
        items, index.start, index.leg_reserve, index.threshold, index.bonus, index.usable, col, debt, stranded,
        not prices.constants.unsettled, compiled.r_token, compiled.r_kind, compiled.r_reads, compiled.r_oracle0, compiled.r_capped,
        answers, compiled.t_p0, compiled.t_scale, compiled.t_venues, target, compiled.v_float, compiled.v_is0, compiled.v_pieces,
        compiled.pieces, shocked, base, sold, dirty, market, priced, parts, moved, setter, out_c, out_d, seized, repaid, usd, volume,
    )  # fmt: skip
    out_c, out_d = out_c[:done], out_d[:done]
    for legs, side, kept in ((out_c, 0, col), (out_d, 1, debt)):  # the reserves' own arrays, as `state.writable` keeps them
        for r in np.unique(index.leg_reserve[legs]).tolist():
            mine = legs[index.leg_reserve[legs] == r]
            state.writable(index.reserves[r].key)[side][index.leg_row[mine]] = kept[mine]
    for t, token in enumerate(tokens):
        if sold[t] != before[t]:
            state.sold[token] = float(sold[t])
        split = priced[t] >= 0 and (token, int(priced[t])) not in state.exit_moves
        if split:
            first, last = compiled.t_venues[t], compiled.t_venues[t + 1]
            state.exit_parts[token] = (int(priced[t]), *(int(x) for x in parts[first:last]))
            state.exit_moves[(token, int(priced[t]))] = (float(moved[t]), int(setter[t]))
        if split or sold[t] != before[t]:
            prices.forget(token)
    for r in np.unique(index.leg_reserve[out_c]).tolist():
        state.repriced.add(index.reserves[r].loan)
    if state.declined:  # only the one-at-a-time path declines: an account liquidated here is not
        for a in np.unique(index.leg_account[out_c]).tolist():
            state.declined.pop((index.pool, index.accounts[a]), None)
    names = [m.key for m in index.reserves]
    return (names, index.leg_reserve[out_d], index.leg_row[out_d], seized[:done], repaid[:done], np.zeros(done), usd[:done]), volume


def _own_legs(index: PooledAccounts, state: CascadeState) -> tuple[np.ndarray, np.ndarray]:
    """The pool's per-leg amounts kept in `state` (`PooledAccounts.amounts`), as this state's own copy."""
    index.amounts(state)
    kept = state.pooled_legs[index.pool]
    if not kept[2]:
        kept[:] = kept[0].copy(), kept[1].copy(), True
    return kept[0], kept[1]


@njit(cache=True)
def _relative(v, amount, shocked, base, v_float, v_is0, v_pieces, pieces):
    """`Exit.relative`: venue v's marginal price after selling `amount` from the pin (`Segments`),
    relative to the exit's best at the pin; exact where the splits start (`base`)."""
    if amount == shocked[v]:
        return base[v]
    first, last = v_pieces[v], v_pieces[v + 1]
    start, sqrt_price, liquidity, reach, end = pieces[0], pieces[1], pieces[2], pieces[3], pieces[4]
    # the piece the sale ends in: the last one it enters (a sale of exactly a piece's start input
    # ends where the piece before it reached its target, before any hop over a range without liquidity)
    k = first + np.searchsorted(start[first:last], amount, side="left") - 1
    if k < first:  # nothing sold
        s = sqrt_price[first]
    else:
        s, depth = sqrt_price[k], liquidity[k]
        if depth > 0:
            less = np.floor((amount - start[k]) * (1e6 - v_float[2, v]) / 1e6)
            if less >= reach[k]:
                s = end[k]
            elif v_is0[v]:
                s = depth * s / (depth + less * s)
            else:
                s = s + less / depth
    square = s * s
    return (square if v_is0[v] else 1.0 / square) / v_float[0, v] * v_float[1, v]


@njit(cache=True)
def _reprice(t, sold, t_p0, t_scale, t_venues, target, shocked, base, priced, parts, moved, setter, v_float, v_is0, v_pieces, pieces):
    """`Pricer.market` of token t after its sales: its exit split (`Exit.split`, on top of the parts
    it was last split into) and priced (`Exit.price`), capped at the shock's price."""
    amount = np.floor(sold[t] * t_scale[t])
    if amount == 0 or t_venues[t + 1] == t_venues[t]:  # nothing sold, or no venue: the shock alone
        return t_p0[t] * target[t]
    if amount != priced[t]:
        first, last = t_venues[t], t_venues[t + 1]
        if priced[t] >= 0 and amount >= priced[t]:
            left = amount - priced[t]
        else:  # the first split: on top of the shock's own sale
            left = amount
            parts[first:last] = shocked[first:last]
        if last - first == 1:
            parts[first] += left
        else:  # greedy slices of 1/SLICES of all sold into the exit so far, each to the best venue then
            size = np.ceil((parts[first:last].sum() + left) / SLICES)
            now = np.empty(last - first)
            for v in range(first, last):
                now[v - first] = _relative(v, parts[v], shocked, base, v_float, v_is0, v_pieces, pieces)
            while left > 0:
                k = np.argmax(now)
                take = min(size, left)
                parts[first + k] += take
                left -= take
                now[k] = _relative(first + k, parts[first + k], shocked, base, v_float, v_is0, v_pieces, pieces)
        best, at = -np.inf, 0
        for v in range(first, last):
            found = _relative(v, parts[v], shocked, base, v_float, v_is0, v_pieces, pieces)
            if found > best:
                best, at = found, v - first
        priced[t], moved[t], setter[t] = amount, best, at
    return t_p0[t] * min(moved[t], target[t])


@njit(cache=True)
def _read(t, r_kind, r_reads, r_oracle0, answers, sold, t_p0, t_scale, t_venues, target, shocked, base, priced, parts, moved,
          setter, v_float, v_is0, v_pieces, pieces, dirty, market):  # fmt: skip
    """`Pricer.market` of token t, worked out anew if a sale marked it (`dirty`), and then the
    oracle answers that follow it (`Pricer.oracle`)."""
    if dirty[t]:
        market[t] = _reprice(t, sold, t_p0, t_scale, t_venues, target, shocked, base, priced, parts, moved, setter, v_float, v_is0,
                             v_pieces, pieces)  # fmt: skip
        dirty[t] = False
        ratio = market[t] / t_p0[t] if t_p0[t] else 1.0
        for q in range(len(r_kind)):
            if r_kind[q] == _READS and r_reads[q] == t:
                answers[q] = r_oracle0[q] * ratio
    return market[t]


@njit(cache=True)
def _round(items, start, leg_reserve, threshold, bonus, usable, col, debt, stranded, settled, r_token, r_kind, r_reads, r_oracle0,
           r_capped, answers, t_p0, t_scale, t_venues, target, v_float, v_is0, v_pieces, pieces, shocked, base, sold, dirty, market,
           priced, parts, moved, setter, out_c, out_d, out_seized, out_repaid, out_usd, volume):  # fmt: skip
    """`liquidation.liquidate_pooled` for each account of `items` in turn. A sale marks its token's
    price to be worked out again when next read (`Pricer.refresh`: unless its venues are used up),
    and a read of it works out the price and every oracle answer that follows it (`Pricer.oracle`)."""
    done = 0
    for a in items:
        if stranded[a]:
            continue
        weighted, debt_value = 0.0, 0.0
        d_leg, c_leg, most_debt, most_col, owes, holds = -1, -1, 0.0, 0.0, False, False
        for k in range(start[a], start[a + 1]):
            r = leg_reserve[k]
            if r_kind[r] == _CONSTANT:
                answer = r_oracle0[r]
            else:
                t = r_reads[r]
                if dirty[t] or np.isnan(answers[r]):
                    ratio = _read(t, r_kind, r_reads, r_oracle0, answers, sold, t_p0, t_scale, t_venues, target, shocked, base, priced,
                                  parts, moved, setter, v_float, v_is0, v_pieces, pieces, dirty, market) / t_p0[t] if t_p0[t] else 1.0  # fmt: skip
                    answers[r] = r_oracle0[r] * ratio
                answer = answers[r]
            held, owed = col[k] * answer, debt[k] * answer
            weighted += held * threshold[k]
            debt_value += owed
            if usable[k]:
                owes, holds = owes or debt[k] > 0, holds or col[k] > 0
                if d_leg < 0 or owed > most_debt:
                    d_leg, most_debt = k, owed
                if c_leg < 0 or held > most_col:
                    c_leg, most_col = k, held
        if debt_value <= 0:
            continue
        health = weighted / debt_value
        if health >= 1.0 or not (owes and holds):
            continue
        c_res, d_res = leg_reserve[c_leg], leg_reserve[d_leg]
        collateral = col[c_leg]
        ans_c = r_oracle0[c_res] if r_kind[c_res] == _CONSTANT else answers[c_res]
        ans_d = r_oracle0[d_res] if r_kind[d_res] == _CONSTANT else answers[d_res]
        if collateral <= 0 or ans_c <= 0:
            # every leg a liquidator may seize holds nothing or is priced at nothing: it stays so
            if settled:
                empty = True
                for k in range(start[a], start[a + 1]):
                    r = leg_reserve[k]
                    if usable[k] and not (col[k] <= 0 or (r_oracle0[r] if r_kind[r] == _CONSTANT else answers[r]) <= 0):
                        empty = False
                if empty:
                    stranded[a] = True
            continue
        owing = debt[d_leg]
        repay = _repay_cap(health, r_capped[d_res], owing, owing * ans_d, collateral * ans_c, debt_value)
        seized, repay = _seize(repay, ans_d, ans_c, bonus[c_leg], collateral)
        token, paid_in = r_token[c_res], r_token[d_res]
        for t in (token, paid_in):  # `Pricer.market` of the collateral, then of the debt
            if dirty[t]:
                _read(t, r_kind, r_reads, r_oracle0, answers, sold, t_p0, t_scale, t_venues, target, shocked, base, priced, parts,
                      moved, setter, v_float, v_is0, v_pieces, pieces, dirty, market)  # fmt: skip
        p_col, p_debt = market[token], market[paid_in]
        if seized * p_col < repay * p_debt:
            continue
        col[c_leg] -= seized
        debt[d_leg] -= repay
        out_c[done], out_d[done], out_seized[done], out_repaid[done], out_usd[done] = c_leg, d_leg, seized, repay, seized * p_col
        done += 1
        volume += seized * p_col
        if seized > 0:
            sold[token] += seized
        first, last = t_venues[token], t_venues[token + 1]
        if last > first:  # `Pricer.moves_with_sales`: unless every venue was used up when last priced
            used_up = priced[token] >= 0
            for v in range(first, last):
                used_up = used_up and parts[v] > v_float[3, v]
            dirty[token] = dirty[token] or not used_up
    return done, volume
