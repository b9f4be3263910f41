"""Pendle v2 markets at the pin: found from their factory's `CreateNewMarket` logs, then read whole.

Deployments kinds: `market_factory` (a `PendleMarketFactoryV7Upg`, or any factory emitting the same
event) and, optionally, `router`: a market's fee may be overridden per router
(`PendleMarketFactoryV7Upg.getMarketConfig`), so the state is read as that router's swaps see it
(`readState(router)`; the zero address reads the market's own fee).

Per market, in two multicall rounds (getters as published in `@pendle/core-v2@6.11.0`,
`contracts/core/Market/PendleMarketV7.sol`): `readState(address)` (total PT, total SY, total LP,
treasury, scalar root, expiry, ln fee rate root, reserve fee percent, last ln implied rate) and
`readTokens()` (SY, PT, YT); then the SY's `exchangeRate()` and the YT's `pyIndexStored()`: the
market prices with the larger of the two (`PendleYieldToken._pyIndexCurrent`). The initial anchor
is the one the factory logged; the anchor a trade uses is derived from the state
(`maths.swap_exact_pt_for_sy`).

Every market the factory created is read, expired ones included (their rows say so through
`expiry`); a market with any read failed is left out whole, with a `missing` row per failure.

Each market's SY is also read as a vault over its yield token (`yieldToken()`, `totalSupply()`,
the yield token's balance of the SY): so the graph and the solver look through PT → SY → sUSDe →
USDe, and an SY is valued at its exchange rate times its asset's price.

Rows: one `pools` row per market (venue `pendle`, token0 the PT, token1 the SY, the ln fee rate
root as `fee_raw` over 1e18), its `pool_coins` (PT and SY balances as the market accounts them; the
SY's `rate` is its exchange rate, 1e18 = one asset per SY), and its own fields in `market_params`
under (the factory, the market): the schema has no Pendle columns, and those rows name their
fields as Pendle does (plus `pin_timestamp`, the block time the state is read at: a venue prices its
sales at it); `vaults` and `holdings` rows for each SY.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils import keccak

from loopscan.chains import Deployments
from loopscan.model import ZERO_ADDRESS
from loopscan.protocols.base import Rows, ScanContext, topic_address
from loopscan.protocols.pendle.maths import MarketState
from loopscan.rpc import Call, decode_static, encode_call

__all__ = ["CREATE_NEW_MARKET", "PendleMarketRaw", "PendleRaw", "PendleIndexer", "SyRaw", "plan"]

CREATE_NEW_MARKET = "0x" + keccak(text="CreateNewMarket(address,address,int256,int256,uint256)").hex()
READ_STATE = "readState(address)"
_STATE_TYPES = ("int256", "int256", "int256", "address", "int256", "uint256", "uint256", "uint256", "uint256")
_MAX_FEE_PERCENT = 100  # PendleMarketFactoryV7Upg.maxReserveFeePercent
ONE = 10**18


@dataclass(frozen=True)
class PendleMarketRaw:
    """One market as read and checked."""

    market: str
    pt: str
    sy: str
    yt: str
    state: MarketState
    total_lp: int
    initial_anchor: int  # from the factory's log
    sy_exchange_rate: int
    py_index_stored: int

    @property
    def py_index(self) -> int:
        """The index the market's next trade uses (`max(exchangeRate, pyIndexStored)`)."""
        return max(self.sy_exchange_rate, self.py_index_stored)


@dataclass(frozen=True)
class SyRaw:
    """An SY as a vault: it holds its yield token 1:1 for its shares (ours, and Pendle's ERC-4626 SYs)."""

    sy: str
    yield_token: str
    total_supply: int
    held: int  # the yield token's `balanceOf(sy)`


@dataclass
class PendleRaw:
    factory: str
    markets: dict[str, PendleMarketRaw] = field(default_factory=dict)
    sys: dict[str, SyRaw] = field(default_factory=dict)
    timestamp: int = 0  # the pin's block time: what the market's swaps are priced at


def plan(deployments: Deployments, name: str, tokens: set[str] = frozenset()) -> list[PendleIndexer]:
    """One indexer per market factory the deployments list (every market it created: they are
    read whole whichever tokens the scan found, since a PT may be held outside any lender read)."""
    routers = deployments.find(name, "router")
    router = routers[0].address if routers else ZERO_ADDRESS
    return [PendleIndexer(c.address, c.start_block, router) for c in deployments.find(name, "market_factory")]


