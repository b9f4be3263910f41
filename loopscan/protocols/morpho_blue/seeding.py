"""Morpho Blue on the devnet: the scenario's `[morpho]` section (oracles, markets), its actions
and what the manifest and the summary say of it (`loopscan.devnet.part`)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from loopscan.devnet.part import Part
from loopscan.devnet.scenario import Scenario, Step, by_id, decimal, to_units
from loopscan.devnet.seed import units_down
from loopscan.devnet.summary import human
from loopscan.model import ZERO_ADDRESS
from loopscan.protocols.morpho_blue.devnet import UNITS, MorphoDeployment, deploy_morpho, market_id, market_params
from loopscan.textsafe import safe_text

__all__ = ["PART", "UNITS", "MorphoPart"]

_ORACLE_SAMPLE = 10**18


def _oracle_kind(o: dict, feeds: dict[str, dict]) -> str:
    """What the oracle tracks, by construction (loopscan must find the same from the chain);
    one that is only code placed at an address (`[[code]]`) tracks nothing loopscan can tell. A
    feed another part declares with its own `oracle_kind` (a Pendle PT feed) makes the oracle that
    kind."""
    if "code" in o:
        return "unknown"
    own = [feeds[f]["oracle_kind"] for f in (o.get("base_feed"), o.get("quote_feed")) if f and "oracle_kind" in feeds[f]]
    if own:
        return own[0]
    if o.get("base_feed") or o.get("quote_feed"):
        return "market"
    return "exchange_rate" if o.get("base_vault") else "fixed"


class MorphoPart(Part):
    ACTIONS = {
        "stablecoin.lend": {"coin": "stablecoin", "market": "market", "assets": "amount"},
        "morpho.supply": {"market": "market", "from": "account", "assets": "amount"},
        "morpho.supply_collateral": {"market": "market", "from": "account", "assets": "amount"},
        "morpho.borrow": {"market": "market", "from": "account", "assets": "amount"},
        "morpho.loop": {"market": "market", "account": "account", "equity": "amount", "leverage": "number"},
    }
    PROVENANCE = {
        "morpho_blue": "@morpho-org/morpho-blue",
        "adaptive_curve_irm": "sphere-mezo-solidity-files",  # = morpho-blue-irm AdaptiveCurveIrm v1.0.0
        "metamorpho_factory": "sphere-mezo-solidity-files",  # = metamorpho v1.0
        "public_allocator": "sphere-mezo-solidity-files",  # = public-allocator v1.0.0
    }

    @classmethod
    def parse(cls, scenario: Scenario, data: dict) -> None:
        scenario.oracles = by_id(data.get("oracles", []), "morpho.oracles", scenario)
        scenario.markets = by_id(data.get("markets", []), "morpho.markets", scenario)

    @classmethod
    def check(cls, s: Scenario) -> None:
        tokens = set(s.all_tokens())
        # An oracle is ours (MorphoFeedOracle over feeds or a vault), or the code at a `[[code]]`
        # address, as anyone may name on mainnet; a market without `oracle` has address(0) (idle).
        ours = {k: v for k, v in s.oracles.items() if "code" not in v}
        for section, items, fields in (
            ("morpho.oracles", ours, {"collateral": tokens, "loan": tokens}),
            ("morpho.oracles", {k: v for k, v in s.oracles.items() if "code" in v}, {"code": set(s.code)}),
            ("morpho.markets", s.markets, {"collateral": tokens, "loan": tokens}),
            ("morpho.markets", {k: v for k, v in s.markets.items() if "oracle" in v}, {"oracle": set(s.oracles)}),
        ):
            for item_id, item in items.items():
                for key, allowed in fields.items():
                    if item.get(key) not in allowed:
                        raise s.error(f"{section} {item_id!r}", f"unknown {key} {item.get(key)!r}")
        for oracle_id, oracle in s.oracles.items():
            if "code" in oracle and set(oracle) - {"id", "code"}:
                raise s.error(f"morpho.oracles {oracle_id!r}", "an oracle given by its code takes no other field")
            for key, allowed in (("base_vault", s.vaults), ("base_feed", s.feeds), ("quote_feed", s.feeds)):
                if key in oracle and oracle[key] not in allowed:
                    raise s.error(f"morpho.oracles {oracle_id!r}", f"unknown {key} {oracle[key]!r}")
        for market_id_, market in s.markets.items():
            lltv = decimal(market.get("lltv"), f"morpho.markets {market_id_!r}", s)
            if not 0 <= lltv < 1:  # 0 is legal: Morpho's owner enabled it on mainnet (idle markets)
                raise s.error(f"morpho.markets {market_id_!r}", f"lltv {lltv} is not in [0, 1)")
            if market.get("irm", "adaptive") not in ("adaptive", "none"):
                raise s.error(f"morpho.markets {market_id_!r}", f"irm {market['irm']!r} is not `adaptive` or `none`")

    @classmethod
    def refs(cls, s: Scenario) -> dict[str, set[str]]:
        return {"market": set(s.markets)}

    @classmethod
    def check_step(cls, s: Scenario, step: Step) -> None:
        if step.action != "morpho.loop":
            return
        market = s.markets[step.args["market"]]
        if s.root(market["collateral"]) != market["loan"]:
            raise s.error(
                step.label,
                f"a loop deposits the borrowed {market['loan']} to mint the collateral, "
                f"but {market['collateral']} is not built on {market['loan']}",
            )
        leverage = decimal(step.args["leverage"], step.label, s)
        if leverage <= 1:
            raise s.error(step.label, f"leverage {leverage} must be above 1")
        ltv = (leverage - 1) / leverage
        if ltv >= decimal(market["lltv"], step.label, s):
            raise s.error(
                step.label, f"leverage {leverage} means LTV {ltv:.4f}, at or above the market's LLTV {market['lltv']}"
            )

    # -- seeding ------------------------------------------------------------------------------
    def __init__(self, seeder) -> None:
        super().__init__(seeder)
        self.oracle: dict[str, str] = {}  # oracle id -> address
        self.market: dict[str, tuple] = {}  # market id -> MarketParams tuple
        # The seeded truth, accumulated from the steps' amounts (token units).
        self.seeded: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def deploy_protocol(self) -> None:
        """Morpho Blue and its periphery come first: the scenario's stablecoins lend on it."""
        seeder = self.seeder
        seeder.morpho = deploy_morpho(seeder.chain, seeder.artifacts)
        seeder.deployed.update(seeder.morpho.addresses())

    def deploy(self) -> None:
        seeder, s = self.seeder, self.seeder.s
        for oid, o in s.oracles.items():
            if "code" in o:  # placed by the seeder before any part deploys
                self.oracle[oid] = seeder.chain.w3.to_checksum_address(s.code[o["code"]]["address"])
                continue
            self.oracle[oid] = seeder.chain.deploy(
                seeder.artifacts.compiled("loopscan", "MorphoFeedOracle"), self._side(o, "base"), self._side(o, "quote")
            ).address
        morpho, owner = seeder.morpho.morpho, seeder.morpho.owner
        enabled: set[int] = set()
        for mid, m in s.markets.items():
            lltv = to_units(Decimal(str(m["lltv"])), 18)
            if lltv not in enabled:
                seeder.chain.send(morpho.functions.enableLltv(lltv), owner, f"Morpho.enableLltv({m['lltv']})")
                enabled.add(lltv)
            irm = seeder.morpho.irm.address if m.get("irm", "adaptive") == "adaptive" else ZERO_ADDRESS
            oracle = self.oracle[m["oracle"]] if "oracle" in m else ZERO_ADDRESS
            params = market_params(seeder.token[m["loan"]].address, seeder.token[m["collateral"]].address, oracle, irm, lltv)
            seeder.chain.send(morpho.functions.createMarket(params), owner, f"Morpho.createMarket({mid})")
            self.market[mid] = params

    def _side(self, o: dict, side: str) -> tuple:
        """One side of a MorphoFeedOracle: (vault, sample, feed1, feed2, token decimals)."""
        seeder, s = self.seeder, self.seeder.s
        token = o["collateral"] if side == "base" else o["loan"]
        vault = o.get(f"{side}_vault")
        feed = o.get(f"{side}_feed")
        decimals = s.decimals(s.vaults[vault]["asset"] if vault else token)
        return (
            seeder.token[vault].address if vault else ZERO_ADDRESS,
            _ORACLE_SAMPLE if vault else 0,
            seeder.feed[feed].address if feed else ZERO_ADDRESS,
            ZERO_ADDRESS,
            decimals,
        )

    def attach(self, manifest: dict) -> None:
        seeder = self.seeder
        for mid, m in manifest["morpho_markets"].items():
            self.market[mid] = (
                seeder.token[m["loan_token"]].address, seeder.token[m["collateral_token"]].address,
                m["oracle"], m["irm"], int(m["lltv"]),
            )  # fmt: skip
        seeder.morpho = MorphoDeployment.attach(seeder.chain, seeder.artifacts, manifest["contracts"], seeder.who("morpho-owner"))

    def supply(self, mid: str, account: str, assets: int) -> None:
        """Record `assets` supplied to market `mid` for `account` by another contract (a vault)."""
        self.seeded[(mid, account)]["supply_assets"] += assets

    def _supply(self, mid: str, account: str, assets: int) -> None:
        morpho = self.seeder.morpho.morpho
        self.seeder.approve(self.seeder.s.markets[mid]["loan"], account, morpho.address)
        self.seeder.chain.send(morpho.functions.supply(self.market[mid], assets, 0, account, b""), account, "Morpho.supply")
        self.seeded[(mid, account)]["supply_assets"] += assets

    def _supply_collateral(self, mid: str, account: str, assets: int) -> None:
        morpho = self.seeder.morpho.morpho
        self.seeder.approve(self.seeder.s.markets[mid]["collateral"], account, morpho.address)
        fn = morpho.functions.supplyCollateral(self.market[mid], assets, account, b"")
        self.seeder.chain.send(fn, account, "Morpho.supplyCollateral")
        self.seeded[(mid, account)]["collateral"] += assets

    def _borrow(self, mid: str, account: str, assets: int) -> None:
        fn = self.seeder.morpho.morpho.functions.borrow(self.market[mid], assets, 0, account, account)
        self.seeder.chain.send(fn, account, "Morpho.borrow")
        self.seeded[(mid, account)]["borrow_assets"] += assets

    def do_stablecoin_lend(self, a: dict) -> None:
        seeder = self.seeder
        coin, mid = a["coin"], a["market"]
        assets = seeder.units(seeder.s.markets[mid]["loan"], a["assets"])
        manager = seeder.who(seeder.s.stablecoins[coin]["manager"])
        seeder.chain.send(seeder.token[coin].functions.lendOnMorpho(self.market[mid], assets), manager, f"{coin}.lendOnMorpho")
        self.supply(mid, seeder.token[coin].address, assets)

    def do_morpho_supply(self, a: dict) -> None:
        mid = a["market"]
        self._supply(mid, self.seeder.who(a["from"]), self.seeder.units(self.seeder.s.markets[mid]["loan"], a["assets"]))

    def do_morpho_supply_collateral(self, a: dict) -> None:
        mid = a["market"]
        amount = self.seeder.units(self.seeder.s.markets[mid]["collateral"], a["assets"])
        self._supply_collateral(mid, self.seeder.who(a["from"]), amount)

    def do_morpho_borrow(self, a: dict) -> None:
        mid = a["market"]
        self._borrow(mid, self.seeder.who(a["from"]), self.seeder.units(self.seeder.s.markets[mid]["loan"], a["assets"]))

    def do_morpho_loop(self, a: dict) -> None:
        seeder, s = self.seeder, self.seeder.s
        mid, account = a["market"], seeder.who(a["account"])
        m = s.markets[mid]
        equity, leverage = Decimal(str(a["equity"])), Decimal(str(a["leverage"]))
        collateral = seeder.acquire(m["collateral"], account, units_down(equity * leverage, s.decimals(s.root(m["collateral"]))))
        self._supply_collateral(mid, account, collateral)
        debt = units_down(equity * (leverage - 1), s.decimals(m["loan"]))
        self._borrow(mid, account, debt)
        seeder.flash_repay(m["loan"], account, debt)

    # -- what the devnet reports --------------------------------------------------------------
    def manifest(self, names: dict[str, str]) -> dict:
        s = self.seeder.s
        markets = {}
        for mid, params in self.market.items():
            m = s.markets[mid]
            markets[mid] = {
                "id": "0x" + market_id(params).hex(),
                "loan_token": m["loan"],
                "collateral_token": m["collateral"],
                "oracle": params[2],
                "oracle_id": m.get("oracle"),  # None: address(0), an idle market
                "oracle_kind": _oracle_kind(s.oracles[m["oracle"]], s.feeds) if "oracle" in m else None,
                "irm": params[3],
                "lltv": str(params[4]),
            }
        return {
            "morpho_oracles": {oid: {"address": a, "kind": _oracle_kind(s.oracles[oid], s.feeds)} for oid, a in self.oracle.items()},
            "morpho_markets": markets,
        }

    def positions(self, names: dict[str, str]) -> dict[str, list[dict]]:
        return {
            "morpho": [
                {"market": mid, "account": acct, "account_name": names.get(acct, acct), **{k: str(v) for k, v in amounts.items()}}
                for (mid, acct), amounts in self.seeded.items()
            ]
        }

    @staticmethod
    def summary(console: Console, manifest: dict) -> str:
        decimals = {tid: t["decimals"] for tid, t in manifest["tokens"].items()}
        if manifest["morpho_markets"]:
            markets = Table(title="Morpho Blue markets: seeded supply and borrow", title_justify="left")
            for col in ("market", "LLTV", "oracle", "supplied", "borrowed"):
                markets.add_column(col, justify="right" if col in ("LLTV", "supplied", "borrowed") else "left")
            for mid, m in manifest["morpho_markets"].items():
                rows = [p for p in manifest["positions"]["morpho"] if p["market"] == mid]
                loan = decimals[m["loan_token"]]
                supplied = sum(int(p.get("supply_assets", 0)) for p in rows)
                borrowed = sum(int(p.get("borrow_assets", 0)) for p in rows)
                markets.add_row(safe_text(mid), f"{int(m['lltv']) / 1e16:.1f} %", m["oracle_kind"] or "none",
                                human(supplied, loan), human(borrowed, loan))  # fmt: skip
            console.print(markets)
        return f"{len(manifest['positions']['morpho'])} Morpho"


PART = MorphoPart
