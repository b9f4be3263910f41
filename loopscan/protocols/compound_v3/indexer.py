"""Compound v3: each Comet the deployments list (protocol `compound_v3`, kind `comet`, the proxy),
read at the pin from the getters of compound-finance/comet d5a30b0 (`contracts/CometMainInterface.sol`,
`CometExtInterface.sol`, `CometStorage.sol`'s public mappings):

1. `baseToken()`, `baseTokenPriceFeed()`, `baseScale()`, `numAssets()`, `storeFrontPriceFactor()`,
   `targetReserves()`, `totalsBasic()`, `getUtilization()`, `getReserves()`;
2. `getAssetInfo(i)` for each asset, `getPrice(baseTokenPriceFeed)`, `getSupplyRate(u)` and
   `getBorrowRate(u)` at that utilization (what `accruedInterestIndices` uses);
3. `getPrice(feed)` and `totalsCollateral(asset)` for each asset;
4. per account (from `Supply`, `Withdraw`, `Transfer`, `SupplyCollateral`, `TransferCollateral`
   logs): `userBasic(account)`, `balanceOf`, `borrowBalanceOf`, `userCollateral(account, asset)`.

The indices are accrued to the pin by `rules.accrued_indices`; each account's principal carried
forward by them must equal what the Comet itself answers (`balanceOf` / `borrowBalanceOf`), else
the account is reported missing: the check proves the accrual rule on every account read.

A Comet whose market-wide reads fail is left out whole; an account whose reads fail is left out
(its row in `missing`), never written as a zero balance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils import keccak

from loopscan.chains import Deployments
from loopscan.protocols.base import Read, Rows, ScanContext, dynamic, read, topic_address
from loopscan.protocols.compound_v3.rules import (
    BASE_INDEX_SCALE,
    FACTOR_SCALE,
    PRICE_SCALE,
    CometAccount,
    CometAsset,
    CometError,
    CometState,
    accrued_indices,
    present_value,
)
from loopscan.rpc import encode_call

__all__ = ["ACCOUNT_EVENTS", "CometRaw", "CompoundV3Indexer"]

_ZERO = "0x" + "00" * 20


def _topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


# event -> index of the topic naming the account it concerns (CometMainInterface.sol, d5a30b0)
ACCOUNT_EVENTS = {
    _topic("Supply(address,address,uint256)"): 2,  # dst
    _topic("Withdraw(address,address,uint256)"): 1,  # src: a borrower withdraws base
    _topic("Transfer(address,address,uint256)"): 2,  # to
    _topic("SupplyCollateral(address,address,address,uint256)"): 2,  # dst
    _topic("TransferCollateral(address,address,address,uint256)"): 2,  # to
}
_MARKET = (
    ("baseToken()", "address"), ("baseTokenPriceFeed()", "address"), ("baseScale()", "uint256"),
    ("numAssets()", "uint8"), ("storeFrontPriceFactor()", "uint256"), ("targetReserves()", "uint256"),
    ("totalsBasic()", "(uint64,uint64,uint64,uint64,uint104,uint104,uint40,uint8)"), ("getUtilization()", "uint256"),
    ("getReserves()", "int256"),
)  # fmt: skip
_ASSET_INFO = "(uint8,address,address,uint64,uint64,uint64,uint64,uint128)"


@dataclass
class CometRaw:
    """One Comet as read: the state the rules use, feeds, and every account read whole."""

    comet: str
    base_token: str
    base_price_feed: str
    asset_feeds: dict[str, str]
    state: CometState
    reserves: int
    last_accrual_time: int
    accounts: dict[str, CometAccount] = field(default_factory=dict)
    balances: dict[str, tuple[int, int]] = field(default_factory=dict)  # account -> (supplied, borrowed) at the pin


def plan(deployments: Deployments, name: str) -> list[CompoundV3Indexer]:
    """One indexer for every Comet the deployments list (none if they list none)."""
    indexer = CompoundV3Indexer.from_deployments(deployments)
    return [indexer] if indexer.comets else []


class CompoundV3Indexer:
    """The Comets at `comets`: (proxy address, deployment block for its logs)."""

    name = "compound_v3"

    def __init__(self, comets: list[tuple[str, int | None]]) -> None:
        self.comets = [(a.lower(), start) for a, start in comets]

    @classmethod
    def from_deployments(cls, deployments: Deployments) -> CompoundV3Indexer:
        return cls([(c.address, c.start_block) for c in deployments.find("compound_v3", "comet")])

    async def fetch(self, ctx: ScanContext) -> list[CometRaw]:
        out = []
        for comet, start in self.comets:
            raw = await self._market(ctx, comet)
            if raw is not None:
                await self._accounts(ctx, raw, start)
                out.append(raw)
        ctx.progress("compound_v3: accounts", sum(len(r.accounts) for r in out))
        return out

    async def _market(self, ctx: ScanContext, comet: str) -> CometRaw | None:
        first = await ctx.read_round({sig: read("market", comet, sig, types=dynamic(kind)) for sig, kind in _MARKET})
        if (values := first.each(sig for sig, _ in _MARKET)) is None:
            return None
        got = {sig: value for (sig, _), value in zip(_MARKET, values, strict=True)}
        totals = got["totalsBasic()"]
        n, util = got["numAssets()"], got["getUtilization()"]
        uint = dynamic("uint256")
        second = await ctx.read_round({
            **{i: Read("market", comet, f"getAssetInfo({i})", encode_call("getAssetInfo(uint8)", i), dynamic(_ASSET_INFO))
               for i in range(n)},
            "base": Read("market", comet, "getPrice(baseTokenPriceFeed)",
                         encode_call("getPrice(address)", got["baseTokenPriceFeed()"]), uint),
            "supply": Read("market", comet, "getSupplyRate", encode_call("getSupplyRate(uint256)", util), uint),
            "borrow": Read("market", comet, "getBorrowRate", encode_call("getBorrowRate(uint256)", util), uint),
        })  # fmt: skip
        infos = [second[i] for i in range(n)]  # every failure of this round recorded
        base_price, supply_rate, borrow_rate = (second[k] for k in ("base", "supply", "borrow"))
        if None in infos or None in (base_price, supply_rate, borrow_rate):
            return None
        infos = [(i, a.lower(), feed.lower(), *rest) for i, a, feed, *rest in infos]  # eth_abi checksums addresses
        third = await ctx.read_round({
            **{("price", info[1]): read("market", comet, "getPrice(address)", info[2], types=uint, key=info[1]) for info in infos},
            **{("totals", info[1]): read("market", comet, "totalsCollateral(address)", info[1],
                                         types=dynamic("(uint128,uint128)"), key=info[1]) for info in infos},
        })  # fmt: skip
        assets, feeds, totals_collateral = [], {}, {}
        for info in infos:
            if (answers := third.each([("price", info[1]), ("totals", info[1])])) is None:
                return None
            price, supplied = answers
            _, asset, feed, scale, borrow_cf, liquidate_cf, liquidation_factor, cap = info
            assets.append(CometAsset(asset, scale, borrow_cf, liquidate_cf, liquidation_factor, cap, price))
            feeds[asset], totals_collateral[asset] = feed, supplied[0]
        try:
            supply_index, borrow_index = accrued_indices(totals[0], totals[1], supply_rate, borrow_rate,
                                                         ctx.timestamp - totals[6])  # fmt: skip
        except CometError as exc:
            ctx.miss("market", comet, None, "totalsBasic()", str(exc))
            return None
        state = CometState(
            got["baseScale()"], base_price, supply_index, borrow_index, totals[4], totals[5],
            got["storeFrontPriceFactor()"], got["targetReserves()"], tuple(assets), totals_collateral,
        )  # fmt: skip
        return CometRaw(
            comet, got["baseToken()"], got["baseTokenPriceFeed()"], feeds, state, got["getReserves()"], totals[6]
        )

    async def _accounts(self, ctx: ScanContext, raw: CometRaw, start: int | None) -> None:
        found: dict[str, None] = {}
        for log in await ctx.logs(raw.comet, [list(ACCOUNT_EVENTS)], start):
            account = topic_address(log["topics"][ACCOUNT_EVENTS[log["topics"][0]]])
            if account not in (_ZERO, raw.comet):
                found[account] = None
        accounts = list(found)
        assets = [a.asset for a in raw.state.assets]
        reads: dict[tuple, Read] = {}
        for account in accounts:
            for sig, kind in (("userBasic(address)", "(int104,uint64,uint64,uint16,uint8)"),
                              ("balanceOf(address)", "uint256"), ("borrowBalanceOf(address)", "uint256")):  # fmt: skip
                reads[account, sig] = read("position", raw.comet, sig, account, types=dynamic(kind), key=account)
            for a in assets:
                reads[account, a] = read("position", raw.comet, "userCollateral(address,address)", account, a,
                                         types=dynamic("(uint128,uint128)"), key=account)  # fmt: skip
        got = await ctx.read_round(reads)
        s = raw.state
        for account in accounts:
            sigs = ("userBasic(address)", "balanceOf(address)", "borrowBalanceOf(address)")
            if (values := got.each([*((account, sig) for sig in sigs), *((account, a) for a in assets)])) is None:
                continue
            basic, supplied, borrowed, *collateral = values
            principal = basic[0]
            carried = present_value(principal, s.base_supply_index, s.base_borrow_index)
            if (max(carried, 0), max(-carried, 0)) != (supplied, borrowed):
                ctx.miss("position", raw.comet, account, "accruedInterestIndices",
                         f"principal {principal} carries to {carried} at the pin, the Comet answers "
                         f"balanceOf {supplied}, borrowBalanceOf {borrowed}")  # fmt: skip
                continue
            raw.accounts[account] = CometAccount(
                principal, {a: c[0] for a, c in zip(assets, collateral, strict=True) if c[0]}
            )
            raw.balances[account] = (supplied, borrowed)

    def transform(self, raws: list[CometRaw], block: int) -> Rows:
        """One market per Comet (its base token lent, priced by its own feed), one
        `market_collaterals` row per asset (liquidateCollateralFactor as the threshold,
        borrowCollateralFactor as the maximum LTV; absorb credits collateral at liquidationFactor of
        its value, so a unit of debt takes WAD / liquidationFactor of collateral value), Comet's own
        fields in `market_params`, and per account its base position and each collateral posted."""
        markets, collaterals, params, positions, posted, accounts = [], [], [], [], [], []
        for raw in raws:
            s = raw.state
            key = {"block": block, "protocol_address": raw.comet, "market_id": raw.base_token}
            markets.append({
                **key, "protocol": self.name, "loan_token": raw.base_token, "loan_oracle": raw.base_price_feed,
                "loan_oracle_kind": "unknown", "loan_price_raw": s.base_price, "loan_price_scale": PRICE_SCALE,
                # CometCore.sol presentValueSupply / presentValueBorrow of the totals, at the pin
                "total_supply_assets": s.total_supply_base * s.base_supply_index // BASE_INDEX_SCALE,
                "total_borrow_assets": s.total_borrow_base * s.base_borrow_index // BASE_INDEX_SCALE,
                "last_update": raw.last_accrual_time,
            })  # fmt: skip
            fields = [("store_front_price_factor_wad", s.store_front_price_factor), ("target_reserves", s.target_reserves),
                      ("reserves", raw.reserves), ("total_supply_base", s.total_supply_base),
                      ("total_borrow_base", s.total_borrow_base)]  # fmt: skip
            for a in s.assets:
                collaterals.append({
                    **key, "collateral_token": a.asset, "liquidation_threshold_wad": a.liquidate_collateral_factor,
                    "max_ltv_wad": a.borrow_collateral_factor,
                    "liquidation_incentive_wad": FACTOR_SCALE * FACTOR_SCALE // a.liquidation_factor if a.liquidation_factor else 0,
                    "oracle": raw.asset_feeds[a.asset], "oracle_kind": "unknown", "oracle_price_raw": a.price,
                    "oracle_price_scale": PRICE_SCALE, "price_quote": "numeraire",
                })  # fmt: skip
                fields += [(f"liquidation_factor_wad:{a.asset}", a.liquidation_factor), (f"supply_cap:{a.asset}", a.supply_cap),
                           (f"total_collateral:{a.asset}", s.totals_collateral[a.asset])]  # fmt: skip
            params += [{**key, "param": name, "value": value} for name, value in fields]
            for account, acc in raw.accounts.items():
                supplied, borrowed = raw.balances[account]
                accounts.append({"block": block, "protocol": self.name, "protocol_address": raw.comet, "account": account,
                                 "emode_category": 0})  # Comet has no e-mode  # fmt: skip
                who = {**key, "protocol": self.name, "account": account}
                positions.append({**who, "debt_amount": borrowed, "supply_amount": supplied,
                                  "debt_shares": max(-acc.principal, 0), "supply_shares": max(acc.principal, 0)})  # fmt: skip
                posted += [{**who, "collateral_token": asset, "amount": amount} for asset, amount in acc.collateral.items() if amount]
        return {"markets": markets, "market_collaterals": collaterals, "market_params": params, "positions": positions,
                "position_collaterals": posted, "accounts": accounts}  # fmt: skip
