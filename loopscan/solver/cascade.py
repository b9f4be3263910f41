"""One shock, followed to its fixed point: liquidations, sales into pool depth, bad debt, repricing.

Each round:

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
would lose that much if it were closed at market.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from loopscan.solver.book import Book, MarketBook
from loopscan.solver.uniswap_v3 import Seller, price_after_selling, swap
from loopscan.solver.uniswap_v3_math import get_sqrt_ratio_at_tick

__all__ = ["Shock", "CascadeResult", "run_cascade", "shock_sale", "MAX_ROUNDS"]

MAX_ROUNDS = 10_000
_SMALL_POSITION = 2_000.0  # v3.3's MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD, in the numeraire (USD)


@dataclass(frozen=True)
class Shock:
    """`depeg`: `token`'s market price falls by `size` (0..1). `backing_loss`: the vault issuing
    `token` loses `size` (0..1) of its opaque backing."""

    kind: str
    token: str
    size: float


@dataclass
class CascadeResult:
    shock: Shock
    prices: dict[str, float]
    final_depeg: float  # 1 − final market price / starting price, of the shocked token
    liquidatable_at_start: int  # positions liquidatable in the first round (before any feedback)
    rounds: pd.DataFrame
    liquidations: pd.DataFrame
    losses: pd.DataFrame  # per market: realized and hidden bad debt, and by lender
    rounds_run: int = 0
    at_risk: tuple[tuple[str, str], ...] = ()  # (market key or pool, account) liquidatable at the start

    @property
    def bad_debt(self) -> float:
        return float(self.losses["realized_bad_debt_usd"].sum() + self.losses["hidden_bad_debt_usd"].sum()) if len(self.losses) else 0.0


@dataclass
class _State:
    collateral: dict[str, np.ndarray]
    debt: dict[str, np.ndarray]
    sold: dict[str, float] = field(default_factory=dict)  # token -> amount sold into its pool
    idle: dict[str, float] = field(default_factory=dict)  # vault share -> idle asset left
    total_assets: dict[str, float] = field(default_factory=dict)  # vault share -> reported assets
    supply: dict[str, float] = field(default_factory=dict)  # vault share -> shares outstanding
    realized: dict[str, float] = field(default_factory=dict)  # market -> bad debt (loan tokens)
    touched: set[str] = field(default_factory=set)  # markets a liquidation changed a position of
    pool_moves: dict[tuple[str, int], float] = field(default_factory=dict)  # (token, sold) -> price moved by
    sellers: dict[str, Seller] = field(default_factory=dict)  # token -> the sales into its pool


class _Pricer:
    """Market and book prices of every token in one round (memoised within the round)."""

    def __init__(self, book: Book, state: _State, shock: Shock, shock_sale: int) -> None:
        self.book, self.state, self.shock, self.shock_sale = book, state, shock, shock_sale
        self.memo: dict[str, float] = {}

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
                after = _float_price(pool, seller.sqrt_price_after(amount))
                moved = self.state.pool_moves[(token, amount)] = after / _static(self.book).pool_price[token]
            factor = min(moved, target)
        if pool is None or token in self.book.anchored:
            return factor  # an anchored token's price is its own feed's, not its pool partner's
        quote = self.book.p0.get(pool.quote, 0.0)
        return factor * (self.market(pool.quote) / quote if quote else 1.0)


def _pool_price(pool) -> float:
    return float(price_after_selling(pool.state, 0 if pool.token_is_0 else 1, 0))


def _float_price(pool, sqrt_price_x96: int) -> float:
    """`float(price_after_selling(...))` from the price after the sale: int / int rounds
    correctly, as float(Fraction) does, so this is the same float without the Fraction."""
    square = sqrt_price_x96 * sqrt_price_x96
    return square / (1 << 192) if pool.token_is_0 else (1 << 192) / square


class _Static:
    """What the cascade reads from a Book that no cascade changes, worked out once per Book
    (read-only after `build_book`)."""

    def __init__(self, book: Book) -> None:
        self.pool_price = {token: _pool_price(pool) for token, pool in book.pools.items()}
        self.owner: dict[str, str] = {}  # vault contract -> its share token (the first, as _vault_of did)
        for share, v in book.vaults.items():
            self.owner.setdefault(v.vault, share)
        self.trigger: dict[str, float] = {}  # Morpho market -> max debt / (collateral · LLTV)
        self.ltv: dict[str, float] = {}  # Morpho market -> max debt / collateral
        self.constant: set[str] = set()  # Morpho markets whose oracle never moves, above every trigger
        self.lenders: dict[str, tuple[float, list[tuple[str, float]]]] = {}  # market -> (supply, vaults' supply)
        for key, m in book.markets.items():
            vaults = [(self.owner[a], s) for a, s in m.suppliers.items() if a in self.owner]
            self.lenders[key] = (sum(m.suppliers.values()), vaults)
            if not m.protocol.startswith("morpho"):
                continue
            borrowing = m.debt > 0
            debt, col = m.debt[borrowing], m.collateral_amount[borrowing]
            with np.errstate(divide="ignore", invalid="ignore"):
                self.trigger[key] = float((debt / (col * m.lltv)).max()) if len(debt) else 0.0
                self.ltv[key] = float((debt / col).max()) if len(debt) else 0.0
            fixed = m.oracle_kind == "fixed" or (m.oracle_kind == "exchange_rate" and m.collateral not in book.vaults)
            if fixed and m.tracks is None and np.isfinite(m.oracle0) and _above(m.oracle0, self.trigger[key]):
                self.constant.add(key)


def _above(value: float, bound: float) -> bool:
    """`value` is clearly above `bound`: by far more than a float product's rounding, so that
    x · value > y holds for every x, y whose ratio y / x is at most `bound`."""
    return value >= bound * (1 + 1e-9)


_STATICS: dict[int, _Static] = {}


def _static(book: Book) -> _Static:
    found = _STATICS.get(id(book))
    if found is None:
        found = _STATICS[id(book)] = _Static(book)
        weakref.finalize(book, _STATICS.pop, id(book), None)
    return found


def shock_sale(book: Book, shock: Shock) -> int:
    """What the token's pool takes (token units) between its price and (1 − δ) of it."""
    pool = book.pools.get(shock.token)
    if shock.kind != "depeg" or pool is None or shock.size <= 0:
        return 0
    target_price = _static(book).pool_price[shock.token] * (1.0 - shock.size)  # token in quote units
    lowest, highest = get_sqrt_ratio_at_tick(-887272), get_sqrt_ratio_at_tick(887272)
    if target_price <= 0:
        sqrt_target = lowest + 1 if pool.token_is_0 else highest - 1
    else:
        raw = target_price if pool.token_is_0 else 1.0 / target_price  # token1 per token0
        sqrt_target = min(max(int(raw**0.5 * 2**96), lowest + 1), highest - 1)
    zero_for_one = pool.token_is_0  # selling token0 lowers its price
    moved = sqrt_target < pool.state.sqrt_price_x96 if zero_for_one else sqrt_target > pool.state.sqrt_price_x96
    if not moved:
        return 0
    result = swap(pool.state, zero_for_one, 2**255 - 1, sqrt_target)
    return result.amount0 if zero_for_one else result.amount1


