"""Positions carried between a worker's blocks (`protocols.reuse`): every block scanned with
reuse equals a direct scan of it table for table, and only the positions events touched are read
again (counted read by read)."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from backtest_helpers import assert_same_snapshot, day_blocks
from devnet_helpers import aave_pool, contract, fund, market_params, morpho
from eth_utils import to_checksum_address

from loopscan.chains import from_devnet_manifest
from loopscan.protocols.base import ReadMany, ScanContext
from loopscan.protocols.reuse import PositionReuse
from loopscan.result import analyse
from loopscan.rpc import LogCache
from loopscan.scanner import index, index_async

pytestmark = pytest.mark.devnet

# Every day of the timeline's last three weeks: loans grow, the write-down, the sales.
DAYS = tuple(f"2025-10-{d:02d}" for d in range(17, 32)) + tuple(f"2025-11-{d:02d}" for d in range(1, 7))


@pytest.fixture
def position_reads(monkeypatch):
    """Every position read of every round, by block: the `missing` keys ("<market>:<account>")
    of the rounds' `position` reads."""
    seen: dict[int, set[str]] = defaultdict(set)
    read_round = ScanContext.read_round

    async def counted(self, reads):
        for r in reads.values():
            if isinstance(r, ReadMany) and r.kind == "position":
                seen[self.block].update(r.keys)
        return await read_round(self, reads)

    monkeypatch.setattr(ScanContext, "read_round", counted)
    return seen


def scan_in_turn(url: str, deployments, blocks: list[int], reuse: bool) -> dict:
    """Each block scanned in turn as one backtest worker scans its blocks."""
    cache, carry = LogCache(max(blocks)), PositionReuse() if reuse else None
    return {b: asyncio.run(index_async(url, deployments=deployments, block=b, log_cache=cache, reuse=carry)) for b in blocks}


def test_every_block_with_reuse_equals_a_direct_scan_and_reads_only_the_touched(timeline, position_reads):
    blocks = day_blocks(timeline, *DAYS)
    deployments = from_devnet_manifest(timeline.manifest)
    whole = scan_in_turn(timeline.url, deployments, blocks, reuse=False)
    read_whole = {b: len(position_reads.pop(b)) for b in blocks}
    carried = scan_in_turn(timeline.url, deployments, blocks, reuse=True)
    read_carried = {b: len(position_reads.pop(b)) for b in blocks}
    for block in blocks:
        direct = index(timeline.url, deployments=deployments, block=block)
        assert_same_snapshot(carried[block], direct, block)
        assert_same_snapshot(whole[block], direct, block)
    # The first block is read whole; after it, only what the day's events touched.
    assert read_carried[blocks[0]] == read_whole[blocks[0]] > 0
    assert all(read_carried[b] < read_whole[b] for b in blocks[1:]), (read_carried, read_whole)
    print("position reads per block, whole / with reuse:", [(read_whole[b], read_carried[b]) for b in blocks])
    assert sum(read_carried.values()) < sum(read_whole.values()) / 2


def read_accounts(position_reads: dict, block: int) -> set[str]:
    """The accounts whose positions were read at `block` (keys end with the account)."""
    return {key.rsplit(":", 1)[1] for key in position_reads.pop(block, set())}


def carry_then_compare(net, reuse: PositionReuse, position_reads: dict) -> set[str]:
    """Scan the latest block with `reuse`, check it against a direct scan; the accounts read."""
    deployments = from_devnet_manifest(net.manifest)
    block = net.chain.block()["number"]
    # The history grows under the test: logs up to this block (a backtest's range is past blocks).
    mine = asyncio.run(index_async(net.url, deployments=deployments, block=block, log_cache=LogCache(block), reuse=reuse))
    accounts = read_accounts(position_reads, block)
    assert_same_snapshot(mine, index(net.url, deployments=deployments, block=block), block)
    return accounts


def liquidate_some_morpho_position(net) -> str:
    """Morpho's own liquidation of 1,000 units of collateral of a position liquidatable at the
    latest block (xUSD's, from the write-down on); its borrower."""
    now = analyse(index(net.url, deployments=from_devnet_manifest(net.manifest))).now
    (market_key, borrower), *_ = now.loc[now["liquidatable_now"] & (now["protocol"] == now["protocol"].iloc[0]),
                                         ["position", "account"]].itertuples(index=False)  # fmt: skip
    name = next(n for n, m in net.manifest["morpho_markets"].items() if m["id"] == market_key.split(":")[1])
    blue = morpho(net)
    liquidator = fund(net, net.manifest["morpho_markets"][name]["loan_token"], "liquidator", 10**30, blue.address)
    net.chain.send(blue.functions.liquidate(market_params(net, name), to_checksum_address(borrower), 1000, 0, b""),
                   liquidator, "liquidate")  # fmt: skip
    return borrower


def test_a_morpho_position_touched_only_by_a_liquidation_is_read_again(timeline, position_reads):
    """At the timeline's last day xUSD's positions are liquidatable: a liquidation of a sliver of
    one, and nothing else, makes it (and only it) be read again."""
    saved = timeline.snapshot()
    try:
        reuse = PositionReuse()
        first = carry_then_compare(timeline, reuse, position_reads)
        borrower = liquidate_some_morpho_position(timeline)
        assert carry_then_compare(timeline, reuse, position_reads) == {borrower.lower()}
        assert borrower.lower() in first and len(first) > 1
    finally:
        timeline.revert(saved)


