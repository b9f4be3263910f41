"""The hidden loss of a linear-discount PT market, on chain: PT-sUSDe collateral on Morpho Blue at
91.5 % LLTV, priced by Pendle's linear-discount feed with USDe at $1 (the Morpho PT-sUSDe markets of
2025), a looper borrowing 91 % of the oracle value, then a 30M PT dump into the market. Morpho still
sees a healthy position (its liquidation reverts), while the collateral sold into the market, as
a liquidator would have to sell it, fetches less than the debt: the difference is bad debt nobody
is told about, and it equals our swap maths' prediction to the wei. Then the same devnet scanned
and analysed as any chain: Morpho and Pendle read together."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest
from pendle_devnet import E, deployments, read_state
from web3.contract import Contract

from loopscan.chains.deployments import Contract as Entry
from loopscan.devnet.build import Artifacts
from loopscan.devnet.chain import TxReverted
from loopscan.model import ZERO_ADDRESS, Snapshot
from loopscan.protocols.morpho_blue.devnet import market_params
from loopscan.protocols.pendle.devnet import sell_pt
from loopscan.protocols.pendle.devnet_feeds import linear_discount_oracle
from loopscan.protocols.pendle.maths import swap_exact_pt_for_sy
from loopscan.result import analyse
from loopscan.scanner import index

USDC = 10**6
LLTV = 915 * 10**15
DISCOUNT = 12 * 10**16
COLLATERAL = 10_000_000 * E  # PT
DUMP = 30_000_000 * E  # PT sold into the market by others
LOAN_LTV = 91  # % of the oracle value borrowed


@dataclass
class PtLoop:
    morpho: Contract
    oracle: Contract
    params: tuple
    looper: str
    debt: int  # USDC units


def _pt_loop_on_morpho(net) -> PtLoop:
    """Morpho Blue with a PT-sUSDe/USDC market (no IRM: no interest moves the figures), 50M USDC
    supplied, and a looper holding COLLATERAL PT and owing LOAN_LTV % of its oracle value."""
    chain, artifacts, m = net.chain, Artifacts(), net.market
    owner, lender, looper = (chain.account(f"morpho-{who}") for who in ("owner", "lender", "looper"))
    morpho = chain.deploy(artifacts.compiled("morpho-blue", "Morpho"), owner)
    usdc = chain.deploy(artifacts.compiled("loopscan", "ScenarioToken"), "USD Coin", "USDC", 6)
    feed = linear_discount_oracle(chain, artifacts, net.core, m.pt.address, DISCOUNT)
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
    chain.send(m.pt.functions.transfer(looper, COLLATERAL), net.seller)
    chain.send(m.pt.functions.approve(morpho.address, COLLATERAL), looper)
    chain.send(morpho.functions.supplyCollateral(params, COLLATERAL, looper, b""), looper)
    debt = COLLATERAL * oracle.functions.price().call() // 10**36 * LOAN_LTV // 100
    chain.send(morpho.functions.borrow(params, debt, 0, looper, looper), looper)
    return PtLoop(morpho, oracle, params, looper, debt)


def test_a_pt_dump_leaves_the_morpho_position_healthy_and_underwater(pendle_net):
    chain, m = pendle_net.chain, pendle_net.market
    loop = _pt_loop_on_morpho(pendle_net)
    morpho, oracle, params, looper, debt = loop.morpho, loop.oracle, loop.params, loop.looper, loop.debt
    price = oracle.functions.price().call()
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


def test_a_scan_reads_the_pt_market_beside_the_morpho_market_it_backs(pendle_net, tmp_path):
    # The whole read path: Morpho and Pendle from one deployments list, the PT classified `pt`, the
    # Pendle market as a venue row; the analysis runs over it (the venue is read, not yet an exit).
    loop = _pt_loop_on_morpho(pendle_net)
    m = pendle_net.market
    deps = deployments(pendle_net)
    deps = replace(deps, contracts=(Entry("morpho_blue", "core", loop.morpho.address, 0), *deps.contracts))
    snap = index(pendle_net.chain.node.url, deployments=deps, protocols=["morpho_blue", "pendle"])
    pt = m.pt.address.lower()
    assert snap.token(pt).kind.value == "pt"
    (pool,) = snap.pools.itertuples()
    assert (pool.venue, pool.pool, pool.token0, pool.token1) == (
        "pendle",
        m.market.address.lower(),
        pt,
        m.sy.address.lower(),
    )
    assert set(snap.positions["account"]) == {loop.looper.lower(), pendle_net.chain.account("morpho-lender").lower()}
    assert list(snap.market_collaterals["collateral_token"]) == [pt]
    assert Snapshot.from_parquet(snap.to_parquet(tmp_path / "snap")).pools.equals(snap.pools)
    # The analysis finds the loop on the PT. Morpho's oracle is built on Pendle's linear-discount
    # feed, so the market is `linear_discount`: no PT price move liquidates it (δ₁ never, nobody at
    # risk) and the loss hides until the PT is worth less than the debt (δ_bd).
    assert list(snap.market_collaterals["oracle_kind"]) == ["linear_discount"]
    (row,) = analyse(snap).thresholds.query("token == @pt").itertuples()
    assert (row.shock, row.positions_at_risk) == ("depeg", 0)
    assert math.isnan(row.first_liquidation_frac) and math.isnan(row.cascade_frac)
    # Bad debt from the PT move at which the collateral (at the oracle's starting price) falls
    # below the debt, to the bisection's 1 bp; the whole debt at 100 %.
    value = COLLATERAL * loop.oracle.functions.price().call() / 10**36 / USDC  # USDC
    assert row.bad_debt_frac == pytest.approx(1 - loop.debt / USDC / value, abs=1e-4)
    assert row.bad_debt_at_100pct_usd == pytest.approx(loop.debt / USDC, rel=1e-9)