def _oracle(book: Book, m: MarketBook, prices: _Pricer) -> float:
    """The market's oracle price now: loan tokens per collateral token (Morpho), or the
    numeraire per token (a pooled reserve)."""
    if not np.isfinite(m.oracle0):
        return m.oracle0
    morpho = m.protocol.startswith("morpho")
    asset = m.collateral if morpho else m.loan
    if m.oracle_kind == "fixed":
        if m.tracks is not None:  # priced with another reserve's feed: follows that asset
            return m.oracle0 * _moved(book, prices, book.markets[m.tracks].loan)
        return m.oracle0
    if m.oracle_kind == "exchange_rate":
        ratio = 1.0
        if asset in book.vaults:
            v = book.vaults[asset]
            start = v.total_assets / v.total_supply if v.total_supply else 0.0
            supply = prices.state.supply[asset]
            ratio = (prices.state.total_assets[asset] / supply / start) if start and supply else 0.0
            if not morpho:  # rate x the feed of the vault's asset, as Aave's adapters price it
                under = next((r for r in book.markets.values() if r.key.split(":")[0] == m.key.split(":")[0] and r.loan == v.asset), None)
                if under is not None and np.isfinite(under.oracle0) and under.oracle0 > 0:
                    ratio *= _oracle(book, under, prices) / under.oracle0
        return m.oracle0 * ratio
    # market, and unknown (treated as market, flagged): follows the market price
    ratio = _moved(book, prices, asset)
    if morpho:
        ratio /= _moved(book, prices, m.loan) or 1.0
    return m.oracle0 * ratio