def test_a_worker_whose_last_block_left_the_chain_reads_the_next_whole(timeline, position_reads):
    """A block read, then replaced (a reorganisation, or a node restarted with another history at
    the same address): what was read there is not carried, though the logs since say nothing."""
    saved = timeline.snapshot()
    try:
        reuse = PositionReuse()
        carry_then_compare(timeline, reuse, position_reads)
        fork = timeline.snapshot()
        liquidate_some_morpho_position(timeline)
        assert len(carry_then_compare(timeline, reuse, position_reads)) == 1  # the liquidated one, carried from then on
        height = timeline.chain.block()["number"]
        timeline.revert(fork)
        while timeline.chain.block()["number"] <= height:  # past that height again, without the liquidation
            timeline.node.rpc("evm_mine")
        whole = carry_then_compare(timeline, reuse, position_reads)
        assert len(whole) > 1  # read whole, and equal to a direct scan (the position is not liquidated here)
    finally:
        timeline.revert(saved)


def test_aave_accounts_touched_only_by_an_atoken_transfer_or_a_liquidation_are_read_again(susde, position_reads):
    reuse = PositionReuse()
    everyone = carry_then_compare(susde, reuse, position_reads)
    assert len(everyone) == 8  # 3 lenders, 5 loopers
    # A month of interest and one new supplier: the others' balances are carried, scaled, and
    # brought to the block with the reserves' indexes (the snapshot equals a direct scan's).
    susde.chain.increase_time(86400 * 30)
    late = fund(susde, "USDT", "late-supplier", 1_000 * 10**6, susde.manifest["contracts"]["aave_pool"])
    pool = aave_pool(susde)
    usdt = susde.manifest["tokens"]["USDT"]["address"]
    susde.chain.send(pool.functions.supply(usdt, 1_000 * 10**6, late, 0), late, "Pool.supply")
    assert carry_then_compare(susde, reuse, position_reads) == {late.lower()}
    # An aToken transfer alone: the sender and the receiver.
    lender, receiver = susde.chain.account("usdt-lenders"), susde.chain.account("atoken-receiver")
    a_usdt = contract(susde, susde.manifest["aave_reserves"]["USDT"]["a_token"], "loopscan", "ScenarioToken")  # an ERC-20 ABI
    susde.chain.send(a_usdt.functions.transfer(receiver, 5 * 10**6), lender)
    assert carry_then_compare(susde, reuse, position_reads) == {lender.lower(), receiver.lower()}
    # A liquidation alone (the feed's move touches no account): the borrower, and whoever the
    # liquidation's protocol fee credits aTokens to.
    susde.apply("usdt-feed-down-15")
    looper = susde.chain.account("looper-c")
    tokens = susde.manifest["tokens"]
    liquidator = fund(susde, "USDC", "liquidator", 10**30, pool.address)
    susde.chain.send(pool.functions.liquidationCall(tokens["sUSDe"]["address"], tokens["USDC"]["address"], looper, 1000, False),
                     liquidator, "liquidate")  # fmt: skip
    read = carry_then_compare(susde, reuse, position_reads)
    assert looper.lower() in read and len(read) < len(everyone)


def test_a_morpho_fee_recipient_credited_by_interest_alone_is_read_again(timeline, position_reads):
    """`AccrueInterest` pays fee shares to the fee recipient without naming it: a lender made the
    recipient, then credited by a day's interest and nothing else, is read again."""
    saved = timeline.snapshot()
    try:
        reuse = PositionReuse()
        carry_then_compare(timeline, reuse, position_reads)
        snap = index(timeline.url, deployments=from_devnet_manifest(timeline.manifest))
        lent = snap.positions[snap.positions["supply_shares"].astype(object) > 0].merge(
            snap.markets[snap.markets["total_borrow_assets"].astype(object) > 0][["market_id"]])
        market_id, lender = lent.iloc[0][["market_id", "account"]]
        name = next(n for n, m in timeline.manifest["morpho_markets"].items() if m["id"] == market_id)
        blue, owner, params = morpho(timeline), timeline.chain.account("morpho-owner"), market_params(timeline, name)
        timeline.chain.send(blue.functions.setFeeRecipient(to_checksum_address(lender)), owner, "setFeeRecipient")
        timeline.chain.send(blue.functions.setFee(params, 10**17), owner, "setFee")  # 10 % of the interest
        assert carry_then_compare(timeline, reuse, position_reads) == set()  # no fee paid yet: nothing read
        timeline.chain.increase_time(86400)
        before = blue.functions.position(market_id, to_checksum_address(lender)).call()[0]
        timeline.chain.send(blue.functions.accrueInterest(params), owner, "accrueInterest")
        assert blue.functions.position(market_id, to_checksum_address(lender)).call()[0] > before  # the fee shares
        assert carry_then_compare(timeline, reuse, position_reads) == {lender}
    finally:
        timeline.revert(saved)
