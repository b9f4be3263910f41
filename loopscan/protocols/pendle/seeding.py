"""Pendle v2 on the devnet: the scenario's `[pendle]` section (markets over the scenario's ERC-4626
vaults, and the PT feeds lenders price with), its actions and what the manifest says of it
(`loopscan.devnet.part`).

A market's id is its PT's token id: steps and other sections (a Morpho market's collateral, an Aave
reserve) name the PT by it. A feed's id is a feed id like the scenario's own (a Morpho oracle's
`base_feed`, an Aave reserve's `source`). Both must exist before the other parts deploy, so they
are made in `deploy_tokens`, after the vaults they wrap; the Pendle core is deployed only when the
scenario declares a market (other scenarios' devnets are unchanged).
"""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from loopscan.devnet.part import Part
from loopscan.devnet.scenario import Scenario, by_id, decimal
from loopscan.devnet.seed import units_down
from loopscan.protocols.pendle.devnet import (
    MarketParams,
    PendleCore,
    PendleMarket,
    add_market,
    deploy_pendle,
    provide_liquidity,
    published,
    sell_pt,
)
from loopscan.protocols.pendle.devnet_feeds import linear_discount_oracle, twap_oracle
from loopscan.protocols.pendle.logexp import ln
from loopscan.textsafe import safe_text

__all__ = ["PART", "UNITS", "PendlePart"]

UNITS = ()  # published artifacts (`@pendle/core-v2`); our SY is in the `loopscan` unit
FEED_KINDS = ("linear_discount", "amm_twap")
_FEED_KIND = "pendle"  # the manifest `kind` of a feed this part made (the seeder deploys none of them)


def _params(m: dict) -> MarketParams:
    """A market's `createNewMarket` parameters: the scenario's, else `MarketParams`' defaults."""
    d = MarketParams()
    return MarketParams(
        scalar_root=units_down(Decimal(str(m["scalar_root"])), 18) if "scalar_root" in m else d.scalar_root,
        initial_anchor=units_down(Decimal(str(m["initial_anchor"])), 18) if "initial_anchor" in m else d.initial_anchor,
        ln_fee_rate_root=ln(units_down(1 + Decimal(str(m["fee_rate"])), 18)) if "fee_rate" in m else d.ln_fee_rate_root,
        days_to_expiry=int(m.get("days_to_expiry", d.days_to_expiry)),
    )


