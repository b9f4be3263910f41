"""The `pt-susde-2025` scenario on its devnet: the magnitudes its file cites read back from the chain
(Morpho's 91.5 % market with $420M borrowed and 44 % of the PT supply, the Aave PT e-mode, a market
where 6M PT costs about 2 %), both lenders' PT oracles classified `linear_discount` by a scan, and
the `pt-selloff` event leaving every Morpho looper healthy."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from scan_helpers import seeded_snapshot

from loopscan import devnet
from loopscan.devnet.chain import TxReverted
from loopscan.protocols.morpho_blue.seeding import MorphoPart
from loopscan.protocols.pendle.seeding import PendlePart
from loopscan.protocols.pendle.venue import venues

E = 10**18


@pytest.fixture(scope="module")
def seeded():
    started = devnet.start("pt-susde-2025")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def net(seeded):
    """The devnet, reverted to its seeded state after the test."""
    snapshot = seeded.snapshot()
    try:
        yield seeded
    finally:
        seeded.revert(snapshot)


@pytest.fixture(scope="module")
def snap(seeded):
    return asyncio.run(seeded_snapshot(seeded))


def test_the_lenders_price_the_pt_by_linear_discount(net, snap):
    pt = net.manifest["tokens"]["PT-sUSDe"]["address"].lower()
    rows = snap.market_collaterals[snap.market_collaterals["collateral_token"] == pt]
    assert sorted(rows["oracle_kind"]) == ["linear_discount", "linear_discount"]
    assert [m["oracle_kind"] for m in net.manifest["morpho_markets"].values()] == ["linear_discount"]  # as built
    assert sorted(rows["liquidation_threshold_wad"]) == [10**15, 915 * 10**15]  # Aave outside e-mode; Morpho
    (emode,) = snap.emode_categories.itertuples()
    assert (emode.liquidation_threshold_bps, emode.liquidation_bonus_bps) == (9050, 10410)


def test_the_magnitudes_the_file_cites(net, snap):
    pt = net.manifest["tokens"]["PT-sUSDe"]["address"].lower()
    morpho = snap.positions[snap.positions["protocol"] == "morpho_blue"]
    assert morpho["debt_amount"].map(int).sum() == 420_000_000 * 10**6
    posted = snap.position_collaterals[snap.position_collaterals["collateral_token"] == pt]
    on_morpho = posted[posted["protocol"] == "morpho_blue"]["amount"].map(int).sum()
    assert on_morpho == (205_650_000 * 2 + 83_550_000) * E
    chain = net.chain
    pt_contract = chain.contract(pt, net._seeder.token["PT-sUSDe"].abi)
    assert on_morpho / pt_contract.functions.totalSupply().call() == pytest.approx(0.44, abs=0.005)

    (pool,) = snap.pools[snap.pools["venue"] == "pendle"].itertuples()
    rows = {"pool_coins": list(snap.pool_coins.itertuples()), "market_params": list(snap.market_params.itertuples())}
    (v,) = venues(pool, rows, {})
    assert v.state.total_pt == pytest.approx(100_000_000 * E, rel=1e-3)
    paid = v.quote_out(6_000_000 * E)
    cost = 1 - paid / (6_000_000 * E * v.price0)
    assert 0.015 < cost < 0.025, cost


def test_a_pt_selloff_leaves_every_morpho_looper_healthy(net, snap):
    net.apply("pt-selloff")
    seeder = net._seeder
    params = seeder.part(MorphoPart).market["PT-sUSDe/USDC-91.5"]
    morpho = seeder.morpho.morpho
    for looper in ("morpho-looper-a", "morpho-looper-b", "morpho-looper-c"):
        with pytest.raises(TxReverted, match="position is healthy"):
            net.chain.send(morpho.functions.liquidate(params, net.chain.account(looper), E, 0, b""),
                           net.chain.account("liquidator"), "Morpho.liquidate")  # fmt: skip


def test_the_largest_sale_the_market_takes_liquidates_no_looper(net, snap):
    # Every looper's lender prices the PT by a linear discount: selling all the market takes (the
    # PT down to the curve's 96 % proportion) leaves each one healthy on Morpho and on Aave.
    seeder = net._seeder
    (pool,) = snap.pools[snap.pools["venue"] == "pendle"].itertuples()
    rows = {"pool_coins": list(snap.pool_coins.itertuples()), "market_params": list(snap.market_params.itertuples())}
    (v,) = venues(pool, rows, {})
    seeder.part(PendlePart).do_pendle_sell_pt({"market": "PT-sUSDe", "from": "pt-dumper", "amount": str(Decimal(v._max_sale()) / E)})
    assert v.marginal_after(v._max_sale()) < 0.8 * v.price0
    morpho, params = seeder.morpho.morpho, seeder.part(MorphoPart).market["PT-sUSDe/USDC-91.5"]
    liquidator = net.chain.account("liquidator")
    for looper in ("morpho-looper-a", "morpho-looper-b", "morpho-looper-c"):
        with pytest.raises(TxReverted, match="position is healthy"):
            net.chain.send(morpho.functions.liquidate(params, net.chain.account(looper), E, 0, b""), liquidator)
    t = net.manifest["tokens"]
    for looper, debt in (("aave-looper-a", "USDC"), ("aave-looper-b", "USDT"), ("aave-looper-c", "USDe")):
        fn = seeder.aave.pool.functions.liquidationCall(t["PT-sUSDe"]["address"], t[debt]["address"],
                                                        net.chain.account(looper), 2**256 - 1, False)  # fmt: skip
        with pytest.raises(TxReverted, match="45"):  # HEALTH_FACTOR_NOT_BELOW_THRESHOLD
            net.chain.send(fn, liquidator, "Pool.liquidationCall")
