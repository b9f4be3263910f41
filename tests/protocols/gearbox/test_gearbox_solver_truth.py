"""Truth for the solver's credit accounts (issue 20, item 5) on stream-2025's devnet and on the
Gearbox devnet (an account capped by its quota, with USDC kept on it): the first
liquidation δ₁ the solver finds for each Gearbox account brackets the contracts' own
`liquidateCreditAccount`. With the account's collateral feed moved by δ₁ − 1 bp the facade reverts
`CreditAccountNotLiquidatableException`; moved by δ₁ + 1 bp it liquidates the account.

The solver's δ₁ is a market depeg of the token; Gearbox's feeds are unclassified (`unknown`), so
the solver moves them with the market price: the test moves the feed the credit manager reads
(xUSD's own feed; for sdeUSD, the deUSD feed under its book-value feed).
"""

from __future__ import annotations

import asyncio

import pytest
from devnet_helpers import contract
from gearbox_devnet import DOLLAR, deployments, liquidate, set_prices

from loopscan.chains import from_devnet_manifest
from loopscan.devnet.build import Artifacts
from loopscan.devnet.chain import TxReverted
from loopscan.scanner import index, index_async
from loopscan.solver import Solver, build_book

pytestmark = pytest.mark.devnet
LIQUIDATE = "liquidateCreditAccount(address,address,(address,bytes)[])"  # overloaded: no loss policy data
FEED = {"xUSD": "xUSD/USD", "sdeUSD": "deUSD/USD"}  # the feed under each collateral's Gearbox price


def _liquidate(net, account: str) -> None:
    """`liquidateCreditAccount`: pay in twice the debt in USDC (the facade returns what is not
    needed), take every token the account holds."""
    m, chain = net.manifest, net.chain
    liquidator = chain.account("gearbox-truth-liquidator")
    manager = contract(net, m["contracts"]["gearbox_credit_manager"], "gearbox", "CreditManagerV3")
    facade = contract(net, m["contracts"]["gearbox_credit_facade"], "gearbox", "CreditFacadeV3")
    chain.register_errors(facade.abi)  # a devnet loaded from its cache has deployed nothing this session
    encoder = chain.w3.eth.contract(address=facade.address, abi=Artifacts().compiled("gearbox", "ICreditFacadeV3Multicall").abi)
    usdc = contract(net, m["tokens"]["USDC"]["address"], "loopscan", "ScenarioToken")
    pay = 2 * manager.functions.creditAccountInfo(account).call()[0]
    chain.send(usdc.functions.mint(liquidator, pay), chain.deployer, "mint USDC")
    chain.send(usdc.functions.approve(manager.address, pay), liquidator, "approve")
    calls = [(facade.address, bytes.fromhex(encoder.encode_abi("addCollateral", args=[usdc.address, pay])[2:]))]
    for token in ("xUSD", "sdeUSD"):
        address = m["tokens"][token]["address"]
        held = contract(net, address, "loopscan", "ScenarioToken").functions.balanceOf(account).call()
        if held:
            call = encoder.encode_abi("withdrawCollateral", args=[address, held, liquidator])
            calls.append((facade.address, bytes.fromhex(call[2:])))
    chain.send(facade.get_function_by_signature(LIQUIDATE)(account, liquidator, calls), liquidator, "liquidateCreditAccount")


def test_each_accounts_first_liquidation_brackets_liquidate_credit_account(stream):
    m = stream.manifest
    snap = asyncio.run(index_async(stream.url, deployments=from_devnet_manifest(m), block=m["block"]))
    solver = Solver(build_book(snap))
    cm = m["contracts"]["gearbox_credit_manager"].lower()
    keeper = stream.chain.account("feed-keeper")
    manager = contract(stream, m["contracts"]["gearbox_credit_manager"], "gearbox", "CreditManagerV3")
    checked = []
    for p in m["positions"]["gearbox"]:
        token = m["tokens"][p["collateral"]]["address"].lower()
        delta = solver.first_liquidation_by_position("depeg", token)[(f"{cm}:{cm}", p["credit_account"].lower())]
        feed = contract(stream, m["feeds"][FEED[p["collateral"]]]["address"], "loopscan", "PriceFeed")
        answer = feed.functions.latestAnswer().call()
        saved = stream.snapshot()
        try:
            stream.chain.send(feed.functions.setAnswer(int(answer * (1 - delta + 1e-4))), keeper, "setAnswer")
            with pytest.raises(TxReverted, match=r"CreditAccountNotLiquidatableException\(\)$"):
                _liquidate(stream, p["credit_account"])
            stream.chain.send(feed.functions.setAnswer(int(answer * (1 - delta - 1e-4))), keeper, "setAnswer")
            _liquidate(stream, p["credit_account"])
            assert manager.functions.creditAccountInfo(p["credit_account"]).call()[0] == 0  # closed: no debt left
        finally:
            stream.revert(saved)
        # One token, its quota not binding: the weighted value is linear in the price, so the
        # contract's own values put δ₁ at 1 − debt / weighted value; the bisection ends within 1 bp above.
        debt_usd, twv_usd = (manager.functions.calcDebtAndCollateral(p["credit_account"], 3).call(block_identifier=m["block"])[i]
                             for i in (6, 9))  # fmt: skip
        assert 1 - debt_usd / twv_usd <= delta <= 1 - debt_usd / twv_usd + 1e-4 + 1e-9
        checked.append(p["collateral"])
    assert sorted(checked) == ["sdeUSD", "xUSD", "xUSD"]


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