def _moved(book: Book, prices: _Pricer, token: str) -> float:
    """A token's market price now, relative to its starting price."""
    start = book.p0.get(token, 0.0)
    return prices.market(token) / start if start else 1.0


def run_cascade(book: Book, shock: Shock, max_rounds: int = MAX_ROUNDS) -> CascadeResult:
    """Apply `shock` and iterate liquidations to the fixed point.

    A round finds every position liquidatable at its starting prices, worst health first, then
    liquidates them one after another, each at the prices the previous sales left (liquidators
    race: each sees the pool the last one sold into).
    """
    state = _State(
        collateral={k: m.collateral_amount.copy() for k, m in book.markets.items()},
        debt={k: m.debt.copy() for k, m in book.markets.items()},
        idle={s: v.idle for s, v in book.vaults.items()},
        total_assets={s: v.total_assets for s, v in book.vaults.items()},
        supply={s: v.total_supply for s, v in book.vaults.items()},
    )
    if shock.kind == "backing_loss":
        state.total_assets[shock.token] -= shock.size * book.vaults[shock.token].opaque
    elif shock.kind != "depeg":
        raise ValueError(f"unknown shock kind {shock.kind!r}: depeg or backing_loss")
    sale = shock_sale(book, shock)
    pools = _pooled_reserves(book)
    rounds, liquidations = [], []
    first, at_risk = 0, ()
    n = 0
    for n in range(1, max_rounds + 1):
        candidates = sorted(_candidates(book, state, _Pricer(book, state, shock, sale), pools))
        if n == 1:
            first = len(candidates)
            at_risk = tuple((ref[0], book.markets[ref[0]].accounts[ref[1]]) if kind == "morpho" else ref
                            for _, kind, ref in candidates)  # fmt: skip
        done, volume = 0, 0.0
        for _, kind, ref in candidates:
            prices = _Pricer(book, state, shock, sale)
            if kind == "morpho":
                row = _liquidate_morpho(book, state, prices, *ref)
            else:
                row = _liquidate_aave(book, state, prices, ref, pools[ref[0]])
            if row is not None:
                liquidations.append((n, *row))
                done += 1
                volume += row[-1]
        prices = _Pricer(book, state, shock, sale)
        rounds.append({"round": n, "liquidatable": len(candidates), "liquidations": done,
                       "price": prices.market(shock.token), "volume_usd": volume})  # fmt: skip
        if done == 0:
            break
    prices = _Pricer(book, state, shock, sale)
    final = {t: prices.market(t) for t in book.p0}
    start = book.p0.get(shock.token, 0.0)
    return CascadeResult(
        shock, final, 1.0 - final.get(shock.token, 0.0) / start if start else 0.0, first,
        pd.DataFrame(rounds), pd.DataFrame(liquidations, columns=_LIQ_COLUMNS), _losses(book, state, prices), n,
        at_risk,
    )  # fmt: skip


_LIQ_COLUMNS = ["round", "market", "account", "seized", "repaid", "bad_debt", "seized_usd"]


def _pooled_reserves(book: Book) -> dict[str, list[MarketBook]]:
    """The reserves of each pooled (Aave-like) protocol contract."""
    pools: dict[str, list[MarketBook]] = {}
    for m in book.markets.values():
        if not m.protocol.startswith("morpho"):
            pools.setdefault(m.key.split(":")[0], []).append(m)
    return pools


