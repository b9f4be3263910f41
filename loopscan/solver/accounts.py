"""Credit accounts in the cascade: markets of ``account`` margin (`book_accounts`), checked and
liquidated by their protocol's rules (`MarketBook.rules`, from the registry), each round.

* **Health**: an account's weighted value — each collateral's value at its oracle times its LT,
  capped by the protocol (`rules.caps`: Gearbox's quotas, in loan tokens at the loan token's
  oracle) — against its total debt at the loan token's oracle (`rules.weighted_values`,
  `rules.liquidatable`). Every oracle is a leg `Pricer.oracle` moves as any market's.
* **Liquidation**: by the protocol's rules (`rules.liquidate_account`, given each token's value at
  the oracle): Gearbox's liquidator takes the whole account, the pool is paid and the owner keeps
  the rest; Comet's `absorb` takes the whole account itself, crediting each collateral at its own
  liquidation factor; Euler's liquidator takes one collateral vault's shares, up to all of them, at
  the discount the account's health sets. A liquidator acts only if what it takes is worth at
  market at least what it pays; an absorb is `forced`. Seized tokens other than the loan token
  leave by the same exit as every protocol's (`liquidation.exit_collateral`: Comet's are sold by
  `buyCollateral` to arbitrageurs, who sell them on). The lenders' loss (what they are owed
  beyond what they are paid) is drawn from the protocol's reserves first (`CreditBook.reserves`:
  Comet's), the rest written off its lenders (`liquidation.write_off`).
* **Hidden bad debt**: an open account whose collateral's market value is below what the pool is
  owed.
"""

from __future__ import annotations

import numpy as np

from loopscan.solver.book import Book, MarketBook
from loopscan.solver.liquidation import exit_collateral, write_off
from loopscan.solver.pricing import Pricer
from loopscan.solver.state import CascadeState

__all__ = ["credit_markets", "liquidatable", "liquidate", "hidden", "positions_now", "held", "collateral_usd"]


def credit_markets(book: Book) -> list[MarketBook]:
    return [m for m in book.markets.values() if m.credit is not None]


def _answers(prices, m: MarketBook) -> np.ndarray:
    """Each collateral's oracle answer now (numeraire per whole token)."""
    return np.array([prices.oracle(leg) for leg in m.credit.legs])


def _health(m: MarketBook, amounts: np.ndarray, debt: np.ndarray, answers: np.ndarray, caps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weighted value, debt), numeraire, of accounts' rows of `amounts`, `caps` (accounts × tokens) and `debt`."""
    loan = answers[m.credit.underlying]
    capped = np.where(np.isinf(caps), np.inf, caps * loan)  # no cap stays none, even at a zero loan price
    return m.rules.weighted_values(amounts * answers, m.credit.lts, capped), debt * loan


