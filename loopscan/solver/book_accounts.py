"""The Book's credit accounts: markets of ``account`` margin (one debt, several collaterals, each
with its own oracle and liquidation threshold, protocol-specific caps: Gearbox v3's credit
managers, Compound v3's Comets, Euler v2's controller vaults), as arrays the cascade reads (`accounts`).

Per such market the `MarketBook` carries `collateral_amount` as an accounts × tokens matrix
(whole tokens), `debt` per account (the total debt, loan tokens) and `credit`: the tokens, each
token's oracle as a market of its own (a *leg*: quoted in the numeraire, so that `Pricer.oracle`
moves it with the cascade exactly as any other market's oracle), the LTs, the protocol's caps per
account and token (`rules.caps`: Gearbox's quotas), what the pool is owed of each debt
(`rules.owed`: the total less fees) and the protocol's reserves (`rules.reserves`: a Comet's).
A protocol that does not list its loan token among the collaterals (Comet, Euler) has it as a
column all the same, priced by the market's own feed of it, held by no account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from loopscan.solver.book import MarketBook

__all__ = ["CreditBook", "credit_positions"]


@dataclass
class CreditBook:
    tokens: list[str]  # every collateral token of the market (the loan token among them), as `collateral_amount`'s columns
    legs: list[MarketBook]  # each token's oracle, a market of its own quoted in the numeraire
    underlying: int  # the loan token's column: its oracle prices the debt and the caps
    lts: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per token, fractions
    caps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # accounts × tokens, loan tokens (inf: no cap)
    owed: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per account: debt + interest, loan tokens
    loan_priced_apart: bool = False  # the loan token is no collateral: its column is the market's own price of it
    reserves: float = 0.0  # the protocol's own money that absorbs a loss before its lenders (loan tokens, `rules.reserves`)

    def held(self, amounts: np.ndarray) -> list[str]:
        """The tokens of one account's row of `collateral_amount` that it holds."""
        return [t for t, a in zip(self.tokens, amounts.tolist(), strict=True) if a > 0]


def credit_positions(m: MarketBook, accounts: list[str], debt_raw: list[int], posted: dict[tuple, int],
                     where: tuple[str, str], decimals: dict[str, int]) -> None:  # fmt: skip
    """Fill an account-margin market's positions from the snapshot's rows: `posted` maps
    (protocol address, market id, account, token) to raw amounts, `where` is (protocol address,
    market id)."""
    cb = m.credit
    dl = 10 ** decimals.get(m.loan, 18)
    scale = np.array([10 ** decimals.get(t, 18) for t in cb.tokens], dtype=float)
    m.accounts = accounts
    m.collateral_amount = np.array([[posted.get((*where, a, t), 0) for t in cb.tokens] for a in accounts],
                                   dtype=float).reshape(len(accounts), len(cb.tokens)) / scale  # fmt: skip
    total = np.array([int(x) for x in debt_raw], dtype=float)
    m.debt = total / dl
    cb.lts = np.array([leg.lltv for leg in cb.legs])
    cb.caps = m.rules.caps(m.params, accounts, cb.tokens, m.loan) / dl
    cb.owed = m.rules.owed(m.params, accounts, total) / dl
    cb.reserves = max(m.rules.reserves(m.params), 0) / dl  # a Comet's reserves below zero absorb nothing
