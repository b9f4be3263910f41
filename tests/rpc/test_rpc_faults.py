"""Faults injected by a real HTTP proxy between the client and anvil.

Each read either returns exactly what the fault-free run returns, or fails with the named
typed error; retries are counted; a method that is not a read is never sent twice; and no
error message or traceback shows the endpoint's key.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import faultproxy as fp
import pytest
from rpcnode import EMITTER, IDENTITY, REVERTER, SENDER, Anvil, free_port

from loopscan.rpc import (
    BadResponse,
    HistoricalStateUnavailable,
    RateLimited,
    ReorgDetected,
    RetryPolicy,
    RpcClient,
    RpcError,
    RpcTimeout,
    TransportError,
)

FAST = RetryPolicy(initial_backoff=0.001, max_backoff=0.01)
NO_RETRY = RetryPolicy(max_retries=0)
TIMEOUT = 0.5  # the client's; a delayed answer takes 10 times longer
RAW_TX = "0x02f86b827a6980843b9aca00850c92a69c0082520894" + "00" * 20 + "0180c0"


def workload(anvil: Anvil) -> list[tuple[str, list[Any]]]:
    """One batch of the reads a scan makes, at a fixed block."""
    at = hex(anvil.log_to)
    return [
        ("eth_getBalance", [SENDER, at]),
        ("eth_call", [{"to": IDENTITY, "data": "0x1234"}, at]),
        ("eth_getCode", [REVERTER, at]),
        ("eth_getBlockByNumber", [at, False]),
        ("eth_getLogs", [{"address": EMITTER, "fromBlock": hex(anvil.log_from), "toBlock": hex(anvil.log_from + 200)}]),
    ]


async def fault_free(anvil: Anvil) -> list[Any]:
    async with RpcClient(anvil.url) as client:
        return await client.batch(workload(anvil))


def assert_masked(error: BaseException) -> None:
    """The message names the method and the masked endpoint; nothing anywhere shows the key."""
    assert isinstance(error, RpcError)
    assert f"{error.method} at http://127.0.0.1:" in str(error) and "/***/***?apikey=***" in str(error)
    shown = str(error) + repr(error) + "".join(traceback.format_exception(error))
    assert fp.FAKE_KEY not in shown and fp.FAKE_QUERY_KEY not in shown


CASES: list[tuple[str, Callable[[], fp.Fault], type[RpcError]]] = [
    ("timeout", lambda: fp.delay(TIMEOUT * 10), RpcTimeout),
    ("429", lambda: fp.status(429, b"rate limited", {"Retry-After": "0"}), RateLimited),
    ("500", lambda: fp.status(500, b"internal"), TransportError),
    ("502 page", lambda: fp.status(502, b"<html>Bad Gateway</html>"), TransportError),
    ("503", lambda: fp.status(503), TransportError),
    ("truncated body", fp.truncate, BadResponse),
    ("not JSON", fp.garbage, BadResponse),
    ("dropped connection", fp.drop, TransportError),
    ("dropped mid-body", fp.drop_mid_body, TransportError),
    ("one item rate-limited", lambda: fp.rpc_error(429, "Your app has exceeded its compute units per second capacity.",
                                                   method="eth_call"), RateLimited),
    ("missing id", lambda: fp.drop_item(method="eth_getCode"), BadResponse),
    ("duplicate id", lambda: fp.duplicate_item(method="eth_getCode"), BadResponse),
]


@pytest.mark.parametrize(("name", "fault", "error"), CASES, ids=[c[0] for c in CASES])
async def test_fault_is_retried_to_the_fault_free_answer(
    anvil: Anvil, name: str, fault: Callable[[], fp.Fault], error: type[RpcError]
) -> None:
    expected = await fault_free(anvil)
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fault())
        async with RpcClient(proxy.url, retry=FAST, timeout=TIMEOUT) as client:
            assert await client.batch(workload(anvil)) == expected
            assert client.stats.retries >= 1
            assert len(proxy.seen) == 2


@pytest.mark.parametrize(("name", "fault", "error"), CASES, ids=[c[0] for c in CASES])
async def test_fault_without_retries_is_the_named_error(
    anvil: Anvil, name: str, fault: Callable[[], fp.Fault], error: type[RpcError]
) -> None:
    expected = await fault_free(anvil)
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fault())
        async with RpcClient(proxy.url, retry=NO_RETRY, timeout=TIMEOUT) as client:
            results = await client.batch(workload(anvil), return_exceptions=True)
    failed = [r for r in results if isinstance(r, RpcError)]
    assert failed, "the fault must show"
    for got, want in zip(results, expected):
        if isinstance(got, RpcError):
            assert type(got) is error
            assert_masked(got)
        else:
            assert got == want
    assert client.stats.retries == 0


async def test_only_the_failed_item_is_sent_again(anvil: Anvil) -> None:
    expected = await fault_free(anvil)
    for fault, method in [(fp.rpc_error(429, "Too Many Requests", method="eth_call"), "eth_call"),
                          (fp.drop_item(method="eth_getCode"), "eth_getCode")]:
        async with fp.FaultProxy(anvil.url) as proxy:
            proxy.add(fault)
            async with RpcClient(proxy.url, retry=FAST) as client:
                assert await client.batch(workload(anvil)) == expected
        assert proxy.seen[1] == [method]
        assert client.stats.retries == 1


async def test_retries_give_up_after_max_retries(anvil: Anvil) -> None:
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fp.status(503, times=100))
        policy = RetryPolicy(max_retries=3, initial_backoff=0.001, max_backoff=0.001)
        async with RpcClient(proxy.url, retry=policy) as client:
            with pytest.raises(TransportError) as caught:
                await client.batch(workload(anvil))
    assert caught.value.status == 503 and caught.value.method == "eth_getBalance"
    assert_masked(caught.value)
    assert len(proxy.seen) == 4 and client.stats.retries == 3 * len(workload(anvil))


@pytest.mark.parametrize("fault", [lambda: fp.status(503, times=9), lambda: fp.drop(times=9),
                                   lambda: fp.delay(TIMEOUT * 10, times=9)], ids=["503", "dropped", "timeout"])
async def test_a_write_is_never_sent_twice(anvil: Anvil, fault: Callable[[], fp.Fault]) -> None:
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fault())
        async with RpcClient(proxy.url, retry=FAST, timeout=TIMEOUT) as client:
            with pytest.raises(TransportError) as caught:
                await client.request("eth_sendRawTransaction", [RAW_TX])
    assert caught.value.method == "eth_sendRawTransaction"
    assert_masked(caught.value)
    assert proxy.count("eth_sendRawTransaction") == 1 and client.stats.retries == 0


async def test_a_write_in_a_batch_is_not_resent_with_the_reads(anvil: Anvil) -> None:
    calls = [("eth_call", [{"to": IDENTITY, "data": "0x99"}, hex(anvil.log_to)]), ("eth_sendRawTransaction", [RAW_TX])]
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fp.status(503))
        async with RpcClient(proxy.url, retry=FAST) as client:
            read, write = await client.batch(calls, return_exceptions=True)
    assert read == "0x99" and isinstance(write, TransportError) and write.status == 503
    assert proxy.count("eth_call") == 2 and proxy.count("eth_sendRawTransaction") == 1


async def test_retry_after_is_honoured(anvil: Anvil, caplog: pytest.LogCaptureFixture) -> None:
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fp.status(429, b"", {"Retry-After": "1"}))
        async with RpcClient(proxy.url, retry=FAST) as client:
            with caplog.at_level(logging.WARNING, logger="loopscan.rpc.client"):
                assert await client.block_number() > 0
    waits = [record.args[2] for record in caplog.records if "retrying" in record.msg]  # type: ignore[index]
    assert waits and waits[0] >= 1.0
    assert all(fp.FAKE_KEY not in record.getMessage() for record in caplog.records)


async def test_retry_after_beyond_the_bearable_is_raised(anvil: Anvil) -> None:
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fp.status(429, b"", {"Retry-After": "120"}))
        async with RpcClient(proxy.url, retry=RetryPolicy(max_retry_after=60)) as client:
            with pytest.raises(RateLimited) as caught:
                await client.block_number()
    assert caught.value.retry_after == 120 and len(proxy.seen) == 1
    assert_masked(caught.value)


async def test_missing_trie_node_is_historical_state_and_not_retried(anvil: Anvil) -> None:
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fp.rpc_error(-32000, "missing trie node 5c0ee75d9dd668839db2895c93257f6a3a77282740c045d2 (path )",
                               method="eth_call"))
        async with RpcClient(proxy.url, retry=FAST) as client:
            with pytest.raises(HistoricalStateUnavailable) as caught:
                await client.eth_call(IDENTITY, b"\x01", anvil.log_from)
    assert proxy.count("eth_call") == 1
    assert_masked(caught.value)


async def test_changed_block_hash_is_a_reorg(anvil: Anvil) -> None:
    def other_hash(call: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        return answer | {"result": answer["result"] | {"hash": "0x" + "ee" * 32}}

    async with fp.FaultProxy(anvil.url) as proxy:
        async with RpcClient(proxy.url) as client:
            pin = await client.pin(anvil.log_to)
            await client.verify_pin()
            proxy.add(fp.mutate(other_hash, method="eth_getBlockByNumber"))
            with pytest.raises(ReorgDetected) as caught:
                await client.verify_pin(pin)
    assert caught.value.actual_hash == "0x" + "ee" * 32
    assert_masked(caught.value)


async def test_connection_refused_is_masked() -> None:
    url = f"http://127.0.0.1:{free_port()}/v2/{fp.FAKE_KEY}?apikey={fp.FAKE_QUERY_KEY}"
    async with RpcClient(url, retry=NO_RETRY) as client:
        with pytest.raises(TransportError) as caught:
            await client.chain_id()
    assert caught.value.status is None and caught.value.__cause__ is None
    assert_masked(caught.value)
