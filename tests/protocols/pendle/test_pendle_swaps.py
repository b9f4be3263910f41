"""PT sales into Pendle's own market on the devnet equal `loopscan.protocols.pendle.maths` to the wei:
the SY paid out, the fee, the treasury's part and the market's state afterwards."""

from __future__ import annotations

import pytest
from pendle_devnet import E, read_state

from loopscan.devnet.chain import TxReverted
from loopscan.protocols.pendle.devnet import sell_pt
from loopscan.protocols.pendle.logexp import PendleMathError
from loopscan.protocols.pendle.maths import pt_to_asset_rate, swap_exact_pt_for_sy

DAY = 86_400


def _py_index(net) -> int:
    """What the market's `YT.newIndex()` will use: the larger of the SY's rate and the stored index."""
    m = net.market
    return max(m.sy.functions.exchangeRate().call(), m.yt.functions.pyIndexStored().call())


def _sell_and_check(net, amount: int):
    before, index = read_state(net), _py_index(net)
    sale = sell_pt(net.chain, net.market, net.seller, amount)
    ours = swap_exact_pt_for_sy(before, index, amount, sale.timestamp)
    assert (sale.net_sy_out, sale.net_sy_fee, sale.net_sy_to_reserve) == (
        ours.net_sy_out, ours.net_sy_fee, ours.net_sy_to_reserve
    )  # fmt: skip
    assert read_state(net) == ours.state
    return before, index, sale


@pytest.mark.parametrize("days_later", [0, 30, 89])
def test_sales_of_every_size_equal_the_markets_swaps(pendle_net, days_later):
    # Time to expiry moves the rate scalar, the anchor and the fee: the same sales 0, 30 and 89
    # days in (the market expires at day 90, rounded down to a whole day).
    if days_later:
        pendle_net.chain.increase_time(days_later * DAY)
    for amount in (10**15, 12_345 * E + 6789, 600_000 * E, 6_000_000 * E, 20_000_000 * E):
        _sell_and_check(pendle_net, amount)


def test_a_6m_sale_costs_about_2_percent(pendle_net):
    # The calibration the scenario rests on (Chaos Labs, Aave governance, 25 Nov 2025: 6M PT-sUSDe
    # sold for USDe at ~2 % slippage), measured on the market itself against its pre-trade price.
    amount = 6_000_000 * E
    before, index, sale = _sell_and_check(pendle_net, amount)
    spot = pt_to_asset_rate(before.last_ln_implied_rate, before.expiry, sale.timestamp)
    received_assets = sale.net_sy_out * index // E
    impact = 1 - received_assets / (amount * spot // E)
    assert 0.015 < impact < 0.025, impact


def test_a_sale_too_large_for_the_curve_reverts_as_ours_raises(pendle_net):
    # 93M PT more in a pool of 100M PT and 100M of asset: (100 + 93) / 200 > 96 % PT.
    before, index = read_state(pendle_net), _py_index(pendle_net)
    amount = 93_000_000 * E
    with pytest.raises(TxReverted, match="MarketProportionTooHigh"):
        sell_pt(pendle_net.chain, pendle_net.market, pendle_net.seller, amount)
    with pytest.raises(PendleMathError, match="MarketProportionTooHigh"):
        swap_exact_pt_for_sy(before, index, amount, pendle_net.chain.block()["timestamp"])


def test_after_expiry_the_market_refuses_and_so_do_we(pendle_net):
    expiry = pendle_net.market.expiry
    pendle_net.chain.increase_time(expiry - pendle_net.chain.block()["timestamp"])
    before, index = read_state(pendle_net), _py_index(pendle_net)
    with pytest.raises(TxReverted, match="MarketExpired"):
        sell_pt(pendle_net.chain, pendle_net.market, pendle_net.seller, 1_000 * E)
    with pytest.raises(PendleMathError, match="MarketExpired"):
        swap_exact_pt_for_sy(before, index, 1_000 * E, expiry)
