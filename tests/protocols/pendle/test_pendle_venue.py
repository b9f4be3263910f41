"""A Pendle market as its PT's exit venue (`loopscan.protocols.pendle.venue`), built from the indexer's
snapshot rows as the solver builds it, against the market on the devnet: what a sale pays equals the
market's own swap to the wei, the price after it equals the market's own PT/SY rate, and the
largest sale the venue takes is the largest the market takes."""

from __future__ import annotations

from fractions import Fraction

import pytest
from pendle_devnet import E, deployments, read_at_latest

from loopscan.devnet.chain import TxReverted
from loopscan.model.frames import to_frame
from loopscan.protocols.pendle.devnet import sell_pt
from loopscan.protocols.pendle.indexer import plan
from loopscan.protocols.pendle.venue import PendleVenue, venues

SALES = (10**15, 12_345 * E + 6789, 600_000 * E, 6_000_000 * E, 20_000_000 * E)


def _venue(net) -> PendleVenue:
    """The venue as a scan at the latest block reads it; every later block keeps that block's time
    (the sales below happen at the pin's instant, as the solver prices them)."""
    net.chain.node.rpc("anvil_setBlockTimestampInterval", [0])
    (ix,) = plan(deployments(net), "pendle")

    async def read(ctx):
        return await ix.fetch(ctx)

    raw, ctx = read_at_latest(net, read)
    rows = ix.transform(raw, ctx.block)
    frames = {t: list(to_frame(t, rows[t]).itertuples()) for t in ("pool_coins", "market_params")}
    (pool,) = to_frame("pools", rows["pools"]).itertuples()
    (venue,) = venues(pool, frames, {})
    assert venue.now == ctx.timestamp == net.chain.block()["timestamp"]
    return venue


def _market_pt_to_sy(net) -> int:
    """The market's PT price in SY now by Pendle's own oracle (`PendlePYLpOracle.getPtToSyRate` with
    a duration of 0: from the market's last implied rate), 1e18."""
    return net.core.py_lp_oracle.functions.getPtToSyRate(net.market.market.address, 0).call()


def test_the_venue_is_the_markets_pt_for_sy(pendle_net):
    v = _venue(pendle_net)
    m = pendle_net.market
    assert (v.venue, v.address, v.token, v.quote) == ("pendle", m.market.address.lower(), m.pt.address.lower(), m.sy.address.lower())
    assert v.proven_on_node and v.liquidity == m.market.functions.readState(pendle_net.core.router.address).call()[1]
    assert v.price0 == pytest.approx(_market_pt_to_sy(pendle_net) / E, rel=1e-15)


@pytest.mark.parametrize("amount", SALES)
def test_a_sale_pays_what_the_market_pays_and_leaves_its_price(pendle_net, amount):
    v = _venue(pendle_net)
    sale = sell_pt(pendle_net.chain, pendle_net.market, pendle_net.seller, amount)
    assert sale.timestamp == v.now
    assert v.quote_out(amount) == sale.net_sy_out
    assert v.marginal_after(amount) == pytest.approx(_market_pt_to_sy(pendle_net) / E, rel=1e-15)


def test_sale_to_a_price_is_the_smallest_sale_reaching_it(pendle_net):
    v = _venue(pendle_net)
    target = v.price0 * 0.98  # the 2 % move of the Nov 2025 figure, on the marginal price
    taken, paid = v.sale_to(target)
    assert v.marginal_after(taken) <= target < v.marginal_after(taken - 1)
    assert v.sale_to(v.price0) == (0, 0)
    sale = sell_pt(pendle_net.chain, pendle_net.market, pendle_net.seller, taken)
    assert paid == sale.net_sy_out
    assert _market_pt_to_sy(pendle_net) / E <= target * (1 + 1e-15)


def test_the_largest_sale_is_the_markets(pendle_net):
    # 100M PT and 100M of asset: past a 96 % PT proportion the market reverts; the venue takes as
    # much as the market does and no more. (The seller holds 100M PT.)
    v = _venue(pendle_net)
    biggest = v._max_sale()
    assert 80_000_000 * E < biggest < 100_000_000 * E
    assert not v.exhausted(biggest) and v.exhausted(biggest + 1)
    assert v.quote_out(biggest + 10 * E) == v.quote_out(biggest)
    node = pendle_net.chain.node
    before = node.snapshot()
    with pytest.raises(TxReverted, match="Market"):
        sell_pt(pendle_net.chain, pendle_net.market, pendle_net.seller, biggest + 1)
    node.revert(before)
    sale = sell_pt(pendle_net.chain, pendle_net.market, pendle_net.seller, biggest)
    assert sale.net_sy_out == v.quote_out(biggest)


def test_a_haircut_keeps_the_price_and_thins_the_market(pendle_net):
    v = _venue(pendle_net)
    # The market after its LP provider burns half of the LP supply, on chain, is the venue's haircut.
    thin = v.haircut(Fraction(1, 2))
    m, lp = pendle_net.market.market, pendle_net.chain.account("pendle-lp")
    burn = v.total_lp // 2
    assert m.functions.balanceOf(lp).call() >= burn
    pendle_net.chain.send(m.functions.transfer(m.address, burn), lp, "LP → market")
    pendle_net.chain.send(m.functions.burn(lp, lp, burn), lp, "market.burn")
    state = m.functions.readState(pendle_net.core.router.address).call()
    assert (thin.state.total_pt, thin.state.total_sy, thin.total_lp) == (state[0], state[1], state[2])
    assert thin.state.last_ln_implied_rate == state[8] and thin.price0 == v.price0
    assert thin.quote_out(6_000_000 * E) < v.quote_out(6_000_000 * E)


def test_held_to_expiry_a_pt_redeems_one_asset_unit(pendle_net):
    v = _venue(pendle_net)
    assert v.redeemable_at_expiry(6_000_000 * E) == 6_000_000 * E * E // v.py_index
