"""The graph of the seeded scenarios, with the expected figures derived from the scenario files.

stream-2025 (fixtures/scenarios/stream-2025.toml):
* xUSD reports 80 + 21.6 (gain) + 95.2 + 30 + 24 + 2.54 = 253.34M; 70 + 140 = 210M went off chain
  and is marked at 231.6M; 21.74M USDC stays in the vault. Base fraction 21.74 / 253.34.
* deUSD owes 59.6 + 3 + 20 + 20 + 2 = 104.6M (users, sdeUSD yield, two sdeUSD loops, its market
  maker) and holds 104.6 - 68 = 36.6M USDC plus a 68M loan on xUSD/USDC-86 (100% borrowed):
  opaque = 68/104.6 * 231.6/253.34; base = 36.6/104.6 + 68/104.6 * 21.74/253.34.
* sdeUSD holds only deUSD: the same fractions. cpUSDC lends 60M on xUSD/USDC-91.5 (40M borrowed),
  40M on sdeUSD/USDC-86 (15M) and 20M on sdeUSD/USDC-91.5 (10M).
* Base USDC held by the pyramid: 21.74 (xUSD) + 36.6 (deUSD) + 0 (cpUSDC, all supplied) + idle in
  the markets they lend to: 0 + 20 + 25 + 10 = 113.34M; receipts 253.34 + 104.6 + 83 + 120 = 560.94M.
* Loops: USDC→xUSD (stream-treasury 3.5x on 27.2M, looper-1 5x on 6M, looper-2 3x on 8M:
  149.2 / 41.2 = 3.6214x), USDC→deUSD→sdeUSD (looper-3 4x on 5M, looper-4 2x on 10M: 40/15 = 2.6667x).

susde-aave-loop: sUSDe holds its 1.8B USDe (600M + 120M yield + 1,080M from the loops), nothing
opaque; USDe→sUSDe is looped by looper-a (9x on 40M) and looper-d (8x on 25M): 560/65 = 8.6154x.
"""

from __future__ import annotations

import pytest
from scan_helpers import seeded_snapshot

from loopscan.graph import (
    build_graph,
    find_loops,
    look_through,
    loop_table,
    pyramids,
    vault_depths,
)

pytestmark = pytest.mark.devnet


async def _graph(net):
    snap = await seeded_snapshot(net)
    return snap, look_through(snap)


def _addr(net, token):
    return net.manifest["tokens"][token]["address"].lower()


async def test_stream_exposure_shows_deusd_rests_on_xusds_opaque_backing(stream):
    snap, e = await _graph(stream)
    x, d, s, usdc = (_addr(stream, t) for t in ("xUSD", "deUSD", "sdeUSD", "USDC"))
    f = {(r.vault, r.kind, r.target): r.fraction for r in e.itertuples()}
    opaque_x = 231.6 / 253.34
    assert f[(x, "opaque", x)] == pytest.approx(opaque_x)
    assert f[(d, "opaque", x)] == pytest.approx(68 / 104.6 * opaque_x)  # 59.4 %: the unpublished fact
    assert f[(d, "base", usdc)] == pytest.approx(36.6 / 104.6 + 68 / 104.6 * 21.74 / 253.34)
    assert f[(s, "opaque", x)] == pytest.approx(f[(d, "opaque", x)])
    private = stream.manifest["morpho_markets"]["xUSD/USDC-86"]["id"]
    assert f[(d, "market", f"{stream.manifest['contracts']['morpho_blue'].lower()}:{private}")] == pytest.approx(68 / 104.6)


async def test_stream_depths_multipliers_and_loops(stream):
    snap, e = await _graph(stream)
    x, d, s, cp, usdc = (_addr(stream, t) for t in ("xUSD", "deUSD", "sdeUSD", "cpUSDC", "USDC"))
    pool = stream.manifest["contracts"]["gearbox_pool"].lower()  # dUSDCV3: lends against xUSD and sdeUSD
    assert vault_depths(snap) == {x: 1, d: 2, s: 3, cp: 4, pool: 4}
    per_vault, per_base = pyramids(snap, e)
    mult = dict(zip(per_vault["vault"], per_vault["multiplier"], strict=True))
    assert mult[x] == pytest.approx(253.34 / 21.74)
    (base,) = per_base.itertuples()
    assert (base.base, base.depth) == (usdc, 4)
    # dUSDCV3 adds its 15M of receipts, and the 4.9M it has not lent to the USDC the pyramid holds
    assert (base.receipts_outstanding, base.base_held) == pytest.approx((575.94e6, 118.24e6))
    loops = loop_table(snap, build_graph(snap))
    lev = dict(zip(loops["loop"], loops["leverage"], strict=True))
    # Morpho's loopers (collateral at their oracles, in USDC) and Gearbox's credit accounts (each
    # collateral at its feed over USDC's): xUSD 149.2M + 6.5M × 1.27 against 108M + 6.6M of debt;
    # sdeUSD 40M + 4M × 1.075 against 25M + 3.5M.
    assert lev["USDC → xUSD → USDC"] == pytest.approx((149.2 + 8.255) / (149.2 + 8.255 - 114.6), rel=1e-9)
    assert lev["USDC → deUSD → sdeUSD → USDC"] == pytest.approx(44.3 / (44.3 - 28.5), rel=1e-9)
    assert "USDC → xUSD → deUSD → sdeUSD → USDC" in lev  # indirect: through deUSD's loan on xUSD


async def test_susde_loop(susde):
    snap, e = await _graph(susde)
    g = build_graph(snap)
    (loop,) = find_loops(g)
    assert loop.tokens == (_addr(susde, "USDe"), _addr(susde, "sUSDe"))
    (row,) = loop_table(snap, g).itertuples()
    assert row.loopers == 2 and row.leverage == pytest.approx(560 / 65, rel=1e-6)  # share rounding
    sus = _addr(susde, "sUSDe")
    assert e[e["vault"] == sus][["kind", "fraction"]].values.tolist() == [["base", 1.0]]
    assert vault_depths(snap) == {sus: 1}
