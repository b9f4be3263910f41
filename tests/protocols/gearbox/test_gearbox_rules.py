"""`loopscan.protocols.gearbox.rules`: literal inputs worked by hand, then Gearbox's own contracts
on the devnet (an account over two collaterals, one capped by its quota, plus some underlying)."""

from __future__ import annotations

import pytest
from gearbox_devnet import DOLLAR, MIXED, MIXED_KEEP, liquidate, send_at, set_prices
from web3.logs import DISCARD

from loopscan.devnet.chain import TxReverted
from loopscan.protocols.gearbox import rules
from loopscan.protocols.gearbox.rules import TokenPosition, Underlying

E18, E6 = 10**18, 10**6
USDC = Underlying(balance=100 * E6, price=DOLLAR, decimals=6)


def test_weighted_value_caps_each_token_at_its_quota_and_weights_the_underlying_at_its_lt():
    xusd = TokenPosition(balance=1_000 * E18, price=95_000_000, decimals=18, lt_bps=9_000, quota=10_000 * E6)
    # value $950.00000000; weighted 950 × 0.9 = $855 (quota $10,000 not binding); USDC $100 × 0.945
    assert rules.collateral_usd([xusd], USDC, 9_450) == (105_000_000_000, 85_500_000_000 + 9_450_000_000)
    capped = TokenPosition(1_000 * E18, 95_000_000, 18, 9_000, quota=500 * E6)  # the quota: $500
    assert rules.collateral_usd([capped], USDC, 9_450) == (105_000_000_000, 50_000_000_000 + 9_450_000_000)
    dust = TokenPosition(balance=10**12, price=99_999_999, decimals=18, lt_bps=9_000, quota=E6)
    assert rules.collateral_usd([dust], Underlying(0, DOLLAR, 6), 9_450) == (99, 89)  # 99.999999 → 99; × 0.9 → 89


def test_liquidation_payments_split_between_pool_owner_and_liquidator():
    # debt 1000 + interest 10 + fees 3; value 1200: pool 1013 + 1200 × 1.5 % = 1031; funds 1200 × 96 % = 1152
    assert rules.liquidation_payments(1_000, 10, 3, 1_200, 150, 9_600) == rules.LiquidationPayments(
        to_pool=1_031, remaining_funds=121, profit=21, loss=0, premium=48
    )
    # value 1000: funds 960 < 1028 owed to the pool: all of it goes there, 1010 − 960 is lost
    assert rules.liquidation_payments(1_000, 10, 3, 1_000, 150, 9_600) == rules.LiquidationPayments(
        to_pool=960, remaining_funds=0, profit=0, loss=50, premium=40
    )
    assert rules.has_bad_debt(1_000, 1_000, 10, 9_600) and not rules.has_bad_debt(1_053, 1_000, 10, 9_600)


def test_lt_ramp_and_underlying_lt():
    assert [rules.liquidation_threshold(9_000, 8_000, 1_000, 100, t) for t in (999, 1_000, 1_033, 1_050, 1_100, 2_000)] == [
        9_000, 9_000, 8_670, 8_500, 8_000, 8_000,
    ]  # fmt: skip
    assert rules.lt_underlying(400, 150) == 9_450


def test_threshold_price_is_the_lowest_healthy_answer():
    xusd = TokenPosition(balance=1_000_000 * E18, price=DOLLAR, decimals=18, lt_bps=9_000, quota=2_000_000 * E6)
    none = Underlying(0, DOLLAR, 6)
    # weighted = 10^6 × p × 0.9 = 900,000 p ≥ 850,000 × 10^8 ⇔ p ≥ 94,444,444.4…
    assert rules.threshold_price(xusd, [], none, 9_450, 850_000 * E6) == 94_444_445
    # 900,000 p ≥ 900,000 × 10^8 holds with equality at $1: equal is healthy (strict `<`, CreditFacadeV3:981)
    assert rules.threshold_price(xusd, [], none, 9_450, 900_000 * E6) == DOLLAR
    assert not rules.is_liquidatable(100, 100) and rules.is_liquidatable(99, 100)
    capped = TokenPosition(1_000_000 * E18, DOLLAR, 18, 9_000, quota=800_000 * E6)
    assert rules.threshold_price(capped, [], none, 9_450, 850_000 * E6) is None
    assert rules.threshold_price(xusd, [], Underlying(10**6 * E6, DOLLAR, 6), 9_450, 850_000 * E6) == 0


