"""Gearbox v3.1: credit managers from the contracts register (deployments kind `contracts_register`)
and their credit accounts at the pin. Getters as published in `@gearbox-protocol/core-v3@1.52.1`
(`contracts/interfaces/`: `IContractsRegister`, `ICreditManagerV3`, `ICreditFacadeV3`,
`IPoolV3`, `IPoolQuotaKeeperV3`, `IPriceOracleV3`):

1. the register's `getCreditManagers()`;
2. per credit manager: `underlying()`, `pool()`, `creditFacade()`, `priceOracle()`,
   `poolQuotaKeeper()`, `fees()`, `collateralTokensCount()`, `creditAccountsLen()`;
3. its collateral tokens (`collateralTokenByMask(1 << i)`: the token and its LT at the pin, ramp
   applied; the underlying is mask 1), the facade's `debtLimits()` and `expirationDate()`, the
   pool's `expectedLiquidity()`, `creditManagerBorrowed(cm)`, `interestRateModel()` and
   `lastBaseInterestUpdate()`, `totalBorrowed()` and `totalSupply()`, and its accounts
   (`creditAccounts(offset, limit)`, in pages);
4. per collateral token: `ltParams` (the ramp), the quota keeper's `getTokenQuotaParams` (rate,
   limit, total quoted), the price oracle's `getPrice` and `priceFeedParams` (the feed and the
   decimals it prices with); each feed probed for what kind of price it gives
   (`loopscan.protocols.price_sources`, as Aave's sources: a vault's exchange rate, a market feed);
5. per account: `calcDebtAndCollateral(account, DEBT_COLLATERAL)` (debt, base and quota interest,
   fees, and the contract's own total and weighted values in USD), then each enabled token's
   `balanceOf` and the account's quota (`getQuota`).

Every account's weighted value, total value and debt in USD are recomputed with `rules` from
those reads and must equal what the credit manager answers, else the account is reported missing:
every account read checks the rules, as Euler's does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from loopscan.chains import Deployments
from loopscan.protocols.base import Answers, Read, Rows, ScanContext, dynamic, read
from loopscan.protocols.gearbox.pools import pool_rows
from loopscan.protocols.gearbox.rules import (
    PERCENTAGE_FACTOR,
    TokenPosition,
    Underlying,
    collateral_usd,
    convert_to_usd,
    total_debt,
)
from loopscan.protocols.price_sources import fetch_source_kinds

__all__ = ["CreditManager", "CreditAccount", "GearboxRaw", "GearboxIndexer", "plan", "DEBT_COLLATERAL", "PRICE_SCALE"]

WAD = 10**18
_BPS_TO_WAD = WAD // PERCENTAGE_FACTOR
PRICE_SCALE = 10**8  # PriceOracleV3 answers USD with 8 decimals
DEBT_COLLATERAL = 3  # ICreditManagerV3.sol `CollateralCalcTask.DEBT_COLLATERAL`: debt and values, main feeds
_PAGE = 1_000  # accounts per `creditAccounts(offset, limit)` call
# Far above any credit manager's account count (Gearbox's largest hold thousands); a count above it
# is no credit manager's answer, and paging through it would not end.
MAX_ACCOUNTS = 1_000_000
# `CollateralDebtData` (ICreditManagerV3.sol:47-62), returned as one struct.
_CDD = "(uint256,uint256,uint256,uint128,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,address[],address)"
_MANAGER = (
    ("underlying()", "address"), ("pool()", "address"), ("creditFacade()", "address"), ("priceOracle()", "address"),
    ("poolQuotaKeeper()", "address"), ("fees()", ("uint16",) * 5), ("collateralTokensCount()", "uint8"),
    ("creditAccountsLen()", "uint256"),
)  # fmt: skip
_FEES = ("fee_interest_bps", "fee_liquidation_bps", "liquidation_discount_bps", "fee_liquidation_expired_bps",
         "liquidation_discount_expired_bps")  # `fees()` in its order  # fmt: skip


@dataclass
class CollateralToken:
    token: str
    lt_bps: int  # at the pin, as `collateralTokenByMask` answers (ramp applied)
    ramp: tuple[int, int, int, int] | None = None  # ltParams: initial, final, ramp start, duration (None: underlying)
    quota: tuple[int, int, int, int, bool] | None = None  # rate bps, increase fee bps, total quoted, limit, active
    price: int | None = None  # getPrice, USD with 8 decimals
    decimals: int | None = None  # as the price oracle converts it
    feed: str | None = None  # its main price feed (`priceFeedParams`)
    kind: str = "unknown"  # what kind of price that feed gives (`price_sources`)


@dataclass
class CreditManager:
    address: str
    underlying: str
    pool: str
    facade: str
    price_oracle: str
    quota_keeper: str
    fees: tuple[int, int, int, int, int]  # `fees()`, named by `_FEES`
    tokens: dict[str, CollateralToken] = field(default_factory=dict)  # mask order, underlying first
    params: dict[str, int] = field(default_factory=dict)  # facade and pool fields
    totals: tuple[int, int] = (0, 0)  # the pool's expected liquidity, this manager's borrowed
    pool_shares: tuple[int, int] = (0, 0)  # the pool's totalSupply() and totalBorrowed()
    irm: str | None = None
    last_update: int | None = None
    accounts: list[str] = field(default_factory=list)

    @property
    def lt_underlying(self) -> int:
        return self.tokens[self.underlying].lt_bps


@dataclass(frozen=True)
class CreditAccount:
    """One credit account at the pin: its debt parts (underlying units), balances and quotas."""

    manager: str
    account: str
    debt: int
    accrued_interest: int  # base and quota interest
    accrued_fees: int
    balances: dict[str, int]  # enabled tokens (and the underlying) -> balance
    quotas: dict[str, int]  # quoted enabled tokens -> quota, in underlying units

    @property
    def total_debt(self) -> int:
        return total_debt(self.debt, self.accrued_interest, self.accrued_fees)


@dataclass
class GearboxRaw:
    managers: dict[str, CreditManager] = field(default_factory=dict)
    accounts: list[CreditAccount] = field(default_factory=list)


def plan(deployments: Deployments, name: str) -> list[GearboxIndexer]:
    """One indexer per contracts register the deployments list."""
    return [GearboxIndexer(c.address) for c in deployments.find(name, "contracts_register")]


class GearboxIndexer:
    name = "gearbox"

    def __init__(self, register: str) -> None:
        self.register = register.lower()

    async def fetch(self, ctx: ScanContext) -> GearboxRaw:
        raw = GearboxRaw()
        got = await ctx.read_round(
            {0: read("market", self.register, "getCreditManagers()", types=dynamic("address[]"))}
        )
        if (found := got[0]) is None:
            return raw
        managers = await self._managers(ctx, list(dict.fromkeys(a.lower() for a in found)))
        await self._details(ctx, managers)
        await self._tokens(ctx, managers)
        await self._feed_kinds(ctx, managers)
        raw.managers = {m.address: m for m in managers}
        ctx.progress("gearbox: credit managers", len(raw.managers))
        raw.accounts = await self._accounts(ctx, managers)
        ctx.progress("gearbox: accounts", len(raw.accounts))
        return raw

    async def _managers(self, ctx: ScanContext, addresses: list[str]) -> list[CreditManager]:
        got = await ctx.read_round(
            {(cm, sig): read("market", cm, sig, types=kind) for cm in addresses for sig, kind in _MANAGER}
        )
        out = []
        for cm in addresses:
            if (values := got.each((cm, sig) for sig, _ in _MANAGER)) is None:
                continue
            underlying, pool, facade, oracle, keeper, fees, count, n_accounts = values
            if n_accounts > MAX_ACCOUNTS:  # never a credit manager's: reading it would not end
                ctx.miss("market", cm, None, "creditAccountsLen()", f"{n_accounts} accounts exceed {MAX_ACCOUNTS}")
                continue
            m = CreditManager(
                cm, underlying.lower(), pool.lower(), facade.lower(), oracle.lower(), keeper.lower(), fees
            )
            m.params = {"collateral_tokens_count": count, "credit_accounts": n_accounts}
            out.append(m)
        return out

    async def _details(self, ctx: ScanContext, managers: list[CreditManager]) -> None:
        """Collateral tokens and LTs, the facade's and the pool's fields, the account list. A
        manager with a hole in them is left out (its accounts would be misread)."""
        reads: dict[tuple, Read] = {}
        for m in managers:
            cm = m.address
            for i in range(m.params["collateral_tokens_count"]):
                reads[cm, "token", i] = read("market", cm, "collateralTokenByMask(uint256)", 1 << i,
                                             types=("address", "uint16"), key=str(1 << i))  # fmt: skip
            reads[cm, "limits"] = read("market", m.facade, "debtLimits()", types=("uint128", "uint128"), key=cm)
            reads[cm, "expiration"] = read("market", m.facade, "expirationDate()", types="uint40", key=cm)
            reads[cm, "liquidity"] = read("market", m.pool, "expectedLiquidity()", key=cm)
            reads[cm, "borrowed"] = read("market", m.pool, "creditManagerBorrowed(address)", cm, key=cm)
            reads[cm, "irm"] = read("market", m.pool, "interestRateModel()", types="address", key=cm)
            reads[cm, "updated"] = read("market", m.pool, "lastBaseInterestUpdate()", types="uint40", key=cm)
            reads[cm, "shares"] = read("vault", m.pool, "totalSupply()", key=cm)
            reads[cm, "pool_borrowed"] = read("vault", m.pool, "totalBorrowed()", key=cm)
            for offset in range(0, m.params["credit_accounts"], _PAGE):
                reads[cm, "accounts", offset] = read("market", cm, "creditAccounts(uint256,uint256)", offset, _PAGE,
                                                     types=dynamic("address[]"), key=str(offset))  # fmt: skip
        got = await ctx.read_round(reads)
        for m in list(managers):
            cm = m.address
            fields = [(cm, what) for what in ("limits", "expiration", "liquidity", "borrowed", "irm", "updated", "shares", "pool_borrowed")]
            tokens = [(cm, "token", i) for i in range(m.params["collateral_tokens_count"])]
            pages = [(cm, "accounts", o) for o in range(0, m.params["credit_accounts"], _PAGE)]
            values = got.each([*fields, *tokens, *pages])
            if values is None:
                managers.remove(m)
                continue
            (min_debt, max_debt), expiration, liquidity, borrowed, irm, updated, *pool = values[: len(fields)]
            m.params |= {"min_debt": min_debt, "max_debt": max_debt, "expiration_date": expiration}
            m.totals, m.irm, m.last_update, m.pool_shares = (liquidity, borrowed), irm.lower(), updated, tuple(pool)
            listed = [(token.lower(), lt) for token, lt in values[len(fields) : len(fields) + len(tokens)]]
            # Mask 1 is the underlying and each token has one mask (CreditManagerV3.sol:1012, `addToken`):
            # anything else would misplace every account's enabled tokens.
            if not listed or listed[0][0] != m.underlying or len({t for t, _ in listed}) < len(listed):
                ctx.miss("market", cm, None, "collateralTokenByMask(uint256)",
                         "the tokens by mask are not the underlying first, each once")  # fmt: skip
                managers.remove(m)
                continue
            m.tokens = {t: CollateralToken(t, lt) for t, lt in listed}
            m.accounts = [a.lower() for page in values[len(fields) + len(tokens) :] for a in page]

    async def _tokens(self, ctx: ScanContext, managers: list[CreditManager]) -> None:
        """Each collateral token's ramp, quota terms and price. A price that fails leaves the token
        unpriced (its row says so, `missing` says why); its accounts then fail their own check."""
        reads: dict[tuple, Read] = {}
        for m in managers:
            cm = m.address
            for t in m.tokens:
                reads[cm, t, "price"] = read("oracle", m.price_oracle, "getPrice(address)", t, key=t)
                reads[cm, t, "feed"] = read("oracle", m.price_oracle, "priceFeedParams(address)", t,
                                            types=("address", "uint32", "bool", "uint8"), key=t)  # fmt: skip
                if t == m.underlying:
                    continue
                reads[cm, t, "ramp"] = read("market", cm, "ltParams(address)", t,
                                            types=("uint16", "uint16", "uint40", "uint24"), key=t)  # fmt: skip
                reads[cm, t, "quota"] = read("market", m.quota_keeper, "getTokenQuotaParams(address)", t,
                                             types=("uint16", "uint192", "uint16", "uint96", "uint96", "bool"), key=t)  # fmt: skip
        got = await ctx.read_round(reads)
        for m in list(managers):
            for t, c in m.tokens.items():
                if (priced := got.each([(m.address, t, "price"), (m.address, t, "feed")])) is not None:
                    c.price, c.decimals, c.feed = priced[0], priced[1][3], priced[1][0]
                if t == m.underlying:
                    continue
                if (terms := got.each([(m.address, t, "ramp"), (m.address, t, "quota")])) is None:
                    managers.remove(m)  # an LT ramp or quota terms unread: the market is not described
                    break
                c.ramp = terms[0]
                rate, _index, increase_fee, total_quoted, limit, active = terms[1]
                c.quota = (rate, increase_fee, total_quoted, limit, active)

    async def _feed_kinds(self, ctx: ScanContext, managers: list[CreditManager]) -> None:
        """What kind of price each token's feed gives (a vault's exchange rate, a market feed...),
        as Aave's sources are classified: a manager's feeds are probed together, since one feed
        pricing two of its tokens is fixed for the one it does not name."""
        found = await asyncio.gather(*(fetch_source_kinds(ctx, {t: c.feed for t, c in m.tokens.items()}) for m in managers))
        for m, kinds in zip(managers, found, strict=True):
            for t, c in m.tokens.items():
                c.kind = kinds[t]

    async def _accounts(self, ctx: ScanContext, managers: list[CreditManager]) -> list[CreditAccount]:
        got = await ctx.read_round({
            (m.address, a): read("position", m.address, "calcDebtAndCollateral(address,uint8)", a, DEBT_COLLATERAL,
                                 types=dynamic(_CDD), key=a)
            for m in managers for a in m.accounts
        })  # fmt: skip
        live: list[tuple[CreditManager, str, tuple, list[str]]] = []
        for m in managers:
            for a in m.accounts:
                if (cdd := got[m.address, a]) is None:
                    continue
                mask = cdd[10]
                tokens = [t for i, t in enumerate(m.tokens) if mask >> i & 1 and t != m.underlying]
                live.append((m, a, cdd, tokens))
        reads: dict[tuple, Read] = {}
        for m, a, _, tokens in live:
            for t in (m.underlying, *tokens):
                reads[m.address, a, t, "balance"] = read("position", t, "balanceOf(address)", a, key=a)
            for t in tokens:
                reads[m.address, a, t, "quota"] = read("position", m.quota_keeper, "getQuota(address,address)", a, t,
                                                       types=("uint96", "uint192"), key=a)  # fmt: skip
        answers = await ctx.read_round(reads)
        out = []
        for m, a, cdd, tokens in live:
            account = _checked(ctx, m, a, cdd, tokens, answers)
            if account is not None:
                out.append(account)
        return out

    def transform(self, raw: GearboxRaw, block: int) -> Rows:
        """One market per credit manager (its underlying lent; the pool's supply to it as the
        supply, `pools.pool_rows`, this manager's borrowing as the borrow), one `market_collaterals` row per collateral
        token (the underlying included: its LT is 1 − premium − fee) with its LT at the pin as the
        threshold and the maximum LTV (Gearbox borrows up to the same check), the incentive
        1 / (1 − premium), and the price oracle's USD answer. `market_params` holds the fees and
        discounts (normal and expired) as `fees()` stores them, the debt limits and expiry, each
        token's LT ramp and quota terms (`<field>:<token>`), and each account's quotas
        (`quota:<account>:<token>`: the model has no per-position field, and quotas cap the
        weighted value) and accrued fees (`fees:<account>`: a loss counts against the debt without
        them). Positions: the total debt (principal, base and quota interest, fees) and every
        enabled token's balance, the underlying's included; and the pool as the market's supplier
        (`pools.pool_rows`)."""
        markets, collaterals, params, positions, posted, accounts = [], [], [], [], [], []
        vaults, supplied = pool_rows(raw.managers.values(), block, self.name)
        for m in raw.managers.values():
            key = {"block": block, "protocol_address": m.address, "market_id": m.address}
            underlying = m.tokens[m.underlying]
            markets.append({**key, "protocol": self.name, "loan_token": m.underlying, "loan_oracle": m.price_oracle,
                            "loan_oracle_kind": underlying.kind, "loan_price_raw": underlying.price,
                            "loan_price_scale": PRICE_SCALE if underlying.price is not None else None, "irm": m.irm,
                            "total_supply_assets": supplied[m.address], "total_borrow_assets": m.totals[1],
                            "last_update": m.last_update})  # fmt: skip
            discount = m.fees[2]
            incentive = WAD * PERCENTAGE_FACTOR // discount if discount else 0
            fields = [*zip(_FEES, m.fees, strict=True), *((k, v) for k, v in m.params.items())]
            for t, c in m.tokens.items():
                collaterals.append({
                    **key, "collateral_token": t, "liquidation_threshold_wad": c.lt_bps * _BPS_TO_WAD,
                    "max_ltv_wad": c.lt_bps * _BPS_TO_WAD, "liquidation_incentive_wad": incentive,
                    "oracle": m.price_oracle, "oracle_kind": c.kind, "oracle_price_raw": c.price,
                    "oracle_price_scale": PRICE_SCALE if c.price is not None else None, "price_quote": "numeraire",
                })  # fmt: skip
                if c.ramp is not None and c.quota is not None:
                    fields += [(f"{name}:{t}", int(v)) for name, v in zip(
                        ("lt_initial_bps", "lt_final_bps", "lt_ramp_start", "lt_ramp_duration", "quota_rate_bps",
                         "quota_increase_fee_bps", "quota_total", "quota_limit", "quota_active"),
                        (*c.ramp, *c.quota), strict=True)]  # fmt: skip
            params += [{**key, "param": name, "value": value} for name, value in fields]
            positions.append({**key, "protocol": self.name, "account": m.pool, "debt_amount": 0, "supply_amount": supplied[m.address]})
        for acc in raw.accounts:
            who = {"block": block, "protocol": self.name, "protocol_address": acc.manager, "market_id": acc.manager,
                   "account": acc.account}  # fmt: skip
            accounts.append(
                {k: who[k] for k in ("block", "protocol", "protocol_address", "account")} | {"emode_category": 0}
            )
            positions.append({**who, "debt_amount": acc.total_debt, "supply_amount": 0})
            posted += [{**who, "collateral_token": t, "amount": b} for t, b in acc.balances.items() if b]
            params += [{"block": block, "protocol_address": acc.manager, "market_id": acc.manager,
                        "param": f"quota:{acc.account}:{t}", "value": q} for t, q in acc.quotas.items()]  # fmt: skip
            params.append({"block": block, "protocol_address": acc.manager, "market_id": acc.manager,
                           "param": f"fees:{acc.account}", "value": acc.accrued_fees})  # fmt: skip
        return {"markets": markets, "market_collaterals": collaterals, "market_params": params, "positions": positions,
                "position_collaterals": posted, "accounts": accounts, "vaults": vaults}  # fmt: skip


def _checked(ctx: ScanContext, m: CreditManager, a: str, cdd: tuple, tokens: Sequence[str],
             answers: Answers) -> CreditAccount | None:  # fmt: skip
    """The account rebuilt from its reads, if `rules` give the weighted value, total value and
    debt in USD the credit manager itself answers; else None and a `missing` row."""
    debt, _, _, _, interest, fees, debt_usd, _, value_usd, twv_usd = cdd[:10]
    balances = {t: answers.unrecorded((m.address, a, t, "balance")) for t in (m.underlying, *tokens)}
    quotas = {t: answers.unrecorded((m.address, a, t, "quota")) for t in tokens}
    failed = [f"balanceOf of {t}" for t, b in balances.items() if b is None] + [
        f"getQuota of {t}" for t, q in quotas.items() if q is None
    ]
    failed += [f"getPrice of {t}" for t in (m.underlying, *tokens) if m.tokens[t].price is None]
    if failed:
        ctx.miss(
            "position",
            m.address,
            a,
            "calcDebtAndCollateral(address,uint8)",
            f"not rebuilt: {', '.join(failed)} did not read",
        )
        return None
    u = m.tokens[m.underlying]
    underlying = Underlying(balances[m.underlying], u.price, u.decimals)
    positions = [
        TokenPosition(balances[t], m.tokens[t].price, m.tokens[t].decimals, m.tokens[t].lt_bps, quotas[t][0])
        for t in tokens
    ]
    ours_value, ours_twv = collateral_usd(positions, underlying, m.lt_underlying)
    ours_debt = convert_to_usd(total_debt(debt, interest, fees), u.price, u.decimals)
    if (ours_value, ours_twv, ours_debt) != (value_usd, twv_usd, debt_usd):
        ctx.miss("position", m.address, a, "calcDebtAndCollateral(address,uint8)",
                 f"the credit manager answers value {value_usd}, weighted {twv_usd}, debt {debt_usd} (USD, 8 decimals); "
                 f"the rules give {ours_value}, {ours_twv}, {ours_debt}")  # fmt: skip
        return None
    return CreditAccount(m.address, a, debt, interest, fees, balances, {t: q[0] for t, q in quotas.items()})