def _candidates(book: Book, state: _State, prices: _Pricer, pools: dict[str, list[MarketBook]]) -> list[tuple]:
    """Every liquidatable position as (health, kind, reference), health = collateral limit / debt."""
    out: list[tuple] = []
    static = _static(book)
    for key, m in book.markets.items():
        if not m.protocol.startswith("morpho") or not len(m.accounts):
            continue
        untouched = key not in state.touched  # its positions are still the snapshot's
        if untouched and key in static.constant:
            continue
        oracle = _oracle(book, m, prices)
        if untouched and _above(oracle, static.trigger[key]):
            continue  # no position is liquidatable at this oracle price
        limit = state.collateral[key] * oracle * m.lltv
        debt = state.debt[key]
        for i in np.flatnonzero((debt > 0) & (debt > limit)):
            out.append((limit[i] / debt[i], "morpho", (key, int(i))))
    for pool, reserves in pools.items():
        accounts = sorted({a for m in reserves for a in m.accounts})
        for account in accounts:
            acct = _aave_account(book, state, prices, pool, account, reserves)
            if acct is not None and acct["hf"] < 1.0:
                out.append((acct["hf"], "aave", (pool, account)))
    return out


def _liquidate_morpho(book: Book, state: _State, prices: _Pricer, key: str, i: int) -> tuple | None:
    """`Morpho.liquidate` of the whole position, if still liquidatable and worth it."""
    m = book.markets[key]
    col, debt = state.collateral[key], state.debt[key]
    oracle = _oracle(book, m, prices)
    if not (debt[i] > 0 and debt[i] > col[i] * oracle * m.lltv):
        return None
    seized = min(col[i], debt[i] * m.incentive / oracle) if oracle > 0 else col[i]
    repaid = seized * oracle / m.incentive
    p_col = prices.market(m.collateral)
    if seized * p_col < repaid * prices.market(m.loan):
        return None  # the liquidator would be paid less than they repay: nobody liquidates
    bad = debt[i] - repaid if seized >= col[i] else 0.0
    state.touched.add(key)
    col[i] -= seized
    debt[i] = 0.0 if bad else debt[i] - repaid
    if bad:
        _socialise(book, state, key, bad)
    _exit(book, state, m.collateral, seized)
    return key, m.accounts[i], seized, repaid, bad, seized * p_col


def _aave_account(book: Book, state: _State, prices: _Pricer, pool: str, account: str, reserves: list[MarketBook]) -> dict | None:
    """`GenericLogic.calculateUserAccountData` at the cascade's oracle prices (floats)."""
    legs = [(m, m.accounts.index(account)) for m in reserves if account in m.accounts]
    if not legs:
        return None
    oracle = {m.key: _oracle(book, m, prices) for m, _ in legs}
    emode = book.account_emode.get((pool, account), 0)
    category = book.emodes.get((pool, emode)) if emode else None
    col_value = sum(state.collateral[m.key][i] * oracle[m.key] for m, i in legs)
    weighted = sum(state.collateral[m.key][i] * oracle[m.key] * (category[0] if category and m.emode == emode else m.lltv)
                   for m, i in legs)  # fmt: skip
    debt_value = sum(state.debt[m.key][i] * oracle[m.key] for m, i in legs)
    if debt_value <= 0:
        return None
    return {"legs": legs, "oracle": oracle, "emode": emode, "category": category,
            "col_value": col_value, "debt_value": debt_value, "hf": weighted / debt_value}  # fmt: skip


def _liquidate_aave(book: Book, state: _State, prices: _Pricer, ref: tuple[str, str], reserves: list[MarketBook]) -> tuple | None:
    """One `liquidationCall`: the largest debt against the largest collateral, close factor
    by the pool's revision (v3.0: 50 %, 100 % below HF 0.95; v3.3+: also 100 % when the
    position is under $2,000), bonus of the collateral or of the account's e-mode."""
    pool, account = ref
    acct = _aave_account(book, state, prices, pool, account, reserves)
    if acct is None or acct["hf"] >= 1.0:
        return None
    legs, oracle, category, emode = acct["legs"], acct["oracle"], acct["category"], acct["emode"]
    d_m, d_i = max(legs, key=lambda leg: state.debt[leg[0].key][leg[1]] * oracle[leg[0].key])
    c_m, c_i = max(legs, key=lambda leg: state.collateral[leg[0].key][leg[1]] * oracle[leg[0].key])
    if state.collateral[c_m.key][c_i] <= 0 or oracle[c_m.key] <= 0:
        return None
    small = (d_m.revision or 1) >= 7 and min(acct["col_value"], acct["debt_value"]) < _SMALL_POSITION
    close = 1.0 if acct["hf"] < 0.95 or small else 0.5
    bonus = category[1] if category and c_m.emode == emode else c_m.incentive
    repay = close * state.debt[d_m.key][d_i]
    seized = repay * oracle[d_m.key] * bonus / oracle[c_m.key]
    if seized > state.collateral[c_m.key][c_i]:  # not enough of this collateral: cover less debt
        seized = state.collateral[c_m.key][c_i]
        repay = seized * oracle[c_m.key] / bonus / oracle[d_m.key]
    p_col = prices.market(c_m.loan)
    if seized * p_col < repay * prices.market(d_m.loan):
        return None
    state.touched.update((c_m.key, d_m.key))
    state.collateral[c_m.key][c_i] -= seized
    state.debt[d_m.key][d_i] -= repay
    _exit(book, state, c_m.loan, seized)
    return d_m.key, account, seized, repay, 0.0, seized * p_col


