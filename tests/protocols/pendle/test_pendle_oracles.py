"""Pendle's PT feeds on the devnet: read and classified, their answers equal our formulas to the wei,
and a 6M PT sale shows what each kind does with a sell-off — the linear-discount feed does not move
(a hidden loss), the TWAP feed reaches the market's new price one window later."""

from __future__ import annotations

import pytest
from pendle_devnet import E, read_at_latest, read_state

from loopscan.devnet.build import Artifacts
from loopscan.protocols.pendle.devnet import sell_pt
from loopscan.protocols.pendle.devnet_feeds import linear_discount_oracle, twap_oracle
from loopscan.protocols.pendle.maths import pt_to_asset_rate
from loopscan.protocols.pendle.oracles import (
    fetch_pt_oracles,
    linear_discount_price,
    twap_ln_implied_rate,
    twap_pt_to_asset_price,
)  # fmt: skip

WINDOW = 900  # a 15-minute TWAP
DISCOUNT = 12 * 10**16  # 12 % a year, about the market's implied rate when the feed is made
SALE = 6_000_000 * E


@pytest.fixture
def feeds(pendle_net):
    artifacts = Artifacts()
    m = pendle_net.market
    ld = linear_discount_oracle(pendle_net.chain, artifacts, pendle_net.core, m.pt.address, DISCOUNT)
    twap = twap_oracle(pendle_net.chain, artifacts, pendle_net.core, m, WINDOW)
    return ld, twap


def _answer(feed) -> tuple[int, int]:
    """The feed's answer and the timestamp of the block it was read at."""
    block = feed.w3.eth.get_block("latest")
    return feed.functions.latestRoundData().call(block_identifier=block["number"])[1], block["timestamp"]


def _twap_ours(net, now: int) -> int:
    m = net.market
    cumulative = m.market.functions.observe([WINDOW, 0]).call()
    rate = twap_ln_implied_rate(cumulative[0], cumulative[1], WINDOW)
    sy_rate = m.sy.functions.exchangeRate().call()
    py_index = max(sy_rate, m.yt.functions.pyIndexStored().call())
    return twap_pt_to_asset_price(rate, m.expiry, now, sy_rate, py_index)


def test_both_feeds_are_classified_and_read(pendle_net, feeds):
    ld, twap = feeds
    not_a_feed = pendle_net.market.sy.address
    found, ctx = read_at_latest(pendle_net, lambda c: fetch_pt_oracles(c, {ld.address, twap.address, not_a_feed}))
    assert not ctx.missing and set(found) == {ld.address.lower(), twap.address.lower()}
    got_ld, got_twap = found[ld.address.lower()], found[twap.address.lower()]
    assert (got_ld.kind, got_ld.pt, got_ld.maturity, got_ld.base_discount_per_year) == (
        "linear_discount", pendle_net.market.pt.address.lower(), pendle_net.market.expiry, DISCOUNT
    )  # fmt: skip
    assert (got_twap.kind, got_twap.market, got_twap.twap_window, got_twap.quote) == (
        "amm_twap", pendle_net.market.market.address.lower(), WINDOW, "pt_to_asset"
    )  # fmt: skip
    assert got_ld.answer == ld.functions.latestRoundData().call()[1]
    assert got_twap.answer == twap.functions.latestRoundData().call()[1]


def test_a_sell_off_moves_the_twap_after_its_window_and_the_linear_discount_never(pendle_net, feeds):
    ld, twap = feeds
    net, expiry = pendle_net, pendle_net.market.expiry
    ld_before, t0 = _answer(ld)
    assert ld_before == linear_discount_price(DISCOUNT, expiry, t0)
    twap_before, _ = _answer(twap)
    assert twap_before == _twap_ours(net, t0)

    sale = sell_pt(net.chain, net.market, net.seller, SALE)
    market_after = pt_to_asset_rate(read_state(net).last_ln_implied_rate, expiry, sale.timestamp)
    assert market_after < twap_before * 985 // 1000  # the sale took the PT's market price down ~1.9 %

    for elapsed in (1, WINDOW // 2, WINDOW, 3 * WINDOW):
        net.chain.increase_time(sale.timestamp + elapsed - net.chain.block()["timestamp"])
        ld_now, now = _answer(ld)
        twap_now, _ = _answer(twap)
        # The linear discount moved only by the time that passed: the sale is invisible to it.
        assert ld_now == linear_discount_price(DISCOUNT, expiry, now) and ld_now >= ld_before
        assert twap_now == _twap_ours(net, now)
        # The TWAP reaches the market's price (at the new rate, priced to the time left) after a window.
        at_market = pt_to_asset_rate(read_state(net).last_ln_implied_rate, expiry, now)
        if elapsed < WINDOW:
            assert at_market < twap_now < twap_before + (ld_now - ld_before) + 1
        else:
            assert twap_now == at_market
