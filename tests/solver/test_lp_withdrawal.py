"""Depth that leaves, on chain: liquidity providers really withdraw (the scenarios' `lps-leave-50`
and `lps-leave-90` events, `decreaseLiquidity` and `collect` through the NonfungiblePositionManager
for every position), and the chain rescanned afterwards is what `haircut(book, F)` predicted
offline from the chain before: each exit pool's active liquidity and every tick's `liquidityNet`
to the unit, and so every token's δ₁, δ_c and δ_bd and its depth table to the float.

That is exact where each of the Book's aggregates is one position (the seeded pools). With several
positions summed into an aggregate, the chain floors each position's removal and the haircut the
aggregate's: the chain keeps at most one unit fewer per position summed into it (the haircut
module's docstring), which the last test measures with positions sharing a tick.

Every block in a test shares the scan's timestamp (`_one_instant`), so no interest accrues between
the scan before and the scan after: the pools are the only thing the event changes.
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager

import pandas as pd
import pytest
from eth_utils import to_checksum_address

from loopscan.chains import from_devnet_manifest
from loopscan.devnet.build import Artifacts
from loopscan.devnet.errors import ScenarioError
from loopscan.devnet.run import BLOCK_INTERVAL
from loopscan.scanner import index_async
from loopscan.solver import Solver, build_book
from loopscan.solver.book import Book
from loopscan.solver.depth import depth_table
from loopscan.solver.haircut import haircut
from tests.protocols.test_uniswap_v3 import _NPM, _add_position

pytestmark = pytest.mark.devnet


@contextmanager
def _one_instant(net):
    net.node.rpc("anvil_setBlockTimestampInterval", [0])
    net.node.rpc("evm_mine")  # takes any pending next-block timestamp; the blocks after keep this one's
    try:
        yield
    finally:
        net.node.rpc("anvil_setBlockTimestampInterval", [BLOCK_INTERVAL])


def _book(net) -> Book:
    return build_book(asyncio.run(index_async(net.url, deployments=from_devnet_manifest(net.manifest))))


def _thresholds(book: Book) -> pd.DataFrame:
    return Solver(book).thresholds("depeg")


def _absorbable(book: Book) -> pd.Series:
    return depth_table(Solver(book)).set_index(["symbol", "level_frac"])["absorbable_usd"]


@pytest.mark.parametrize("fraction", [0.5, 0.9])
@pytest.mark.parametrize("scenario", ["stream", "susde"])
def test_lps_leaving_leave_what_the_haircut_predicted(scenario: str, fraction: float, request) -> None:
    net = request.getfixturevalue(scenario)
    with _one_instant(net):
        before = _book(net)
        predicted = haircut(before, fraction)
        net.apply(f"lps-leave-{round(fraction * 100)}")
        after = _book(net)
    assert after.exits.keys() == predicted.exits.keys() and after.exits
    for token, exit_ in after.exits.items():
        assert exit_ == predicted.exits[token], f"{before.symbols[token]}: the chain after is not the haircut's"
        for venue, was in zip(exit_.venues, before.exits[token].venues, strict=True):
            assert venue.state.liquidity < was.state.liquidity  # the event did withdraw
    pd.testing.assert_frame_equal(_thresholds(after), _thresholds(predicted), check_exact=True)
    absorbable = _absorbable(after)
    pd.testing.assert_series_equal(absorbable, _absorbable(predicted), check_exact=True)
    assert (absorbable <= _absorbable(before)).all() and (absorbable < _absorbable(before)).any()  # depth left


def test_lps_sharing_ticks_keep_at_most_a_unit_each_less(susde) -> None:
    """Two more LPs in USDe/USDT: one shares the seeded position's lower tick, one starts at its
    upper tick (a `liquidityNet` of +L and −L summed). Every aggregate the chain keeps is the
    haircut's less at most one unit per position summed into it (never more), and the thresholds
    are still the prediction's to the float."""
    pid = "USDe/USDT"
    (seeded,) = [p for p in susde.manifest["positions"]["uniswap"] if p["pool"] == pid]
    lower, upper = seeded["tick_lower"], seeded["tick_upper"]
    spacing = susde.manifest["uniswap_pools"][pid]["tick_spacing"]
    positions = [(lower, upper)]
    with _one_instant(susde):
        for lo, up, amount0, amount1 in ((lower, upper + 7 * spacing, 3 * 10**24 + 1, 3 * 10**12 + 1),
                                         (upper, upper + 3 * spacing, 10**24 + 3, 0)):  # fmt: skip
            _add_position(susde, pid, lo, up, amount0, amount1)
            positions.append((lo, up))
        before = _book(susde)
        predicted = haircut(before, 0.5)
        susde.apply("lps-leave-50")
        after = _book(susde)
    address = susde.manifest["uniswap_pools"][pid]["address"].lower()
    token = next(t for t, e in after.exits.items() if e.venues[0].address == address)  # USDe's and sUSDe's: one state
    chain, cut = after.exits[token].venues[0].state, predicted.exits[token].venues[0].state
    tick = chain.tick
    active = sum(lo <= tick < up for lo, up in positions)
    assert 0 <= cut.liquidity - chain.liquidity < active
    assert chain.ticks.keys() == cut.ticks.keys() == {lower, upper, upper + 3 * spacing, upper + 7 * spacing}
    for t, net in chain.ticks.items():
        summed = sum(t in (lo, up) for lo, up in positions)
        assert abs(cut.ticks[t] - net) < summed, f"tick {t}: chain {net}, haircut {cut.ticks[t]}"
    got, expected = _thresholds(after), _thresholds(predicted)
    figures = ["first_liquidation_frac", "cascade_frac", "bad_debt_frac"]
    gap = (got[figures] - expected[figures]).abs().max().max()
    print(f"\nUSDe/USDT, 3 LPs, 50 % withdrawn: liquidity {cut.liquidity - chain.liquidity} unit(s) under the haircut's;"
          f" ticks {[cut.ticks[t] - chain.ticks[t] for t in sorted(chain.ticks)]}; thresholds differ by at most {gap}")  # fmt: skip
    pd.testing.assert_frame_equal(got, expected, check_exact=True)  # a unit of liquidity moves no float here


def test_a_position_no_devnet_account_owns_is_named_not_skipped(susde) -> None:
    """An LP position handed to an address that is no devnet account cannot be withdrawn by its
    owner: the event fails naming the pool, the position and the owner, before any withdrawal (the
    seeded LP, enumerated first, keeps all its liquidity)."""
    pid = "USDe/USDT"
    spacing = susde.manifest["uniswap_pools"][pid]["tick_spacing"]
    (seeded,) = [p for p in susde.manifest["positions"]["uniswap"] if p["pool"] == pid]
    _add_position(susde, pid, seeded["tick_upper"], seeded["tick_upper"] + spacing, 10**24, 0)
    npm = susde.chain.contract(susde.manifest["contracts"]["uniswap_v3_position_manager"], Artifacts().published(_NPM).abi)
    minted = npm.functions.tokenByIndex(npm.functions.totalSupply().call() - 1).call()
    lp = susde.chain.account("uniswap-test-lp")
    susde.chain.send(npm.functions.transferFrom(lp, to_checksum_address("0x" + "5e" * 20), minted), lp)
    with pytest.raises(ScenarioError, match=rf"{pid}: LP position {minted} belongs to 0x5[eE]"):
        susde.apply("lps-leave-50")
    assert npm.functions.positions(seeded["token_id"]).call()[7] == int(seeded["liquidity"])
