"""Uniswap v3: pools from the factory's `PoolCreated` logs, then each pool's price, in-range
liquidity, coin balances and *every* initialized tick at the pinned block.

Why every tick: a liquidation cascade sells far past the current price, so the solver needs the
whole liquidity curve, not a window around the price. The ticks are found the way the pool itself
finds them: `tickBitmap(int16)` for every word from MIN_TICK to MAX_TICK (compressed by the tick
spacing: ~6,900 words for spacing 1, ~35 for spacing 200), all in one multicall round, then
`ticks(int24)` for each set bit in a second round.

Warning: `int16`/`int24` arguments are sign-extended to a full word (two's complement) as the
ABI requires; `encode_call` only takes uint256, so negative ticks and words go through
`signed_word`. `liquidityNet` is an `int128` and is decoded as signed.

A pool whose tick set cannot be read completely (a bitmap word or a tick reverted) is left out
whole: a curve with a hole in it would overstate the depth the solver sells into.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils import keccak

from loopscan.chains import Deployments
from loopscan.protocols.base import Answers, Read, Rows, ScanContext, read, topic_address, word_address
from loopscan.rpc import decode_int

__all__ = [
    "UniswapV3Indexer",
    "UniswapV3Raw",
    "PoolRaw",
    "POOL_CREATED",
    "MIN_TICK",
    "MAX_TICK",
    "FEE_SCALE",
    "signed_word",
    "bitmap_words",
    "initialized_ticks",
]

MIN_TICK, MAX_TICK = -887272, 887272
FEE_SCALE = 1_000_000  # fees are in pips: 500 = 0.05 %
POOL_CREATED = "0x" + keccak(text="PoolCreated(address,address,uint24,int24,address)").hex()
# The pool's own answers, read in round one, with their return types (UniswapV3Pool, v3-core 1.0.1).
_BASICS = {
    "slot0()": ("uint160", "int24", "uint16", "uint16", "uint16", "uint8", "bool"),
    "liquidity()": "uint128", "fee()": "uint24", "tickSpacing()": "int24", "token0()": "address", "token1()": "address",
}  # fmt: skip
# `ticks(int24)`: liquidityGross, liquidityNet, feeGrowthOutside0/1X128, tickCumulativeOutside,
# secondsPerLiquidityOutsideX128, secondsOutside, initialized.
_TICK_INFO = ("uint128", "int128", "uint256", "uint256", "int56", "uint160", "uint32", "bool")


def signed_word(value: int) -> bytes:
    """`value` as one ABI word in two's complement: how an int16/int24 argument is encoded.

    >>> signed_word(-1).hex() == "ff" * 32
    True
    """
    if not -(2**255) <= value < 2**255:
        raise ValueError(f"{value} does not fit an int256")
    return (value % 2**256).to_bytes(32, "big")


def bitmap_words(tick_spacing: int) -> range:
    """Every `tickBitmap` word position that can hold an initialized tick of this spacing.

    Ticks must be multiples of the spacing inside [MIN_TICK, MAX_TICK]; a word holds 256
    compressed ticks (`TickBitmap.position`: `wordPos = compressed >> 8`).

    >>> (bitmap_words(1).start, bitmap_words(1).stop, len(bitmap_words(60)))
    (-3466, 3466, 116)
    """
    if tick_spacing <= 0:
        raise ValueError(f"tick spacing {tick_spacing} is not positive")
    lowest, highest = -(-MIN_TICK // tick_spacing), MAX_TICK // tick_spacing
    return range(lowest >> 8, (highest >> 8) + 1)


def initialized_ticks(word_pos: int, bitmap: int, tick_spacing: int) -> list[int]:
    """The ticks whose bits are set in one bitmap word, ascending.

    >>> initialized_ticks(-1, 1 << 255 | 1, 10)
    [-2560, -10]
    """
    ticks = []
    while bitmap:
        low = bitmap & -bitmap
        ticks.append(((word_pos << 8) + low.bit_length() - 1) * tick_spacing)
        bitmap ^= low
    return ticks


def plan(deployments: Deployments, name: str, tokens: set[str] = frozenset()) -> list[UniswapV3Indexer]:
    """One indexer per factory, for the pools of `tokens` (read after the lending and vault indexers)."""
    return [UniswapV3Indexer(c.address, c.start_block, tokens=set(tokens)) for c in deployments.find(name, "factory")]


@dataclass
class PoolRaw:
    """One pool as read: its own answers, its coin balances, and its initialized ticks."""

    address: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int
    sqrt_price_x96: int
    tick: int
    liquidity: int
    balances: dict[int, int] = field(default_factory=dict)  # coin index -> balanceOf(pool)
    ticks: dict[int, tuple[int, int]] = field(default_factory=dict)  # tick -> (liquidityGross, liquidityNet)


@dataclass
class UniswapV3Raw:
    """What `fetch` read: the factory and the pools that could be read whole."""

    factory: str
    pools: dict[str, PoolRaw] = field(default_factory=dict)


@dataclass(frozen=True)
class _Created:
    pool: str
    token0: str
    token1: str
    fee: int
    tick_spacing: int


class UniswapV3Indexer:
    """Pools of one Uniswap v3 factory, optionally only those holding one of `tokens`."""

    name = "uniswap_v3"

    def __init__(self, factory: str, start_block: int | None, tokens: set[str] | None = None) -> None:
        self.factory = factory.lower()
        self.start_block = start_block
        self.tokens = None if tokens is None else {t.lower() for t in tokens}

    async def fetch(self, ctx: ScanContext) -> UniswapV3Raw:
        raw = UniswapV3Raw(self.factory)
        created = await self._created(ctx)
        ctx.progress("uniswap_v3: pools", len(created))
        if not created:
            return raw

        # Round one: the pool's own answers, its coin balances, and every bitmap word.
        reads: dict[tuple, Read] = {}
        words = {c.pool: list(bitmap_words(c.tick_spacing)) for c in created}
        for c in created:
            reads |= {(c.pool, sig): read("pool", c.pool, sig, types=types) for sig, types in _BASICS.items()}
            for index, token in enumerate((c.token0, c.token1)):
                reads[c.pool, "balance", index] = read("pool_coin", token, "balanceOf(address)", c.pool, key=c.pool)
            for w in words[c.pool]:
                reads[c.pool, "word", w] = read("pool", c.pool, "tickBitmap(int16)", signed_word(w), key=f"word {w}")
        got = await ctx.read_round(reads)

        wanted: list[tuple[str, int]] = []  # (pool, tick) for round two
        for c in created:
            if (pool := self._read_pool(ctx, c, got)) is None:
                continue
            for index in (0, 1):
                if (balance := got[c.pool, "balance", index]) is not None:
                    pool.balances[index] = balance
            ticks: list[int] = []
            for word_pos in words[c.pool]:
                if (bitmap := got[c.pool, "word", word_pos]) is None:
                    break
                ticks += initialized_ticks(word_pos, bitmap, c.tick_spacing)
            else:
                raw.pools[c.pool] = pool
                wanted += [(c.pool, t) for t in ticks]

        # Round two: liquidityGross and liquidityNet of each initialized tick.
        got = await ctx.read_round(
            {(p, t): read("pool", p, "ticks(int24)", signed_word(t), types=_TICK_INFO, key=f"tick {t}") for p, t in wanted}
        )
        for address, tick in wanted:
            if address not in raw.pools:
                continue  # already left out for an earlier tick
            if (info := got[address, tick]) is None:
                del raw.pools[address]
                continue
            raw.pools[address].ticks[tick] = (info[0], info[1])
        ctx.progress("uniswap_v3: ticks", sum(len(p.ticks) for p in raw.pools.values()))
        return raw

    async def _created(self, ctx: ScanContext) -> list[_Created]:
        """The factory's pools from `PoolCreated`, those touching `self.tokens` if it is set."""
        if self.tokens is not None and not self.tokens:
            return []
        found = []
        for log in await ctx.logs(self.factory, [POOL_CREATED], self.start_block):
            data = bytes.fromhex(log["data"][2:])
            token0, token1 = topic_address(log["topics"][1]), topic_address(log["topics"][2])
            if self.tokens is not None and token0 not in self.tokens and token1 not in self.tokens:
                continue
            created = _Created(word_address(data, 1), token0, token1, int(log["topics"][3], 16), decode_int(data, 0))
            if created.tick_spacing <= 0:  # the factory never allows it; its bitmap would have no words
                ctx.miss("pool", created.pool, None, "PoolCreated", f"tick spacing {created.tick_spacing}")
                continue
            found.append(created)
        return found

    @staticmethod
    def _read_pool(ctx: ScanContext, c: _Created, got: Answers) -> PoolRaw | None:
        """The pool's own answers, checked against its `PoolCreated` log; None (and a miss) if not."""
        values = []
        for sig in _BASICS:
            if (value := got[c.pool, sig]) is None:
                return None
            values.append(value)
        slot0, liquidity, fee, spacing, token0, token1 = values
        pool = PoolRaw(c.pool, token0, token1, fee, spacing, slot0[0], slot0[1], liquidity)
        # The bitmap walk and the balances used the log's values: they must be the pool's.
        if (pool.token0, pool.token1, pool.fee, pool.tick_spacing) != (c.token0, c.token1, c.fee, c.tick_spacing):
            ctx.miss("pool", c.pool, None, "PoolCreated", "the pool's token0/token1/fee/tickSpacing differ from its log")
            return None
        return pool

    def transform(self, raw: UniswapV3Raw, block: int) -> Rows:
        pools, coins, ticks = [], [], []
        for address, p in raw.pools.items():
            pools.append(
                {
                    "block": block, "venue": self.name, "pool": address, "token0": p.token0, "token1": p.token1,
                    "fee_raw": p.fee, "fee_scale": FEE_SCALE, "sqrt_price_x96": p.sqrt_price_x96, "tick": p.tick,
                    "liquidity": p.liquidity, "tick_spacing": p.tick_spacing, "amp": None, "n_coins": 2,
                }
            )  # fmt: skip
            for index, token in enumerate((p.token0, p.token1)):
                if index in p.balances:
                    coins.append({"block": block, "pool": address, "coin_index": index, "token": token,
                                  "balance": p.balances[index]})  # fmt: skip
            for tick in sorted(p.ticks):
                gross, net = p.ticks[tick]
                ticks.append({"block": block, "pool": address, "tick": tick, "liquidity_net": net, "liquidity_gross": gross})
        return {"pools": pools, "pool_coins": coins, "ticks": ticks}

