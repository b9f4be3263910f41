"""Many contract reads in few round trips: Multicall3 ``aggregate3``, many of them per batch.

Calls are cut into chunks, each one ``aggregate3`` ``eth_call`` with ``allowFailure`` set,
so a call that reverts is reported with its reason instead of failing its neighbours. A chunk
is bounded by its calldata bytes (the request must fit the node's body cap) and by the gas the
node gives an ``eth_call``: at the pinned block, that block's gas limit (anvil's cap, and
geth's and erigon's when under their 50M ``rpc.gascap``), so a chunk holds as many calls as that
gas pays for, not a fixed count. The chunks' ``eth_call``\\s travel together in JSON-RPC batches
(``RpcClient.batch``).

The estimate can be wrong. When the node refuses a chunk as out of gas or too large
(``BatchTooLarge``), the chunk is halved and sent again, and a warning says so (banteg's
``NotSoBrightBatcher.rebatch``). Gas can also run short *inside* a chunk: aggregate3 forwards
63/64 of what is left to each call, so once a heavy call has taken most of it, the later calls
fail with no data, exactly like a bare ``revert()``. Those failures are therefore checked
again each alone before they are reported.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from .abi import decode_revert
from .aggregate3 import decode_aggregate3, encode_aggregate3, encoded_call_size
from .calls import Call, CallResult
from .client import RpcClient
from .errors import BadResponse, BatchTooLarge, RpcError
from .reads import BlockRef, block_tag
from .routes import MULTICALL3_ADDRESS, plain_calls, state_override

__all__ = ["MULTICALL3_ADDRESS", "Call", "CallResult", "MulticallLimits", "multicall"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MulticallLimits:
    """How big one ``aggregate3`` may be.

    ``gas_per_call`` is what a typical view call costs inside a chunk: measured on anvil, a
    Morpho ``position`` 5k, a ``balanceOf`` 23k the first time a chunk calls its token (cold
    account) and 6–8k after, so 20k leaves room for oracles. ``gas_budget``: the gas of one
    ``aggregate3``; None for the node's own (``RpcClient.call_gas``: the pinned block's gas
    limit, at most 50M, else 25M). ``max_calldata_bytes`` is further capped so the hex-encoded
    request fits the client's ``max_body_bytes``.
    """

    gas_per_call: int = 20_000
    gas_budget: int | None = None
    max_calldata_bytes: int = 256 * 1024


_CALLDATA_HEAD = 4 + 64  # selector, array offset, array length
_new_result = tuple.__new__
_REQUEST_OVERHEAD = 256  # JSON around the hex calldata


async def multicall(
    client: RpcClient,
    calls: Sequence[Call | tuple[str, bytes]],
    block: BlockRef,
    *,
    address: str = MULTICALL3_ADDRESS,
    limits: MulticallLimits = MulticallLimits(),
) -> list[CallResult]:
    """Run ``calls`` at ``block`` through Multicall3; one ``CallResult`` per call, in order.

    Raises the typed error when the node fails in a way that concerns every call (historical
    state unavailable, rate limit after retries...), or ``BadResponse`` when there is no
    Multicall3 at a non-canonical ``address``. Never drops a call. At the canonical address the
    client's route for the block is followed (``routes``): a chain without Multicall3 is read
    through a state override or as plain batched ``eth_call`` requests, with the same results.
    """
    tag = block_tag(block)
    if not calls:
        return []
    route = await client.multicall_route(tag) if address == MULTICALL3_ADDRESS else "deployed"
    if route == "batch":
        return await plain_calls(client, calls, tag)
    override = [state_override(address)] if route == "override" else []
    raw_target = {target: bytes.fromhex(target[2:]) for target in {target for target, _ in calls}}
    targets = [raw_target[target] for target, _ in calls]
    datas = [data for _, data in calls]
    results: list[CallResult | None] = [None] * len(calls)
    max_bytes = min(limits.max_calldata_bytes, (client.max_body_bytes - _REQUEST_OVERHEAD) // 2)
    per_chunk = max(1, (limits.gas_budget or client.call_gas(tag)) // max(1, limits.gas_per_call))
    queue = _plan(datas, max_bytes, per_chunk)
    while queue:
        params = [{"to": address}, tag, *override]
        chunks = ([(targets[i], True, datas[i]) for i in chunk] for chunk in queue)  # built as they are sent
        answers = await _send(client, params, chunks)
        next_queue: list[list[int]] = []
        suspects: list[int] = []
        refused: list[BatchTooLarge] = []
        for chunk, answer in zip(queue, answers, strict=True):
            if isinstance(answer, BatchTooLarge):
                next_queue.extend(_split(chunk, answer, results))
                refused.append(answer)
                continue
            if isinstance(answer, RpcError):
                raise answer
            for i, (success, data) in zip(chunk, answer, strict=True):
                if success:  # tuple.__new__: a CallResult without its Python-level __new__ (once per read)
                    results[i] = _new_result(CallResult, (True, data, None))
                elif not data and len(chunk) > 1:
                    suspects.append(i)
                else:
                    results[i] = CallResult(False, data, decode_revert(data))
        if refused:
            log.warning("multicall: %d aggregate3 call(s) refused (%s); halving them",
                        len(refused), refused[0].message)
        if suspects:
            log.info("multicall: checking %d call(s) that failed without data, each alone", len(suspects))
            next_queue.extend([i] for i in suspects)
        queue = next_queue
    return cast(list[CallResult], results)  # every index was filled or re-queued until filled


async def _send(client: RpcClient, params: list, chunks: Iterable[list[tuple[bytes, bool, bytes]]]) -> list:
    """The answers of one ``aggregate3`` ``eth_call`` per chunk (`params`: the call's own with the
    calldata left out), in order: each decoded (``_decode``), or the error of the call or of its
    decoding.

    What fits one HTTP request is encoded and on its way before the next is encoded, so the
    node starts on a large round at once instead of after all of it is encoded; the requests
    are the ones ``RpcClient.batch`` would pack from the whole list. Each request's answers are
    decoded as it lands, while the node works on the others.
    """

    async def settle(group: list[tuple[str, list]], sizes: list[int]) -> list:
        answers = await client.batch(group, return_exceptions=True)
        return [a if isinstance(a, RpcError) else _decoded(a, n, client) for a, n in zip(answers, sizes, strict=True)]

    sending: list[asyncio.Future] = []
    group: list[tuple[str, list]] = []
    sizes: list[int] = []
    size = 0
    try:
        for calls in chunks:
            data = "0x" + encode_aggregate3(calls).hex()
            if group and (len(group) >= client.max_batch_size
                          or size + len(data) + _REQUEST_OVERHEAD > client.max_body_bytes):  # fmt: skip
                sending.append(asyncio.ensure_future(settle(group, sizes)))
                await asyncio.sleep(0)
                group, sizes, size = [], [], 0
            group.append(("eth_call", [{**params[0], "data": data}, *params[1:]]))
            sizes.append(len(calls))
            size += len(data) + _REQUEST_OVERHEAD
        sending.append(asyncio.ensure_future(settle(group, sizes)))
        return [answer for answers in await asyncio.gather(*sending) for answer in answers]
    except BaseException:
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)
        raise


def _plan(datas: Sequence[bytes], max_bytes: int, per_chunk: int) -> list[list[int]]:
    """Cut the calls into chunks under ``max_bytes`` of calldata and ``per_chunk`` calls."""
    chunks: list[list[int]] = []
    chunk: list[int] = []
    size = _CALLDATA_HEAD
    sizes = {n: encoded_call_size(n) for n in {len(data) for data in datas}}
    for i, data in enumerate(datas):
        grow = sizes[len(data)]
        if chunk and (len(chunk) >= per_chunk or size + grow > max_bytes):
            chunks.append(chunk)
            chunk, size = [], _CALLDATA_HEAD
        chunk.append(i)
        size += grow
    if chunk:
        chunks.append(chunk)
    return chunks


def _split(chunk: list[int], error: BatchTooLarge, results: list[CallResult | None]) -> list[list[int]]:
    """Halve a refused chunk; a single call that is still refused has failed on its own."""
    if len(chunk) == 1:
        results[chunk[0]] = CallResult(False, b"", f"refused alone: {error.message}")
        return []
    half = len(chunk) // 2
    return [chunk[:half], chunk[half:]]


def _decoded(answer: object, expected: int, client: RpcClient) -> list[tuple[bool, bytes]] | BadResponse:
    """`_decode`'s results, or its error (raised by `multicall` in the chunks' order)."""
    try:
        return _decode(answer, expected, client)
    except BadResponse as exc:
        return exc


def _decode(answer: object, expected: int, client: RpcClient) -> list[tuple[bool, bytes]]:
    where = {"method": "eth_call", "endpoint": client.endpoint}
    if not isinstance(answer, str) or not answer.startswith("0x"):
        raise BadResponse(f"aggregate3 returned {str(answer):.100}", **where)
    if answer == "0x":
        raise BadResponse("aggregate3 returned no data: is Multicall3 deployed at that address and block?", **where)
    try:
        decoded = decode_aggregate3(bytes.fromhex(answer[2:]))
    except ValueError as exc:
        raise BadResponse(f"aggregate3 answer does not decode: {exc}", **where) from exc
    if len(decoded) != expected:
        raise BadResponse(f"aggregate3 returned {len(decoded)} results for {expected} calls", **where)
    return decoded
