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

from loopscan.solver.book import Book
from loopscan.solver.book_constants import constants
from loopscan.solver.pooled import PooledAccounts
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["CompiledPool", "plan", "liquidate_round"]

_CONSTANT, _READS = 0, 1  # how a reserve's oracle answer moves: not at all, or with one token's market price (`kernels`)


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
    t_venues, scales, pins, weights, pieces = [0], [], [], [], []
    for t in tokens:
        exit_ = book.exits.get(t)
        if t in book.vaults or t in unsettled or (exit_ is not None and t not in book.anchored):
            return None  # a book value, a price on a cycle, or one read through its venues' quotes
        if exit_ is not None:
            for v, pin, weight in zip(exit_.venues, exit_.pins, exit_.weights, strict=True):
                found = v.segments()
                if found is None:
                    return None  # a venue whose price is no constant-product pieces
                pins.append(pin), weights.append(weight), pieces.append(found)
        t_venues.append(len(pieces))
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
    col, debt = index.own_amounts(state)
    out_c, out_d = np.empty(n_items, dtype=np.int64), np.empty(n_items, dtype=np.int64)
    seized, repaid, usd = np.empty(n_items), np.empty(n_items), np.empty(n_items)
    from loopscan.solver.kernels import liquidate_run  # numba, only for books with a pool (`kernels`)

    done, volume = liquidate_run(
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
