"""Truth for the solver's credit accounts (issue 20, item 5) on the Gearbox devnet: the first
liquidation δ₁ the solver finds for each account brackets the contracts' own
`liquidateCreditAccount`, for an account on one token and one whose xUSD is capped by its quota,
with sdeUSD beside it and USDC kept on it. With xUSD's feed at (1 − δ₁ + 1 bp) the facade reverts
`CreditAccountNotLiquidatableException`; at (1 − δ₁ − 1 bp) it liquidates the account.

The solver's δ₁ is a market depeg of the token; Gearbox's feeds are unclassified (`unknown`), so
the solver moves them with the market price. stream-2025's Gearbox accounts are held to the same
bracket with every other position there (tests/solver/test_threshold_truth.py).
"""

from __future__ import annotations

import pytest
from gearbox_devnet import DOLLAR, deployments, liquidate, set_prices

from loopscan.devnet.chain import TxReverted
from loopscan.scanner import index
from loopscan.solver import Solver, build_book

pytestmark = pytest.mark.devnet


def test_first_liquidation_brackets_the_contract_with_a_quota_cap_and_kept_underlying(gearbox_net):
    """The Gearbox devnet's two accounts: one on xUSD alone; one on xUSD capped by its quota, sdeUSD
    and USDC kept on the account (weighted at 1 − premium − fee). For each, the solver's δ₁ of an
    xUSD depeg brackets `liquidateCreditAccount` with xUSD's feed at (1 − δ₁ ± 1 bp) × $1."""
    net = gearbox_net
    snap = index(net.chain.node.url, deployments=deployments(net))
    solver = Solver(build_book(snap))
    cm = net.gearbox.credit_manager.address.lower()
    found = solver.first_liquidation_by_position("depeg", net.xusd.address.lower())
    assert set(found) == {(f"{cm}:{cm}", a.lower()) for a in (net.account, net.mixed_account)}
    liquidator = net.chain.account("gearbox-liquidator")
    t = snap.meta.block_timestamp + 60
    for account in (net.account, net.mixed_account):
        delta = found[(f"{cm}:{cm}", account.lower())]
        saved = net.chain.node.snapshot()
        try:
            set_prices(net, {"xUSD": int(DOLLAR * (1 - delta + 1e-4))}, t)
            with pytest.raises(TxReverted, match=r"CreditAccountNotLiquidatableException\(\)$"):
                liquidate(net, account, liquidator, 2 * 10**6 * 10**6, t + 60)
            set_prices(net, {"xUSD": int(DOLLAR * (1 - delta - 1e-4))}, t + 120)
            liquidate(net, account, liquidator, 2 * 10**6 * 10**6, t + 180)
            assert net.gearbox.credit_manager.functions.creditAccountInfo(account).call()[0] == 0
        finally:
            net.chain.node.revert(saved)
    # The quota binds: the mixed account's xUSD counts its quota until its value × LT falls below it,
    # so its δ₁ (≈ 36.7 %) is far past the other's (≈ 5.6 %).
    assert found[(f"{cm}:{cm}", net.mixed_account.lower())] > 0.3 > 0.1 > found[(f"{cm}:{cm}", net.account.lower())]
