"""The hidden loss of a linear-discount PT market, on chain: PT-sUSDe collateral on Morpho Blue at
91.5 % LLTV, priced by Pendle's linear-discount feed with USDe at $1 (the Morpho PT-sUSDe markets of
2025), a looper borrowing 91 % of the oracle value, then a 30M PT dump into the market. Morpho still
sees a healthy position (its liquidation reverts), while the collateral sold into the market, as
a liquidator would have to sell it, fetches less than the debt: the difference is bad debt nobody
is told about, and it equals our swap maths' prediction to the wei. Then the same devnet scanned
and analysed as any chain: Morpho and Pendle read together."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from pendle_devnet import COLLATERAL, DUMP, USDC, E, deployments, pt_loop_on_morpho, read_state

from loopscan.chains.deployments import Contract as Entry
from loopscan.devnet.chain import TxReverted
from loopscan.model import Snapshot
from loopscan.protocols.pendle.devnet import sell_pt
from loopscan.protocols.pendle.maths import swap_exact_pt_for_sy
from loopscan.result import analyse
from loopscan.scanner import index


def test_a_pt_dump_leaves_the_morpho_position_healthy_and_underwater(pendle_net):
    chain, m = pendle_net.chain, pendle_net.market
    loop = pt_loop_on_morpho(pendle_net)
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
    loop = pt_loop_on_morpho(pendle_net)
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
