"""Gearbox v3.1's own contracts on the devnet against liquidation maths worked by hand here.

The hand computation follows the package's sources (`@gearbox-protocol/core-v3@1.52.1`):
interest from `PoolV3._calcBaseInterestIndex`, `QuotasLogic.cumulativeIndexSince` and
`CreditManagerV3._calcDebtAndCollateral`; values from `PriceOracleV3.convertToUSD/FromUSD` and
`CollateralLogic.calcOneTokenCollateral`; payments from `CreditLogic.calcLiquidationPayments`.
Every transaction of interest is mined at a timestamp the test sets, so interest is exact.
"""

from __future__ import annotations

import pytest
from gearbox_devnet import ACCOUNT_QUOTA, ACCOUNT_XUSD, XUSD_LT_BPS, liquidate, set_prices
from web3.logs import DISCARD

from loopscan.devnet.chain import TxReverted

RAY, BPS, YEAR = 10**27, 10_000, 365 * 86400
USDC_SCALE, XUSD_SCALE, USD_PER_USDC = 10**6, 10**18, 10**8  # token scales; the USDC feed's answer
pytestmark = pytest.mark.devnet


def _debt_at(net, t: int) -> tuple[int, int, int]:
    """(debt, accrued interest incl. quota interest, accrued fees) of the account at time `t`."""
    g = net.gearbox
    pool, keeper, manager = g.pool.functions, g.quota_keeper.functions, g.credit_manager.functions
    debt, index_lu, quota_interest_lu, quota_fees, *_ = manager.creditAccountInfo(net.account).call()
    # PoolV3._calcBaseInterestIndex, CreditLogic.calcLinearGrowth
    growth = pool.baseInterestRate().call() * (t - pool.lastBaseInterestUpdate().call()) // YEAR
    index_now = pool.baseInterestIndexLU().call() * (RAY + growth) // RAY
    interest = debt * index_now // index_lu - debt  # CreditLogic.calcAccruedInterest
    # QuotasLogic.cumulativeIndexSince / calcAccruedQuotaInterest
    rate, token_index_lu, *_ = keeper.getTokenQuotaParams(net.xusd.address).call()
    token_index = token_index_lu + RAY // BPS * (t - keeper.lastQuotaRateUpdate().call()) * rate // YEAR
    quota, account_index = keeper.getQuota(net.account, net.xusd.address).call()
    quota_interest = quota * (token_index - account_index) // RAY + quota_interest_lu - 1
    fee_interest = manager.fees().call()[0]
    fees = quota_fees + interest * fee_interest // BPS + quota_interest * fee_interest // BPS
    return debt, interest + quota_interest, fees


