"""Logs read once for many pinned blocks: a backtest scans block after block of one history.

Every scan reads each protocol's logs from its deployment to the pin; over a range of blocks those
reads overlap almost entirely. A `LogCache` reads each filter's logs once, up to `until` (the
range's last block), and gives each pin the prefix at or below it. That is exact for blocks at or
below `until` as long as the chain does not reorganise them: past blocks, which is what a
backtest reads. A pin above `until` is read from the node as usual.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from .client import RpcClient
from .logs import Topic, get_logs

__all__ = ["LogCache"]


class LogCache:
    """Each filter's logs up to `until`, read on first use, cut at every later pin."""

    def __init__(self, until: int) -> None:
        self.until = until
        self._found: dict[tuple, tuple[list[int], list[dict[str, Any]]]] = {}

    async def get_logs(
        self,
        client: RpcClient,
        address: str | Sequence[str] | None,
        topics: Sequence[Topic] | None,
        from_block: int,
        to_block: int,
        *,
        chunk_size: int = 2_000,
        concurrency: int = 8,
    ) -> list[dict[str, Any]]:
        """`rpc.get_logs` with the same arguments, answered from the cache when `to_block` is
        at or below `until`."""
        if to_block > self.until or from_block > to_block:
            return await get_logs(client, address, topics, from_block, to_block, chunk_size=chunk_size,
                                  concurrency=concurrency)  # fmt: skip
        key = (client.endpoint, _addresses(address), _topics(topics), from_block)
        if key not in self._found:
            logs = await get_logs(client, address, topics, from_block, self.until, chunk_size=chunk_size,
                                  concurrency=concurrency)  # fmt: skip
            # get_logs returns them ordered by block (its chunks in block order, each as the node orders it)
            self._found[key] = ([int(entry["blockNumber"], 16) for entry in logs], logs)
        blocks, logs = self._found[key]
        return logs[: bisect_right(blocks, to_block)]


def _addresses(address: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if address is None:
        return None
    return (address.lower(),) if isinstance(address, str) else tuple(sorted(a.lower() for a in address))


def _topics(topics: Sequence[Topic] | None) -> tuple | None:
    if topics is None:
        return None
    return tuple(t if t is None or isinstance(t, str) else tuple(t) for t in topics)
