"""get_logs against anvil: the same logs, in order, however the range is split, and whatever
words a provider uses to refuse a range."""

from __future__ import annotations

from typing import Any

import faultproxy as fp
import pytest
from rpcnode import EMITTER, IDENTITY, TOPIC_A, TOPIC_B, Anvil, raw_rpc

from loopscan.rpc import LogCache, LogRangeTooLarge, RpcClient, get_logs


def everything(anvil: Anvil, **extra: Any) -> list[dict[str, Any]]:
    """The truth: one eth_getLogs over the whole stretch, straight to anvil."""
    return raw_rpc(anvil.url, "eth_getLogs",
                   [{"address": EMITTER, "fromBlock": hex(anvil.log_from), "toBlock": hex(anvil.log_to), **extra}])


async def test_chunked_equals_one_request(anvil: Anvil) -> None:
    truth = everything(anvil)
    assert len(truth) == 60
    async with RpcClient(anvil.url) as client:
        for chunk_size in (1, 7, 100, 10_000):
            assert await get_logs(client, EMITTER, None, anvil.log_from, anvil.log_to, chunk_size=chunk_size) == truth
    positions = [(int(log["blockNumber"], 16), int(log["logIndex"], 16)) for log in truth]
    assert positions == sorted(positions)


async def test_address_and_topic_filters(anvil: Anvil) -> None:
    async with RpcClient(anvil.url) as client:
        only_a = await get_logs(client, [EMITTER, IDENTITY], [TOPIC_A], anvil.log_from, anvil.log_to, chunk_size=50)
        either = await get_logs(client, EMITTER, [[TOPIC_A, TOPIC_B]], anvil.log_from, anvil.log_to, chunk_size=50)
    assert only_a == everything(anvil, topics=[TOPIC_A]) and len(only_a) == 30
    assert either == everything(anvil)



async def test_log_cache_reads_once_and_cuts_at_each_pin(anvil: Anvil) -> None:
    """A backtest's pins share one history: the cache answers every pin at or below `until` as
    get_logs would, with the node asked once; a pin above `until` goes to the node."""
    until = anvil.log_to - 3
    cache = LogCache(until)
    async with RpcClient(anvil.url) as client:
        pins = range(anvil.log_from, until + 1, 2)
        truths = [await get_logs(client, EMITTER, [TOPIC_A], anvil.log_from, pin) for pin in pins]
        before = client.stats.calls
        cut = [await cache.get_logs(client, EMITTER, [TOPIC_A], anvil.log_from, pin) for pin in pins]
        assert client.stats.calls - before == 1  # one eth_getLogs up to `until`, one chunk
        assert cut == truths and len(cut[-1]) > len(cut[len(cut) // 2]) > 0
        assert await cache.get_logs(client, EMITTER, [TOPIC_A], anvil.log_from, anvil.log_to) == \
            await get_logs(client, EMITTER, [TOPIC_A], anvil.log_from, anvil.log_to)
        assert client.stats.calls - before == 3  # above `until`: read from the node

def wider_than(blocks: int) -> Any:
    def check(call: dict[str, Any]) -> bool:
        query = call["params"][0]
        return int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1 > blocks
    return check


WORDINGS = [
    (-32005, "query returned more than 10000 results"),
    (-32602, "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no "
             "limit on the response size, or you can request any block range with a cap of 10K logs in the "
             "response. Based on your parameters and the response size limit, this block range should work: "
             "[0x0, 0x87fe9]"),
    (-32602, "query exceeds max results 20000, retry with the range 22382105-22382515"),
    (-32000, "exceed maximum block range: 50000"),
    (-32614, "eth_getLogs is limited to a 10,000 range"),
    (-32602, "range 1000000 exceeds limit of 10000"),
    (-32603, "block range is too wide (maximum 1024)"),
]


@pytest.mark.parametrize(("code", "message"), WORDINGS, ids=[m[:30] for _, m in WORDINGS])
async def test_refused_ranges_are_split(anvil: Anvil, code: int, message: str) -> None:
    truth = everything(anvil)
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fp.rpc_error(code, message, method="eth_getLogs", where=wider_than(150), times=10**6))
        async with RpcClient(proxy.url) as client:
            logs = await get_logs(client, EMITTER, None, anvil.log_from, anvil.log_to, chunk_size=1_000, concurrency=1)
    assert logs == truth
    spans = [int(c["params"][0]["toBlock"], 16) - int(c["params"][0]["fromBlock"], 16) + 1
             for c in proxy.calls]
    # One refusal teaches the span: 1000 -> 500 -> 250 -> 125, then every later range is cut first.
    assert sum(span > 150 for span in spans) == 3
    assert client.stats.retries == 0


async def test_one_block_over_the_limit_is_raised(anvil: Anvil) -> None:
    async with fp.FaultProxy(anvil.url) as proxy:
        proxy.add(fp.rpc_error(-32005, "query returned more than 10000 results", method="eth_getLogs", times=10**6))
        async with RpcClient(proxy.url) as client:
            with pytest.raises(LogRangeTooLarge, match=r"eth_getLogs at http://127\.0\.0\.1:\d+/\*\*\*/\*\*\*"):
                await get_logs(client, EMITTER, None, anvil.log_from, anvil.log_from + 3, chunk_size=4)
    assert len(proxy.seen) == 3  # 4 blocks -> 2 -> 1, and that one block is refused


async def test_bad_ranges_are_refused(anvil: Anvil) -> None:
    async with RpcClient(anvil.url) as client:
        with pytest.raises(ValueError):
            await get_logs(client, EMITTER, None, 10, 9)
        with pytest.raises(ValueError):
            await get_logs(client, EMITTER, None, 1, 9, chunk_size=0)
        assert await get_logs(client, EMITTER, None, 1, anvil.log_from - 1) == []
