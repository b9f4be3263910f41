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
from loopscan.chains import from_devnet_manifest
from loopscan.devnet.build import Artifacts
from loopscan.devnet.chain import TxReverted
from loopscan.graph.exposure import _LookThrough
from loopscan.protocols.morpho_blue.devnet import market_id
from loopscan.protocols.morpho_blue.maths import to_assets_up
from loopscan.protocols.morpho_blue.seeding import MorphoPart
from loopscan.protocols.pendle.devnet import published
from loopscan.protocols.pendle.seeding import PendlePart
from loopscan.protocols.pendle.venue import venues
from loopscan.result import analyse
from loopscan.scanner import index_async
from loopscan.solver.shock import Shock, shock_sale

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


def _venue(snap):
    """The Pendle market's venue, built from a snapshot's rows as the solver builds it."""
    (pool,) = snap.pools[snap.pools["venue"] == "pendle"].itertuples()
    rows = {"pool_coins": list(snap.pool_coins.itertuples()), "market_params": list(snap.market_params.itertuples())}
    return venues(pool, rows, {})


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

    (v,) = _venue(snap)
    assert v.state.total_pt == pytest.approx(100_000_000 * E, rel=1e-3)
    paid = v.quote_out(6_000_000 * E)
    cost = 1 - paid / (6_000_000 * E * v.price0)
    assert 0.015 < cost < 0.025, cost



def test_the_pt_looks_through_to_its_sy_and_the_aave_loop_is_found(net, snap):
    """PT → SY-sUSDe → sUSDe → USDe: the PT redeems into its market's SY (graph edge `redeems`),
    so the look-through follows it, and the Aave looper borrowing USDe against PTs is a loop."""
    tokens = {name: net.manifest["tokens"][name]["address"].lower() for name in ("PT-sUSDe", "USDe")}
    (sy,) = snap.pools.loc[snap.pools["venue"] == "pendle", "token1"]
    result = analyse(snap)
    assert [(u, v) for u, v, d in result.graph.edges(data=True) if d["kind"] == "redeems"] == [
        (f"token:{tokens['PT-sUSDe']}", f"token:{sy}")]
    (loop,) = result.loops.itertuples()
    assert loop.loop == "USDe → sUSDe → SY-sUSDe → PT-sUSDe-3FEB2026 → USDe" and loop.loopers == 1
    assert loop.leverage == pytest.approx(5.0, rel=1e-3)  # the 5× Aave looper, the one borrowing USDe
    lt = _LookThrough(snap)
    assert lt.token(tokens["PT-sUSDe"], ()) == lt.token(sy, ()) and ("base", tokens["USDe"]) in lt.token(sy, ())

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
    (v,) = _venue(snap)
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


def test_the_hidden_bad_debt_is_the_debt_minus_the_collateral_at_the_markets_price(net):
    # A dump moving the PT 12 % in its market, then a scan: Morpho's linear-discount oracle has not
    # moved, so no looper is liquidatable; those the dump put under water hold bad debt nobody is
    # told about. Each one's, as loopscan reports it at the pin, is its debt (on chain) minus its PT
    # (on chain) at the PT's price by Pendle's own rate (PT → SY), the SY at its exchange rate in
    # USDe, and USDe at Aave's price of it (the USDT feed: $1).
    seeder = net._seeder
    pendle = seeder.part(PendlePart)
    m = pendle.markets["PT-sUSDe"]
    (v,) = _venue(asyncio.run(seeded_snapshot(net)))
    dump, _ = v.sale_to(v.price0 * 0.88)
    # Another account than the test above: the seeder remembers approvals a revert undid.
    pendle.do_pendle_sell_pt({"market": "PT-sUSDe", "from": "pt-dumper-2", "amount": str(Decimal(dump) / E)})
    morpho = seeder.morpho.morpho
    params = seeder.part(MorphoPart).market["PT-sUSDe/USDC-91.5"]
    net.chain.send(morpho.functions.accrueInterest(params), net.chain.deployer)  # debts as of this block
    block = net.chain.block()["number"]
    snap = asyncio.run(index_async(net.url, deployments=from_devnet_manifest(net.manifest), block=block))
    now = analyse(snap).solver.now
    rows = now[(now["protocol"] == "morpho_blue") & (now["collateral"] == m.pt.address.lower())]
    assert len(rows) == 3 and not rows["liquidatable_now"].any()

    oracle = net.chain.contract(net.manifest["contracts"]["pendle_py_lp_oracle"], published(Artifacts(), "PendlePYLpOracle").abi)
    pt_to_sy = oracle.functions.getPtToSyRate(m.market.address, 0).call() / E
    price = pt_to_sy * m.sy.functions.exchangeRate().call() / E
    mid = market_id(params)
    total_borrow, total_shares = morpho.functions.market(mid).call()[2:4]
    under = 0
    for row in rows.itertuples():
        _, shares, collateral = morpho.functions.position(mid, net.chain.w3.to_checksum_address(row.account)).call()
        debt = to_assets_up(shares, total_borrow, total_shares) / 10**6
        expected = max(debt - collateral / E * price, 0.0)
        assert row.bad_debt_now_usd == pytest.approx(expected, rel=1e-9)
        under += expected > 0
    assert under >= 1  # the 10x looper at least