def liquidatable(book: Book, state: CascadeState, prices: Pricer) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Per credit market with any: (market key, health of each liquidatable account, their rows),
    health = weighted value / debt (`liquidatable.candidates` orders them with every protocol's)."""
    out = []
    for m in credit_markets(book):
        debt = state.debt[m.key]
        if not len(debt):
            continue
        twv, debt_usd = _health(m, state.collateral[m.key], debt, _answers(prices, m), m.credit.caps)
        found = np.flatnonzero((debt > 0) & m.rules.liquidatable(twv, debt_usd))
        if len(found):
            out.append((m.key, twv[found] / debt_usd[found], found))
    return out


def liquidate(book: Book, state: CascadeState, prices: Pricer, key: str, i: int) -> tuple | None:
    """One liquidation of credit account `i` of market `key`, if still liquidatable and worth it
    (or forced by the protocol): (market, account, value taken in loan tokens at the oracle, paid to
    the lenders, loss beyond the reserves, USD at market of what was taken)."""
    m = book.markets[key]
    cb = m.credit
    amounts, debt = state.collateral[key][i], state.debt[key].item(i)
    answers = _answers(prices, m)
    twv, debt_usd = _health(m, amounts[None, :], np.array([debt]), answers, cb.caps[i : i + 1])
    if not (debt > 0 and m.rules.liquidatable(twv[0], debt_usd[0])):
        return None
    loan = answers[cb.underlying]
    values = amounts * answers
    done = m.rules.liquidate_account(values, loan, cb.tokens, debt, _owed(m, state.debt[key], i).item(), m.params, cb.lts)
    taken = amounts * done.taken
    if done.repaid == 0 and not taken.any():
        return None  # nothing to take and no debt to clear (Euler's empty account whose vault does not socialise)
    at_market = float(sum(a * prices.market(t) for t, a in zip(cb.tokens, taken.tolist(), strict=True)))
    if not done.forced and at_market < done.paid * prices.market(m.loan):
        return None  # the liquidator would be paid less than they pay: nobody liquidates
    cols, debts = state.writable(key)
    cols[i] = amounts - taken  # `amounts` is a view of this row: `taken` was computed before
    debts[i] = debt - done.repaid
    lost = _beyond_reserves(state, m, done.loss)
    if lost > 0:
        write_off(prices, m, lost)
    for token, amount in zip(cb.tokens, taken.tolist(), strict=True):
        if amount > 0 and token != m.loan:  # the loan token is what the liquidator pays with
            exit_collateral(book, state, token, amount)
    value = float((values * done.taken).sum()) / loan if loan > 0 else 0.0
    return key, m.accounts[i], value, done.to_pool, lost, at_market


def _owed(m: MarketBook, debt: np.ndarray, rows) -> np.ndarray:
    """What the lenders are owed of accounts `rows` now: their share of the pin's (`CreditBook.owed`)
    left after partial liquidations (Euler's), in proportion to the debt left (a debt never grows)."""
    return m.credit.owed[rows] * (debt[rows] / m.debt[rows])


def _beyond_reserves(state: CascadeState, m: MarketBook, loss: float) -> float:
    """The part of a loss the protocol's reserves (`CreditBook.reserves`, what this cascade left of
    them) do not absorb: the lenders'."""
    if loss <= 0:
        return 0.0
    left = state.reserves.get(m.key, m.credit.reserves)
    absorbed = min(left, loss)
    if absorbed > 0:
        state.reserves[m.key] = left - absorbed
    return loss - absorbed


def hidden(book: Book, state: CascadeState, prices: Pricer) -> dict[str, float]:
    """Per credit market, USD: what its open accounts owe the pool beyond their collateral's market value."""
    out: dict[str, float] = {}
    for m in credit_markets(book):
        open_ = state.debt[m.key] > 0
        if not open_.any():
            continue
        market = np.array([prices.market(t) for t in m.credit.tokens])
        value = state.collateral[m.key][open_] @ market
        short = np.maximum(_owed(m, state.debt[m.key], open_) * prices.market(m.loan) - value, 0.0).sum()
        if short > 0:
            out[m.key] = float(short)
    return out


def positions_now(book: Book, pin) -> list[tuple]:
    """`now.positions_now` rows of every open credit account, at the oracle answers read at the pin
    (`pin.oracle`) and the market prices the cascade starts from (`pin.market`)."""
    rows: list[tuple] = []
    for m in credit_markets(book):
        cb = m.credit
        open_ = np.flatnonzero(m.debt > 0)
        if not len(open_):
            continue
        answers = np.array([pin.oracle(leg) for leg in cb.legs])
        twv, debt_usd = _health(m, m.collateral_amount, m.debt, answers, cb.caps)
        market = np.array([pin.market(t) for t in cb.tokens])
        p_loan = pin.market(m.loan)
        for i in open_.tolist():
            amounts = m.collateral_amount[i]
            col_usd = float(amounts @ market)
            liquidatable = bool(m.rules.liquidatable(twv[i], debt_usd[i]))
            bad = max(cb.owed[i] * p_loan - col_usd, 0.0)
            if liquidatable:
                done = m.rules.liquidate_account(amounts * answers, answers[cb.underlying], cb.tokens, m.debt.item(i),
                                                 cb.owed.item(i), m.params, cb.lts)  # fmt: skip
                if done.repaid >= m.debt.item(i):  # it closes the account: its loss is what the lenders and reserves lose
                    bad = done.loss * p_loan
            rows.append((m.key, m.protocol, m.accounts[i], "+".join(sorted(cb.held(amounts))), m.loan, m.debt.item(i) * p_loan,
                         col_usd, float(twv[i] / debt_usd[i]), liquidatable, None, None, bad))  # fmt: skip
    return rows


def held(m: MarketBook) -> set[str]:
    """The tokens some account of a credit market holds against its debt: the loan token an account
    keeps is not among them (it pays its own debt, whatever its price)."""
    posted = (m.collateral_amount > 0).any(axis=0).tolist()
    return {t for t, any_ in zip(m.credit.tokens, posted, strict=True) if any_ and t != m.loan}


def collateral_usd(book: Book, m: MarketBook, account: str) -> float:
    """One credit account's collateral at the pin's starting prices (USD)."""
    amounts = m.collateral_amount[m.accounts.index(account)]
    return float(sum(a * book.p0.get(t, 0.0) for t, a in zip(m.credit.tokens, amounts.tolist(), strict=True)))
