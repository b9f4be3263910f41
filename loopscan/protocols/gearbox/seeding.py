"""Gearbox v3.1 on the devnet: the scenario's `[gearbox]` section (credit managers and their
collateral tokens), its actions (`gearbox.supply`, `gearbox.open`) and what the manifest and the
summary say of it (`loopscan.devnet.part`).

A scenario without the section deploys nothing (and compiles nothing). Each credit manager is a
whole Gearbox market (`devnet.deploy_gearbox`: its own pool, price oracle and our register
stand-in), deployed after every other part's contracts so that none of their addresses moves. A
collateral is priced either by a scenario feed (`feed`) or, for a vault share, by its book value
(`asset_feed`: our `ExchangeRateFeed` over the vault and its asset's feed, deployed here); each
feed serves as main and reserve feed. The actions are seeding steps: an event naming one on a
devnet started from its cache is refused (the part does not rebind its deployment).
"""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from loopscan.devnet.errors import ScenarioError
from loopscan.devnet.part import Part
from loopscan.devnet.scenario import Scenario, Step, by_id, decimal, to_units
from loopscan.devnet.summary import human
from loopscan.protocols.gearbox.devnet import (
    UNITS,
    Collateral,
    CreditManagerParams,
    GearboxDeployment,
    add_collateral,
    deploy_gearbox,
    open_credit_account,
    supply,
)
from loopscan.textsafe import safe_text

__all__ = ["PART", "UNITS", "GearboxPart"]

# The scenario's keeper feeds are posted once: a devnet started from its cache is read long after.
SCENARIO_STALENESS = 365 * 86400
_BPS = 10_000


