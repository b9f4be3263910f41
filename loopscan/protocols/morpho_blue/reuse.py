"""Which Morpho Blue positions the logs between two blocks changed (`loopscan.protocols.reuse`).

A position's raw state is `Morpho.position(id, account)`: supply shares, borrow shares,
collateral. The snapshot's assets are computed from it with the market's totals, which are read
and accrued at every block (`indexer.MorphoBlueIndexer.transform`), so a carried position is
exact as long as its three numbers did not move. They move only through the singleton's own
events, each naming the position:

* `Supply`, `Withdraw`, `Borrow`, `Repay`, `SupplyCollateral`, `WithdrawCollateral`: `onBehalf`;
* `Liquidate`: `borrower` (debt repaid or written off, collateral seized);
* `AccrueInterest` with fee shares: the fee recipient's supply shares in that market. The event
  does not name it: every recipient the `SetFeeRecipient` logs make current at some point of the
  interval is counted as touched.

Events that move no position (`CreateMarket`, `SetOwner`, `SetFee`, `SetFeeRecipient`,
`EnableIrm`, `EnableLltv`, `FlashLoan`, `SetAuthorization`, `IncrementNonce`) change nothing;
any other log of the singleton is unknown, and every position is read again.
"""

from __future__ import annotations

from bisect import bisect_right

from loopscan.model import ZERO_ADDRESS
from loopscan.protocols.base import ScanContext, topic_address
from loopscan.protocols.morpho_blue.indexer import (
    BORROW,
    CREATE_MARKET,
    SUPPLY,
    SUPPLY_COLLATERAL,
    MorphoBlueIndexer,
    MorphoRaw,
)
from loopscan.protocols.reuse import Previous, event_topic, events_since, touched_by
from loopscan.rpc import decode_uint

__all__ = ["scope", "fetch", "fetch_touched"]

Pair = tuple[str, str]  # (market id, account)


WITHDRAW = event_topic("Withdraw(bytes32,address,address,address,uint256,uint256)")
REPAY = event_topic("Repay(bytes32,address,address,uint256,uint256)")
WITHDRAW_COLLATERAL = event_topic("WithdrawCollateral(bytes32,address,address,address,uint256)")
LIQUIDATE = event_topic("Liquidate(bytes32,address,address,uint256,uint256,uint256,uint256,uint256)")
ACCRUE_INTEREST = event_topic("AccrueInterest(bytes32,uint256,uint256,uint256)")
SET_FEE_RECIPIENT = event_topic("SetFeeRecipient(address)")
_NEUTRAL = (CREATE_MARKET, SET_FEE_RECIPIENT, *map(event_topic, (
    "SetOwner(address)", "SetFee(bytes32,uint256)", "EnableIrm(address)", "EnableLltv(uint256)",
    "FlashLoan(address,address,uint256)", "SetAuthorization(address,address,address,bool)",
    "IncrementNonce(address,address,uint256)")))  # fmt: skip
# Where the position's account sits among each event's topics (the market id is topic 1 in all).
_ACCOUNT_TOPIC = {SUPPLY: 3, WITHDRAW: 2, BORROW: 2, REPAY: 3, SUPPLY_COLLATERAL: 3, WITHDRAW_COLLATERAL: 2, LIQUIDATE: 3}


def scope(indexer: MorphoBlueIndexer) -> str:
    return indexer.address


async def fetch(indexer: MorphoBlueIndexer, ctx: ScanContext, previous: Previous | None) -> tuple[MorphoRaw, dict[Pair, tuple]]:
    """The indexer's reads at the pin, positions no event touched since `previous` carried from it;
    the memory is every position read or carried (a failed read is in neither: read next time)."""
    skip: set[Pair] = set()
    if previous is not None and (touched := await fetch_touched(indexer, ctx, previous.block)) is not None:
        skip = previous.memory.keys() - touched
    raw = await indexer.fetch(ctx, skip=skip)
    carried = {pair: previous.memory[pair] for pair in skip if pair[0] in raw.states}
    # In the order a whole read gives them (sorted by pair), so that the rows come out the same.
    raw.positions = dict(sorted({**raw.positions, **carried}.items()))
    return raw, dict(raw.positions)


async def fetch_touched(indexer: MorphoBlueIndexer, ctx: ScanContext, since: int) -> set[Pair] | None:
    """The positions the singleton's logs after block `since` up to the pin changed; None if a log
    says something this module cannot map (module docstring)."""
    logs = await events_since(ctx, indexer.address, since)
    fees = {log["topics"][1] for log in logs if log["topics"][:1] == [ACCRUE_INTEREST] and decode_uint(_data(log), 2)}
    events = {topic: _account(at) for topic, at in _ACCOUNT_TOPIC.items()}
    events |= {topic: _nothing for topic in (*_NEUTRAL, ACCRUE_INTEREST)}
    touched = touched_by(logs, events)
    if touched is not None and fees:
        recipients = await _fee_recipients(indexer, ctx, since)
        touched |= {(market_id, r) for market_id in fees for r in recipients}
    return touched


async def _fee_recipients(indexer: MorphoBlueIndexer, ctx: ScanContext, since: int) -> set[str]:
    """Every fee recipient current at some point after block `since`: the one set last at or
    before it (none set: the zero address) and each set since."""
    logs = await ctx.logs(indexer.address, [SET_FEE_RECIPIENT], indexer.start_block)
    start = bisect_right(logs, since, key=lambda log: int(log["blockNumber"], 16))
    return {topic_address(log["topics"][1]) for log in logs[max(start - 1, 0) :]} | ({ZERO_ADDRESS} if start == 0 else set())


def _account(at: int):
    def keys(log: dict) -> tuple[Pair]:
        return ((log["topics"][1], topic_address(log["topics"][at])),)

    return keys


def _nothing(log: dict) -> tuple:
    return ()


def _data(log: dict) -> bytes:
    return bytes.fromhex(log["data"][2:])
