"""Liquidation brackets on chain for a PT position on Morpho Blue under each PT oracle kind, against
what loopscan says of it.

* Linear discount: loopscan says no PT price move liquidates (δ₁ never). On chain, the largest sale
  the market takes leaves the position healthy, at once and a TWAP window later.
* AMM TWAP (900 s): loopscan holds the feed fixed within a cascade (δ₁ never), and states the lag:
  once the window has passed, the position liquidates at the PT move a market oracle's rule gives,
  δ₁ = 1 − debt / (collateral × price × LLTV). On chain: a sale moving the PT by δ₁ + 1 bp cannot be
  liquidated in its own block, can be one window later; a sale of δ₁ − 1 bp cannot be either time.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from pendle_devnet import COLLATERAL, LLTV, USDC, E, deployments, pt_loop_on_morpho, read_state

from loopscan.chains.deployments import Contract as Entry
from loopscan.devnet.build import Artifacts
from loopscan.devnet.chain import TxReverted
from loopscan.protocols.pendle.devnet import sell_pt
from loopscan.protocols.pendle.devnet_feeds import twap_oracle
from loopscan.protocols.pendle.maths import pt_to_asset_rate, swap_exact_pt_for_sy
from loopscan.protocols.pendle.venue import PendleVenue
from loopscan.result import analyse
from loopscan.scanner import index

WINDOW = 900  # Pendle's PT feeds on Morpho: a 15-minute TWAP (Euler forum, Ethena looping cluster)
BP = 1e-4


def _scanned_row(net, loop):
    """The PT's thresholds row and its oracle kind, from a scan of Morpho and Pendle at the latest block."""
    deps = deployments(net)
    deps = replace(deps, contracts=(Entry("morpho_blue", "core", loop.morpho.address, 0), *deps.contracts))
    snap = index(net.chain.node.url, deployments=deps, protocols=["morpho_blue", "pendle"])
    thresholds = analyse(snap).thresholds
    (row,) = thresholds[thresholds["token"] == net.market.pt.address.lower()].itertuples()
    return row, list(snap.market_collaterals["oracle_kind"])


def _liquidate(net, loop) -> None:
    """Seize 1 PT of the looper's collateral (reverts "position is healthy" if it is)."""
    chain = net.chain
    liquidator = chain.account("morpho-liquidator")
    usdc = chain.contract(loop.params[0], Artifacts().compiled("loopscan", "ScenarioToken").abi)
    chain.send(usdc.functions.mint(liquidator, 10**6 * USDC), chain.deployer)
    chain.send(usdc.functions.approve(loop.morpho.address, 10**6 * USDC), liquidator)
    chain.send(loop.morpho.functions.liquidate(loop.params, loop.looper, E, 0, b""), liquidator, "Morpho.liquidate")


def _healthy(net, loop) -> bool:
    try:
        _liquidate(net, loop)
    except TxReverted as exc:
        assert "position is healthy" in str(exc)
        return True
    return False


def _venue(net) -> PendleVenue:
    m = net.market
    index_ = max(m.sy.functions.exchangeRate().call(), m.yt.functions.pyIndexStored().call())
    total_lp = m.market.functions.totalSupply().call()
    return PendleVenue(m.market.address, m.pt.address, m.sy.address, 18, 18, read_state(net), index_,
                       net.chain.block()["timestamp"], total_lp)  # fmt: skip


def test_linear_discount_nothing_the_market_takes_liquidates(pendle_net):
    loop = pt_loop_on_morpho(pendle_net)
    row, kinds = _scanned_row(pendle_net, loop)
    assert kinds == ["linear_discount"] and math.isnan(row.first_liquidation_frac) and row.positions_at_risk == 0
    pendle_net.chain.node.rpc("anvil_setBlockTimestampInterval", [0])
    biggest = _venue(pendle_net)._max_sale()
    held = pendle_net.market.pt.functions.balanceOf(pendle_net.seller).call()
    sell_pt(pendle_net.chain, pendle_net.market, pendle_net.seller, min(biggest, held))
    assert _healthy(pendle_net, loop)
    pendle_net.chain.increase_time(WINDOW)
    assert _healthy(pendle_net, loop)


def _sale_for_twap_price(net, target: int, later: int) -> int:
    """The smallest PT sale now after which the market's rate, held for `later` seconds, prices the
    PT at or below `target` (18 decimals, in the asset): what the TWAP answers a window later."""
    v = _venue(net)
    expiry = v.state.expiry

    def price_after(amount: int) -> int:
        rate = swap_exact_pt_for_sy(v.state, v.py_index, amount, v.now).state.last_ln_implied_rate
        return pt_to_asset_rate(rate, expiry, v.now + later)

    low, high = 0, v._max_sale()
    assert price_after(high) <= target
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if price_after(mid) <= target else (mid, high)
    return high


@pytest.mark.parametrize("side", [-1, 1])
def test_amm_twap_liquidates_a_window_after_a_sale_past_delta_1(pendle_net, side):
    chain = pendle_net.chain
    twap = twap_oracle(chain, Artifacts(), pendle_net.core, pendle_net.market, WINDOW)
    loop = pt_loop_on_morpho(pendle_net, twap)
    row, kinds = _scanned_row(pendle_net, loop)
    assert kinds == ["amm_twap"] and math.isnan(row.first_liquidation_frac) and row.positions_at_risk == 0

    # δ₁ by Morpho's rule at the oracle's price (1e36 scale: USDC units per PT unit).
    price = loop.oracle.functions.price().call()
    delta_1 = 1 - loop.debt / (COLLATERAL * price / 10**36 * LLTV / E)
    answer = twap.functions.latestRoundData().call()[1]
    target = int(answer * (1 - (delta_1 + side * BP)))
    chain.node.rpc("anvil_setBlockTimestampInterval", [0])  # the sale, and the liquidation try, at the pin's instant
    amount = _sale_for_twap_price(pendle_net, target, WINDOW)
    sell_pt(chain, pendle_net.market, pendle_net.seller, amount)
    assert _healthy(pendle_net, loop)  # in the sale's own block the TWAP has not moved
    chain.increase_time(WINDOW)
    assert twap.functions.latestRoundData().call()[1] <= target
    assert _healthy(pendle_net, loop) is (side < 0)
