"""How fast contract reads go through loopscan.rpc against a local anvil: figures, no asserts.

Compares N trivial calls (the identity precompile echoing 4 bytes) sent through Multicall3
``aggregate3`` (N = 1k, 10k, 100k) with one ``eth_call`` per call, sent one after another and
as plain JSON-RPC batches; and times the hand-rolled aggregate3 codec against eth_abi.

    python bench/rpc_multicall.py

Starts its own anvil on a free port and places loopscan's Multicall3-compatible contract at
the canonical address (``loopscan.devnet.multicall3``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from eth_abi import decode, encode

from loopscan.devnet.multicall3 import place_multicall3
from loopscan.devnet.node import Anvil
from loopscan.rpc import (
    Call,
    RpcClient,
    decode_aggregate3,
    encode_aggregate3,
    multicall,
)

ROOT = Path(__file__).resolve().parents[1]
IDENTITY = "0x0000000000000000000000000000000000000004"


def calls_of(n: int) -> list[Call]:
    return [Call(IDENTITY, i.to_bytes(4, "big")) for i in range(n)]


async def bench_multicall(url: str, block: int, n: int) -> None:
    calls = calls_of(n)
    async with RpcClient(url) as client:
        start = time.perf_counter()
        results = await multicall(client, calls, block)
        elapsed = time.perf_counter() - start
        failed = sum(not r.success for r in results)
        print(f"multicall      N={n:>7,}: {n / elapsed:>10,.0f} calls/s  ({elapsed:6.2f} s, "
              f"{client.stats.calls} aggregate3 calls in {client.stats.http_requests} HTTP requests, {failed} failed)")


async def bench_single(url: str, block: int, n: int, *, batched: bool) -> None:
    calls = calls_of(n)
    async with RpcClient(url) as client:
        start = time.perf_counter()
        if batched:
            await client.batch([("eth_call", [{"to": t, "data": "0x" + d.hex()}, hex(block)]) for t, d in calls])
        else:
            for target, data in calls:
                await client.eth_call(target, data, block)
        elapsed = time.perf_counter() - start
        label = "batched eth_call" if batched else "one eth_call each"
        print(f"{label:<17} N={n:>6,}: {n / elapsed:>10,.0f} calls/s  ({elapsed:6.2f} s, "
              f"{client.stats.http_requests} HTTP requests)")


def bench_codec(n: int = 1_000, rounds: int = 20) -> None:
    batch = [(bytes.fromhex(IDENTITY[2:]), True, i.to_bytes(4, "big")) for i in range(n)]
    answer = encode(["(bool,bytes)[]"], [[(True, i.to_bytes(32, "big")) for i in range(n)]])
    figures = {
        "encode, ours": lambda: encode_aggregate3(batch),
        "encode, eth_abi": lambda: encode(["(address,bool,bytes)[]"], [batch]),
        "decode, ours": lambda: decode_aggregate3(answer),
        "decode, eth_abi": lambda: decode(["(bool,bytes)[]"], answer),
    }
    for label, run in figures.items():
        start = time.perf_counter()
        for _ in range(rounds):
            run()
        print(f"aggregate3 {label:<16} {(time.perf_counter() - start) / rounds * 1e3:7.2f} ms per {n:,} calls")


async def main() -> None:
    with Anvil() as node:
        place_multicall3(node)
        url, block = node.url, node.block_number()
        bench_codec()
        await bench_single(url, block, 200, batched=False)
        await bench_single(url, block, 2_000, batched=True)
        for n in (1_000, 10_000, 100_000):
            await bench_multicall(url, block, n)


if __name__ == "__main__":
    asyncio.run(main())
