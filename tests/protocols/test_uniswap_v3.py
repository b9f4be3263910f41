"""Uniswap v3 indexer: literal unit tests of the tick maths, then the real pools on the devnet.

The truth on the devnet is twofold: the pool contracts read directly with web3, and the LP
positions the seeder (or the test) minted, each adding +L at its lower tick and -L at its upper.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from devnet_helpers import erc20, published
from scan_helpers import devnet_context
from web3.logs import DISCARD

from loopscan.devnet.build import Artifacts
from loopscan.model import to_frame
from loopscan.protocols.uniswap_v3.indexer import (
    MAX_TICK,
    MIN_TICK,
    PoolRaw,
    UniswapV3Indexer,
    UniswapV3Raw,
    bitmap_words,
    initialized_ticks,
    signed_word,
)

_POOL = "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool"
_NPM = "@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json"
A, B, P = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20


# -- pure --------------------------------------------------------------------------------------


def test_signed_word_is_twos_complement():
    assert signed_word(0) == bytes(32)
    assert signed_word(-1) == b"\xff" * 32
    assert signed_word(-887272) == (2**256 - 887272).to_bytes(32, "big")
    assert signed_word(-(2**15)).hex() == "ff" * 30 + "8000"  # the lowest int16 word position
    with pytest.raises(ValueError):
        signed_word(2**255)


@pytest.mark.parametrize("spacing", [1, 10, 60, 200, 16383])
def test_bitmap_words_cover_exactly_the_usable_ticks(spacing):
    words = bitmap_words(spacing)
    lowest = -(MAX_TICK // spacing) * spacing  # the lowest multiple of spacing >= MIN_TICK
    highest = MAX_TICK // spacing * spacing
    assert lowest >= MIN_TICK and highest <= MAX_TICK
    assert words.start == (lowest // spacing) >> 8 and words.stop - 1 == (highest // spacing) >> 8


def test_bitmap_words_by_hand():
    assert (bitmap_words(1).start, bitmap_words(1).stop - 1, len(bitmap_words(1))) == (-3466, 3465, 6932)
    assert (bitmap_words(10).start, bitmap_words(10).stop - 1) == (-347, 346)
    assert list(bitmap_words(200)) == list(range(-18, 18))
    with pytest.raises(ValueError):
        bitmap_words(0)


def test_initialized_ticks_by_hand():
    assert initialized_ticks(0, 0, 1) == []
    assert initialized_ticks(0, 0b1011, 60) == [0, 60, 180]
    assert initialized_ticks(-1, 1 << 255, 1) == [-1]
    assert initialized_ticks(-1, 1, 1) == [-256]
    # -500010 with spacing 10: compressed -50001 = word -196, bit 175.
    assert initialized_ticks(-196, 1 << 175, 10) == [-500010]
    assert initialized_ticks(-3466, 1 << 24, 1) == [MIN_TICK]  # -887272 = -3466 * 256 + 24
    assert initialized_ticks(3465, 1 << 232, 1) == [MAX_TICK]  # 887272 = 3465 * 256 + 232


def test_transform_builds_schema_valid_rows():
    pool = PoolRaw(P, A, B, 500, 10, 2**96, -5, 7, balances={0: 11, 1: 12},
                   ticks={10: (3, -3), -20: (3, 3)})  # fmt: skip
    rows = UniswapV3Indexer(P, 0).transform(UniswapV3Raw(P, {P: pool}), 99)
    assert rows["pools"] == [{
        "block": 99, "venue": "uniswap_v3", "pool": P, "token0": A, "token1": B, "fee_raw": 500,
        "fee_scale": 1_000_000, "sqrt_price_x96": 2**96, "tick": -5, "liquidity": 7, "tick_spacing": 10,
        "amp": None, "n_coins": 2,
    }]  # fmt: skip
    assert [(r["tick"], r["liquidity_net"], r["liquidity_gross"]) for r in rows["ticks"]] == [(-20, 3, 3), (10, -3, 3)]
    assert [(r["coin_index"], r["token"], r["balance"]) for r in rows["pool_coins"]] == [(0, A, 11), (1, B, 12)]
    for table, table_rows in rows.items():
        to_frame(table, table_rows)


def test_transform_leaves_out_an_unread_balance():
    pool = PoolRaw(P, A, B, 100, 1, 2**96, 0, 0, balances={1: 5})
    rows = UniswapV3Indexer(P, 0).transform(UniswapV3Raw(P, {P: pool}), 1)
    assert [r["coin_index"] for r in rows["pool_coins"]] == [1] and rows["ticks"] == []


# -- devnet ------------------------------------------------------------------------------------

async def _scan(net, tokens=None, block=None, count_rounds=None):
    factory = net.manifest["contracts"]["uniswap_v3_factory"]
    async with devnet_context(net, block) as ctx:
        if count_rounds is not None:
            calls = ctx.calls

            async def counted(batch):
                count_rounds.append([bytes(c.data[:4]) for c in batch])
                return await calls(batch)

            ctx.calls = counted
        ix = UniswapV3Indexer(factory, 0, tokens)
        rows = ix.transform(await ix.fetch(ctx), ctx.block)
    for table, table_rows in rows.items():
        to_frame(table, table_rows)
    return rows, ctx.missing


def _expected_ticks(positions) -> dict[int, tuple[int, int]]:
    """tick -> (liquidity_net, liquidity_gross) from LP positions."""
    net, gross = defaultdict(int), defaultdict(int)
    for p in positions:
        liquidity = int(p["liquidity"])
        net[p["tick_lower"]] += liquidity
        net[p["tick_upper"]] -= liquidity
        gross[p["tick_lower"]] += liquidity
        gross[p["tick_upper"]] += liquidity
    return {t: (net[t], gross[t]) for t in gross}


def _ticks_of(rows, pool: str) -> dict[int, tuple[int, int]]:
    return {r["tick"]: (r["liquidity_net"], r["liquidity_gross"]) for r in rows["ticks"] if r["pool"] == pool.lower()}


def _check_against_chain(net, rows, extra_positions=()):
    """Every manifest pool is in the rows, equal to direct reads and to its LP positions."""
    pools = {r["pool"]: r for r in rows["pools"]}
    assert set(pools) == {p["address"].lower() for p in net.manifest["uniswap_pools"].values()}
    for pid, meta in net.manifest["uniswap_pools"].items():
        row = pools[meta["address"].lower()]
        c = published(net, meta["address"], _POOL)
        sqrt_price, tick, *_ = c.functions.slot0().call()
        assert (row["sqrt_price_x96"], row["tick"]) == (sqrt_price, tick)
        assert row["liquidity"] == c.functions.liquidity().call()
        assert (row["fee_raw"], row["tick_spacing"]) == (meta["fee"], meta["tick_spacing"])
        token0, token1 = c.functions.token0().call(), c.functions.token1().call()
        assert (row["token0"], row["token1"]) == (token0.lower(), token1.lower())
        coins = {r["coin_index"]: r for r in rows["pool_coins"] if r["pool"] == row["pool"]}
        for index, token in enumerate((token0, token1)):
            assert coins[index]["token"] == token.lower()
            assert coins[index]["balance"] == erc20(net, token).functions.balanceOf(meta["address"]).call()
        positions = [p for p in net.manifest["positions"]["uniswap"] if p["pool"] == pid]
        positions += [p for p in extra_positions if p["pool"] == pid]
        assert _ticks_of(rows, meta["address"]) == _expected_ticks(positions)
        for t, (liquidity_net, liquidity_gross) in _ticks_of(rows, meta["address"]).items():
            gross, net_, *_ = c.functions.ticks(t).call()
            assert (liquidity_gross, liquidity_net) == (gross, net_)


@pytest.mark.devnet
@pytest.mark.parametrize("scenario", ["stream", "susde", "minimal"])
async def test_every_pool_equals_direct_reads_and_its_positions(scenario, request):
    net = request.getfixturevalue(scenario)
    rows, missing = await _scan(net)
    assert missing == []
    assert all(r["block"] == net.manifest["block"] for table in rows.values() for r in table)
    _check_against_chain(net, rows)


def _add_position(net, pid: str, tick_lower: int, tick_upper: int, amount0: int, amount1: int) -> dict:
    """Mint an LP position with the real NonfungiblePositionManager; its manifest-style record."""
    meta = net.manifest["uniswap_pools"][pid]
    c = published(net, meta["address"], _POOL)
    token0, token1 = c.functions.token0().call(), c.functions.token1().call()
    npm = net.chain.contract(net.manifest["contracts"]["uniswap_v3_position_manager"], Artifacts().published(_NPM).abi)
    token_abi = Artifacts().compiled("loopscan", "ScenarioToken").abi
    lp = net.chain.account("uniswap-test-lp")
    for token, amount in ((token0, amount0), (token1, amount1)):
        t = net.chain.contract(token, token_abi)
        net.chain.send(t.functions.mint(lp, amount), net.chain.deployer)
        net.chain.send(t.functions.approve(npm.address, amount), lp)
    params = (token0, token1, meta["fee"], tick_lower, tick_upper, amount0, amount1, 0, 0, lp, 2**63)
    receipt = net.chain.send(npm.functions.mint(params), lp)
    event = npm.events.IncreaseLiquidity().process_receipt(receipt, errors=DISCARD)[0]["args"]
    assert event["liquidity"] > 0
    return {"pool": pid, "tick_lower": tick_lower, "tick_upper": tick_upper, "liquidity": event["liquidity"]}


@pytest.mark.devnet
async def test_ticks_at_both_ends_of_the_range_are_found(susde):
    """Spacing 1: the walk reads all 6,932 bitmap words; the outermost usable ticks are found,
    and negative ticks far below the price keep their sign."""
    pid = "USDe/USDT"
    extra = [
        _add_position(susde, pid, MIN_TICK, -800001, 0, 10**6),  # below the price: token1 only
        _add_position(susde, pid, 800003, MAX_TICK, 10**12, 0),  # above the price: token0 only
        _add_position(susde, pid, -600001, -300007, 0, 10**9),
    ]
    rounds: list[list[bytes]] = []
    rows, missing = await _scan(susde, block=susde.chain.w3.eth.block_number, count_rounds=rounds)
    assert missing == []
    _check_against_chain(susde, rows, extra)
    ticks = _ticks_of(rows, susde.manifest["uniswap_pools"][pid]["address"])
    assert {MIN_TICK, -800001, 800003, MAX_TICK, -600001, -300007} <= set(ticks)
    assert ticks[MIN_TICK][0] > 0 and ticks[-800001][0] < 0
    # Two multicall rounds: every bitmap word in the first, the ticks in the second.
    bitmap, tick = bytes.fromhex("5339c296"), bytes.fromhex("f30dba93")  # tickBitmap(int16), ticks(int24)
    assert len(rounds) == 2
    assert rounds[0].count(bitmap) == 6932 and tick not in rounds[0]
    assert rounds[1] == [tick] * len(ticks)


@pytest.mark.devnet
async def test_negative_ticks_with_spacing_10(minimal):
    pid = next(iter(minimal.manifest["uniswap_pools"]))
    extra = [_add_position(minimal, pid, -500010, -400000, 0, 10**18)]  # below the price: token1 (WETH)
    rows, missing = await _scan(minimal, block=minimal.chain.w3.eth.block_number)
    assert missing == []
    _check_against_chain(minimal, rows, extra)
    ticks = _ticks_of(rows, minimal.manifest["uniswap_pools"][pid]["address"])
    liquidity = extra[0]["liquidity"]
    assert ticks[-500010] == (liquidity, liquidity) and ticks[-400000] == (-liquidity, liquidity)


@pytest.mark.devnet
async def test_tokens_filter(stream):
    pools, tokens = stream.manifest["uniswap_pools"], stream.manifest["tokens"]
    rows, _ = await _scan(stream, tokens={tokens["xUSD"]["address"]})
    assert [r["pool"] for r in rows["pools"]] == [pools["xUSD/USDC"]["address"].lower()]
    rows, _ = await _scan(stream, tokens={tokens["deUSD"]["address"].upper().replace("0X", "0x")})
    assert [r["pool"] for r in rows["pools"]] == [pools["deUSD/USDC"]["address"].lower()]
    rows, _ = await _scan(stream, tokens={tokens["USDC"]["address"]})
    assert len(rows["pools"]) == 2
    for only in (set(), {"0x" + "12" * 20}):
        rows, missing = await _scan(stream, tokens=only)
        assert rows == {"pools": [], "pool_coins": [], "ticks": []} and missing == []


@pytest.mark.devnet
async def test_a_pool_that_reverts_is_missing_not_zero(stream):
    pools = stream.manifest["uniswap_pools"]
    broken, fine = pools["xUSD/USDC"]["address"], pools["deUSD/USDC"]["address"]
    stream.node.rpc("anvil_setCode", [broken, "0x5f5ffd"])  # revert(0, 0) on every call
    rows, missing = await _scan(stream)
    assert [r["pool"] for r in rows["pools"]] == [fine.lower()]
    assert {r["pool"] for r in rows["ticks"]} == {fine.lower()}
    assert {r["pool"] for r in rows["pool_coins"]} == {fine.lower()}
    assert [(m["kind"], m["address"], m["method"]) for m in missing] == [("pool", broken.lower(), "slot0()")]
    assert missing[0]["block"] == stream.manifest["block"] and missing[0]["reason"]
    to_frame("missing", missing)


@pytest.mark.devnet
async def test_a_coin_balance_that_reverts_is_missing(stream):
    pools, tokens = stream.manifest["uniswap_pools"], stream.manifest["tokens"]
    deusd = tokens["deUSD"]["address"]
    stream.node.rpc("anvil_setCode", [deusd, "0x5f5ffd"])
    rows, missing = await _scan(stream)
    pool = pools["deUSD/USDC"]["address"].lower()
    assert len(rows["pools"]) == 2  # the pool's own state is still known
    assert [r["token"] for r in rows["pool_coins"] if r["pool"] == pool] == [tokens["USDC"]["address"].lower()]
    assert [(m["kind"], m["address"], m["key"], m["method"]) for m in missing] == [
        ("pool_coin", deusd.lower(), pool, "balanceOf(address)")
    ]