class GearboxPart(Part):
    ACTIONS = {
        "gearbox.supply": {"credit_manager": "credit_manager", "from": "account", "assets": "amount"},
        # Post `amount` of `collateral` (held by `account`), borrow `debt` of the underlying and take
        # it out: a leveraged holder's account, its value resting on the collateral.
        "gearbox.open": {
            "credit_manager": "credit_manager",
            "account": "account",
            "collateral": "token",
            "amount": "amount",
            "debt": "amount",
        },  # fmt: skip
    }
    PROVENANCE = {
        f"gearbox_{name}": "@gearbox-protocol/core-v3"
        for name in ("price_oracle", "interest_model", "pool", "quota_keeper", "rate_keeper", "account_factory",
                     "bot_list", "loss_policy", "credit_manager", "credit_facade", "credit_configurator")
    }  # fmt: skip

    @classmethod
    def parse(cls, scenario: Scenario, data: dict) -> None:
        scenario.gearbox = by_id(data.get("credit_managers", []), "gearbox.credit_managers", scenario)

    @classmethod
    def check(cls, s: Scenario) -> None:
        tokens = set(s.all_tokens())
        if len(s.gearbox) > 1:  # each is a whole market with its own register, under the manifest's one set of names
            raise s.error("gearbox.credit_managers", "one credit manager per scenario so far")
        for cid, m in s.gearbox.items():
            where = f"gearbox.credit_managers {cid!r}"
            if m.get("underlying") not in s.tokens:
                raise s.error(where, f"unknown underlying {m.get('underlying')!r} (a base token)")
            if m.get("feed") not in s.feeds:
                raise s.error(where, f"unknown feed {m.get('feed')!r}")
            for key in ("min_debt", "max_debt", "pool_debt_limit"):
                if decimal(m.get(key), where, s) <= 0:
                    raise s.error(where, f"`{key}` must be above 0")
            for i, c in enumerate(m.get("collaterals", []), 1):
                at = f"{where} collaterals[{i}]"
                if c.get("token") not in tokens or c["token"] == m["underlying"]:
                    raise s.error(at, f"unknown collateral token {c.get('token')!r}")
                if ("feed" in c) == ("asset_feed" in c):
                    raise s.error(at, "give one of `feed` (the token's USD feed) or `asset_feed` (a vault's asset's)")
                feed = c.get("feed", c.get("asset_feed"))
                if feed not in s.feeds:
                    raise s.error(at, f"unknown feed {feed!r}")
                if "asset_feed" in c and c["token"] not in s.vaults:
                    raise s.error(
                        at, f"`asset_feed` prices a vault share by its book value; {c['token']!r} is no vault"
                    )
                if not 0 < decimal(c.get("lt"), at, s) < 1:
                    raise s.error(at, f"lt {c.get('lt')} is not between 0 and 1")
                decimal(c.get("quota_limit"), at, s)
                decimal(c.get("quota_rate"), at, s)

    @classmethod
    def refs(cls, s: Scenario) -> dict[str, set[str]]:
        return {"credit_manager": set(s.gearbox)}

    @classmethod
    def check_step(cls, s: Scenario, step: Step) -> None:
        if step.action != "gearbox.open":
            return
        m = s.gearbox[step.args["credit_manager"]]
        if step.args["collateral"] not in {c["token"] for c in m.get("collaterals", [])}:
            raise s.error(
                step.label, f"{step.args['collateral']!r} is not a collateral of {step.args['credit_manager']!r}"
            )

    # -- seeding ------------------------------------------------------------------------------
    def __init__(self, seeder) -> None:
        super().__init__(seeder)
        self.deployment: dict[str, GearboxDeployment] = {}
        self.supplied: dict[str, int] = {}
        self.opened: list[dict] = []  # the seeded truth of each account

    def deploy(self) -> None:
        seeder, s = self.seeder, self.seeder.s
        for cid, m in s.gearbox.items():
            underlying, feed = seeder.token[m["underlying"]], seeder.feed[m["feed"]].address
            params = CreditManagerParams(
                name=cid, min_debt=seeder.units(m["underlying"], m["min_debt"]),
                max_debt=seeder.units(m["underlying"], m["max_debt"]),
                pool_debt_limit=seeder.units(m["underlying"], m["pool_debt_limit"]),
            )  # fmt: skip
            g = deploy_gearbox(
                seeder.chain, seeder.artifacts, underlying.address, (feed, feed), params, staleness=SCENARIO_STALENESS,
                pool_symbol=f"d{m['underlying']}V3",
            )
            for c in m.get("collaterals", []):
                if "feed" in c:
                    price_feed = seeder.feed[c["feed"]].address
                else:
                    price_feed = seeder.chain.deploy(
                        seeder.artifacts.compiled("loopscan", "ExchangeRateFeed"),
                        seeder.token[c["token"]].address, seeder.feed[c["asset_feed"]].address,
                    ).address  # fmt: skip
                lt = int(to_units(Decimal(str(c["lt"])), 4))
                rate = int(to_units(Decimal(str(c["quota_rate"])), 4))
                limit = seeder.units(m["underlying"], c["quota_limit"])
                token = seeder.token[c["token"]].address
                add_collateral(seeder.chain, g, Collateral(token, price_feed, price_feed, lt, limit, rate))
            self.deployment[cid] = g
            seeder.deployed.update(g.addresses())

    def _market(self, cid: str) -> GearboxDeployment:
        if cid not in self.deployment:
            raise ScenarioError(f"gearbox credit manager {cid!r} is not deployed here (a devnet started from its cache "
                                "does not rebind Gearbox: its actions are seeding steps)")  # fmt: skip
        return self.deployment[cid]

    def do_gearbox_supply(self, a: dict) -> None:
        seeder, cid = self.seeder, a["credit_manager"]
        g, underlying = self._market(cid), seeder.s.gearbox[cid]["underlying"]
        assets = seeder.units(underlying, a["assets"])
        supply(seeder.chain, g, seeder.token[underlying], seeder.who(a["from"]), assets)
        self.supplied[cid] = self.supplied.get(cid, 0) + assets

    def do_gearbox_open(self, a: dict) -> None:
        seeder, cid = self.seeder, a["credit_manager"]
        g, underlying = self._market(cid), seeder.s.gearbox[cid]["underlying"]
        owner, token = seeder.who(a["account"]), seeder.token[a["collateral"]]
        amount, debt = seeder.units(a["collateral"], a["amount"]), seeder.units(underlying, a["debt"])
        # The quota covers the collateral's whole value at opening, so it caps nothing at first; the
        # facade rounds quota changes down to a multiple of 10^4 units (CreditFacadeV3.sol:736).
        value = g.price_oracle.functions.convert(amount, token.address, seeder.token[underlying].address).call()
        quota = -(-value // _BPS) * _BPS
        account = open_credit_account(seeder.chain, g, owner, [(token, amount, quota)], debt)
        self.opened.append({"credit_manager": cid, "credit_account": account, "owner": owner,
                            "collateral": a["collateral"], "amount": amount, "debt": debt, "quota": quota})  # fmt: skip

    # -- what the devnet reports --------------------------------------------------------------
    def manifest(self, names: dict[str, str]) -> dict:
        if not self.deployment:
            return {}
        s = self.seeder.s
        return {
            "gearbox_credit_managers": {
                cid: {"credit_manager": g.credit_manager.address, "pool": g.pool.address,
                      "underlying": s.gearbox[cid]["underlying"], "supplied": str(self.supplied.get(cid, 0)),
                      "collaterals": {c["token"]: c["lt"] for c in s.gearbox[cid].get("collaterals", [])}}
                for cid, g in self.deployment.items()
            }
        }  # fmt: skip

    def positions(self, names: dict[str, str]) -> dict[str, list[dict]]:
        if not self.deployment:
            return {}
        return {"gearbox": [{**p, "owner_name": names.get(p["owner"], p["owner"]),
                             **{k: str(p[k]) for k in ("amount", "debt", "quota")}} for p in self.opened]}  # fmt: skip

    @staticmethod
    def summary(console: Console, manifest: dict) -> str | None:
        managers = manifest.get("gearbox_credit_managers")
        if not managers:
            return None
        decimals = {tid: t["decimals"] for tid, t in manifest["tokens"].items()}
        table = Table(title="Gearbox credit managers: seeded pool and accounts", title_justify="left")
        for col in ("credit manager", "collaterals (LT)", "supplied", "accounts", "borrowed"):
            table.add_column(col, justify="right" if col in ("supplied", "accounts", "borrowed") else "left")
        for cid, m in managers.items():
            rows = [p for p in manifest["positions"]["gearbox"] if p["credit_manager"] == cid]
            d = decimals[m["underlying"]]
            lts = ", ".join(f"{safe_text(t)} ({Decimal(str(lt)) * 100:.1f} %)" for t, lt in m["collaterals"].items())
            table.add_row(safe_text(cid), lts, human(m["supplied"], d), str(len(rows)),
                          human(sum(int(p["debt"]) for p in rows), d))  # fmt: skip
        console.print(table)
        return f"{len(manifest['positions']['gearbox'])} Gearbox"


PART = GearboxPart
