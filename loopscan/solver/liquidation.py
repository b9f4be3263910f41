"""The protocols' liquidation of one position at the cascade's prices (steps 3 and 4 of a round,
see `cascade`), by the protocol's own rules (`MarketBook.rules`): a position of an isolated
market, or an account of a pooled protocol; and where the seized collateral and the bad debt go."""

from __future__ import annotations

from loopscan.solver.book import Book, MarketBook
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["liquidate_pooled", "liquidate_isolated", "exit_collateral", "write_off"]


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
        write_off(prices, m, bad)
    exit_collateral(book, state, m.collateral, seized)
    return key, m.accounts[i], seized, repaid, bad, seized * p_col


def liquidate_pooled(book: Book, state: CascadeState, prices: Pricer, ref: tuple[str, str]) -> tuple | None:
    """One liquidation of a pooled account: the largest debt against the largest collateral among
    the legs a liquidator may touch (`PooledAccounts.of_legs`: not in a paused reserve), the
    repayment capped by the protocol's close factor (`rules.max_repay`), the bonus of the
    collateral or of the account's e-mode (`PooledAccounts`)."""
    pool, account = ref
    index = prices.constants.pooled[pool]
    stranded = state.stranded_in(index)
    if stranded[index.index[account]]:
        return None
    # What decides it — the account's legs, their oracle answers, their assets' market prices — is
    # unchanged since it was last declined: it is declined again. Not where prices are on a cycle:
    # there the order in which they are asked for can change them (`BookConstants.unsettled`).
    legs, changes = index.legs(account), prices.changes
    seen = tuple([changes.get(leg[3], 0) for leg in legs])
    if state.declined.get(ref) == seen:
        return None
    if not prices.constants.unsettled:
        state.declined[ref] = seen
    acct = index.of_legs(state, prices, legs)
    if acct is None or acct["hf"] >= 1.0:
        return None
    if not acct["liquidable"]:
        return None  # no leg a liquidator may touch owes, or none holds collateral
    answers = acct["oracle"]
    debt_leg, collateral_leg = acct["debt_leg"], acct["collateral_leg"]
    (d_m, d_i, *_), (c_m, c_i, c_k, *_) = debt_leg, collateral_leg
    collateral = state.collateral[c_m.key].item(c_i)
    if collateral <= 0 or answers[c_m.key] <= 0:
        # Every leg a liquidator may seize holds nothing or is priced at nothing (a 100 % depeg):
        # so it stays, as collateral and prices only fall, and the account is never worked out
        # again in this cascade. Not where prices are on a cycle (they may rise back).
        if not prices.constants.unsettled and all(state.collateral[key].item(i) <= 0 or answers[key] <= 0
                                                  for _, i, _, key, _, usable in legs if usable):  # fmt: skip
            stranded[index.index[account]] = True
        return None
    rules = d_m.rules
    debt = state.debt[d_m.key].item(d_i)
    repay = rules.max_repay(acct["hf"], d_m.params, debt, debt * answers[d_m.key], collateral * answers[c_m.key], acct["debt_value"])
    seized, repay = rules.seize(repay, answers[d_m.key], answers[c_m.key], index.bonus.item(c_k), collateral)
    p_col = prices.market(c_m.loan)
    if seized * p_col < repay * prices.market(d_m.loan):
        return None
    state.declined.pop(ref, None)
    state.writable(c_m.key)[0][c_i] -= seized
    state.writable(d_m.key)[1][d_i] -= repay
    index.changed(state, collateral_leg, debt_leg)
    exit_collateral(book, state, c_m.loan, seized)
    return d_m.key, account, seized, repay, 0.0, seized * p_col


def exit_collateral(book: Book, state: CascadeState, token: str, amount: float) -> None:
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


def write_off(prices: Pricer, m: MarketBook, bad: float) -> None:
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
