"""Aave v3 (and Spark, which runs the same code): reserves, their oracles and e-mode categories,
and every account's balances, read at the pinned block.

Balances are the tokens' own `balanceOf` at the pin — aTokens and debt tokens apply the reserve's
index accrued to the block's timestamp, so they are exact, interest included, and need no maths
here. Accounts come from events since `start_block`: the Pool's `Supply`, `Borrow`,
`ReserveUsedAsCollateralEnabled` and `MintUnbacked` (by `onBehalfOf` / `user`), and every
aToken's `Transfer` recipient (aTokens can be received without a `Supply`); the users' own
configuration bitmaps add any (user, reserve) pair the events missed.

Reads go out in four Multicall3 rounds (pool; reserves; oracle, totals and every user; price
sources and e-mode categories) and two log scans (the pool's events; the aTokens' and stable debt
tokens' `Transfer`s: stable debt is read only for accounts a stable debt token was minted to). Versions: v3.0–v3.1 and v3.2+ differ in
stable debt (gone from v3.2) and e-mode membership (a bitmap per category from v3.2); the pool
is told apart by whether it answers `getEModeCategoryCollateralBitmap` — see `aave_v3_config`
for what was verified across versions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak

from loopscan.chains import Deployments
from loopscan.model import ZERO_ADDRESS
from loopscan.protocols import registry
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
from loopscan.protocols.base import Read, ReadMany, Rows, ScanContext, read, read_many, topic_address
from loopscan.protocols.price_sources import (
    PROBES,
    SourceProbe,
    classify_sources,
    probe_from_answers,
)
from loopscan.rpc import InvalidAnswer, describe_size

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
    held: dict[str, int] = field(default_factory=dict)  # asset -> its balance of the aToken (the cash)
    probes: dict[str, SourceProbe] = field(default_factory=dict)
    feed_kinds: dict[str, str] = field(default_factory=dict)  # source -> kind, where a package publishes it
    emodes: dict[int, EModeData] = field(default_factory=dict)
    user_configs: dict[str, int] = field(default_factory=dict)  # getUserConfiguration bitmap
    user_emodes: dict[str, int] = field(default_factory=dict)
    balances: dict[Pair, tuple[int, int, int]] = field(default_factory=dict)  # (aToken, variable, stable)


def _at_least(size: int, decode: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """`decode` of an answer of at least `size` bytes (a dynamic or long answer, checked by its decoder)."""

    def checked(data: bytes) -> Any:
        if len(data) < size:
            raise InvalidAnswer(describe_size(len(data), size))
        return decode(data)

    return checked


_ASSETS = _at_least(64, lambda data: [a.lower() for a in abi_decode(["address[]"], data)[0]])
_RESERVE_DATA, _SYMBOL, _EMODE = (_at_least(32, d) for d in (decode_reserve_data, decode_string, decode_emode_category))


class AaveV3Indexer:
    """One Aave v3 Pool (`name` "aave_v3", or "spark" for SparkLend)."""

    def __init__(self, pool: str, start_block: int | None, name: str = "aave_v3") -> None:
        self.pool = pool.lower()
        self.start_block = start_block
        self.name = name

    async def fetch(self, ctx: ScanContext, skip: Mapping[str, int] | None = None) -> AaveRaw:
        """Read the pool at `ctx`'s pin in four multicall rounds and two log scans (module docstring).
        `skip`: accounts not to read (a backtest's worker carries them from its previous block:
        `aave_v3.reuse`), each with its e-mode category, whose data is read all the same."""
        skip = skip or {}
        raw = AaveRaw(self.pool, ctx.timestamp)
        p = self.pool
        head, pool_logs = await asyncio.gather(
            ctx.read_round({
                "list": read("market", p, "getReservesList()", types=_ASSETS),
                "revision": read("market", p, "POOL_REVISION()"),
                "provider": read("market", p, "ADDRESSES_PROVIDER()", types="address"),
                # Only v3.2+ has it: a capability probe, not a read the snapshot needs.
                "bitmap": read("emode", p, "getEModeCategoryCollateralBitmap(uint8)", 0),
            }),
            ctx.logs(p, [list(POOL_EVENTS)], self.start_block),
        )  # fmt: skip
        bitmap = head.result("bitmap")
        raw.emode_bitmaps = bitmap.success and len(bitmap.return_data) == 32
        raw.revision = head["revision"]
        if (assets := head["list"]) is None:
            return raw  # without the reserves there is nothing to read
        provider = head["provider"]

        # Round 2: every reserve (Pool.getReserveData, the asset's symbol) and the oracle's address.
        reads: dict[Hashable, Read] = {}
        for a in assets:
            reads["data", a] = read("market", p, "getReserveData(address)", a, types=_RESERVE_DATA, key=a)
        for a in assets:
            reads["symbol", a] = read("token", a, "symbol()", types=_SYMBOL)
        if provider is not None:
            reads["oracle"] = read("oracle", provider, "getPriceOracle()", types="address")
        got = await ctx.read_round(reads)
        for a in assets:
            if (reserve := got["data", a]) is not None:
                raw.reserves[a] = reserve
            if (symbol := got["symbol", a]) is not None:
                raw.symbols[a] = symbol
        oracle = got["oracle"] if provider is not None else None
        ctx.progress(f"{self.name}: reserves", len(raw.reserves))

        # Accounts: pool events, then every aToken's Transfer recipients. The stable debt tokens'
        # Transfer recipients, in the same scan, are the only accounts that can hold stable debt:
        # the token cannot be transferred, and every mint emits Transfer(0, user) (StableDebtToken
        # v3.0–3.1 `mint`, and `burn` when the accrued interest exceeds the repayment). Its
        # total supply cannot tell the same: `burn` sets it to 0 when a repayment reaches it,
        # other borrowers or not (see bench/README.md).
        by_a_token = {r.a_token: a for a, r in raw.reserves.items()}
        by_stable = {t: a for a, r in raw.reserves.items() if (t := self._stable_token(raw, r))}
        pairs = {(topic_address(log["topics"][2]), topic_address(log["topics"][1])) for log in pool_logs}
        stable_holders: set[Pair] = set()
        if by_a_token:
            for log in await ctx.logs([*by_a_token, *by_stable], [TRANSFER], self.start_block):
                token, holder = log["address"].lower(), topic_address(log["topics"][2])
                if token in by_a_token:
                    pairs.add((holder, by_a_token[token]))
                else:
                    stable_holders.add((holder, by_stable[token]))
        pairs = {pr for pr in pairs if pr[1] in raw.reserves and pr[0] != ZERO_ADDRESS and pr[0] not in skip}
        users = sorted({account for account, _ in pairs})
        ctx.progress(f"{self.name}: accounts", len(users))

        # Round 3: the oracle's prices and sources, reserve totals, every user's configuration,
        # e-mode and balances.
        reads = {}
        if oracle is not None:
            reads["unit"] = read("oracle", oracle, "BASE_CURRENCY_UNIT()")
            for a in raw.reserves:
                reads["source", a] = read("oracle", oracle, "getSourceOfAsset(address)", a, types="address", key=a)
            for a in raw.reserves:
                reads["price", a] = read("oracle", oracle, "getAssetPrice(address)", a, key=a)
        for a, r in raw.reserves.items():
            for t in self._tokens(raw, r):
                reads["total", a, t] = read("market", t, "totalSupply()", key=a)
            reads["held", a] = read("token", a, "balanceOf(address)", r.a_token, key=r.a_token)
        by_user = [(u,) for u in users]
        reads["configs"] = read_many("account", p, "getUserConfiguration(address)", by_user, keys=users)
        # The pool keeps a user's category as a uint8 (`_usersEModeCategory`); anything wider is no pool's.
        reads["emodes"] = read_many("account", p, "getUserEMode(address)", by_user, types="uint8", keys=users)
        found = sorted(pairs)
        found_tokens = self._pair_tokens(raw, found, stable_holders)
        reads["balances"] = self._balance_reads(found, found_tokens)
        got = await ctx.read_round(reads)
        if oracle is not None:
            raw.base_currency_unit = got["unit"]
            for a in raw.reserves:
                raw.sources[a] = got["source", a]
                if (price := got["price", a]) is not None:
                    raw.prices[a] = price
        for a, r in raw.reserves.items():
            amounts = [got["total", a, t] for t in self._tokens(raw, r)]
            if all(x is not None for x in amounts):
                supplied, *debts = amounts
                raw.totals[a] = (supplied, sum(debts))
            if (held := got["held", a]) is not None:
                raw.held[a] = held
        for u, bits, emode in zip(users, got["configs"], got["emodes"], strict=True):
            if bits is not None:
                raw.user_configs[u] = bits
            if emode is not None:
                raw.user_emodes[u] = emode
        self._store_balances(raw, found, found_tokens, got["balances"])

        # Round 4: the price sources, the e-mode categories in use, and any pair a user's
        # configuration shows that no event did (none if the events are complete).
        by_id = {r.id: a for a, r in raw.reserves.items()}
        extra = sorted(
            {(u, by_id[i]) for u, bits in raw.user_configs.items() for i in reserve_ids_in_use(bits) if i in by_id}
            - pairs
        )  # fmt: skip
        categories = {e for e in (*raw.user_emodes.values(), *skip.values()) if e}
        if not raw.emode_bitmaps:
            categories |= {r.configuration.emode_category for r in raw.reserves.values() if r.configuration.emode_category}
        sources = sorted({s for s in raw.sources.values() if s and s != ZERO_ADDRESS})
        reads = {("probe", s, g): read("oracle", s, g) for s in sources for g in PROBES}
        for c in sorted(categories):
            reads["cat", c] = read("emode", p, "getEModeCategoryData(uint8)", c, types=_EMODE, key=str(c))
        if raw.emode_bitmaps:
            for c in sorted(categories):
                reads["bits", c] = read("emode", p, "getEModeCategoryCollateralBitmap(uint8)", c, types="uint128", key=str(c))
        # Pairs the events missed: their stable debt is read whatever the Transfer logs say.
        extra_tokens = self._pair_tokens(raw, extra, None)
        reads["balances"] = self._balance_reads(extra, extra_tokens)
        got = await ctx.read_round(reads)
        raw.probes = {s: probe_from_answers({g: got.result(("probe", s, g)) for g in PROBES}) for s in sources}
        # A source another package publishes (a Pendle PT feed, or a USD feed over one) is of its kind.
        raw.feed_kinds = await registry.fetch_feed_kinds(ctx, set(sources))
        for c in sorted(categories):
            if (category := got["cat", c]) is None:
                continue
            if raw.emode_bitmaps:
                if (bits := got["bits", c]) is None:
                    continue
                category = replace(category, collateral_bitmap=bits)
            raw.emodes[c] = category
        self._store_balances(raw, extra, extra_tokens, got["balances"])
        ctx.progress(f"{self.name}: positions", len(raw.balances))
        return raw

    @staticmethod
    def _stable_token(raw: AaveRaw, r: ReserveData) -> str | None:
        """The reserve's stable debt token where stable debt exists (< v3.2)."""
        return r.stable_debt_token if r.stable_debt_token and not raw.emode_bitmaps else None

    def _tokens(self, raw: AaveRaw, r: ReserveData) -> list[str]:
        """aToken, variable debt token, and the stable debt token where stable debt exists (< v3.2)."""
        stable = self._stable_token(raw, r)
        return [r.a_token, r.variable_debt_token, *([stable] if stable else [])]

    def _pair_tokens(self, raw: AaveRaw, pairs: Sequence[Pair], stable_holders: set[Pair] | None) -> list[list[str]]:
        """The tokens whose balance makes each pair's position: aToken and variable debt token, and
        the stable debt token for a pair in `stable_holders` (None: for every pair)."""
        both = {a: [r.a_token, r.variable_debt_token] for a, r in raw.reserves.items()}
        every = {a: self._tokens(raw, r) for a, r in raw.reserves.items()}
        return [every[a] if stable_holders is None or (u, a) in stable_holders else both[a] for u, a in pairs]

    @staticmethod
    def _balance_reads(pairs: Sequence[Pair], tokens: Sequence[list[str]]) -> ReadMany:
        # AToken / VariableDebtToken / StableDebtToken.balanceOf: the balance with the reserve's
        # index accrued to the block (ScaledBalanceTokenBase.balanceOf · getNormalizedIncome/Debt).
        return read_many("position", [t for ts in tokens for t in ts], "balanceOf(address)",
                         [(u,) for (u, _), ts in zip(pairs, tokens, strict=True) for _ in ts],
                         keys=[f"{a}:{u}" for (u, a), ts in zip(pairs, tokens, strict=True) for _ in ts])  # fmt: skip

    @staticmethod
    def _store_balances(raw: AaveRaw, pairs: Sequence[Pair], tokens: Sequence[list[str]], values: list[Any]) -> None:
        """Each pair's (aToken, variable, stable) balances from `_balance_reads`' values, where all
        were read (an unread stable balance is 0: the account never received stable debt)."""
        answers = iter(values)
        for pair, ts in zip(pairs, tokens, strict=True):
            got = [next(answers) for _ in ts]
            if all(x is not None for x in got):
                supplied, variable, *stable = got
                raw.balances[pair] = (supplied, variable, stable[0] if stable else 0)

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
                "oracle": source if source and source != ZERO_ADDRESS else None, "oracle_kind": raw.feed_kinds.get(source or "", kinds[a].value),
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
                # The admin's switches (1 on): a paused reserve cannot be liquidated (`RESERVE_PAUSED`),
                # a frozen one still can; isolation mode (a debt ceiling, in cents) and siloed
                # borrowing bound who may borrow what against it.
                ("active", int(cfg.active)), ("frozen", int(cfg.frozen)), ("paused", int(cfg.paused)),
                ("borrowing_enabled", int(cfg.borrowing_enabled)),
                ("stable_borrowing_enabled", int(cfg.stable_borrowing_enabled)),
                ("siloed_borrowing", int(cfg.siloed_borrowing)), ("borrowable_in_isolation", int(cfg.borrowable_in_isolation)),
                ("debt_ceiling_cents", cfg.debt_ceiling),
                # The cash: with supply − borrow it shows a token that burnt or rebased away what
                # Aave credited (fee-on-transfer, rebasing), which Aave's own figures never show.
                ("underlying_held", raw.held.get(a)),
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