# -- against the contracts --------------------------------------------------------------------
def _positions(net, account: str) -> tuple[dict[str, TokenPosition], Underlying, int]:
    """The account's collateral as the rules take it, read from the contracts at the latest block."""
    g = net.gearbox
    oracle, manager, keeper = g.price_oracle.functions, g.credit_manager.functions, g.quota_keeper.functions
    tokens = {}
    for token in (net.xusd, net.sdeusd):
        tokens[token.functions.symbol().call()] = TokenPosition(
            balance=token.functions.balanceOf(account).call(),
            price=oracle.getPrice(token.address).call(),
            decimals=18,
            lt_bps=manager.liquidationThresholds(token.address).call(),
            quota=keeper.getQuota(account, token.address).call()[0],
        )
    usdc = Underlying(net.usdc.functions.balanceOf(account).call(), oracle.getPrice(net.usdc.address).call(), 6)
    return tokens, usdc, manager.liquidationThresholds(net.usdc.address).call()


DEBT_ONLY, DEBT_COLLATERAL = 1, 3  # ICreditManagerV3.CollateralCalcTask


def _debt_collateral_at(net, account: str, t: int, task: int = DEBT_COLLATERAL) -> tuple:
    """`CreditManagerV3.calcDebtAndCollateral(account, task)` in a block at time `t`."""
    net.chain.node.rpc("evm_setNextBlockTimestamp", [t])
    manager = net.gearbox.credit_manager.functions
    return manager.calcDebtAndCollateral(account, task).call(block_identifier="pending")


@pytest.mark.devnet
def test_collateral_and_debt_equal_the_credit_managers(gearbox_net):
    net = gearbox_net
    tokens, usdc, lt_usdc = _positions(net, net.mixed_account)
    fee_interest, fee_liquidation, discount, *_ = net.gearbox.credit_manager.functions.fees().call()
    assert lt_usdc == rules.lt_underlying(10_000 - discount, fee_liquidation) == 9_450
    assert usdc.balance == MIXED_KEEP and tokens["xUSD"].quota == MIXED["xUSD"][1]
    t = net.chain.block()["timestamp"] + 3600
    cdd = _debt_collateral_at(net, net.mixed_account, t)
    debt, accrued_interest, accrued_fees, total_debt_usd, total_value, total_value_usd, twv_usd = (
        cdd[0], cdd[4], cdd[5], cdd[6], cdd[7], cdd[8], cdd[9]
    )  # fmt: skip
    total_usd, weighted_usd = rules.collateral_usd(tokens.values(), usdc, lt_usdc)
    # xUSD: min($360k, quota $300k); sdeUSD: $500k × 0.85; USDC: $50k × 0.945
    assert weighted_usd == (300_000 + 425_000 + 47_250) * DOLLAR
    assert (total_usd, weighted_usd) == (total_value_usd, twv_usd)
    assert rules.convert_from_usd(total_usd, usdc.price, 6) == total_value
    total = rules.total_debt(debt, accrued_interest, accrued_fees)
    assert rules.convert_to_usd(total, usdc.price, 6) == total_debt_usd
    assert not rules.is_liquidatable(twv_usd, total_debt_usd)


@pytest.mark.devnet
def test_threshold_and_payments_of_a_multi_collateral_account_match_the_contracts(gearbox_net):
    net, g = gearbox_net, gearbox_net.gearbox
    liquidator = net.chain.account("gearbox-liquidator")
    t = net.chain.block()["timestamp"] + 14 * 86400
    # DEBT_ONLY: the feeds are two weeks stale until `set_prices`, and the debt does not need them
    debt, _, _, _, accrued_interest, accrued_fees, *_ = _debt_collateral_at(net, net.mixed_account, t, DEBT_ONLY)
    tokens, usdc, lt_usdc = _positions(net, net.mixed_account)
    total = rules.total_debt(debt, accrued_interest, accrued_fees)
    threshold = rules.threshold_price(tokens["sdeUSD"], [tokens["xUSD"]], usdc, lt_usdc, total)
    assert 82_900_000 < threshold < 84_000_000  # ≈ (700k − 300k − 47.25k) / 425k, plus two weeks of interest

    set_prices(net, {"sdeUSD": threshold}, t - 60)
    with pytest.raises(TxReverted, match=r"CreditAccountNotLiquidatableException\(\)$"):
        liquidate(net, net.mixed_account, liquidator, 10**6 * E6, t)

    set_prices(net, {"sdeUSD": threshold - 1}, t - 30)
    tokens, usdc, lt_usdc = _positions(net, net.mixed_account)
    total_usd, _ = rules.collateral_usd(tokens.values(), usdc, lt_usdc)
    fee_interest, fee_liquidation, discount, *_ = g.credit_manager.functions.fees().call()
    pay = rules.liquidation_payments(
        debt,
        accrued_interest,
        accrued_fees,
        rules.convert_from_usd(total_usd, usdc.price, 6),
        fee_liquidation,
        discount,
    )
    assert pay.loss == 0 and pay.remaining_funds > 0
    funds = pay.to_pool + pay.remaining_funds
    extra = 777 * E6
    receipt = liquidate(net, net.mixed_account, liquidator, funds + extra, t)

    moves = {
        (e["args"]["from"], e["args"]["to"]): e["args"]["value"]
        for e in net.usdc.events.Transfer().process_receipt(receipt, errors=DISCARD)
        if e["address"] == net.usdc.address
    }
    assert moves == {
        (liquidator, net.mixed_account): funds + extra,
        (net.mixed_account, g.pool.address): pay.to_pool,
        (net.mixed_account, liquidator): MIXED_KEEP + extra,  # the kept USDC was part of the value
    }
    assert net.usdc.functions.balanceOf(net.mixed_account).call() == pay.remaining_funds
    (repay,) = g.pool.events.Repay().process_receipt(receipt, errors=DISCARD)
    assert (repay["args"]["profit"], repay["args"]["loss"]) == (pay.profit, pay.loss)