class PendlePart(Part):
    ACTIONS = {
        # Seed a market from `assets` of its root token: half staked into the vault and split into
        # PT (its YT stays with the provider), half wrapped into SY; both go into the pool.
        "pendle.add_liquidity": {"market": "pendle_market", "from": "account", "assets": "amount"},
        # At least `amount` PT for `to` (and as much YT), minted from the root token through the
        # vault and the SY: what a looper buys before posting it.
        "pendle.mint_pt": {"market": "pendle_market", "to": "account", "amount": "amount"},
        # Sell `amount` PT (minted first, as `pendle.mint_pt`) straight into the market: a sell-off.
        "pendle.sell_pt": {"market": "pendle_market", "from": "account", "amount": "amount"},
    }
    PROVENANCE = dict.fromkeys(
        ("pendle_yield_factory", "pendle_market_factory", "pendle_gauge_controller", "pendle_router",
         "pendle_py_lp_oracle", "pendle_linear_discount_factory"),
        "@pendle/core-v2",
    )  # fmt: skip

    @classmethod
    def parse(cls, scenario: Scenario, data: dict) -> None:
        scenario.pendle_markets = by_id(data.get("markets", []), "pendle.markets", scenario)
        feeds = by_id(data.get("feeds", []), "pendle.feeds", scenario)
        for fid, f in feeds.items():
            if fid in scenario.feeds:
                raise scenario.error(f"pendle.feeds {fid!r}", "a feed of that id is declared already")
            # `oracle_kind`: what a lender's oracle on this feed is (the manifest says so, as a scan finds it)
            scenario.feeds[fid] = {**f, "kind": _FEED_KIND, "pendle_kind": f.get("kind"), "oracle_kind": f.get("kind")}

    @classmethod
    def check(cls, s: Scenario) -> None:
        for mid, m in s.pendle_markets.items():
            if m.get("vault") not in s.vaults:
                raise s.error(f"pendle.markets {mid!r}", f"unknown vault {m.get('vault')!r}")
            for key in ("name", "symbol"):
                if not isinstance(m.get(key), str):
                    raise s.error(f"pendle.markets {mid!r}", f"`{key}` (the SY's) is missing")
        for fid, f in s.feeds.items():
            if f.get("kind") != _FEED_KIND:
                continue
            where = f"pendle.feeds {fid!r}"
            if f["pendle_kind"] not in FEED_KINDS:
                raise s.error(where, f"unknown kind {f['pendle_kind']!r} (known: {', '.join(FEED_KINDS)})")
            if f.get("market") not in s.pendle_markets:
                raise s.error(where, f"unknown market {f.get('market')!r}")
            if f["pendle_kind"] == "linear_discount":
                rate = decimal(f.get("base_discount_per_year"), where, s)
                if not 0 <= rate <= 1:
                    raise s.error(where, f"base_discount_per_year {rate} is not between 0 and 1")
            elif int(f.get("twap_window", 0)) <= 0:
                raise s.error(where, "twap_window (seconds) must be above 0")
            if "asset_feed" in f and s.feeds.get(f["asset_feed"], {}).get("kind", "keeper") != "keeper":
                raise s.error(where, f"asset_feed {f['asset_feed']!r} is not a price feed of the scenario")

    @classmethod
    def refs(cls, s: Scenario) -> dict[str, set[str]]:
        return {"pendle_market": set(s.pendle_markets)}

    @classmethod
    def share_tokens(cls, s: Scenario) -> dict[str, dict]:
        """Each market's PT (its name and symbol are Pendle's, set once deployed)."""
        return {mid: {"asset": m["vault"], "decimals": 18, "name": mid, "symbol": mid} for mid, m in s.pendle_markets.items()}

    # -- seeding ------------------------------------------------------------------------------
    def __init__(self, seeder) -> None:
        super().__init__(seeder)
        self.core: PendleCore | None = None
        self.markets: dict[str, PendleMarket] = {}

    def deploy_protocol(self) -> None:
        if self.seeder.s.pendle_markets:
            self.core = deploy_pendle(self.seeder.chain, self.seeder.artifacts)
            self.seeder.deployed.update(self.core.addresses())

    def deploy_tokens(self) -> None:
        seeder, s = self.seeder, self.seeder.s
        for mid, m in s.pendle_markets.items():
            market = add_market(seeder.chain, seeder.artifacts, self.core, seeder.token[m["vault"]].address,
                                m["name"], m["symbol"], _params(m))  # fmt: skip
            self.markets[mid] = market
            seeder.token[mid] = market.pt
            s.share_tokens[mid].update(name=market.pt.functions.name().call(), symbol=market.pt.functions.symbol().call())
        for fid, f in s.feeds.items():
            if f.get("kind") != _FEED_KIND:
                continue
            market = self.markets[f["market"]]
            if f["pendle_kind"] == "linear_discount":
                rate = units_down(Decimal(str(f["base_discount_per_year"])), 18)
                feed = linear_discount_oracle(seeder.chain, seeder.artifacts, self.core, market.pt.address, rate)
            else:
                feed = twap_oracle(seeder.chain, seeder.artifacts, self.core, market, int(f["twap_window"]))
            if "asset_feed" in f:  # in USD, as Aave's sources answer: times the asset's feed
                art = seeder.artifacts.compiled("loopscan", "LoopscanPtUsdFeed")
                feed = seeder.chain.deploy(art, feed.address, seeder.feed[f["asset_feed"]].address)
            seeder.feed[fid] = feed

    def token_kind(self, token: str) -> str | None:
        return "pendle_pt" if token in self.markets else None

    def attach_tokens(self, manifest: dict) -> None:
        c, a = self.seeder.chain, self.seeder.artifacts
        for mid, m in manifest.get("pendle_markets", {}).items():
            self.markets[mid] = PendleMarket(
                c.contract(m["sy"], a.compiled("loopscan", "LoopscanERC4626SY").abi),
                c.contract(m["pt"], published(a, "PendlePrincipalToken").abi),
                c.contract(m["yt"], published(a, "PendleYieldToken").abi),
                c.contract(m["market"], published(a, "PendleMarketV7").abi),
                int(m["expiry"]),
            )
            self.seeder.token[mid] = self.markets[mid].pt
        for fid, f in manifest["feeds"].items():
            if f["kind"] == _FEED_KIND:
                self.seeder.feed[fid] = c.contract(f["address"], self._feed_abi(self.seeder.s.feeds[fid]))

    def _feed_abi(self, f: dict) -> list:
        a = self.seeder.artifacts
        if "asset_feed" in f:
            return a.compiled("loopscan", "LoopscanPtUsdFeed").abi
        name = "PendleSparkLinearDiscountOracle" if f["pendle_kind"] == "linear_discount" else "PendleChainlinkOracle"
        return published(a, name).abi

    def _vault_shares(self, mid: str, account: str, assets: int) -> int:
        """Vault shares for `account` from `assets` of the root token, minted."""
        return self.seeder.acquire(self.seeder.s.pendle_markets[mid]["vault"], account, assets)

    def do_pendle_add_liquidity(self, a: dict) -> None:
        seeder, mid = self.seeder, a["market"]
        who = seeder.who(a["from"])
        shares = self._vault_shares(mid, who, seeder.units(seeder.s.root(mid), a["assets"]))
        provide_liquidity(seeder.chain, self.markets[mid], who, shares // 2, shares - shares // 2)

    def _mint_pt(self, mid: str, who: str, amount: int) -> None:
        """At least `amount` PT to `who`: the vault shares whose SY the YT's index turns into that
        many PT (`mintPY`: PT = SY × index), minted from the root token."""
        seeder, market = self.seeder, self.markets[mid]
        vault = seeder.token[seeder.s.pendle_markets[mid]["vault"]]
        index = max(market.sy.functions.exchangeRate().call(), market.yt.functions.pyIndexStored().call())
        shares = -(-amount * 10**18 // index)
        assets = vault.functions.previewMint(shares).call()
        got = self._vault_shares(mid, who, assets)
        seeder.approve(seeder.s.pendle_markets[mid]["vault"], who, market.sy.address)
        seeder.chain.send(market.sy.functions.deposit(market.yt.address, vault.address, got, got), who, "SY → YT")
        seeder.chain.send(market.yt.functions.mintPY(who, who), who, "YT.mintPY")

    def do_pendle_mint_pt(self, a: dict) -> None:
        self._mint_pt(a["market"], self.seeder.who(a["to"]), self.seeder.units(a["market"], a["amount"]))

    def do_pendle_sell_pt(self, a: dict) -> None:
        seeder, mid = self.seeder, a["market"]
        who, amount = seeder.who(a["from"]), seeder.units(mid, a["amount"])
        self._mint_pt(mid, who, amount)
        sell_pt(seeder.chain, self.markets[mid], who, amount)

    # -- what the devnet reports --------------------------------------------------------------
    def manifest(self, names: dict[str, str]) -> dict:
        if not self.markets:
            return {}
        return {"pendle_markets": {mid: {"market": m.market.address, "pt": m.pt.address, "sy": m.sy.address,
                                         "yt": m.yt.address, "expiry": m.expiry} for mid, m in self.markets.items()}}  # fmt: skip

    @staticmethod
    def summary(console: Console, manifest: dict) -> str | None:
        markets = manifest.get("pendle_markets")
        if not markets:
            return None
        table = Table(title="Pendle markets", title_justify="left")
        for col in ("PT", "market", "expiry"):
            table.add_column(col)
        for mid, m in markets.items():
            table.add_row(safe_text(mid), m["market"], str(m["expiry"]))
        console.print(table)
        return None


PART = PendlePart
