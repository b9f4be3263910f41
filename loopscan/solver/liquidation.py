"""The protocols' liquidation of one position at the cascade's prices (steps 3 and 4 of a round,
see `cascade`), by the protocol's own rules (`MarketBook.rules`): a position of an isolated
market, or an account of a pooled protocol; and where the seized collateral and the bad debt go."""

from __future__ import annotations

from loopscan.solver.book import Book, MarketBook
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["pooled_account", "liquidate_pooled", "liquidate_isolated", "usable_legs"]


def liquidate_isolated(book: Book, state: CascadeState, prices: Pricer, key: str, i: int) -> tuple | None:
    """The liquidation of one position of an isolated market, if still liquidatable and worth it."""
    m = book.markets[key]
    # Python floats, not numpy scalars: the same IEEE doubles, a few times faster to work with.
    col, debt = state.collateral[key].item(i), state.debt[key].item(i)
    done = m.rules.liquidate(col, debt, prices.oracle(m), m.lltv, m.incentive)
    if done is None:
        return None
    seized, repaid, bad = done
    p_col = prices.market(m.collateral)
    if seized * p_col < repaid * prices.market(m.loan):
        return None  # the liquidator would be paid less than they repay: nobody liquidates
    cols, debts = state.writable(key)
    cols[i] = col - seized
    debts[i] = 0.0 if bad else debt - repaid
    if bad:
        _write_off(prices, m, bad)
    _exit(book, state, m.collateral, seized)
    return key, m.accounts[i], seized, repaid, bad, seized * p_col


def pooled_account(book: Book, state: CascadeState, prices: Pricer, pool: str, account: str, reserves: list[MarketBook]) -> dict | None:
    """`GenericLogic.calculateUserAccountData` at the cascade's oracle prices (floats)."""
    legs = [(m, m.accounts.index(account)) for m in reserves if account in m.accounts]
    if not legs:
        return None
    answers = {m.key: prices.oracle(m) for m, _ in legs}
    emode = book.account_emode.get((pool, account), 0)
    category = book.emodes.get((pool, emode)) if emode else None
    col_value = sum(state.collateral[m.key][i] * answers[m.key] for m, i in legs)
    weighted = sum(state.collateral[m.key][i] * answers[m.key] * (category[0] if category and _emode(m) == emode else m.lltv)
                   for m, i in legs)  # fmt: skip
    debt_value = sum(state.debt[m.key][i] * answers[m.key] for m, i in legs)
    if debt_value <= 0:
        return None
    return {"legs": legs, "oracle": answers, "emode": emode, "category": category,
            "col_value": col_value, "debt_value": debt_value, "hf": weighted / debt_value}  # fmt: skip


def usable_legs(state: CascadeState, acct: dict) -> list[tuple[MarketBook, int]] | None:
    """The legs of a pooled account (`pooled_account`) a liquidation may repay or seize: those in
    reserves the protocol lets a liquidator touch (`rules.usable`: e.g. not paused). None when no
    such leg holds debt or none holds collateral: whatever its health, nobody can liquidate it."""
    legs = [(m, i) for m, i in acct["legs"] if m.rules.usable(m.params)]
    owes = any(state.debt[m.key][i] > 0 for m, i in legs)
    holds = any(state.collateral[m.key][i] > 0 for m, i in legs)
    return legs if owes and holds else None


def liquidate_pooled(book: Book, state: CascadeState, prices: Pricer, ref: tuple[str, str], reserves: list[MarketBook]) -> tuple | None:
    """One liquidation of a pooled account: the largest debt against the largest collateral among
    the legs a liquidator may touch (`usable_legs`), the repayment capped by the protocol's close
    factor (`rules.max_repay`), the bonus of the collateral or of the account's e-mode."""
    pool, account = ref
    acct = pooled_account(book, state, prices, pool, account, reserves)
    if acct is None or acct["hf"] >= 1.0:
        return None
    legs = usable_legs(state, acct)
    if legs is None:
        return None
    answers, category, emode = acct["oracle"], acct["category"], acct["emode"]
    d_m, d_i = max(legs, key=lambda leg: state.debt[leg[0].key][leg[1]] * answers[leg[0].key])
    c_m, c_i = max(legs, key=lambda leg: state.collateral[leg[0].key][leg[1]] * answers[leg[0].key])
    if state.collateral[c_m.key][c_i] <= 0 or answers[c_m.key] <= 0:
        return None
    rules = d_m.rules
    debt = state.debt[d_m.key][d_i]
    collateral = state.collateral[c_m.key][c_i]
    repay = rules.max_repay(acct["hf"], d_m.params, debt, debt * answers[d_m.key], collateral * answers[c_m.key], acct["debt_value"])
    bonus = category[1] if category and _emode(c_m) == emode else c_m.incentive
    seized, repay = rules.seize(repay, answers[d_m.key], answers[c_m.key], bonus, collateral)
    p_col = prices.market(c_m.loan)
    if seized * p_col < repay * prices.market(d_m.loan):
        return None
    state.writable(c_m.key)[0][c_i] -= seized
    state.writable(d_m.key)[1][d_i] -= repay
    _exit(book, state, c_m.loan, seized)
    return d_m.key, account, seized, repay, 0.0, seized * p_col


def _emode(m: MarketBook) -> int:
    """The e-mode category of a pooled reserve (0: none), as its protocol records it."""
    return m.params.get("emode_category", 0)


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


def _write_off(prices: Pricer, m: MarketBook, bad: float) -> None:
    """Realised bad debt. Where the protocol socialises it (Morpho writes it off the market's
    supply), each supplier loses pro rata, and a vault among them loses it from its reported assets."""
    state = prices.state
    state.realized[m.key] = state.realized.get(m.key, 0.0) + bad
    if not m.rules.SOCIALISES_BAD_DEBT:
        return
    total, vaults = prices.constants.lenders[m.key]
    if total > 0:
        for vault, supplied in vaults:
            state.total_assets[vault] -= bad * supplied / total
            state.repriced.add(vault)
