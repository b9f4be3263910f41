"""Morpho Blue: markets from `CreateMarket` logs, accounts from `Supply`/`Borrow`/`SupplyCollateral`
logs, then `market()`, `position()` and oracle `price()` at the pinned block, with interest
accrued to that block exactly as `MorphoBalancesLib.expectedMarketBalances` does (the IRM's own
`borrowRateView`, then `_accrueInterest`'s arithmetic).
"""

from __future__ import annotations

import asyncio
from collections.abc import Set
from dataclasses import dataclass, field

from eth_utils import keccak

from loopscan.chains import Deployments
from loopscan.model import ZERO_ADDRESS
from loopscan.protocols.base import Read, Rows, ScanContext, read, read_many, topic_address, word_address
from loopscan.protocols.morpho_blue.maths import (
    MarketState,
    accrue_interest,
    liquidation_incentive_factor,
    to_assets_down,
    to_assets_up,
)
from loopscan.protocols.morpho_blue.oracles import OracleInfo, fetch_oracles
from loopscan.rpc import decode_uint, encode_call

__all__ = ["MorphoBlueIndexer", "MorphoRaw", "ORACLE_PRICE_SCALE"]

ORACLE_PRICE_SCALE = 10**36
_PARAMS = "(address,address,address,address,uint256)"
CREATE_MARKET = "0x" + keccak(text=f"CreateMarket(bytes32,{_PARAMS})").hex()
SUPPLY = "0x" + keccak(text="Supply(bytes32,address,address,uint256,uint256)").hex()
BORROW = "0x" + keccak(text="Borrow(bytes32,address,address,address,uint256,uint256)").hex()
SUPPLY_COLLATERAL = "0x" + keccak(text="SupplyCollateral(bytes32,address,address,uint256)").hex()
# Where `onBehalf` sits among each event's topics.
_ON_BEHALF_TOPIC = {SUPPLY: 3, BORROW: 2, SUPPLY_COLLATERAL: 3}


def plan(deployments: Deployments, name: str) -> list[MorphoBlueIndexer]:
    """One indexer per Morpho Blue singleton the deployments list."""
    return [MorphoBlueIndexer(c.address, c.start_block) for c in deployments.find(name, "core")]


@dataclass
class MorphoRaw:
    """What `fetch` read: market params, states, accrual rates, positions, oracles."""

    address: str
    params: dict[str, tuple[str, str, str, str, int]] = field(default_factory=dict)  # id -> (loan, coll, oracle, irm, lltv)
    states: dict[str, MarketState] = field(default_factory=dict)
    rates: dict[str, int] = field(default_factory=dict)  # id -> borrowRateView at the pin
    positions: dict[tuple[str, str], tuple[int, int, int]] = field(default_factory=dict)  # (id, account) -> shares
    oracles: dict[str, OracleInfo] = field(default_factory=dict)
    timestamp: int = 0


