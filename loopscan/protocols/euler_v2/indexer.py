"""Euler v2: EVK vaults from the factory's `ProxyCreated` logs (deployments kind `factory`) or by
address (kind `vault`), each with its LTV list, and their borrowers at the pin. Getters and events
as published in euler-xyz/euler-vault-kit 5b98b42 (`src/EVault/IEVault.sol`,
`src/EVault/shared/Events.sol`, `src/GenericFactory/GenericFactory.sol`) and the EVC 34bb788
(`src/interfaces/IEthereumVaultConnector.sol`):

1. per vault: `asset()`, `oracle()`, `unitOfAccount()`, `LTVList()`, `maxLiquidationDiscount()`,
   `configFlags()`, `totalAssets()`, `totalSupply()`, `totalBorrows()`; then `LTVFull(c)` for each
   collateral of the list;
2. borrowers from the vault's `Borrow(account, assets)` logs; every address is an EVC account,
   sub-accounts included (each has its own controller and collaterals);
3. per borrower: `debtOf`, `accountLiquidityFull(account, true)` (its collaterals as the EVC lists
   them and their LTV-adjusted values), the EVC's `getControllers(account)`; then each collateral's
   `balanceOf(account)`, and the vault oracle's `getQuote` of those balances and of the debt.

Each account's values are recomputed with `rules` (the LTV ramp at the pin's timestamp included)
and must equal what the vault answers in `accountLiquidityFull`, else the account is reported
missing: every account read checks the rules. An account with no debt at the pin, or whose
controller is another vault, has no position here (it borrowed and repaid, or moved).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eth_utils import keccak

from loopscan.chains import Deployments
from loopscan.protocols.base import Read, Rows, ScanContext, dynamic, read, topic_address
from loopscan.protocols.euler_v2.rules import CONFIG_SCALE, Collateral, LTVConfig, collateral_value
from loopscan.rpc import encode_call

__all__ = ["PROXY_CREATED", "BORROW", "EulerVault", "EulerAccount", "EulerRaw", "EulerV2Indexer"]

WAD = 10**18
_TO_WAD = WAD // CONFIG_SCALE  # an EVK ConfigAmount (1e4 = 100 %) as a WAD fraction
PROXY_CREATED = "0x" + keccak(text="ProxyCreated(address,bool,address,bytes)").hex()
BORROW = "0x" + keccak(text="Borrow(address,uint256)").hex()
_VAULT = (
    ("asset()", "address"), ("oracle()", "address"), ("unitOfAccount()", "address"), ("LTVList()", "address[]"),
    ("maxLiquidationDiscount()", "uint16"), ("configFlags()", "uint32"), ("totalAssets()", "uint256"),
    ("totalSupply()", "uint256"), ("totalBorrows()", "uint256"),
)  # fmt: skip


@dataclass
class EulerVault:
    address: str
    asset: str
    oracle: str
    unit_of_account: str
    max_liquidation_discount: int
    config_flags: int
    total_assets: int
    total_supply: int
    total_borrows: int
    ltvs: dict[str, LTVConfig] = field(default_factory=dict)


@dataclass(frozen=True)
class EulerAccount:
    """One borrower of one vault at the pin: its debt (assets, rounded up as `debtOf`), the debt's
    value in the unit of account, and its enabled collaterals with balances and quotes."""

    vault: str
    account: str
    debt: int
    liability_value: int
    collaterals: tuple[Collateral, ...]


@dataclass
class EulerRaw:
    timestamp: int
    vaults: dict[str, EulerVault] = field(default_factory=dict)
    accounts: list[EulerAccount] = field(default_factory=list)


def plan(deployments: Deployments, name: str) -> list[EulerV2Indexer]:
    """One indexer for the EVC the deployments list, with its factories and vaults (none without an EVC)."""
    return [EulerV2Indexer.from_deployments(deployments)] if deployments.find(name, "evc") else []


class EulerV2Indexer:
    name = "euler_v2"

    def __init__(self, evc: str, factories: Sequence[tuple[str, int | None]] = (), vaults: Sequence[str] = ()) -> None:
        self.evc = evc.lower()
        self.factories = [(a.lower(), start) for a, start in factories]
        self.vaults = [v.lower() for v in vaults]

    @classmethod
    def from_deployments(cls, deployments: Deployments) -> EulerV2Indexer:
        return cls(
            deployments.get("euler_v2", "evc").address,
            [(c.address, c.start_block) for c in deployments.find("euler_v2", "factory")],
            [c.address for c in deployments.find("euler_v2", "vault")],
        )

    async def fetch(self, ctx: ScanContext) -> EulerRaw:
        addresses = list(self.vaults)
        for factory, start in self.factories:
            addresses += [topic_address(log["topics"][1]) for log in await ctx.logs(factory, [PROXY_CREATED], start)]
        raw = EulerRaw(ctx.timestamp)
        for vault in await self._vaults(ctx, list(dict.fromkeys(addresses))):
            raw.vaults[vault.address] = vault
        ctx.progress("euler_v2: vaults", len(raw.vaults))
        if raw.vaults:
            start = min((s or 0 for _, s in self.factories), default=None)
            borrowers: dict[str, dict[str, None]] = {v: {} for v in raw.vaults}
            for log in await ctx.logs(list(raw.vaults), [BORROW], start):
                borrowers[log["address"].lower()][topic_address(log["topics"][1])] = None
            raw.accounts = await self._accounts(ctx, raw, [(v, a) for v, found in borrowers.items() for a in found])
        ctx.progress("euler_v2: accounts", len(raw.accounts))
        return raw

    async def _vaults(self, ctx: ScanContext, addresses: list[str]) -> list[EulerVault]:
        got = await ctx.read_round(
            {(v, sig): read("market", v, sig, types=dynamic(kind)) for v in addresses for sig, kind in _VAULT}
        )
        vaults: list[EulerVault] = []
        wanted: list[tuple[EulerVault, str]] = []  # (vault, collateral) of each LTV list
        for address in addresses:
            if (values := got.each((address, sig) for sig, _ in _VAULT)) is None:
                continue
            asset, oracle, uoa, ltv_list, discount, flags, assets, supply, borrows = values
            vaults.append(EulerVault(address, asset, oracle, uoa, discount, flags, assets, supply, borrows))
            wanted += [(vaults[-1], c.lower()) for c in ltv_list]
        got = await ctx.read_round({
            (v.address, c): read("market", v.address, "LTVFull(address)", c, types=dynamic("(uint16,uint16,uint16,uint48,uint32)"), key=c)
            for v, c in wanted
        })  # fmt: skip
        failed = set()
        for v, c in wanted:
            if (ltv := got[v.address, c]) is None:
                failed.add(v.address)
                continue
            v.ltvs[c] = LTVConfig(*ltv)
        return [v for v in vaults if v.address not in failed]  # an LTV list with a hole misprices its borrowers

    async def _accounts(self, ctx: ScanContext, raw: EulerRaw, pairs: list[tuple[str, str]]) -> list[EulerAccount]:
        reads: dict[tuple, Read] = {}
        for v, a in pairs:
            reads[v, a, "debt"] = read("position", v, "debtOf(address)", a, types=dynamic("uint256"), key=a)
            reads[v, a, "liquidity"] = read("position", v, "accountLiquidityFull(address,bool)", a, True,
                                            types=dynamic(["address[]", "uint256[]", "uint256"]), key=a)  # fmt: skip
            # The EVC answers; a failure is recorded against the vault, whose position it leaves out.
            reads[v, a, "controllers"] = Read("position", self.evc, "getControllers(address)", encode_call("getControllers(address)", a),
                                              dynamic("address[]"), key=a, address=v)  # fmt: skip
        got = await ctx.read_round(reads)
        live = []  # (vault, account, debt, collaterals, adjusted values, liability value)
        for v, a in pairs:
            if (found := got.each([(v, a, "debt"), (v, a, "controllers")])) is None:
                continue
            debt, controllers = found
            if debt == 0 or v not in [c.lower() for c in controllers]:
                continue  # repaid, or now controlled by another vault: no position here
            if (liq := got[v, a, "liquidity"]) is None:
                continue
            live.append((v, a, debt, [c.lower() for c in liq[0]], list(liq[1]), liq[2]))
        # A balance or quote that fails is recorded by `_checked`, saying what it meant for the account.
        balances = await ctx.read_round(
            {(c, a): read("position", c, "balanceOf(address)", a, types=dynamic("uint256")) for _, a, _, cs, _, _ in live for c in cs}
        )
        quotes_wanted: list[tuple[str, int, str, str]] = []  # (oracle, amount, base, quote)
        per_account = []
        for v, a, debt, cs, _, _ in live:
            bals = [balances.unrecorded((c, a)) for c in cs]
            per_account.append(bals)
            vault = raw.vaults[v]
            quotes_wanted += [(vault.oracle, b, c, vault.unit_of_account) for c, b in zip(cs, bals, strict=True) if b]
            if vault.asset != vault.unit_of_account:
                quotes_wanted.append((vault.oracle, debt, vault.asset, vault.unit_of_account))
        answers = await ctx.read_round(
            {w: read("oracle", w[0], "getQuote(uint256,address,address)", *w[1:], types=dynamic("uint256")) for w in quotes_wanted}
        )
        quotes = {w: answers.unrecorded(w) for w in quotes_wanted}
        out = []
        for (v, a, debt, cs, values, liability_value), bals in zip(live, per_account, strict=True):
            account = _checked(ctx, raw, (v, a, debt, cs, values, liability_value), bals, quotes)
            if account is not None:
                out.append(account)
        return out

    def transform(self, raw: EulerRaw, block: int) -> Rows:
        """One market per vault (its asset lent), one `market_collaterals` row per collateral vault its
        LTV list recognises that a borrower holds (the liquidation LTV at the pin, ramp included, as
        the threshold; the borrow LTV as the maximum; the largest incentive its discount cap allows,
        1 / (1 − cap): the discount itself follows the account's health), the vault's own fields and
        each LTV entry in `market_params`, and per borrower its debt and each collateral vault's
        shares posted; the vault itself as the market's supplier (its total assets).

        Prices: the vault's oracle router quotes balances in its unit of account, per account; a
        collateral's price is written in the vault's asset (`price_quote` ``loan``: asset units per
        share unit), from the borrower holding most of it, as its quote over the same borrower's
        debt quote (`getQuote` of `debtOf`): the unit of account cancels, so its decimals need not be
        known. A collateral vault no borrower holds has no quote read and no row (its LTV entry is
        in `market_params`)."""
        markets, collaterals, params, positions, posted, accounts = [], [], [], [], [], []
        priced: dict[tuple[str, str], tuple[int, int]] = {}  # (vault, collateral) -> (raw, scale) of the largest holder's quote
        largest: dict[tuple[str, str], int] = {}
        for acc in raw.accounts:
            for c in acc.collaterals:
                if c.balance > largest.get((acc.vault, c.vault), 0) and acc.liability_value:
                    largest[acc.vault, c.vault] = c.balance
                    priced[acc.vault, c.vault] = (c.value * acc.debt, c.balance * acc.liability_value)
        for v in raw.vaults.values():
            key = {"block": block, "protocol_address": v.address, "market_id": v.address}
            markets.append({**key, "protocol": self.name, "loan_token": v.asset, "loan_oracle": v.oracle,
                            "loan_oracle_kind": "unknown", "total_supply_assets": v.total_assets,
                            "total_borrow_assets": v.total_borrows})  # fmt: skip
            incentive = WAD * CONFIG_SCALE // (CONFIG_SCALE - v.max_liquidation_discount) if v.max_liquidation_discount < CONFIG_SCALE else 0
            fields = [("max_liquidation_discount", v.max_liquidation_discount), ("config_flags", v.config_flags),
                      ("total_supply_shares", v.total_supply)]  # fmt: skip
            for c, ltv in v.ltvs.items():
                if (v.address, c) in priced:
                    price_raw, price_scale = priced[v.address, c]
                    collaterals.append({
                        **key, "collateral_token": c, "liquidation_threshold_wad": ltv.ltv(raw.timestamp, liquidation=True) * _TO_WAD,
                        "max_ltv_wad": ltv.borrow_ltv * _TO_WAD, "liquidation_incentive_wad": incentive,
                        "oracle": v.oracle, "oracle_kind": "unknown", "oracle_price_raw": price_raw,
                        "oracle_price_scale": price_scale, "price_quote": "loan",
                    })  # fmt: skip
                fields += [(f"{name}:{c}", getattr(ltv, name)) for name in
                           ("borrow_ltv", "liquidation_ltv", "initial_liquidation_ltv", "target_timestamp", "ramp_duration")]  # fmt: skip
            params += [{**key, "param": name, "value": value} for name, value in fields]
            # The vault's depositors are its lenders: the vault (their shares) is this market's one
            # supplier, as socialised debt reaches them pro rata (its share price falls).
            positions.append({**key, "protocol": self.name, "account": v.address, "debt_amount": 0,
                              "supply_amount": v.total_assets})  # fmt: skip
        for acc in raw.accounts:
            who = {"block": block, "protocol": self.name, "protocol_address": acc.vault, "market_id": acc.vault, "account": acc.account}
            accounts.append({k: who[k] for k in ("block", "protocol", "protocol_address", "account")} | {"emode_category": 0})
            positions.append({**who, "debt_amount": acc.debt, "supply_amount": 0})
            posted += [{**who, "collateral_token": c.vault, "amount": c.balance} for c in acc.collaterals if c.balance]
        return {"markets": markets, "market_collaterals": collaterals, "market_params": params, "positions": positions,
                "position_collaterals": posted, "accounts": accounts}  # fmt: skip


def _checked(ctx: ScanContext, raw: EulerRaw, read: tuple, bals: list, quotes: dict) -> EulerAccount | None:
    """The account rebuilt from its reads, if `rules` give what the vault itself answers in
    `accountLiquidityFull`; else None and a `missing` row."""
    v, a, debt, cs, values, liability_value = read
    vault = raw.vaults[v]
    if None in bals:
        ctx.miss("position", v, a, "balanceOf(address)", "a collateral balance did not read")
        return None
    own_liability = (
        debt
        if vault.asset == vault.unit_of_account
        else quotes.get((vault.oracle, debt, vault.asset, vault.unit_of_account))
    )
    collaterals = []
    for c, balance in zip(cs, bals, strict=True):
        quote = quotes.get((vault.oracle, balance, c, vault.unit_of_account)) if balance else 0
        if quote is None:
            ctx.miss("position", v, a, "getQuote(uint256,address,address)", f"no quote for collateral {c}")
            return None
        ltv = vault.ltvs.get(c, LTVConfig(0, 0, 0, 0, 0))  # not in the LTV list: worth nothing here
        collaterals.append(Collateral(c, balance, quote, ltv))
    ours = [collateral_value(c, raw.timestamp, liquidation=True) for c in collaterals]
    if own_liability != liability_value or ours != values:
        ctx.miss("position", v, a, "accountLiquidityFull(address,bool)",
                 f"the vault answers {values} against {liability_value}, the rules give {ours} against {own_liability}")  # fmt: skip
        return None
    return EulerAccount(v, a, debt, liability_value, tuple(collaterals))
