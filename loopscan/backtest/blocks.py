"""Which blocks a backtest scans: numbers as given, dates by binary search on block timestamps.

A date (`2025-11-04`, or `2025-11-04T12:00`, UTC unless an offset is given) stands for the last
block at or before that instant, as a block explorer's "block at date" does.
"""

from __future__ import annotations

from datetime import UTC, datetime

from loopscan.backtest.errors import BacktestError
from loopscan.monitor import parse_duration
from loopscan.rpc import RpcClient

__all__ = ["parse_when", "block_at", "plan_blocks"]


def parse_when(text: str) -> int | datetime:
    """A block number or an instant (timezone-aware); BacktestError naming the text otherwise."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise BacktestError(f"{text!r} is neither a block number nor a date like 2025-11-04") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


async def _timestamp(client: RpcClient, number: int) -> int:
    header = await client.get_block(number)
    if header is None:
        raise BacktestError(f"the node does not know block {number}")
    return int(header["timestamp"], 16)


async def block_at(client: RpcClient, when: datetime, head: int) -> int:
    """The last block whose timestamp is at or before `when` (binary search, ~log2(head) reads)."""
    target = int(when.timestamp())
    if await _timestamp(client, 0) > target:
        raise BacktestError(f"{when.isoformat()} is before this chain's first block")
    lo, hi = 0, head  # invariant: timestamp(lo) <= target; the answer is in [lo, hi]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if await _timestamp(client, mid) <= target:
            lo = mid
        else:
            hi = mid - 1
    return lo


async def plan_blocks(client: RpcClient, start: str, end: str, every: str) -> list[int]:
    """The blocks from `start` to `end` (inclusive): every N blocks (`every` = "100"), or one
    per period (`every` = "1d", "6h": the block at each instant start, start + period, ...)."""
    head = await client.block_number()
    first, last = parse_when(start), parse_when(end)
    if every.strip().isdigit():
        step = int(every)
        if step <= 0:
            raise BacktestError("--every must be a positive number of blocks or a period like 1d")
        lo = first if isinstance(first, int) else await block_at(client, first, head)
        hi = last if isinstance(last, int) else await block_at(client, last, head)
        blocks = list(range(lo, hi + 1, step))
    else:
        try:
            period = parse_duration(every)
        except ValueError as exc:
            raise BacktestError(f"--every: {exc} or a number of blocks") from None
        if isinstance(first, int) or isinstance(last, int):
            raise BacktestError("--every with a period needs --from and --to as dates")
        instants, t = [], first.timestamp()
        while t <= last.timestamp():
            instants.append(datetime.fromtimestamp(t, UTC))
            t += period
        blocks = sorted({await block_at(client, when, head) for when in instants})
    if not blocks:
        raise BacktestError(f"no blocks from {start} to {end}")
    if blocks[-1] > head:
        raise BacktestError(f"block {blocks[-1]} is past the node's head {head}")
    return blocks
