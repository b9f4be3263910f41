"""Aave v3 on the devnet: the scenario's `[aave]` section (reserves, e-mode categories), its actions
and what the manifest and the summary say of it (`loopscan.devnet.part`)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from loopscan.devnet.part import Part
from loopscan.devnet.scenario import Scenario, decimal
from loopscan.devnet.seed import units_down
from loopscan.devnet.summary import human
from loopscan.protocols.aave_v3 import devnet as aave_deploy
from loopscan.textsafe import safe_text

__all__ = ["PART", "UNITS", "AavePart"]

UNITS = ()  # published artifacts (`@aave/core-v3`), nothing to compile


class AavePart(Part):
    ACTIONS = {
        "aave.supply": {"asset": "reserve", "from": "account", "amount": "amount"},
        "aave.borrow": {"asset": "reserve", "from": "account", "amount": "amount", "rate_mode": "int"},
        # The risk admin's switches on a reserve, as mainnet's governance sets them (1 on, 0 off);
        # `debt_ceiling` in whole base-currency units (USD), isolation mode when above 0.
        "aave.configure": {
            "asset": "reserve",
            "frozen": "int",
            "paused": "int",
            "siloed": "int",
            "borrowable_in_isolation": "int",
            "stable_borrowing": "int",
            "debt_ceiling": "amount",
        },
        "aave.set_emode": {"from": "account", "category": "int"},
        # An isolated asset is not enabled as collateral on supply (v3.0.2's
        # `validateAutomaticUseAsCollateral`): its supplier turns it on.
        "aave.use_as_collateral": {"asset": "reserve", "from": "account"},
        "aave.loop": {
            "collateral": "reserve",
            "debt": "reserve",
            "account": "account",
            "equity": "amount",
            "leverage": "number",
            "emode": "int",
        },
    }
    OPTIONAL_FIELDS = {
        "aave.loop": {"emode"},
        "aave.borrow": {"rate_mode"},
        "aave.configure": {"frozen", "paused", "siloed", "borrowable_in_isolation", "stable_borrowing", "debt_ceiling"},
    }
    # PoolConfigurator setter of each `aave.configure` switch (@aave/core-v3 1.19, PoolConfigurator.sol).
    _SWITCHES = {
        "stable_borrowing": "setReserveStableRateBorrowing",
        "borrowable_in_isolation": "setBorrowableInIsolation",
        "siloed": "setSiloedBorrowing",
        "frozen": "setReserveFreeze",
        "paused": "setReservePause",
    }
    PROVENANCE = dict.fromkeys(
        ("aave_pool_addresses_provider", "aave_pool", "aave_pool_configurator", "aave_oracle", "aave_protocol_data_provider"),
        "@aave/core-v3",
    )

    @classmethod
    def parse(cls, scenario: Scenario, data: dict) -> None:
        scenario.aave = data or None  # no section: no pool deployed

    @staticmethod
    def _reserve_assets(s: Scenario) -> list[str]:
        return [r["asset"] for r in (s.aave or {}).get("reserves", [])]

    @classmethod
    def refs(cls, s: Scenario) -> dict[str, set[str]]:
        return {"reserve": set(cls._reserve_assets(s))}

    @classmethod
    def check(cls, s: Scenario) -> None:
        if not s.aave:
            return
        tokens = set(s.all_tokens())
        for i, reserve in enumerate(s.aave.get("reserves", []), 1):
            if reserve.get("asset") not in tokens:
                raise s.error(f"aave.reserves[{i}]", f"unknown asset {reserve.get('asset')!r}")
            if reserve.get("source") not in s.feeds:
                raise s.error(f"aave.reserves[{i}]", f"unknown price source {reserve.get('source')!r}")
            ltv = decimal(reserve.get("ltv", 0), f"aave.reserves[{i}]", s)
            lt = decimal(reserve.get("liquidation_threshold", 0), f"aave.reserves[{i}]", s)
            if ltv > lt:
                raise s.error(f"aave.reserves[{i}]", f"ltv {ltv} above liquidation threshold {lt}")
        for i, emode in enumerate(s.aave.get("emodes", []), 1):
            for asset in emode.get("assets", []):
                if asset not in cls._reserve_assets(s):
                    raise s.error(f"aave.emodes[{i}]", f"unknown reserve {asset!r}")

    # -- seeding ------------------------------------------------------------------------------
    def __init__(self, seeder) -> None:
        super().__init__(seeder)
        seeder.aave = None  # the deployment, once deployed or attached
        # The seeded truth, accumulated from the steps' amounts (token units).
        self.seeded: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def deploy(self) -> None:
        seeder, cfg = self.seeder, self.seeder.s.aave
        if not cfg:
            return
        reserves = cfg["reserves"]
        assets = [seeder.token[r["asset"]].address for r in reserves]
        sources = [seeder.feed[r["source"]].address for r in reserves]
        seeder.aave = aave_deploy.deploy_aave(seeder.chain, seeder.artifacts, assets, sources)
        seeder.deployed.update(seeder.aave.addresses())
        bps = lambda x: int(Decimal(str(x)) * aave_deploy.BPS)  # noqa: E731
        ray = lambda x: int(Decimal(str(x)) * aave_deploy.RAY)  # noqa: E731
        aave_deploy.add_reserves(
            seeder.chain,
            seeder.artifacts,
            seeder.aave,
            [
                {
                    "address": seeder.token[r["asset"]].address,
                    "symbol": r["asset"],
                    "decimals": seeder.s.decimals(r["asset"]),
                    "ltv_bps": bps(r.get("ltv", 0)),
                    "lt_bps": bps(r.get("liquidation_threshold", 0)),
                    # Aave stores the bonus as 10000 + bonus: 5 % is 10500.
                    "bonus_bps": aave_deploy.BPS + bps(r.get("liquidation_bonus", 0)),
                    "borrowable": bool(r.get("borrowable", False)),
                    "reserve_factor_bps": bps(r.get("reserve_factor", "0.1")),
                    "optimal_usage_ray": ray(r.get("optimal_usage", "0.9")),
                    "base_rate_ray": ray(r.get("base_rate", "0")),
                    "slope1_ray": ray(r.get("slope1", "0.04")),
                    "slope2_ray": ray(r.get("slope2", "0.6")),
                }
                for r in reserves
            ],
        )
        for e in cfg.get("emodes", []):
            aave_deploy.add_emode(
                seeder.chain, seeder.aave, int(e["id"]), bps(e["ltv"]), bps(e["liquidation_threshold"]),
                aave_deploy.BPS + bps(e["liquidation_bonus"]), e["label"], [seeder.token[x].address for x in e["assets"]],
            )  # fmt: skip

    def attach(self, manifest: dict) -> None:
        seeder = self.seeder
        if "aave_pool" in manifest["contracts"]:
            seeder.aave = aave_deploy.AaveDeployment.attach(
                seeder.chain, seeder.artifacts, manifest["contracts"], seeder.who("aave-admin"), seeder.who("aave-treasury")
            )

    def _supply(self, asset: str, account: str, amount: int) -> None:
        pool = self.seeder.aave.pool
        self.seeder.approve(asset, account, pool.address)
        self.seeder.chain.send(pool.functions.supply(self.seeder.token[asset].address, amount, account, 0), account, "Pool.supply")
        self.seeded[(asset, account)]["supplied"] += amount

    def _borrow(self, asset: str, account: str, amount: int, rate_mode: int = 2) -> None:
        fn = self.seeder.aave.pool.functions.borrow(self.seeder.token[asset].address, amount, rate_mode, 0, account)
        self.seeder.chain.send(fn, account, "Pool.borrow")
        self.seeded[(asset, account)]["borrowed"] += amount

    def do_aave_supply(self, a: dict) -> None:
        self._supply(a["asset"], self.seeder.who(a["from"]), self.seeder.units(a["asset"], a["amount"]))

    def do_aave_borrow(self, a: dict) -> None:
        rate_mode = int(a.get("rate_mode", 2))  # 1: stable rate (v3.0–v3.1), 2: variable
        self._borrow(a["asset"], self.seeder.who(a["from"]), self.seeder.units(a["asset"], a["amount"]), rate_mode)

    def do_aave_configure(self, a: dict) -> None:
        aave, asset = self.seeder.aave, self.seeder.token[a["asset"]].address
        if "debt_ceiling" in a:  # Aave keeps it with 2 decimals (ReserveConfiguration.DEBT_CEILING_DECIMALS)
            ceiling = int(Decimal(str(a["debt_ceiling"])) * 100)
            self.seeder.chain.send(aave.configurator.functions.setDebtCeiling(asset, ceiling), aave.admin, "setDebtCeiling")
        for field, setter in self._SWITCHES.items():
            if field in a:
                fn = getattr(aave.configurator.functions, setter)(asset, bool(a[field]))
                self.seeder.chain.send(fn, aave.admin, f"PoolConfigurator.{setter}({a['asset']})")

    def do_aave_set_emode(self, a: dict) -> None:
        fn = self.seeder.aave.pool.functions.setUserEMode(int(a["category"]))
        self.seeder.chain.send(fn, self.seeder.who(a["from"]), "Pool.setUserEMode")

    def do_aave_use_as_collateral(self, a: dict) -> None:
        fn = self.seeder.aave.pool.functions.setUserUseReserveAsCollateral(self.seeder.token[a["asset"]].address, True)
        self.seeder.chain.send(fn, self.seeder.who(a["from"]), "Pool.setUserUseReserveAsCollateral")

    def do_aave_loop(self, a: dict) -> None:
        """Supply `equity × leverage` of collateral and borrow `equity × (leverage − 1)` of the
        debt asset, valued at par: a debt asset other than the collateral's base is taken to be
        swapped 1:1 (stablecoins), which is what the scenario's loopers do."""
        seeder, s = self.seeder, self.seeder.s
        account = seeder.who(a["account"])
        if "emode" in a:
            self.do_aave_set_emode({"from": a["account"], "category": a["emode"]})
        equity, leverage = Decimal(str(a["equity"])), Decimal(str(a["leverage"]))
        col = a["collateral"]
        amount = seeder.acquire(col, account, units_down(equity * leverage, s.decimals(s.root(col))))
        self._supply(col, account, amount)
        debt = units_down(equity * (leverage - 1), s.decimals(a["debt"]))
        self._borrow(a["debt"], account, debt)
        seeder.flash_repay(a["debt"], account, debt)

    # -- what the devnet reports --------------------------------------------------------------
    def manifest(self, names: dict[str, str]) -> dict:
        seeder = self.seeder
        return {
            "aave_reserves": {
                asset: {"asset": seeder.token[asset].address, **seeder.aave.reserves[seeder.token[asset].address]}
                for asset in self._reserve_assets(seeder.s)
            }
        }

    def positions(self, names: dict[str, str]) -> dict[str, list[dict]]:
        return {
            "aave": [
                {"asset": asset, "account": acct, "account_name": names.get(acct, acct), **{k: str(v) for k, v in amounts.items()}}
                for (asset, acct), amounts in self.seeded.items()
            ]
        }

    @staticmethod
    def summary(console: Console, manifest: dict) -> str:
        decimals = {tid: t["decimals"] for tid, t in manifest["tokens"].items()}
        if manifest["aave_reserves"]:
            reserves = Table(title="Aave v3 reserves: seeded supply and borrow", title_justify="left")
            for col in ("asset", "supplied", "borrowed"):
                reserves.add_column(col, justify="left" if col == "asset" else "right")
            for asset in manifest["aave_reserves"]:
                rows = [p for p in manifest["positions"]["aave"] if p["asset"] == asset]
                reserves.add_row(
                    safe_text(asset),
                    human(sum(int(p.get("supplied", 0)) for p in rows), decimals[asset]),
                    human(sum(int(p.get("borrowed", 0)) for p in rows), decimals[asset]),
                )
            console.print(reserves)
        return f"{len(manifest['positions']['aave'])} Aave"


PART = AavePart
