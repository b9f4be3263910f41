"""Positions carried from block to block: a backtest's worker reads again only what events changed.

A backtest scans many past blocks of one history; a worker scans several of them in turn. Between
two of its blocks most positions are untouched: their raw state on chain (shares, scaled balances,
flags) is what the worker read at its previous block. A protocol package that can say, from the
logs between two blocks, exactly which accounts' raw state changed declares a `reuse` module
(`ProtocolSpec.reuse`) with

* ``scope(indexer) -> str``: what the indexer reads (its contract), so each contract's reads are kept apart;
* ``async fetch(indexer, ctx, previous) -> (raw, memory)``: the indexer's raw reads at `ctx`'s pin,
  reading again only the accounts the logs since `previous.block` touched (and any not read then),
  the others carried from `previous.memory` and brought to this block with the block's own market
  totals or indexes; `memory` is what the next block may carry (None: nothing).

Exactness is the package's to keep, and its rule is correctness over speed: any log it cannot map
to the accounts it changes (an unknown event, an upgrade) means every account is read again.
Where a protocol declares no `reuse`, its indexer reads everything at every block, as a scan does.
A worker carries forward only, on the same chain: a block below its previous one, or one after a
previous block whose hash changed (reorganised, or another history at the same address), is read
whole.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from eth_utils import keccak

from loopscan.protocols import registry
from loopscan.protocols.base import ScanContext
from loopscan.rpc import get_logs

__all__ = ["Previous", "PositionReuse", "event_topic", "events_since", "touched_by"]

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Previous:
    """What a package kept of its reads at `block`, for the same worker's next block."""

    block: int
    memory: Any
    block_hash: str  # the block's hash when read: carried only while it is still the chain's


class PositionReuse:
    """One worker process's reads, per contract, from the last block it scanned."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, str], Previous] = {}

    async def fetch(self, indexer: Any, ctx: ScanContext) -> Any:
        """`indexer.fetch(ctx)`, carrying what its package's `reuse` allows from the last block."""
        spec = registry.spec(indexer.name)
        if spec.reuse is None:
            return await indexer.fetch(ctx)
        reuse = spec.load("reuse")
        key = (ctx.client.endpoint, indexer.name, reuse.scope(indexer))
        previous = self._last.pop(key, None)
        if previous is not None and (previous.block >= ctx.block or not await _still_canonical(ctx, previous)):
            previous = None  # the logs between are read forward only, on the same chain: read it whole
        raw, memory = await reuse.fetch(indexer, ctx, previous)
        if memory is not None:
            self._last[key] = Previous(ctx.block, memory, ctx.pin.hash)
        return raw


async def _still_canonical(ctx: ScanContext, previous: Previous) -> bool:
    """Whether the node still has the previous block with the hash it was read at (not a node
    restarted with another history at the same address, nor a reorganised block)."""
    found = await ctx.client.get_block(previous.block)
    return found is not None and found.get("hash") == previous.block_hash


async def events_since(ctx: ScanContext, address: str | Sequence[str], since: int) -> list[dict]:
    """Every log of `address` in the blocks after `since` up to the pin, whatever its event.

    Read for that interval alone, past any `rpc.LogCache`: the cache would read every event of
    the contract since its deployment (a contract's every `AccrueInterest`, `Transfer`, ...) for
    the first interval, which cost a 10k-position worker more than carrying saved it."""
    return await get_logs(ctx.client, address, None, since + 1, ctx.block, chunk_size=ctx.log_chunk_size)


def event_topic(signature: str) -> str:
    """An event's topic 0: the keccak of its signature, 0x-hex as logs carry it."""
    return "0x" + keccak(text=signature).hex()


def touched_by(logs: Iterable[dict], events: Mapping[str, Callable[[dict], Iterable[K]]]) -> set[K] | None:
    """The keys (accounts, positions) `logs` change: `events` maps each event's topic to what it
    changes (nothing, for an event that changes no position). None, meaning "all of them", at the
    first log of an event not in `events`: what it changes is unknown."""
    found: set[K] = set()
    for log in logs:
        keys = events.get(log["topics"][0] if log["topics"] else "")
        if keys is None:
            return None
        found.update(keys(log))
    return found
