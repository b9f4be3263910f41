"""multicall against anvil's real Multicall3: per-call results equal to one eth_call each,
failures reported per call with their reason, and halving when the node refuses a batch."""

from __future__ import annotations

import logging
import random
from typing import Any

import faultproxy as fp
import pytest
from eth_abi import encode
from rpcnode import BURNER, IDENTITY, MULTICALL3, REVERTER, Anvil, raw_rpc

from loopscan.devnet.build import Artifacts
from loopscan.rpc import (
    BadResponse,
    Call,
    CallResult,
    ExecutionReverted,
    HistoricalStateUnavailable,
    MulticallLimits,
    RpcClient,
    multicall,
)
from loopscan.rpc.aggregate3 import AGGREGATE3_SELECTOR


def mixed_calls(n: int, seed: int = 1) -> list[Call]:
    """Echoes of random lengths, and reverts of every kind, shuffled."""
    rng = random.Random(seed)
    calls = []
    for i in range(n):
        kind = rng.randrange(6)
        if kind == 0:
            calls.append(Call(REVERTER, bytes.fromhex("08c379a0") + encode(["string"], [f"reason {i}"])))
        elif kind == 1:
            calls.append(Call(REVERTER, bytes.fromhex("4e487b71") + (0x32).to_bytes(32, "big")))
        else:
            calls.append(Call(IDENTITY, rng.randbytes(rng.randrange(0, 90))))
    return calls


async def one_by_one(client: RpcClient, calls: list[Call], block: int) -> list[CallResult]:
    """The truth: each call as its own eth_call."""
    out = []
    for target, data in calls:
        try:
            out.append(CallResult(True, await client.eth_call(target, data, block)))
        except ExecutionReverted as reverted:
            out.append(CallResult(False, reverted.revert_data, reverted.reason))
    return out


async def test_multicall_equals_one_eth_call_each(anvil: Anvil) -> None:
    calls = mixed_calls(120)
    async with RpcClient(anvil.url, max_batch_size=3) as client:
        truth = await one_by_one(client, calls, anvil.log_to)
        small = MulticallLimits(gas_per_call=1_000, gas_budget=25_000)  # 25 calls per aggregate3
        assert await multicall(client, calls, anvil.log_to, limits=small) == truth
        assert await multicall(client, calls, anvil.log_to) == truth  # one aggregate3
    reasons = {r.reason for r in truth if not r.success}
    assert "Panic(0x32): array index out of bounds" in reasons and any(r.startswith("reason ") for r in reasons)


async def test_chunks_travel_in_few_http_requests(anvil: Anvil) -> None:
    calls = [Call(IDENTITY, i.to_bytes(4, "big")) for i in range(3_000)]
    async with RpcClient(anvil.url) as client:
        results = await multicall(client, calls, anvil.log_to, limits=MulticallLimits(gas_per_call=25_000))
        assert [r.return_data for r in results] == [c.data for c in calls]
        # The route lookup (one eth_getCode: Multicall3 is there), then 3 aggregate3s in one batch.
        assert client.stats.calls == 1 + 3 and client.stats.http_requests == 1 + 1


async def test_calldata_cap_follows_the_body_limit(anvil: Anvil) -> None:
    calls = [Call(IDENTITY, bytes([i % 256]) * 1_000) for i in range(40)]
    async with RpcClient(anvil.url, max_body_bytes=20_000) as client:
        results = await multicall(client, calls, anvil.log_to)
        assert [r.return_data for r in results] == [c.data for c in calls]
        assert client.stats.calls >= 4


def fails_when_larger_than(calls: int) -> Any:
    """A predicate on an aggregate3 eth_call: more than ``calls`` calls in it."""
    def check(call: dict[str, Any]) -> bool:
        data = bytes.fromhex(call["params"][0]["data"][2:])
        return data[:4] == AGGREGATE3_SELECTOR and int.from_bytes(data[36:68], "big") > calls
    return check


@pytest.mark.parametrize(
    ("code", "message"),
    [(-32603, "EVM error OutOfGas"), (-32000, "out of gas"), (-32003, "response too large")],
)
async def test_refused_batches_are_halved(anvil: Anvil, code: int, message: str, caplog: pytest.LogCaptureFixture) -> None:
    calls = mixed_calls(100, seed=2)
    async with RpcClient(anvil.url) as direct:
        truth = await multicall(direct, calls, anvil.log_to)
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fp.rpc_error(code, message, method="eth_call", where=fails_when_larger_than(30), times=10**6))
        async with RpcClient(proxy.url) as client:
            with caplog.at_level(logging.WARNING, logger="loopscan.rpc.multicall"):
                assert await multicall(client, calls, anvil.log_to) == truth
    assert [r.getMessage() for r in caplog.records] == [  # 100 -> 50 + 50 -> four chunks of 25
        f"multicall: 1 aggregate3 call(s) refused ({message}); halving them",
        f"multicall: 2 aggregate3 call(s) refused ({message}); halving them",
    ]