def test_a_pt_selloff_cascade_replayed_on_chain_ends_at_the_solvers_fixed_point(net, snap):
    # The solver's cascade for a 12 % PT sell-off: the shock's sale into the Pendle market, then
    # nothing (every lender prices the PT by a linear discount). On chain: the same sale leaves the
    # PT 12 % down by Pendle's own rate, no looper liquidatable, and the Morpho market's hidden bad
    # debt at the fixed point is its debt minus its collateral at that price.
    pt = net.manifest["tokens"]["PT-sUSDe"]["address"].lower()
    result = analyse(snap)
    book = result.solver.book
    shock = Shock("depeg", pt, 0.12)
    cascade = result.solver.cascade("depeg", pt, 0.12)
    assert (cascade.liquidatable_at_start, len(cascade.liquidations)) == (0, 0)
    (sale,) = shock_sale(book, shock)

    seeder = net._seeder
    m = seeder.part(PendlePart).markets["PT-sUSDe"]
    oracle = net.chain.contract(net.manifest["contracts"]["pendle_py_lp_oracle"], published(Artifacts(), "PendlePYLpOracle").abi)
    before = oracle.functions.getPtToSyRate(m.market.address, 0).call()
    node = net.chain.node  # the replay at the pin's instant, as the solver prices it (no interest, same time to expiry)
    node.rpc("anvil_setBlockTimestampInterval", [0])
    node.rpc("evm_setNextBlockTimestamp", [net.manifest["timestamp"]])
    seeder.part(PendlePart).do_pendle_sell_pt({"market": "PT-sUSDe", "from": "pt-dumper-3", "amount": str(Decimal(sale) / E)})
    after = oracle.functions.getPtToSyRate(m.market.address, 0).call()
    assert 1 - after / before == pytest.approx(cascade.final_depeg, abs=1e-9)
    assert cascade.final_depeg == pytest.approx(0.12, abs=1e-4)

    morpho, params = seeder.morpho.morpho, seeder.part(MorphoPart).market["PT-sUSDe/USDC-91.5"]
    mid = market_id(params)
    total_borrow, total_shares = morpho.functions.market(mid).call()[2:4]
    price = after / E * m.sy.functions.exchangeRate().call() / E
    hidden = 0.0
    for looper in ("morpho-looper-a", "morpho-looper-b", "morpho-looper-c"):
        with pytest.raises(TxReverted, match="position is healthy"):
            net.chain.send(morpho.functions.liquidate(params, net.chain.account(looper), E, 0, b""), net.chain.account("liquidator"))
        _, shares, collateral = morpho.functions.position(mid, net.chain.account(looper)).call()
        hidden += max(to_assets_up(shares, total_borrow, total_shares) / 10**6 - collateral / E * price, 0.0)
    key = next(k for k, mb in book.markets.items() if mb.protocol == "morpho_blue" and mb.collateral == pt)
    assert hidden > 0
    assert cascade.market_losses.market_totals()[key] == pytest.approx(hidden, rel=1e-9)