class MorphoBlueIndexer:
    name = "morpho_blue"

    def __init__(self, address: str, start_block: int | None) -> None:
        self.address = address.lower()
        self.start_block = start_block

    async def fetch(self, ctx: ScanContext, skip: Set[tuple[str, str]] = frozenset()) -> MorphoRaw:
        """`skip`: (market id, account) positions not to read (a backtest's worker carries them
        from its previous block: `morpho_blue.reuse`)."""
        raw = MorphoRaw(self.address, timestamp=ctx.timestamp)
        # The markets and their reads, and the accounts' logs, travel together: neither needs the other.
        accounts, _ = await asyncio.gather(self._fetch_accounts(ctx), self._fetch_markets(ctx, raw))

        # Sorted market by market: the same order as sorting the pairs, without comparing market ids
        # (equal strings, distinct objects) at every step of a sort of 100k pairs.
        pairs = [(i, account) for i in sorted(accounts) if i in raw.states for account in sorted(accounts[i])]
        if skip:
            pairs = [pair for pair in pairs if pair not in skip]
        ids = {i: bytes.fromhex(i[2:]) for i in raw.states}
        got = await ctx.read_round({"positions": read_many(
            "position", self.address, "position(bytes32,address)", [(ids[i], acct) for i, acct in pairs],
            types=("uint256", "uint128", "uint128"), keys=[f"{i}:{acct}" for i, acct in pairs])})  # fmt: skip
        for pair, shares in zip(pairs, got["positions"], strict=True):
            if shares is not None:
                raw.positions[pair] = shares
        ctx.progress("morpho_blue: positions", len(raw.positions))
        return raw

    async def _fetch_accounts(self, ctx: ScanContext) -> dict[str, set[str]]:
        """Every account the `Supply`, `Borrow` and `SupplyCollateral` logs name, by market id."""
        accounts: dict[str, set[str]] = {}
        for log in await ctx.logs(self.address, [[SUPPLY, BORROW, SUPPLY_COLLATERAL]], self.start_block):
            topics = log["topics"]
            accounts.setdefault(topics[1], set()).add(topic_address(topics[_ON_BEHALF_TOPIC[topics[0]]]))
        ctx.progress("morpho_blue: accounts", sum(map(len, accounts.values())))
        return accounts

    async def _fetch_markets(self, ctx: ScanContext, raw: MorphoRaw) -> None:
        """The markets (`CreateMarket` logs), each one's state, its IRM's rate where it must accrue,
        and the markets' oracles."""
        for log in await ctx.logs(self.address, [CREATE_MARKET], self.start_block):
            data = bytes.fromhex(log["data"][2:])
            raw.params[log["topics"][1]] = (
                word_address(data, 0), word_address(data, 1), word_address(data, 2), word_address(data, 3),
                decode_uint(data, 4),
            )  # fmt: skip
        ctx.progress("morpho_blue: markets", len(raw.params))
        got = await ctx.read_round({
            i: read("market", self.address, "market(bytes32)", bytes.fromhex(i[2:]), types=("uint128",) * 6, key=i)
            for i in raw.params
        })  # fmt: skip
        for market_id in raw.params:
            if (words := got[market_id]) is not None:
                raw.states[market_id] = MarketState(*words)
        await self._fetch_rates(ctx, raw)
        raw.oracles = await fetch_oracles(ctx, {p[2] for i, p in raw.params.items() if i in raw.states and p[2] != ZERO_ADDRESS})

    async def _fetch_rates(self, ctx: ScanContext, raw: MorphoRaw) -> None:
        """The IRM's `borrowRateView(params, market)` at the pin, for markets that must accrue."""
        due = [i for i, st in raw.states.items() if raw.params[i][3] != ZERO_ADDRESS and st.last_update < ctx.timestamp and st.total_borrow_assets]
        reads = {}
        for market_id in due:
            loan, coll, oracle, irm, lltv = raw.params[market_id]
            st = raw.states[market_id]
            fields = (st.total_supply_assets, st.total_supply_shares, st.total_borrow_assets, st.total_borrow_shares, st.last_update, st.fee)
            data = encode_call(f"borrowRateView({_PARAMS},(uint128,uint128,uint128,uint128,uint128,uint128))",
                               loan, coll, oracle, irm, lltv, *fields)  # fmt: skip
            reads[market_id] = Read("market", irm, "borrowRateView", data, key=market_id)
        got = await ctx.read_round(reads)
        for market_id in due:
            if (rate := got[market_id]) is not None:
                raw.rates[market_id] = rate
            else:  # without the rate, the market's debt cannot be brought to the pinned block
                del raw.states[market_id]

    def transform(self, raw: MorphoRaw, block: int) -> Rows:
        """Rows of `markets`, `market_collaterals` (the one collateral: LLTV as the liquidation
        threshold and the maximum LTV, the contract's incentive factor, the market's oracle quoting
        it in loan tokens; none for an idle market), `market_params` (Morpho's own fields),
        `positions` and `position_collaterals`, interest accrued to the pinned block."""
        markets, collaterals, params, positions, posted = [], [], [], [], []
        accrued: dict[str, MarketState] = {}
        for market_id, state in raw.states.items():
            loan, coll, oracle, irm, lltv = raw.params[market_id]
            elapsed = raw.timestamp - state.last_update
            now = accrue_interest(state, raw.rates[market_id], elapsed).market if market_id in raw.rates else state
            accrued[market_id] = now
            info = raw.oracles.get(oracle)
            key = {"block": block, "protocol_address": raw.address, "market_id": market_id}
            markets.append(
                {
                    **key, "protocol": self.name, "loan_token": loan,
                    "loan_oracle": None, "loan_oracle_kind": None, "loan_price_raw": None, "loan_price_scale": None,
                    "irm": irm if irm != ZERO_ADDRESS else None,
                    "total_supply_assets": now.total_supply_assets, "total_borrow_assets": now.total_borrow_assets,
                    "last_update": raw.timestamp if market_id in raw.rates else state.last_update,
                }
            )  # fmt: skip
            if coll != ZERO_ADDRESS:
                collaterals.append(
                    {
                        **key, "collateral_token": coll, "liquidation_threshold_wad": lltv, "max_ltv_wad": lltv,
                        "liquidation_incentive_wad": liquidation_incentive_factor(lltv),
                        "oracle": oracle if oracle != ZERO_ADDRESS else None,
                        "oracle_kind": info.kind if info else "unknown",
                        "oracle_price_raw": info.price if info else None,
                        "oracle_price_scale": ORACLE_PRICE_SCALE if info and info.price is not None else None,
                        "price_quote": "loan",
                    }
                )  # fmt: skip
            params += [{**key, "param": name, "value": value} for name, value in (
                ("lltv_wad", lltv), ("fee_wad", state.fee), ("total_supply_shares", now.total_supply_shares),
                ("total_borrow_shares", now.total_borrow_shares))]  # fmt: skip
        # One dict literal per row (no merged key dict): the loop runs once per position.
        name, address = self.name, raw.address
        for (market_id, account), (supply_shares, borrow_shares, collateral) in raw.positions.items():
            if not (supply_shares or borrow_shares or collateral):
                continue  # an account that has fully exited
            m = accrued[market_id]
            positions.append(
                {
                    "block": block, "protocol": name, "protocol_address": address, "market_id": market_id,
                    "account": account,
                    "debt_amount": to_assets_up(borrow_shares, m.total_borrow_assets, m.total_borrow_shares),
                    "debt_shares": borrow_shares,
                    "supply_amount": to_assets_down(supply_shares, m.total_supply_assets, m.total_supply_shares),
                    "supply_shares": supply_shares,
                }
            )  # fmt: skip
            if collateral:
                posted.append({"block": block, "protocol": name, "protocol_address": address, "market_id": market_id,
                               "account": account, "collateral_token": raw.params[market_id][1], "amount": collateral})  # fmt: skip
        return {"markets": markets, "market_collaterals": collaterals, "market_params": params,
                "positions": positions, "position_collaterals": posted}  # fmt: skip