class PendleIndexer:
    name = "pendle"

    def __init__(self, factory: str, start_block: int | None, router: str = ZERO_ADDRESS) -> None:
        self.factory = factory.lower()
        self.start_block = start_block
        self.router = router.lower()

    async def fetch(self, ctx: ScanContext) -> PendleRaw:
        raw = PendleRaw(self.factory)
        anchors: dict[str, tuple[str, int]] = {}  # market -> (PT, initial anchor)
        for log in await ctx.logs(self.factory, [CREATE_NEW_MARKET], self.start_block):
            scalar_root, initial_anchor, _fee = decode_static(
                bytes.fromhex(log["data"][2:]), ("int256", "int256", "uint256")
            )
            anchors[topic_address(log["topics"][1])] = (topic_address(log["topics"][2]), initial_anchor)
        ctx.progress("pendle: markets", len(anchors))

        markets = list(anchors)
        calls = []
        for market in markets:
            calls += [Call(market, encode_call(READ_STATE, self.router)), Call(market, encode_call("readTokens()"))]
        first = await ctx.calls(calls)
        read: dict[str, tuple] = {}
        for k, market in enumerate(markets):
            state = ctx.answer(first[2 * k], "pool", market, None, READ_STATE, _STATE_TYPES)
            tokens = ctx.answer(first[2 * k + 1], "pool", market, None, "readTokens()", ("address",) * 3)
            if state is None or tokens is None:
                continue
            if tokens[1] != anchors[market][0]:
                ctx.miss("pool", market, None, "readTokens()", f"PT {tokens[1]} is not the PT the factory logged")
                continue
            if not 0 <= state[7] <= _MAX_FEE_PERCENT:
                ctx.miss("pool", market, None, READ_STATE, f"reserve fee {state[7]} % is above 100 %")
                continue
            read[market] = (state, tokens)

        calls = []
        for _state, (sy, _pt, yt) in read.values():
            calls += [Call(sy, encode_call("exchangeRate()")), Call(yt, encode_call("pyIndexStored()"))]
        second = await ctx.calls(calls)
        for k, (market, (state, (sy, pt, yt))) in enumerate(read.items()):
            rate = ctx.answer(second[2 * k], "pool", sy, market, "exchangeRate()", "uint256")
            stored = ctx.answer(second[2 * k + 1], "pool", yt, market, "pyIndexStored()", "uint256")
            if rate is None or stored is None:
                continue
            total_pt, total_sy, total_lp, _treasury, scalar_root, expiry, ln_fee, reserve_fee, last_ln = state
            raw.markets[market] = PendleMarketRaw(
                market, pt, sy, yt,
                MarketState(total_pt, total_sy, scalar_root, expiry, ln_fee, reserve_fee, last_ln),
                total_lp, anchors[market][1], rate, stored,
            )  # fmt: skip
        ctx.progress("pendle: markets read", len(raw.markets))
        raw.timestamp = ctx.timestamp
        await self._fetch_sys(ctx, raw)
        return raw

    async def _fetch_sys(self, ctx: ScanContext, raw: PendleRaw) -> None:
        """Each market's SY as a vault over its yield token: `yieldToken()`, `totalSupply()`, then
        the yield token's balance of the SY (what backs it). An SY whose reads fail is no vault row
        (a `missing` row each); its market is still read."""
        sys = sorted({m.sy for m in raw.markets.values()})
        got = await ctx.calls([Call(sy, encode_call(g)) for sy in sys for g in ("yieldToken()", "totalSupply()")])
        found: dict[str, tuple[str, int]] = {}
        for k, sy in enumerate(sys):
            token = ctx.answer(got[2 * k], "vault", sy, None, "yieldToken()", "address")
            supply = ctx.answer(got[2 * k + 1], "vault", sy, None, "totalSupply()", "uint256")
            if token is not None and supply is not None:
                found[sy] = (token, supply)
        held = await ctx.calls([Call(token, encode_call("balanceOf(address)", sy)) for sy, (token, _) in found.items()])
        for (sy, (token, supply)), answer in zip(found.items(), held, strict=True):
            balance = ctx.answer(answer, "vault", token, sy, "balanceOf(address)", "uint256")
            if balance is not None:
                raw.sys[sy] = SyRaw(sy, token, supply, balance)

    def transform(self, raw: PendleRaw, block: int) -> Rows:
        pools, coins, params = [], [], []
        for market, m in raw.markets.items():
            s = m.state
            pools.append({
                "block": block, "venue": self.name, "pool": market, "token0": m.pt, "token1": m.sy,
                "fee_raw": s.ln_fee_rate_root, "fee_scale": ONE, "n_coins": 2, "pool_kind": "pendle_v2",
            })  # fmt: skip
            coins += [
                {"block": block, "pool": market, "coin_index": 0, "token": m.pt, "balance": s.total_pt, "rate": None},
                {"block": block, "pool": market, "coin_index": 1, "token": m.sy, "balance": s.total_sy,
                 "rate": m.sy_exchange_rate},
            ]  # fmt: skip
            fields = {
                "expiry": s.expiry, "scalar_root": s.scalar_root, "initial_anchor": m.initial_anchor,
                "ln_fee_rate_root": s.ln_fee_rate_root, "reserve_fee_percent": s.reserve_fee_percent,
                "last_ln_implied_rate": s.last_ln_implied_rate, "total_lp": m.total_lp,
                "sy_exchange_rate": m.sy_exchange_rate, "py_index_stored": m.py_index_stored,
                "pin_timestamp": raw.timestamp,
            }  # fmt: skip
            params += [
                {"block": block, "protocol_address": raw.factory, "market_id": market, "param": k, "value": v}
                for k, v in fields.items()
            ]
        vaults, holdings = [], []
        for y in raw.sys.values():
            vaults.append({"block": block, "vault": y.sy, "share_token": y.sy, "asset": y.yield_token, "kind": "pendle_sy",
                           "total_assets": y.held, "total_supply": y.total_supply, "visible_assets": y.held,
                           "opaque_assets": 0})  # fmt: skip
            holdings.append({"block": block, "vault": y.sy, "holder": y.sy, "token": y.yield_token, "protocol": None,
                             "protocol_address": None, "market_id": None, "amount": y.held, "read_method": "balanceOf"})  # fmt: skip
        return {"pools": pools, "pool_coins": coins, "market_params": params, "vaults": vaults, "holdings": holdings}
