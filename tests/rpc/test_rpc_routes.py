"""Reads on a chain without Multicall3: the route is found at the pin, and every route answers
each read exactly as Multicall3 at the canonical address does.

The session anvil has our Multicall3 at the canonical address; each test that removes it
(``anvil_setCode`` to empty) reverts the node afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import faultproxy as fp
import pytest
from rpcnode import IDENTITY, MULTICALL3, Anvil, raw_rpc
from test_rpc_multicall import mixed_calls, one_by_one

from loopscan.rpc import Call, MulticallLimits, RpcClient, multicall
from loopscan.rpc.multicall3_code import MULTICALL3_RUNTIME

NO_CODE = "0x00000000000000000000000000000000000c0de0"


@pytest.fixture
def without_multicall3(anvil: Anvil) -> Iterator[Anvil]:
    snapshot = raw_rpc(anvil.url, "evm_snapshot", [])
    raw_rpc(anvil.url, "anvil_setCode", [MULTICALL3, "0x"])
    raw_rpc(anvil.url, "evm_mine", [])
    try:
        yield anvil
    finally:
        raw_rpc(anvil.url, "evm_revert", [snapshot])


def test_the_shipped_code_is_our_compiled_multicall3(anvil: Anvil) -> None:
    """The session placed contracts/utils/Multicall3.sol's build (the devnet's own way); the
    rpc layer's constant must be that code, byte for byte."""
    assert bytes.fromhex(raw_rpc(anvil.url, "eth_getCode", [MULTICALL3, "latest"])[2:]) == MULTICALL3_RUNTIME


def _calls() -> list[Call]:
    # Echoes and reverts of every kind, plus an account without code (answers nothing).
    return [*mixed_calls(60, seed=7), Call(NO_CODE, b"\x01\x02"), Call(IDENTITY, b"")]


async def test_with_multicall3_the_route_is_deployed(anvil: Anvil) -> None:
    async with RpcClient(anvil.url) as client:
        pin = await client.pin()
        assert await client.multicall_route(pin.tag) == "deployed"


async def test_without_it_aggregate3_runs_through_a_state_override(without_multicall3: Anvil) -> None:
    async with fp.FaultProxy(without_multicall3.url) as proxy, RpcClient(proxy.url) as client:
        pin = await client.pin()
        assert await client.multicall_route(pin.tag) == "override"
        small = MulticallLimits(gas_per_call=1_000, gas_budget=20_000)  # 20 calls per aggregate3
        got = await multicall(client, _calls(), pin, limits=small)
        assert got == await one_by_one(client, _calls(), pin.number)
        overridden = [c for c in proxy.calls if c["method"] == "eth_call" and len(c["params"]) == 3]
        assert len(overridden) == 1 + 4  # the probe, then 62 calls in 4 aggregate3s
        assert all(c["params"][2] == {MULTICALL3: {"code": "0x" + MULTICALL3_RUNTIME.hex()}} for c in overridden)


async def test_where_overrides_are_refused_reads_go_as_plain_batched_calls(without_multicall3: Anvil) -> None:
    async with fp.FaultProxy(without_multicall3.url) as proxy, RpcClient(proxy.url, max_batch_size=25) as client:
        proxy.add(fp.refuse_overrides())
        pin = await client.pin()
        assert await client.multicall_route(pin.tag) == "batch"
        sent_before = len(proxy.seen)
        got = await multicall(client, _calls(), pin)
        assert got == await one_by_one(client, _calls(), pin.number)
        assert proxy.seen[sent_before : sent_before + 3] == [["eth_call"] * 25, ["eth_call"] * 25, ["eth_call"] * 12]
        assert sum(len(c["params"]) == 3 for c in proxy.calls) == 1  # only the probe asked for an override


async def test_the_route_is_found_per_block(anvil: Anvil) -> None:
    """At a block before Multicall3 was removed it is there; after, it is not."""
    snapshot = raw_rpc(anvil.url, "evm_snapshot", [])
    try:
        before = int(raw_rpc(anvil.url, "eth_blockNumber", []), 16)
        raw_rpc(anvil.url, "evm_mine", [])  # anvil_setCode changes the head's state: leave `before` behind
        raw_rpc(anvil.url, "anvil_setCode", [MULTICALL3, "0x"])
        raw_rpc(anvil.url, "evm_mine", [])
        async with RpcClient(anvil.url) as client:
            assert await client.multicall_route(hex(before)) == "deployed"
            assert await client.multicall_route(hex(before + 2)) == "override"
    finally:
        raw_rpc(anvil.url, "evm_revert", [snapshot])