def _weighted_usd(price: int) -> int:
    """The account's LT-weighted value in USD (8 decimals) with xUSD at `price`: its only asset."""
    value = ACCOUNT_XUSD * price // XUSD_SCALE
    quota_usd = ACCOUNT_QUOTA * (RAY * USD_PER_USDC // USDC_SCALE) // RAY
    return min(value * XUSD_LT_BPS // BPS, quota_usd)


def _threshold_price(total_debt: int) -> int:
    """The lowest xUSD answer at which the account is not liquidatable (twvUSD ≥ totalDebtUSD)."""
    debt_usd = total_debt * USD_PER_USDC // USDC_SCALE
    price = debt_usd * BPS * XUSD_SCALE // (XUSD_LT_BPS * ACCOUNT_XUSD)
    while _weighted_usd(price) < debt_usd:
        price += 1
    while _weighted_usd(price - 1) >= debt_usd:
        price -= 1
    return price


def test_healthy_account_is_not_liquidatable(gearbox_net):
    liquidator = gearbox_net.chain.account("gearbox-liquidator")
    t = gearbox_net.chain.block()["timestamp"] + 3600
    with pytest.raises(
        TxReverted, match=r"^liquidateCreditAccount reverted: CreditAccountNotLiquidatableException\(\)$"
    ):
        liquidate(gearbox_net, gearbox_net.account, liquidator, 10**6 * USDC_SCALE, t)


def test_liquidation_starts_one_feed_unit_below_the_hand_computed_threshold(gearbox_net):
    net, liquidator = gearbox_net, gearbox_net.chain.account("gearbox-liquidator")
    t = net.chain.block()["timestamp"] + 30 * 86400  # a month of base and quota interest
    debt, interest, fees = _debt_at(net, t)
    assert interest > 0 and fees > 0
    threshold = _threshold_price(debt + interest + fees)
    # above 850k / (0.9 × 1M) dollars per xUSD by the month's interest and fees (under 1 %)
    assert 94_444_445 < threshold < 95_400_000
    set_prices(net, {"xUSD": threshold}, t - 60)
    with pytest.raises(TxReverted, match=r"CreditAccountNotLiquidatableException\(\)$"):
        liquidate(net, net.account, liquidator, 10**6 * USDC_SCALE, t)
    set_prices(net, {"xUSD": threshold - 1}, t - 30)
    receipt = liquidate(net, net.account, liquidator, 10**6 * USDC_SCALE, t)
    facade = net.gearbox.credit_facade
    (event,) = facade.events.LiquidateCreditAccount().process_receipt(receipt, errors=DISCARD)
    assert event["args"]["creditAccount"] == net.account
    assert net.gearbox.credit_manager.functions.creditAccountInfo(net.account).call()[0] == 0


def test_payments_equal_calc_liquidation_payments_worked_by_hand(gearbox_net):
    net, g = gearbox_net, gearbox_net.gearbox
    liquidator = net.chain.account("gearbox-liquidator")
    price = 93_000_000  # $0.93: below the ≈ $0.944 threshold, above bad debt
    t = net.chain.block()["timestamp"] + 7 * 86400
    set_prices(net, {"xUSD": price}, t - 60)
    debt, interest, fees = _debt_at(net, t)

    # CreditLogic.calcLiquidationPayments with the facade's normal (not expired) fees.
    fee_interest, fee_liquidation, discount, *_ = g.credit_manager.functions.fees().call()
    assert (fee_interest, fee_liquidation, discount) == (2_500, 150, 9_600)
    total_value = (ACCOUNT_XUSD * price // XUSD_SCALE) * USDC_SCALE // USD_PER_USDC  # convertFromUSD
    total_funds = total_value * discount // BPS
    to_pool = debt + interest + fees + total_value * fee_liquidation // BPS
    assert total_funds > to_pool  # no loss at this price
    owner_funds = total_funds - to_pool
    profit = to_pool - (debt + interest)

    extra = 1_234 * USDC_SCALE  # paid in above what is needed: must come back to the liquidator
    receipt = liquidate(net, net.account, liquidator, total_funds + extra, t)
    usdc_moves = {
        (e["args"]["from"], e["args"]["to"]): e["args"]["value"]
        for e in net.usdc.events.Transfer().process_receipt(receipt, errors=DISCARD)
        if e["address"] == net.usdc.address  # the pool's own share mints share the event's signature
    }
    assert usdc_moves == {
        (liquidator, net.account): total_funds + extra,
        (net.account, g.pool.address): to_pool,
        (net.account, liquidator): extra,
    }
    assert net.usdc.functions.balanceOf(net.account).call() == owner_funds
    assert net.xusd.functions.balanceOf(liquidator).call() == ACCOUNT_XUSD
    # The liquidator paid total_funds for collateral worth total_value: the 4 % premium.
    assert total_value - total_funds == total_value * 400 // BPS
    (repay,) = g.pool.events.Repay().process_receipt(receipt, errors=DISCARD)
    assert (repay["args"]["borrowedAmount"], repay["args"]["profit"], repay["args"]["loss"]) == (debt, profit, 0)
    (event,) = g.credit_facade.events.LiquidateCreditAccount().process_receipt(receipt, errors=DISCARD)
    assert event["args"]["remainingFunds"] == owner_funds
    assert g.credit_manager.functions.creditAccountInfo(net.account).call()[0] == 0
