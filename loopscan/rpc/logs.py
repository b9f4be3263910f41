"""``eth_getLogs`` over any block range, split to fit whatever limit the node enforces.

Every provider caps ``eth_getLogs``, by block span (Alchemy 2K, QuickNode 10K, BSC
50K) or by result count (Infura and reth 10K/20K logs), and words the refusal
its own way; ``classify.py`` turns the known wordings into ``LogRangeTooLarge``. Here the range
is walked in chunks of ``chunk_size`` blocks; a refused chunk is bisected, and the refused span
is remembered so later chunks are cut before they are sent instead of each being refused once.
The span only shrinks: after a dense region the rest of the scan asks in smaller steps, which
costs requests but never correctness.

Chunks travel ``concurrency`` at a time, and each answer is parsed as it arrives, while the node
works on the others. The result is the chunks' answers joined in block order, each as the node
ordered it (by block, then log index: what every node does), without a sort of the whole list.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

from .client import RpcClient
from .errors import BadResponse, LogRangeTooLarge

__all__ = ["get_logs"]

log = logging.getLogger(__name__)

Topic = str | Sequence[str] | None


async def get_logs(
    client: RpcClient,
    address: str | Sequence[str] | None,
    topics: Sequence[Topic] | None,
    from_block: int,
    to_block: int,
    *,
    chunk_size: int = 2_000,
    concurrency: int = 8,
) -> list[dict[str, Any]]:
    """All logs matching the filter in ``[from_block, to_block]``, ordered by block then log index.

    Logs are returned as the node gives them (hex fields). Raises ``LogRangeTooLarge`` only
    when a single block is over the node's limit, which no splitting can fix.
    """
    if from_block > to_block:
        raise ValueError(f"from_block {from_block} is after to_block {to_block}")
    if chunk_size < 1 or concurrency < 1:
        raise ValueError("chunk_size and concurrency must be positive")
    base: dict[str, Any] = {}
    if address is not None:
        base["address"] = address if isinstance(address, str) else list(address)
    if topics is not None:
        base["topics"] = [t if t is None or isinstance(t, str) else list(t) for t in topics]
    todo = deque((lo, min(lo + chunk_size - 1, to_block)) for lo in range(from_block, to_block + 1, chunk_size))
    found: dict[int, list[dict[str, Any]]] = {}  # first block of a chunk -> its logs
    span = [chunk_size]  # the largest span not yet refused, shared by the workers

    async def worker() -> None:
        while todo:
            lo, hi = todo.popleft()
            if hi - lo + 1 > span[0]:
                todo.extendleft(reversed([(s, min(s + span[0] - 1, hi)) for s in range(lo, hi + 1, span[0])]))
                continue
            try:
                part = await client.request("eth_getLogs", [{**base, "fromBlock": hex(lo), "toBlock": hex(hi)}])
            except LogRangeTooLarge as refused:
                if lo == hi:
                    raise
                mid = (lo + hi) // 2
                span[0] = min(span[0], mid - lo + 1)
                log.info("eth_getLogs %d-%d refused (%s); splitting, span now %d", lo, hi, refused.message, span[0])
                todo.extendleft([(mid + 1, hi), (lo, mid)])
                continue
            if not isinstance(part, list):
                raise BadResponse(f"expected a list of logs, got {str(part):.100}",
                                  method="eth_getLogs", endpoint=client.endpoint)
            found[lo] = part

    workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(todo)))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return [entry for lo in sorted(found) for entry in found[lo]]