def test_partial_liquidation_converts_then_divides_by_the_discount():
    # 1,000 USDC → sdeUSD at $0.80: 1,250 sdeUSD, / 0.96 → 1,302.083… (rounded down); fee 1.5 % of the amount
    assert rules.partial_liquidation(1_000 * E6, USDC, 80_000_000, 18, 150, 9_600) == rules.PartialLiquidation(
        repaid=985 * E6, fee=15 * E6, seized=1_302_083_333_333_333_333_333
    )


@pytest.mark.devnet
def test_partial_liquidation_pays_and_seizes_what_the_rules_say(gearbox_net):
    net, g = gearbox_net, gearbox_net.gearbox
    liquidator = net.chain.account("gearbox-liquidator")
    t = net.chain.block()["timestamp"] + 14 * 86400
    price = 80_000_000  # sdeUSD at $0.80: below its ≈ $0.83 threshold
    set_prices(net, {"sdeUSD": price}, t - 60)
    # The liquidator's USDC is minted and approved before t: a block mined after `t` is set would
    # take t or later (a second later on a busy machine), and the liquidation must be mined at t.
    net.chain.send(net.usdc.functions.mint(liquidator, 300_000 * E6), net.chain.deployer, "mint USDC")
    net.chain.send(net.usdc.functions.approve(g.credit_manager.address, 300_000 * E6), liquidator, "approve")
    debt, _, _, _, interest, fees, *_ = _debt_collateral_at(net, net.mixed_account, t, DEBT_ONLY)
    tokens, usdc, _ = _positions(net, net.mixed_account)
    _, fee_liquidation, discount, *_ = g.credit_manager.functions.fees().call()

    def partially_liquidate(amount: int) -> dict:
        call = g.credit_facade.functions.partiallyLiquidateCreditAccount(
            net.mixed_account, net.sdeusd.address, amount, 0, liquidator, []
        )
        return send_at(net.chain, call, liquidator, t, "partiallyLiquidateCreditAccount")

    # Repaying 100k removes 100k / 0.96 × 0.8 × 0.85 ≈ 88.5k of weighted value: still unhealthy.
    with pytest.raises(TxReverted, match=r"NotEnoughCollateralException\(\)$"):
        partially_liquidate(100_000 * E6)
    amount = 200_000 * E6
    expected = rules.partial_liquidation(amount, usdc, price, 18, fee_liquidation, discount)
    receipt = partially_liquidate(amount)
    (event,) = g.credit_facade.events.PartiallyLiquidateCreditAccount().process_receipt(receipt, errors=DISCARD)
    assert (event["args"]["repaidDebt"], event["args"]["fee"], event["args"]["seizedCollateral"]) == (
        expected.repaid,
        expected.fee,
        expected.seized,
    )
    assert net.sdeusd.functions.balanceOf(liquidator).call() == expected.seized
    assert net.usdc.functions.balanceOf(g.treasury).call() == expected.fee
    assert expected.repaid > interest + fees  # so the total debt falls by exactly `repaid`
    after = g.credit_manager.functions.calcDebtAndCollateral(net.mixed_account, DEBT_ONLY).call()  # still at t
    assert rules.total_debt(after[0], after[4], after[5]) == rules.total_debt(debt, interest, fees) - expected.repaid
    assert tokens["sdeUSD"].balance - expected.seized == net.sdeusd.functions.balanceOf(net.mixed_account).call()
