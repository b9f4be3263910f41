"""The hidden loss of a linear-discount PT market, on chain: PT-sUSDe collateral on Morpho Blue at
91.5 % LLTV, priced by Pendle's linear-discount feed with USDe at $1 (the Morpho PT-sUSDe markets of
2025), a looper borrowing 91 % of the oracle value, then a 30M PT dump into the market. Morpho still
sees a healthy position (its liquidation reverts), while the collateral sold into the market, as
a liquidator would have to sell it, fetches less than the debt: the difference is bad debt nobody
is told about, and it equals our swap maths' prediction to the wei."""

from __future__ import annotations

import pytest
from pendle_devnet import E, read_state

from loopscan.devnet.build import Artifacts
from loopscan.devnet.chain import TxReverted
from loopscan.model import ZERO_ADDRESS
from loopscan.protocols.morpho_blue.devnet import market_params
from loopscan.protocols.pendle.devnet import linear_discount_oracle, sell_pt
from loopscan.protocols.pendle.maths import swap_exact_pt_for_sy

USDC = 10**6
LLTV = 915 * 10**15
DISCOUNT = 12 * 10**16
COLLATERAL = 10_000_000 * E  # PT
DUMP = 30_000_000 * E  # PT sold into the market by others
LOAN_LTV = 91  # % of the oracle value borrowed


def test_a_pt_dump_leaves_the_morpho_position_healthy_and_underwater(pendle_net):
    chain, artifacts, m = pendle_net.chain, Artifacts(), pendle_net.market
    owner, lender, looper = (chain.account(f"morpho-{who}") for who in ("owner", "lender", "looper"))
    morpho = chain.deploy(artifacts.compiled("morpho-blue", "Morpho"), owner)
    usdc = chain.deploy(artifacts.compiled("loopscan", "ScenarioToken"), "USD Coin", "USDC", 6)
    feed = linear_discount_oracle(chain, artifacts, pendle_net.core, m.pt.address, DISCOUNT)
    # PT priced at the feed's answer in USDe, USDe at $1 = 1 USDC: Morpho's 1e36 scale.
    oracle = chain.deploy(
        artifacts.compiled("loopscan", "MorphoFeedOracle"),
        (ZERO_ADDRESS, 0, feed.address, ZERO_ADDRESS, 18),
        (ZERO_ADDRESS, 0, ZERO_ADDRESS, ZERO_ADDRESS, 6),
    )
    params = market_params(usdc.address, m.pt.address, oracle.address, ZERO_ADDRESS, LLTV)
    chain.send(morpho.functions.enableIrm(ZERO_ADDRESS), owner)
    chain.send(morpho.functions.enableLltv(LLTV), owner)
    chain.send(morpho.functions.createMarket(params), owner)

    supply = 50_000_000 * USDC
    chain.send(usdc.functions.mint(lender, supply), chain.deployer)
    chain.send(usdc.functions.approve(morpho.address, supply), lender)
    chain.send(morpho.functions.supply(params, supply, 0, lender, b""), lender)
    chain.send(m.pt.functions.transfer(looper, COLLATERAL), pendle_net.seller)
    chain.send(m.pt.functions.approve(morpho.address, COLLATERAL), looper)
    chain.send(morpho.functions.supplyCollateral(params, COLLATERAL, looper, b""), looper)
    price = oracle.functions.price().call()
    debt = COLLATERAL * price // 10**36 * LOAN_LTV // 100
    chain.send(morpho.functions.borrow(params, debt, 0, looper, looper), looper)

    sell_pt(chain, m, pendle_net.seller, DUMP)
    price_after = oracle.functions.price().call()
    assert price_after >= price  # the feed moved with time only (towards 1), never with the dump
    liquidator = chain.account("morpho-liquidator")
    with pytest.raises(TxReverted, match="position is healthy"):
        chain.send(morpho.functions.liquidate(params, looper, COLLATERAL, 0, b""), liquidator)

    # The collateral at the pool's price: what selling it into the market fetches now.
    state, index = read_state(pendle_net), m.sy.functions.exchangeRate().call()
    sale = sell_pt(chain, m, pendle_net.seller, COLLATERAL)
    predicted = swap_exact_pt_for_sy(state, index, COLLATERAL, sale.timestamp)
    assert sale.net_sy_out == predicted.net_sy_out
    value = sale.net_sy_out * index // E // 10**12  # USDe (18 decimals) to USDC units at $1
    hidden = debt - value
    assert 0 < hidden < debt // 10  # underwater, by less than a tenth of the debt at these magnitudes
