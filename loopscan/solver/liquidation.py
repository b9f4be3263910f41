"""The protocols' liquidation of one position at the cascade's prices (steps 3 and 4 of a round,
see `cascade`): Morpho's `liquidate`, Aave's `liquidationCall`, and where the seized collateral
and the bad debt go."""

from __future__ import annotations

from loopscan.solver.book import Book, MarketBook
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["aave_account", "liquidate_aave", "liquidate_morpho"]

_SMALL_POSITION = 2_000.0  # v3.3's MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD, in the numeraire (USD)


def liquidate_morpho(book: Book, state: CascadeState, prices: Pricer, key: str, i: int) -> tuple | None:
    """`Morpho.liquidate` of the whole position, if still liquidatable and worth it."""
    m = book.markets[key]
    # Python floats, not numpy scalars: the same IEEE doubles, a few times faster to work with.
    col, debt = state.collateral[key].item(i), state.debt[key].item(i)
    answer = prices.oracle(m)
    if not (debt > 0 and debt > col * answer * m.lltv):
        return None
    seized = min(col, debt * m.incentive / answer) if answer > 0 else col
    repaid = seized * answer / m.incentive
    p_col = prices.market(m.collateral)
    if seized * p_col < repaid * prices.market(m.loan):
        return None  # the liquidator would be paid less than they repay: nobody liquidates
    bad = debt - repaid if seized >= col else 0.0
    cols, debts = state.writable(key)
    cols[i] = col - seized
    debts[i] = 0.0 if bad else debt - repaid
    if bad:
        _socialise(prices, key, bad)
    _exit(book, state, m.collateral, seized)
    return key, m.accounts[i], seized, repaid, bad, seized * p_col


def aave_account(book: Book, state: CascadeState, prices: Pricer, pool: str, account: str, reserves: list[MarketBook]) -> dict | None:
    """`GenericLogic.calculateUserAccountData` at the cascade's oracle prices (floats)."""
    legs = [(m, m.accounts.index(account)) for m in reserves if account in m.accounts]
    if not legs:
        return None
    answers = {m.key: prices.oracle(m) for m, _ in legs}
    emode = book.account_emode.get((pool, account), 0)
    category = book.emodes.get((pool, emode)) if emode else None
    col_value = sum(state.collateral[m.key][i] * answers[m.key] for m, i in legs)
    weighted = sum(state.collateral[m.key][i] * answers[m.key] * (category[0] if category and m.emode == emode else m.lltv)
                   for m, i in legs)  # fmt: skip
    debt_value = sum(state.debt[m.key][i] * answers[m.key] for m, i in legs)
    if debt_value <= 0:
        return None
    return {"legs": legs, "oracle": answers, "emode": emode, "category": category,
            "col_value": col_value, "debt_value": debt_value, "hf": weighted / debt_value}  # fmt: skip


def liquidate_aave(book: Book, state: CascadeState, prices: Pricer, ref: tuple[str, str], reserves: list[MarketBook]) -> tuple | None:
    """One `liquidationCall`: the largest debt against the largest collateral, close factor
    by the pool's revision (v3.0: 50 %, 100 % below HF 0.95; v3.3+: also 100 % when the
    position is under $2,000), bonus of the collateral or of the account's e-mode."""
    pool, account = ref
    acct = aave_account(book, state, prices, pool, account, reserves)
    if acct is None or acct["hf"] >= 1.0:
        return None
    legs, answers, category, emode = acct["legs"], acct["oracle"], acct["category"], acct["emode"]
    d_m, d_i = max(legs, key=lambda leg: state.debt[leg[0].key][leg[1]] * answers[leg[0].key])
    c_m, c_i = max(legs, key=lambda leg: state.collateral[leg[0].key][leg[1]] * answers[leg[0].key])
    if state.collateral[c_m.key][c_i] <= 0 or answers[c_m.key] <= 0:
        return None
    small = (d_m.revision or 1) >= 7 and min(acct["col_value"], acct["debt_value"]) < _SMALL_POSITION
    close = 1.0 if acct["hf"] < 0.95 or small else 0.5
    bonus = category[1] if category and c_m.emode == emode else c_m.incentive
    repay = close * state.debt[d_m.key][d_i]
    seized = repay * answers[d_m.key] * bonus / answers[c_m.key]
    if seized > state.collateral[c_m.key][c_i]:  # not enough of this collateral: cover less debt
        seized = state.collateral[c_m.key][c_i]
        repay = seized * answers[c_m.key] / bonus / answers[d_m.key]
    p_col = prices.market(c_m.loan)
    if seized * p_col < repay * prices.market(d_m.loan):
        return None
    state.writable(c_m.key)[0][c_i] -= seized
    state.writable(d_m.key)[1][d_i] -= repay
    _exit(book, state, c_m.loan, seized)
    return d_m.key, account, seized, repay, 0.0, seized * p_col


def _exit(book: Book, state: CascadeState, token: str, amount: float) -> None:
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
    state.repriced.add(token)


def _socialise(prices: Pricer, key: str, bad: float) -> None:
    """Morpho writes realised bad debt off the market's supply: each supplier loses pro rata,
    and a vault among them loses it from its reported assets."""
    state = prices.state
    state.realized[key] = state.realized.get(key, 0.0) + bad
    total, vaults = prices.constants.lenders[key]
    if total > 0:
        for vault, supplied in vaults:
            state.total_assets[vault] -= bad * supplied / total
            state.repriced.add(vault)
