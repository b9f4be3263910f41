"""The unwind table's depth is the pool's own: the sale `solver.depth` says moves a token's exit
pool price down by L is, to the wei, what QuoterV2 and a real SwapRouter swap do with that amount
and that price limit; and the liquidatable side counts only positions the shock newly opens."""

from __future__ import annotations

import asyncio
import math

import pytest
from dex_conftest import DexPool, dex_pool_fixture  # noqa: F401  (registers `dex_pool`)
from scan_helpers import seeded_snapshot
from test_swap_truth import check_exact_input

from loopscan.protocols.uniswap_v3.swap import price_of
from loopscan.solver import Solver, build_book
from loopscan.solver.depth import LEVELS, absorbable, depth_table

pytestmark = pytest.mark.devnet


def test_absorbable_depth_is_what_the_pool_does(dex_pool: DexPool):
    book = build_book(asyncio.run(seeded_snapshot(dex_pool.net)))
    address = dex_pool.pool.address.lower()
    sold = [(t, v) for t, e in book.exits.items() for v in e.venues if v.address == address]
    assert sold, "every seeded pool is some token's exit"
    for token, venue in sold:
        for level in (0.01, 0.05):
            sale = venue.swap_to(venue.marginal_after(0) * (1.0 - level))
            paid_in, received = venue.sale_to(venue.marginal_after(0) * (1.0 - level))
            # QuoterV2 and a real swap of that amount, limited at the sale's end price, do the same.
            before = dex_pool.net.snapshot()
            mine = check_exact_input(dex_pool, venue.token_is_0, paid_in, sale.sqrt_price_x96_after)
            dex_pool.net.revert(before)
            assert (mine.amount0, mine.amount1) == (sale.amount0, sale.amount1)
            assert (paid_in, -received) == ((sale.amount0, sale.amount1) if venue.token_is_0 else (sale.amount1, sale.amount0))
            # ... and never push the price past (1 − L) of today's: the sale is within the impact.
            after, start = (float(price_of(x)) for x in (sale.sqrt_price_x96_after, venue.state.sqrt_price_x96))
            if not venue.token_is_0:  # the token's price is the inverse of the pool's
                after, start = 1 / after, 1 / start
            assert after >= start * (1 - level) * (1 - 1e-9)
            assert absorbable(book, token, level) == (paid_in / 10**venue.decimals,
                                                      received / 10**venue.quote_decimals * book.p0[venue.quote])  # fmt: skip


def test_stream_unwind_table(stream_result):
    table = depth_table(stream_result.solver)
    xusd = table[table["symbol"] == "xUSD"].set_index("level_frac")
    assert list(xusd.index) == list(LEVELS)
    # Depth only grows with the impact allowed; xUSD's loopers open between 10 % and 15 % (δ₁ 12.57 %).
    assert xusd["absorbable_usd"].is_monotonic_increasing and xusd.loc[0.01, "absorbable_usd"] > 0
    assert (xusd.loc[[0.01, 0.02, 0.05, 0.10], "liquidatable_positions"] == 0).all()
    assert xusd.loc[0.15, "liquidatable_positions"] >= 1 and xusd.loc[0.15, "liquidatable_usd"] > 0
    ratio = xusd.loc[0.15, "liquidatable_to_absorbable"]
    assert math.isclose(ratio, xusd.loc[0.15, "liquidatable_usd"] / xusd.loc[0.15, "absorbable_usd"])
    assert xusd.loc[0.05, "liquidatable_to_absorbable"] is None or math.isnan(xusd.loc[0.05, "liquidatable_to_absorbable"])
    # The liquidatable side counts only positions the shock opens: the same at 15 % as δ₁'s bracket says.
    solver = Solver(stream_result.solver.book)
    opened = set(solver.cascade("depeg", xusd["token"].iloc[0], 0.15).at_risk) - set(solver.cascade("depeg", xusd["token"].iloc[0], 0.0).at_risk)
    assert xusd.loc[0.15, "liquidatable_positions"] == len(opened)