async def test_a_call_refused_alone_is_reported_failed(anvil: Anvil) -> None:
    calls = [Call(IDENTITY, b"\x01"), Call(IDENTITY, b"\x02\x02")]
    huge = lambda call: len(call["params"][0]["data"]) > 2 * (4 + 64 + 2 * 160)  # noqa: E731 - both calls in one
    lone_second = lambda call: call["params"][0]["data"].endswith("0202" + "00" * 30)  # noqa: E731
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fp.rpc_error(-32603, "EVM error OutOfGas", method="eth_call", where=huge),
                  fp.rpc_error(-32603, "EVM error OutOfGas", method="eth_call", where=lone_second))
        async with RpcClient(proxy.url) as client:
            results = await multicall(client, calls, anvil.log_to)
    assert results == [CallResult(True, b"\x01"), CallResult(False, b"", "refused alone: EVM error OutOfGas")]


async def test_calls_starved_of_gas_inside_a_chunk_are_checked_alone(
    anvil: Anvil, caplog: pytest.LogCaptureFixture
) -> None:
    # 28 calls of about 1M gas, one of about 5M, one light. Under anvil's 30M eth_call cap the
    # 5M call gets 63/64 of what is left, runs out and fails with no data, like a bare
    # revert(); the light call after it succeeds, so aggregate3 itself does not fail.
    loops = [25_000] * 28 + [125_000, 10]
    calls = [Call(BURNER, n.to_bytes(32, "big")) for n in loops]
    async with RpcClient(anvil.url) as client:
        with caplog.at_level(logging.INFO, logger="loopscan.rpc.multicall"):
            results = await multicall(client, calls, anvil.log_to, limits=MulticallLimits(gas_per_call=1_000))
    assert results == [CallResult(True, n.to_bytes(32, "big")) for n in loops]
    assert [r.getMessage() for r in caplog.records] == [
        "multicall: checking 1 call(s) that failed without data, each alone"
    ]


async def test_a_real_out_of_gas_is_halved(anvil: Anvil, caplog: pytest.LogCaptureFixture) -> None:
    # Forty calls of about 1M gas each: aggregate3 itself runs out under the 30M cap.
    loops = [25_000 + i for i in range(40)]
    calls = [Call(BURNER, n.to_bytes(32, "big")) for n in loops]
    async with RpcClient(anvil.url) as client:
        with caplog.at_level(logging.WARNING, logger="loopscan.rpc.multicall"):
            results = await multicall(client, calls, anvil.log_to, limits=MulticallLimits(gas_per_call=1_000))
    assert results == [CallResult(True, n.to_bytes(32, "big")) for n in loops]
    assert caplog.records[0].getMessage() == "multicall: 1 aggregate3 call(s) refused (EVM error OutOfGas); halving them"


async def test_no_multicall_contract_is_a_bad_response(anvil: Anvil) -> None:
    async with RpcClient(anvil.url) as client:
        with pytest.raises(BadResponse, match="is Multicall3 deployed"):
            await multicall(client, [Call(IDENTITY, b"")], anvil.log_to, address="0x" + "12" * 20)
        assert await multicall(client, [], anvil.log_to) == []
        assert client.stats.calls == 1


async def test_historical_state_is_raised_not_reported_per_call(anvil: Anvil) -> None:
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fp.rpc_error(-32000, "missing trie node abcdef (path )", method="eth_call"))
        async with RpcClient(proxy.url) as client:
            with pytest.raises(HistoricalStateUnavailable):
                await multicall(client, mixed_calls(10), anvil.log_from)


async def test_multicall3_is_where_conftest_put_it(anvil: Anvil) -> None:
    async with RpcClient(anvil.url) as client:
        code = await client.get_code(MULTICALL3, anvil.log_to)
    creation = Artifacts().compiled("loopscan", "Multicall3").bytecode
    assert code.hex() == raw_rpc(anvil.url, "eth_call", [{"data": "0x" + creation}, "latest"])[2:]
