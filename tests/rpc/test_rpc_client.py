"""RpcClient against a real anvil: batching, typed reads, reverts, the block pin, real reorgs
and real pruned state."""

from __future__ import annotations

import pytest
from eth_abi import encode
from rpcnode import IDENTITY, REVERTER, SENDER, Anvil, raw_rpc, start_anvil, stop_anvil

from loopscan.rpc import (
    BatchTooLarge,
    BlockPin,
    ExecutionReverted,
    HistoricalStateUnavailable,
    NodeError,
    ReorgDetected,
    RpcClient,
    block_tag,
    encode_call,
)


async def test_batch_keeps_order_across_http_requests(anvil: Anvil) -> None:
    calls = [("eth_getBlockByNumber", [hex(n), False]) for n in range(anvil.log_from, anvil.log_from + 25)]
    async with RpcClient(anvil.url) as whole:
        expected = await whole.batch(calls)
        assert whole.stats.http_requests == 1
    async with RpcClient(anvil.url, max_batch_size=4) as split:
        assert await split.batch(calls) == expected
        assert split.stats.http_requests == 7
    async with RpcClient(anvil.url, max_body_bytes=150) as tiny:  # one ~85-byte call per request
        assert await tiny.batch(calls) == expected
        assert tiny.stats.http_requests == 25
    assert [int(block["number"], 16) for block in expected] == list(range(anvil.log_from, anvil.log_from + 25))


async def test_failed_item_is_raised_or_returned_never_dropped(anvil: Anvil) -> None:
    calls = [("eth_chainId", []), ("eth_nonexistent", []), ("eth_blockNumber", [])]
    async with RpcClient(anvil.url) as client:
        results = await client.batch(calls, return_exceptions=True)
        assert results[0] == "0x7a69" and isinstance(results[1], NodeError) and results[2].startswith("0x")
        assert results[1].code == -32601 and results[1].method == "eth_nonexistent"
        with pytest.raises(NodeError, match="eth_nonexistent"):
            await client.batch(calls)
        assert client.stats.retries == 0


async def test_typed_reads(anvil: Anvil) -> None:
    async with RpcClient(anvil.url) as client:
        pin = await client.pin(anvil.log_to)
        assert await client.chain_id() == 31337
        assert await client.get_code(REVERTER, pin) == bytes.fromhex("365f5f37365ffd")
        assert await client.get_balance(SENDER, pin) == int(raw_rpc(anvil.url, "eth_getBalance", [SENDER, pin.tag]), 16)
        assert await client.get_storage_at(REVERTER, 0, pin) == 0
        assert await client.eth_call(IDENTITY, b"\x01\x02", pin) == b"\x01\x02"
        assert await client.eth_call(IDENTITY, "0xabcd", pin.number) == b"\xab\xcd"
        assert await client.get_block(10**9) is None


def test_block_tag_refuses_implicit_blocks() -> None:
    assert block_tag(255) == "0xff" and block_tag(BlockPin(16, "0x00")) == "0x10"
    for bad in ("latest", "0x10", -1, True, None):
        with pytest.raises(TypeError):
            block_tag(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("revert_data", "reason"),
    [
        (bytes.fromhex("08c379a0") + encode(["string"], ["insufficient collateral"]), "insufficient collateral"),
        (bytes.fromhex("4e487b71") + (0x11).to_bytes(32, "big"), "Panic(0x11): arithmetic underflow or overflow"),
        (encode_call("Unhealthy(uint256)", 5), "custom error 0x" + encode_call("Unhealthy(uint256)", 5).hex()[:8]
         + " 0x" + (5).to_bytes(32, "big").hex()),
        (b"", "reverted without data"),
    ],
)
async def test_revert_reason_is_decoded(anvil: Anvil, revert_data: bytes, reason: str) -> None:
    async with RpcClient(anvil.url) as client:
        with pytest.raises(ExecutionReverted) as caught:
            await client.eth_call(REVERTER, revert_data, anvil.log_to)
    assert caught.value.reason == reason
    assert caught.value.revert_data == revert_data
    assert caught.value.code == 3 and caught.value.method == "eth_call"
    assert client.stats.retries == 0


async def test_pin_then_verify_and_a_real_reorg(anvil: Anvil) -> None:
    raw_rpc(anvil.url, "anvil_mine", ["0x1"])  # a fresh empty tip, so the reorg touches nothing else
    async with RpcClient(anvil.url) as client:
        pin = await client.pin()
        assert pin.number > anvil.log_to and client.block_pin == pin
        await client.verify_pin()
        # The replacement block carries a transaction: an empty one mined in the same second
        # would hash the same as the block it replaces.
        raw_rpc(anvil.url, "anvil_reorg", [1, [[{"from": SENDER, "to": IDENTITY, "value": "0x1"}, 0]]])
        with pytest.raises(ReorgDetected) as caught:
            await client.verify_pin()
    assert caught.value.block == pin.number and caught.value.expected_hash == pin.hash
    assert caught.value.actual_hash not in (None, pin.hash)


async def test_oversized_single_request_is_refused_locally(anvil: Anvil) -> None:
    async with RpcClient(anvil.url, max_body_bytes=1_000) as client:
        with pytest.raises(BatchTooLarge, match="max_body_bytes"):
            await client.eth_call(IDENTITY, bytes(2_000), anvil.log_to)
        assert client.stats.http_requests == 0


async def test_rate_limited_client_reads_the_same(anvil: Anvil) -> None:
    calls = [("eth_getBalance", [SENDER, hex(n)]) for n in range(anvil.log_from, anvil.log_from + 30)]
    async with RpcClient(anvil.url) as free, RpcClient(anvil.url, requests_per_second=10_000, max_batch_size=5) as slow:
        assert await slow.batch(calls) == await free.batch(calls)


async def test_pruned_node_raises_historical_state_unavailable() -> None:
    process, url = start_anvil("--prune-history", "2")
    try:
        raw_rpc(url, "anvil_mine", ["0x20"])
        async with RpcClient(url) as client:
            head = await client.block_number()
            assert await client.get_balance(SENDER, head) > 0
            with pytest.raises(HistoricalStateUnavailable, match="eth_getBalance"):
                await client.get_balance(SENDER, 1)
            with pytest.raises(NodeError) as future:
                await client.get_balance(SENDER, head + 1_000)
            assert type(future.value) is NodeError  # a block not yet mined is not pruned state
            assert client.stats.retries == 0
    finally:
        stop_anvil(process)