def _exit(book: Book, state: _State, token: str, amount: float) -> None:
    """Seized collateral leaves: redeemed at book from its vault's idle assets, the rest sold."""
    if token in book.vaults:
        per_share = state.total_assets[token] / state.supply[token] if state.supply[token] else 0.0
        redeemable = state.idle[token] / per_share if per_share > 0 else 0.0
        redeemed = min(amount, redeemable)
        state.idle[token] -= redeemed * per_share
        state.total_assets[token] -= redeemed * per_share
        state.supply[token] -= redeemed  # redeemed shares are burnt: the book per share holds
        amount -= redeemed
    if amount > 0:
        state.sold[token] = state.sold.get(token, 0.0) + amount


def _socialise(book: Book, state: _State, key: str, bad: float) -> None:
    """Morpho writes realised bad debt off the market's supply: each supplier loses pro rata,
    and a vault among them loses it from its reported assets."""
    state.realized[key] = state.realized.get(key, 0.0) + bad
    total, vaults = _static(book).lenders[key]
    if total > 0:
        for vault, supplied in vaults:
            state.total_assets[vault] -= bad * supplied / total


def _vault_of(book: Book, account: str) -> str | None:
    return _static(book).owner.get(account)


def _losses(book: Book, state: _State, prices: _Pricer) -> pd.DataFrame:
    """Realised and hidden bad debt per market, shared among its suppliers pro rata."""
    hidden: dict[str, float] = {}
    static = _static(book)
    for key, m in book.markets.items():
        if m.protocol.startswith("morpho"):
            p_col, p_loan = prices.market(m.collateral), prices.market(m.loan)
            if key not in state.touched and p_loan > 0 and _above(p_col / p_loan, static.ltv[key]):
                continue  # every position's collateral is worth more than its debt: no hidden bad debt
            value = state.collateral[key] * prices.market(m.collateral)
            hidden[key] = float(np.maximum(state.debt[key] * prices.market(m.loan) - value, 0.0).sum())
    for reserves in _pooled_reserves(book).values():
        # A pooled account's shortfall (debt over all its collateral, at market) falls on the
        # reserves it owes, in proportion to what it owes each.
        for account in sorted({a for m in reserves for a in m.accounts}):
            legs = [(m, m.accounts.index(account)) for m in reserves if account in m.accounts]
            col = sum(state.collateral[m.key][i] * prices.market(m.loan) for m, i in legs)
            owed = {m.key: state.debt[m.key][i] * prices.market(m.loan) for m, i in legs if state.debt[m.key][i] > 0}
            debt = sum(owed.values())
            if debt > col:
                for key, value in owed.items():
                    hidden[key] = hidden.get(key, 0.0) + (debt - col) * value / debt
    rows = []
    for key, m in book.markets.items():
        realized = state.realized.get(key, 0.0) * prices.market(m.loan)
        if not (realized or hidden.get(key)):
            continue
        total = sum(m.suppliers.values())
        for account, supplied in m.suppliers.items():
            share = supplied / total if total else 0.0
            vault = _vault_of(book, account)
            rows.append({
                "market": key, "lender": account, "lender_symbol": book.symbols.get(vault) if vault else None,
                "realized_bad_debt_usd": realized * share, "hidden_bad_debt_usd": hidden.get(key, 0.0) * share,
            })  # fmt: skip
    return pd.DataFrame(rows, columns=["market", "lender", "lender_symbol", "realized_bad_debt_usd", "hidden_bad_debt_usd"])
