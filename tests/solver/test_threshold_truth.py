"""Truth 1: the solver's first-liquidation depeg of every position with a market oracle, checked
against the protocols' own liquidation on the devnet — the oracle moved to δ₁ − 1 bp leaves the
position safe (`liquidate` / `liquidationCall` revert), at δ₁ + 1 bp it is liquidated.

The oracle is moved through the feed it reads: xUSD's market oracle reads the xUSD/USD feed;
sdeUSD's reads the deUSD/USD feed times sdeUSD's rate (so a depeg of sdeUSD's market is a move
of that feed); Aave prices sUSDe and USDe with the USDT/USD feed; minimal's WETH the ETH/USD feed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from devnet_helpers import aave_pool, contract, market_params, morpho
from scan_helpers import seeded_snapshot

from loopscan.devnet.chain import TxReverted
from loopscan.solver import BP, Solver, build_book

pytestmark = pytest.mark.devnet

# (fixture, token whose market depegs, the feed an oracle reads for it)
CASES = [("stream", "xUSD", "xUSD/USD"), ("stream", "sdeUSD", "deUSD/USD"), ("susde", "USDT", "USDT/USD"),
         ("minimal", "WETH", "ETH/USD")]  # fmt: skip


def _set_feed(net, feed: str, factor: float) -> None:
    spec = net.scenario.feeds[feed]
    answer = int(Decimal(str(spec["answer"])).scaleb(int(spec["decimals"])) * Decimal(str(factor)))
    c = contract(net, net.manifest["feeds"][feed]["address"], "loopscan", "PriceFeed")
    net.chain.send(c.functions.setAnswer(answer), net.chain.account("feed-keeper"))


def _liquidate(net, key: str, account: str) -> None:
    """The protocol's own liquidation of a tiny part of the position (reverts if healthy)."""
    liquidator = net.chain.account("liquidator")
    if ":" in key:  # a Morpho market: "<morpho>:<market id>"
        market_id = key.split(":")[1]
        name = next(n for n, m in net.manifest["morpho_markets"].items() if m["id"] == market_id)
        loan = net.manifest["morpho_markets"][name]["loan_token"]
        spender = net.manifest["contracts"]["morpho_blue"]
        fn = morpho(net).functions.liquidate(market_params(net, name), net.chain.w3.to_checksum_address(account), 1000, 0, b"")
    else:  # an Aave pool: repay a little of the USDC debt against the sUSDe collateral
        pool = aave_pool(net)
        spender = pool.address
        loan, collateral = "USDC", "sUSDe"
        fn = pool.functions.liquidationCall(net.manifest["tokens"][collateral]["address"], net.manifest["tokens"][loan]["address"],
                                            net.chain.w3.to_checksum_address(account), 1000, False)  # fmt: skip
    token = contract(net, net.manifest["tokens"][loan]["address"], "loopscan", "ScenarioToken")
    net.chain.send(token.functions.mint(liquidator, 10**30), net.chain.deployer)
    net.chain.send(token.functions.approve(spender, 2**256 - 1), liquidator)
    net.chain.send(fn, liquidator, "liquidate")


@pytest.mark.parametrize(("scenario", "token", "feed"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
async def test_first_liquidation_is_exact_to_a_basis_point(scenario, token, feed, request):
    net = request.getfixturevalue(scenario)
    snap = await seeded_snapshot(net)
    solver = Solver(build_book(snap))
    address = net.manifest["tokens"][token]["address"].lower()
    by_position = solver.first_liquidation_by_position("depeg", address)
    assert by_position, f"no position reachable by a {token} depeg"
    for (key, account), delta in by_position.items():
        snapshot = net.snapshot()
        try:
            _set_feed(net, feed, 1 - delta + BP)
            with pytest.raises(TxReverted, match=r"position is healthy|'?45'?"):
                _liquidate(net, key, account)
            _set_feed(net, feed, 1 - delta - BP)
            _liquidate(net, key, account)
        finally:
            net.revert(snapshot)
    # The token's δ₁ is its first position's.
    assert solver.first_liquidation("depeg", address) == pytest.approx(min(by_position.values()))
