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
from loopscan.protocols.base import Rows, ScanContext, topic_address
from loopscan.protocols.euler_v2.rules import CONFIG_SCALE, Collateral, LTVConfig, collateral_value
from loopscan.rpc import Call, answer_value, encode_call, failure_reason

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
        results = await ctx.calls([Call(v, encode_call(sig)) for v in addresses for sig, _ in _VAULT])
        vaults: list[EulerVault] = []
        wanted: list[tuple[EulerVault, str]] = []  # (vault, collateral) of each LTV list
        for k, address in enumerate(addresses):
            got = [answer_value(r, kind) for r, (_, kind) in zip(results[k * len(_VAULT) :], _VAULT, strict=False)]
            bad = next((i for i, v in enumerate(got) if v is None), None)
            if bad is not None:
                ctx.miss("market", address, None, _VAULT[bad][0], failure_reason(results[k * len(_VAULT) + bad]))
                continue
            asset, oracle, uoa, ltv_list, discount, flags, assets, supply, borrows = got
            vaults.append(EulerVault(address, asset, oracle, uoa, discount, flags, assets, supply, borrows))
            wanted += [(vaults[-1], c.lower()) for c in ltv_list]
        answers = await ctx.calls([Call(v.address, encode_call("LTVFull(address)", c)) for v, c in wanted])
        failed = set()
        for (v, c), result in zip(wanted, answers, strict=True):
            ltv = answer_value(result, "(uint16,uint16,uint16,uint48,uint32)")
            if ltv is None:
                ctx.miss("market", v.address, c, "LTVFull(address)", failure_reason(result))
                failed.add(v.address)
                continue
            v.ltvs[c] = LTVConfig(*ltv)
        return [v for v in vaults if v.address not in failed]  # an LTV list with a hole misprices its borrowers

    async def _accounts(self, ctx: ScanContext, raw: EulerRaw, pairs: list[tuple[str, str]]) -> list[EulerAccount]:
        first = await ctx.calls(
            [c for v, a in pairs for c in (
                Call(v, encode_call("debtOf(address)", a)), Call(v, encode_call("accountLiquidityFull(address,bool)", a, True)),
                Call(self.evc, encode_call("getControllers(address)", a)),
            )]
        )  # fmt: skip
        live = []  # (vault, account, debt, collaterals, adjusted values, liability value)
        for k, (v, a) in enumerate(pairs):
            debt_r, liq_r, ctrl_r = first[3 * k : 3 * k + 3]
            debt, controllers = answer_value(debt_r, "uint256"), answer_value(ctrl_r, "address[]")
            if debt is None or controllers is None:
                r, sig = (debt_r, "debtOf(address)") if debt is None else (ctrl_r, "getControllers(address)")
                ctx.miss("position", v, a, sig, failure_reason(r))
                continue
            if debt == 0 or v not in [c.lower() for c in controllers]:
                continue  # repaid, or now controlled by another vault: no position here
            liq = answer_value(liq_r, ["address[]", "uint256[]", "uint256"])
            if liq is None:
                ctx.miss("position", v, a, "accountLiquidityFull(address,bool)", failure_reason(liq_r))
                continue
            live.append((v, a, debt, [c.lower() for c in liq[0]], list(liq[1]), liq[2]))
        balances = await ctx.calls(
            [Call(c, encode_call("balanceOf(address)", a)) for v, a, _, cs, _, _ in live for c in cs]
        )
        quotes_wanted: list[tuple[str, int, str, str]] = []  # (oracle, amount, base, quote)
        per_account = []
        i = 0
        for v, _, debt, cs, _, _ in live:
            bals = [answer_value(r, "uint256") for r in balances[i : i + len(cs)]]
            i += len(cs)
            per_account.append(bals)
            vault = raw.vaults[v]
            quotes_wanted += [(vault.oracle, b, c, vault.unit_of_account) for c, b in zip(cs, bals, strict=True) if b]
            if vault.asset != vault.unit_of_account:
                quotes_wanted.append((vault.oracle, debt, vault.asset, vault.unit_of_account))
        answers = await ctx.calls(
            [Call(o, encode_call("getQuote(uint256,address,address)", amt, b, q)) for o, amt, b, q in quotes_wanted]
        )
        quotes = {w: answer_value(r, "uint256") for w, r in zip(quotes_wanted, answers, strict=True)}
        out = []
        for (v, a, debt, cs, values, liability_value), bals in zip(live, per_account, strict=True):
            account = _checked(ctx, raw, (v, a, debt, cs, values, liability_value), bals, quotes)
            if account is not None:
                out.append(account)
        return out

    def transform(self, raw: EulerRaw, block: int) -> Rows:
        """One market per vault (its asset lent), one `market_collaterals` row per collateral vault its
        LTV list recognises (the liquidation LTV at the pin, ramp included, as the threshold; the
        borrow LTV as the maximum; the largest incentive its discount cap allows, 1 / (1 − cap): the
        discount itself follows the account's health), the vault's own fields and each LTV entry in
        `market_params`, and per borrower its debt and each collateral vault's shares posted. Prices
        are the vault's oracle router's, in its unit of account, read per account: none is stored."""
        markets, collaterals, params, positions, posted, accounts = [], [], [], [], [], []
        for v in raw.vaults.values():
            key = {"block": block, "protocol_address": v.address, "market_id": v.address}
            markets.append({**key, "protocol": self.name, "loan_token": v.asset, "loan_oracle": v.oracle,
                            "loan_oracle_kind": "unknown", "total_supply_assets": v.total_assets,
                            "total_borrow_assets": v.total_borrows})  # fmt: skip
            incentive = WAD * CONFIG_SCALE // (CONFIG_SCALE - v.max_liquidation_discount) if v.max_liquidation_discount < CONFIG_SCALE else 0
            fields = [("max_liquidation_discount", v.max_liquidation_discount), ("config_flags", v.config_flags),
                      ("total_supply_shares", v.total_supply)]  # fmt: skip
            for c, ltv in v.ltvs.items():
                collaterals.append({
                    **key, "collateral_token": c, "liquidation_threshold_wad": ltv.ltv(raw.timestamp, liquidation=True) * _TO_WAD,
                    "max_ltv_wad": ltv.borrow_ltv * _TO_WAD, "liquidation_incentive_wad": incentive,
                    "oracle": v.oracle, "oracle_kind": "unknown", "price_quote": "numeraire",
                })  # fmt: skip
                fields += [(f"{name}:{c}", getattr(ltv, name)) for name in
                           ("borrow_ltv", "liquidation_ltv", "initial_liquidation_ltv", "target_timestamp", "ramp_duration")]  # fmt: skip
            params += [{**key, "param": name, "value": value} for name, value in fields]
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
