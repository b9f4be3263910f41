"""Aave v3 (and Spark, which runs the same code): reserves, their oracles and e-mode categories,
and every account's balances, read at the pinned block.

Balances are the tokens' own `balanceOf` at the pin — aTokens and debt tokens apply the reserve's
index accrued to the block's timestamp, so they are exact, interest included, and need no maths
here. Accounts come from events since `start_block`: the Pool's `Supply`, `Borrow`,
`ReserveUsedAsCollateralEnabled` and `MintUnbacked` (by `onBehalfOf` / `user`), and every
aToken's `Transfer` recipient (aTokens can be received without a `Supply`); the users' own
configuration bitmaps add any (user, reserve) pair the events missed.

Reads go out in four Multicall3 rounds (pool; reserves; oracle, totals and every user; price
sources and e-mode categories) and two log scans. Versions: v3.0–v3.1 and v3.2+ differ in
stable debt (gone from v3.2) and e-mode membership (a bitmap per category from v3.2); the pool
is told apart by whether it answers `getEModeCategoryCollateralBitmap` — see `aave_v3_config`
for what was verified across versions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak

from loopscan.chains import Deployments
from loopscan.model import ZERO_ADDRESS
from loopscan.protocols.aave_v3.config import (
    EModeData,
    ReserveData,
    decode_emode_category,
    decode_reserve_data,
    decode_string,
    emode_of_reserve,
    is_using_as_collateral,
    reserve_ids_in_use,
)
from loopscan.protocols.aave_v3.oracles import (
    PROBES,
    SourceProbe,
    classify_sources,
    probe_from_answers,
)
from loopscan.protocols.base import Rows, ScanContext, topic_address
from loopscan.rpc import Call, CallResult, describe_size, encode_call

_BPS_TO_WAD = 10**14  # 10,000 bps = 1e18

__all__ = ["AaveRaw", "AaveV3Indexer", "POOL_EVENTS", "TRANSFER"]



def _topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


# Pool events naming an account that may hold a position; the account is topic 2 in each.
SUPPLY = _topic("Supply(address,address,address,uint256,uint16)")  # (reserve, user, onBehalfOf, ...)
BORROW = _topic("Borrow(address,address,address,uint256,uint8,uint256,uint16)")  # (reserve, user, onBehalfOf, ...)
COLLATERAL_ENABLED = _topic("ReserveUsedAsCollateralEnabled(address,address)")  # (reserve, user)
MINT_UNBACKED = _topic("MintUnbacked(address,address,address,uint256,uint16)")  # (reserve, user, onBehalfOf, ...)
POOL_EVENTS = (SUPPLY, BORROW, COLLATERAL_ENABLED, MINT_UNBACKED)
TRANSFER = _topic("Transfer(address,address,uint256)")

Pair = tuple[str, str]  # (account, asset)


def plan(deployments: Deployments, name: str) -> list[AaveV3Indexer]:
    """One indexer per Pool of `name` (aave_v3, or spark: the same code) the deployments list."""
    return [AaveV3Indexer(c.address, c.start_block, name=name) for c in deployments.find(name, "pool")]


@dataclass
class AaveRaw:
    """What `fetch` read; every failed read is absent here and recorded in `ctx.missing`."""

    pool: str
    timestamp: int
    revision: int | None = None
    emode_bitmaps: bool = False  # v3.2+: e-mode membership by category bitmaps, no stable debt
    base_currency_unit: int | None = None
    reserves: dict[str, ReserveData] = field(default_factory=dict)  # asset -> getReserveData
    symbols: dict[str, str | None] = field(default_factory=dict)
    sources: dict[str, str | None] = field(default_factory=dict)  # asset -> getSourceOfAsset
    prices: dict[str, int] = field(default_factory=dict)  # asset -> getAssetPrice
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)  # asset -> (supplied, borrowed)
    probes: dict[str, SourceProbe] = field(default_factory=dict)
    emodes: dict[int, EModeData] = field(default_factory=dict)
    user_configs: dict[str, int] = field(default_factory=dict)  # getUserConfiguration bitmap
    user_emodes: dict[str, int] = field(default_factory=dict)
    balances: dict[Pair, tuple[int, int, int]] = field(default_factory=dict)  # (aToken, variable, stable)


def _ok(ctx: ScanContext, result: CallResult, kind: str, address: str, key: str | None, method: str,
        size: int = 32) -> bytes | None:  # fmt: skip
    """The answer if the call succeeded with at least `size` bytes (a dynamic or long answer, checked
    by its decoder); else a miss and None."""
    if result.success and len(result.return_data) >= size:
        return result.return_data
    reason = result.reason if not result.success else describe_size(len(result.return_data), size)
    ctx.miss(kind, address, key, method, reason)
    return None


async def _read(ctx: ScanContext, reads: Sequence[tuple[Hashable, str, bytes]]) -> dict[Hashable, CallResult]:
    """One round of calls, `(key, target, calldata)` each, answered by key."""
    results = await ctx.calls([Call(target, data) for _, target, data in reads])
    return {key: result for (key, _, _), result in zip(reads, results, strict=True)}


class AaveV3Indexer:
    """One Aave v3 Pool (`name` "aave_v3", or "spark" for SparkLend)."""

    def __init__(self, pool: str, start_block: int | None, name: str = "aave_v3") -> None:
        self.pool = pool.lower()
        self.start_block = start_block
        self.name = name

    async def fetch(self, ctx: ScanContext) -> AaveRaw:
        """Read the pool at `ctx`'s pin in four multicall rounds and two log scans (module docstring)."""
        raw = AaveRaw(self.pool, ctx.timestamp)
        p = self.pool
        head, pool_logs = await asyncio.gather(
            _read(ctx, [
                ("list", p, encode_call("getReservesList()")),
                ("revision", p, encode_call("POOL_REVISION()")),
                ("provider", p, encode_call("ADDRESSES_PROVIDER()")),
                # Only v3.2+ has it: a capability probe, not a read the snapshot needs.
                ("bitmap", p, encode_call("getEModeCategoryCollateralBitmap(uint8)", 0)),
            ]),
            ctx.logs(p, [list(POOL_EVENTS)], self.start_block),
        )  # fmt: skip
        raw.emode_bitmaps = head["bitmap"].success and len(head["bitmap"].return_data) == 32
        raw.revision = ctx.answer(head["revision"], "market", p, None, "POOL_REVISION()", "uint256")
        if (data := _ok(ctx, head["list"], "market", p, None, "getReservesList()", 64)) is None:
            return raw  # without the reserves there is nothing to read
        try:
            assets = [a.lower() for a in abi_decode(["address[]"], data)[0]]
        except (DecodingError, OverflowError) as exc:
            ctx.miss("market", p, None, "getReservesList()", f"undecodable answer: {exc}")
            return raw
        provider = ctx.answer(head["provider"], "market", p, None, "ADDRESSES_PROVIDER()", "address")

        # Round 2: every reserve (Pool.getReserveData, the asset's symbol) and the oracle's address.
        reads = [(("data", a), p, encode_call("getReserveData(address)", a)) for a in assets]
        reads += [(("symbol", a), a, encode_call("symbol()")) for a in assets]
        if provider is not None:
            reads.append(("oracle", provider, encode_call("getPriceOracle()")))
        got = await _read(ctx, reads)
        for a in assets:
            if (data := _ok(ctx, got["data", a], "market", p, a, "getReserveData(address)")) is not None:
                try:
                    raw.reserves[a] = decode_reserve_data(data)
                except ValueError as exc:
                    ctx.miss("market", p, a, "getReserveData(address)", str(exc))
            if (data := _ok(ctx, got["symbol", a], "token", a, None, "symbol()")) is not None:
                raw.symbols[a] = decode_string(data)
        oracle = None
        if provider is not None:
            oracle = ctx.answer(got["oracle"], "oracle", provider, None, "getPriceOracle()", "address")
        ctx.progress(f"{self.name}: reserves", len(raw.reserves))

        # Accounts: pool events, then every aToken's Transfer recipients.
        by_a_token = {r.a_token: a for a, r in raw.reserves.items()}
        pairs = {(topic_address(log["topics"][2]), topic_address(log["topics"][1])) for log in pool_logs}
        if by_a_token:
            for log in await ctx.logs(list(by_a_token), [TRANSFER], self.start_block):
                pairs.add((topic_address(log["topics"][2]), by_a_token[log["address"].lower()]))
        pairs = {pr for pr in pairs if pr[1] in raw.reserves and pr[0] != ZERO_ADDRESS}
        users = sorted({account for account, _ in pairs})
        ctx.progress(f"{self.name}: accounts", len(users))

        # Round 3: the oracle's prices and sources, reserve totals, every user's configuration,
        # e-mode and balances.
        reads = []
        if oracle is not None:
            reads.append(("unit", oracle, encode_call("BASE_CURRENCY_UNIT()")))
            reads += [(("source", a), oracle, encode_call("getSourceOfAsset(address)", a)) for a in raw.reserves]
            reads += [(("price", a), oracle, encode_call("getAssetPrice(address)", a)) for a in raw.reserves]
        for a, r in raw.reserves.items():
            reads += [(("total", a, t), t, encode_call("totalSupply()")) for t in self._tokens(raw, r)]
        reads += [(("config", u), p, encode_call("getUserConfiguration(address)", u)) for u in users]
        reads += [(("emode", u), p, encode_call("getUserEMode(address)", u)) for u in users]
        reads += self._balance_reads(raw, sorted(pairs))
        got = await _read(ctx, reads)
        if oracle is not None:
            raw.base_currency_unit = ctx.answer(got["unit"], "oracle", oracle, None, "BASE_CURRENCY_UNIT()", "uint256")
            for a in raw.reserves:
                raw.sources[a] = ctx.answer(got["source", a], "oracle", oracle, a, "getSourceOfAsset(address)", "address")
                if (price := ctx.answer(got["price", a], "oracle", oracle, a, "getAssetPrice(address)", "uint256")) is not None:
                    raw.prices[a] = price
        for a, r in raw.reserves.items():
            amounts = [ctx.answer(got["total", a, t], "market", t, a, "totalSupply()", "uint256") for t in self._tokens(raw, r)]
            if all(x is not None for x in amounts):
                supplied, *debts = amounts
                raw.totals[a] = (supplied, sum(debts))
        for u in users:
            if (bits := ctx.answer(got["config", u], "account", p, u, "getUserConfiguration(address)", "uint256")) is not None:
                raw.user_configs[u] = bits
            if (emode := ctx.answer(got["emode", u], "account", p, u, "getUserEMode(address)", "uint256")) is not None:
                raw.user_emodes[u] = emode
        self._store_balances(ctx, raw, sorted(pairs), got)

        # Round 4: the price sources, the e-mode categories in use, and any pair a user's
        # configuration shows that no event did (none if the events are complete).
        by_id = {r.id: a for a, r in raw.reserves.items()}
        extra = sorted(
            {(u, by_id[i]) for u, bits in raw.user_configs.items() for i in reserve_ids_in_use(bits) if i in by_id}
            - pairs
        )  # fmt: skip
        categories = {e for e in raw.user_emodes.values() if e}
        if not raw.emode_bitmaps:
            categories |= {r.configuration.emode_category for r in raw.reserves.values() if r.configuration.emode_category}
        sources = sorted({s for s in raw.sources.values() if s and s != ZERO_ADDRESS})
        reads = [(("probe", s, g), s, encode_call(g)) for s in sources for g in PROBES]
        reads += [(("cat", c), p, encode_call("getEModeCategoryData(uint8)", c)) for c in sorted(categories)]
        if raw.emode_bitmaps:
            reads += [(("bits", c), p, encode_call("getEModeCategoryCollateralBitmap(uint8)", c)) for c in sorted(categories)]
        reads += self._balance_reads(raw, extra)
        got = await _read(ctx, reads)
        raw.probes = {s: probe_from_answers({g: got["probe", s, g] for g in PROBES}) for s in sources}
        for c in sorted(categories):
            if (data := _ok(ctx, got["cat", c], "emode", p, str(c), "getEModeCategoryData(uint8)")) is None:
                continue
            try:
                category = decode_emode_category(data)
            except (DecodingError, OverflowError) as exc:
                ctx.miss("emode", p, str(c), "getEModeCategoryData(uint8)", f"undecodable answer: {exc}")
                continue
            if raw.emode_bitmaps:
                bits = ctx.answer(got["bits", c], "emode", p, str(c), "getEModeCategoryCollateralBitmap(uint8)", "uint128")
                if bits is None:
                    continue
                category = replace(category, collateral_bitmap=bits)
            raw.emodes[c] = category
        self._store_balances(ctx, raw, extra, got)
        ctx.progress(f"{self.name}: positions", len(raw.balances))
        return raw

    @staticmethod
    def _tokens(raw: AaveRaw, r: ReserveData) -> list[str]:
        """aToken, variable debt token, and the stable debt token where stable debt exists (< v3.2)."""
        stable = [r.stable_debt_token] if r.stable_debt_token and not raw.emode_bitmaps else []
        return [r.a_token, r.variable_debt_token, *stable]

    def _balance_reads(self, raw: AaveRaw, pairs: Sequence[Pair]) -> list[tuple[Hashable, str, bytes]]:
        # AToken / VariableDebtToken / StableDebtToken.balanceOf: the balance with the reserve's
        # index accrued to the block (ScaledBalanceTokenBase.balanceOf · getNormalizedIncome/Debt).
        # The calldata depends only on the user, and the tokens only on the reserve: each is built
        # once, not once per read (150k reads at 100k positions).
        calldata = {u: encode_call("balanceOf(address)", u) for u in {u for u, _ in pairs}}
        tokens = {a: self._tokens(raw, r) for a, r in raw.reserves.items()}
        return [(("balance", u, a, t), t, calldata[u]) for u, a in pairs for t in tokens[a]]

    def _store_balances(self, ctx: ScanContext, raw: AaveRaw, pairs: Sequence[Pair], got: dict) -> None:
        for u, a in pairs:
            tokens = self._tokens(raw, raw.reserves[a])
            answers = [ctx.answer(got["balance", u, a, t], "position", t, f"{a}:{u}", "balanceOf(address)", "uint256")
                       for t in tokens]  # fmt: skip
            if all(x is not None for x in answers):
                supplied, variable, *stable = answers
                raw.balances[u, a] = (supplied, variable, stable[0] if stable else 0)

    def transform(self, raw: AaveRaw, block: int) -> Rows:
        """Rows of `markets` (one per reserve, priced by its own price source: `AaveOracle.getAssetPrice`
        in base currency units), `market_collaterals` (each reserve is collateral for the pool's debts:
        one row naming itself), `market_params` (Aave's own configuration fields), `positions` (one per
        (account, reserve), all-zero ones left out), `position_collaterals` (the aToken balance of a
        reserve the account enabled as collateral), `accounts` (their e-mode) and `emode_categories`."""
        base = {"block": block, "protocol": self.name, "protocol_address": raw.pool}
        bitmaps = (
            {c: e.collateral_bitmap for c, e in raw.emodes.items() if e.collateral_bitmap is not None}
            if raw.emode_bitmaps else None
        )  # fmt: skip
        kinds = classify_sources({a: raw.sources.get(a) for a in raw.reserves}, raw.symbols, raw.probes)
        markets, collaterals, params = [], [], []
        for a, r in raw.reserves.items():
            if a not in raw.totals:
                continue  # a total could not be read: recorded in `missing`
            cfg, price = r.configuration, raw.prices.get(a)
            source = raw.sources.get(a)
            key = {"block": block, "protocol_address": raw.pool, "market_id": a}
            oracle = {
                "oracle": source if source and source != ZERO_ADDRESS else None, "oracle_kind": kinds[a].value,
                "oracle_price_raw": price, "oracle_price_scale": raw.base_currency_unit if price is not None else None,
            }  # fmt: skip
            markets.append(
                {
                    **key, "protocol": self.name, "loan_token": a,
                    "loan_oracle": oracle["oracle"], "loan_oracle_kind": oracle["oracle_kind"],
                    "loan_price_raw": oracle["oracle_price_raw"], "loan_price_scale": oracle["oracle_price_scale"],
                    "irm": r.interest_rate_strategy,
                    "total_supply_assets": raw.totals[a][0], "total_borrow_assets": raw.totals[a][1],
                    "last_update": r.last_update_timestamp,
                }
            )  # fmt: skip
            # A reserve is collateral for the pool's every debt (pooled margin): its row names
            # itself, with its own threshold, LTV and bonus, bps as exact WAD fractions.
            collaterals.append(
                {
                    **key, "collateral_token": a, "liquidation_threshold_wad": cfg.liquidation_threshold * _BPS_TO_WAD,
                    "max_ltv_wad": cfg.ltv * _BPS_TO_WAD, "liquidation_incentive_wad": cfg.liquidation_bonus * _BPS_TO_WAD,
                    **oracle, "price_quote": "numeraire",
                }
            )  # fmt: skip
            params += [{**key, "param": name, "value": value} for name, value in (
                ("ltv_bps", cfg.ltv), ("liquidation_threshold_bps", cfg.liquidation_threshold),
                ("liquidation_bonus_bps", cfg.liquidation_bonus), ("reserve_factor_bps", cfg.reserve_factor),
                ("emode_category", emode_of_reserve(r.id, cfg, bitmaps)), ("protocol_revision", raw.revision),
            ) if value is not None]  # fmt: skip
        positions, posted, active = [], [], set()
        for (account, a), (supplied, variable, stable) in sorted(raw.balances.items()):
            if account not in raw.user_configs or not (supplied or variable or stable):
                continue  # collateral flag unreadable (in `missing`), or an account that left
            key = {**base, "market_id": a, "account": account}
            positions.append({**key, "debt_amount": variable + stable, "debt_shares": None,
                              "supply_amount": supplied, "supply_shares": None})  # fmt: skip
            if supplied and is_using_as_collateral(raw.user_configs[account], raw.reserves[a].id):
                posted.append({**key, "collateral_token": a, "amount": supplied})
            active.add(account)
        accounts = [
            {**base, "account": u, "emode_category": e}
            for u, e in sorted(raw.user_emodes.items())
            if u in active or raw.user_configs.get(u)
        ]
        emodes = [
            {
                **base, "category": c, "ltv_bps": e.ltv, "liquidation_threshold_bps": e.liquidation_threshold,
                "liquidation_bonus_bps": e.liquidation_bonus, "price_source": e.price_source, "label": e.label,
            }
            for c, e in sorted(raw.emodes.items())
        ]  # fmt: skip
        return {"markets": markets, "market_collaterals": collaterals, "market_params": params, "positions": positions,
                "position_collaterals": posted, "accounts": accounts, "emode_categories": emodes}  # fmt: skip

