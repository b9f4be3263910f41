"""Truth 1: the solver's first-liquidation depeg of every position with a market oracle, checked
against the protocols' own liquidation on the devnet — the oracle moved to δ₁ − 1 bp leaves the
position safe (`liquidate` / `liquidationCall` revert), at δ₁ + 1 bp it is liquidated.

The oracle is moved through the feed it reads: xUSD's market oracle reads the xUSD/USD feed;
sdeUSD's reads the deUSD/USD feed times sdeUSD's rate (so a depeg of sdeUSD's market is a move
of that feed); Aave prices sUSDe and USDe with the USDT/USD feed; minimal's WETH the ETH/USD feed.
"""

from __future__ import annotations

import pytest
from chain_moves import HEALTHY, liquidate, scale_feed
from scan_helpers import seeded_snapshot

from loopscan.devnet.chain import TxReverted
from loopscan.solver import BP, Solver, build_book

pytestmark = pytest.mark.devnet

# (fixture, token whose market depegs, the feed an oracle reads for it)
CASES = [("stream", "xUSD", "xUSD/USD"), ("stream", "sdeUSD", "deUSD/USD"), ("susde", "USDT", "USDT/USD"),
         ("minimal", "WETH", "ETH/USD")]  # fmt: skip


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
            scale_feed(net, feed, 1 - delta + BP)  # from the seeded answer
            with pytest.raises(TxReverted, match=HEALTHY):
                liquidate(net, key, account)
            net.revert(snapshot)
            snapshot = net.snapshot()
            scale_feed(net, feed, 1 - delta - BP)
            liquidate(net, key, account)
        finally:
            net.revert(snapshot)
    # The token's δ₁ is its first position's.
    assert solver.first_liquidation("depeg", address) == pytest.approx(min(by_position.values()))
