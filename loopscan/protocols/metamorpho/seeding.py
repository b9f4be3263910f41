"""MetaMorpho on the devnet: the scenario's `[metamorpho]` vaults, created by the factory Morpho
Blue's part deploys, their caps and supply queues, and where a deposit lands
(`loopscan.devnet.part`)."""

from __future__ import annotations

from decimal import Decimal

from loopscan.devnet.part import Part
from loopscan.devnet.scenario import Scenario, by_id, to_units
from loopscan.protocols.morpho_blue.devnet import market_id
from loopscan.protocols.morpho_blue.seeding import MorphoPart

__all__ = ["PART", "UNITS", "MetaMorphoPart"]

UNITS = ()  # compiled with Morpho Blue's (`morpho_blue.devnet.UNITS`), whose deployer makes the factory
_KIND = "metamorpho_vault"  # its share tokens' kind in the manifest


class MetaMorphoPart(Part):
    @classmethod
    def parse(cls, scenario: Scenario, data: dict) -> None:
        scenario.metamorpho = by_id(data.get("vaults", []), "metamorpho.vaults", scenario)

    @classmethod
    def share_tokens(cls, scenario: Scenario) -> dict[str, dict]:
        # MetaMorpho shares have 18 decimals whatever the asset.
        return {vid: {**v, "decimals": 18} for vid, v in scenario.metamorpho.items()}

    @classmethod
    def check(cls, s: Scenario) -> None:
        assets = set(s.tokens) | set(s.stablecoins)
        for vault_id, vault in s.metamorpho.items():
            if vault.get("asset") not in assets:
                raise s.error(f"metamorpho.vaults {vault_id!r}", f"unknown asset {vault.get('asset')!r}")
        for vault_id, vault in s.metamorpho.items():
            for entry in vault.get("markets", []):
                if entry.get("market") not in s.markets:
                    raise s.error(f"metamorpho.vaults {vault_id!r}", f"unknown market {entry.get('market')!r}")
                if s.markets[entry["market"]]["loan"] != vault["asset"]:
                    raise s.error(f"metamorpho.vaults {vault_id!r}", f"market {entry['market']!r} does not lend {vault['asset']}")

    def deploy(self) -> None:
        seeder, s = self.seeder, self.seeder.s
        market = seeder.part(MorphoPart).market
        abi = seeder.artifacts.compiled("metamorpho", "MetaMorpho").abi
        vaults = []
        for vid, v in s.metamorpho.items():
            owner = seeder.who(v["owner"])
            timelock = int(v.get("timelock_days", 1)) * 86400
            fn = seeder.morpho.factory.functions.createMetaMorpho(
                owner, timelock, seeder.token[v["asset"]].address, v["name"], v["symbol"], b"\0" * 32
            )
            address = fn.call({"from": owner})
            seeder.chain.send(fn, owner, f"MetaMorphoFactory.createMetaMorpho({vid})")
            vault = seeder.token[vid] = seeder.chain.contract(address, abi)
            curator = seeder.who(v.get("curator", v["owner"]))
            seeder.chain.send(vault.functions.setCurator(curator), owner, f"{vid}.setCurator")
            seeder.chain.send(vault.functions.setIsAllocator(curator, True), owner, f"{vid}.setIsAllocator")
            for entry in v["markets"]:
                cap = to_units(Decimal(str(entry["cap"])), s.decimals(v["asset"]))
                seeder.chain.send(vault.functions.submitCap(market[entry["market"]], cap), curator, f"{vid}.submitCap")
            vaults.append((vid, v, vault, curator, timelock))
        if not vaults:
            return
        # Cap raises wait out the real timelock, as on mainnet; no position exists yet, so no
        # interest accrues over the jump.
        seeder.chain.increase_time(max(t for *_, t in vaults))
        for vid, v, vault, curator, _ in vaults:
            for entry in v["markets"]:
                seeder.chain.send(vault.functions.acceptCap(market[entry["market"]]), curator, f"{vid}.acceptCap")
            queue = [market_id(market[e["market"]]) for e in v["markets"]]
            seeder.chain.send(vault.functions.setSupplyQueue(queue), curator, f"{vid}.setSupplyQueue")

    def attach(self, manifest: dict) -> None:
        abi = self.seeder.artifacts.compiled("metamorpho", "MetaMorpho").abi
        for tid, t in manifest["tokens"].items():
            if t["kind"] == _KIND:
                self.seeder.token[tid] = self.seeder.chain.contract(t["address"], abi)

    def on_deposit(self, vault: str, assets: int) -> None:
        """What MetaMorpho's `_supplyMorpho` does with a deposit: fill the supply queue in order,
        each market up to its cap (a deposit the caps cannot take reverts with AllCapsReached)."""
        seeder = self.seeder
        if vault not in seeder.s.metamorpho:
            return
        morpho = seeder.part(MorphoPart)
        address = seeder.token[vault].address
        for entry in seeder.s.metamorpho[vault]["markets"]:
            cap = seeder.units(seeder.s.metamorpho[vault]["asset"], entry["cap"])
            position = morpho.seeded[(entry["market"], address)]
            put = min(cap - position["supply_assets"], assets)
            if put > 0:
                morpho.supply(entry["market"], address, put)
                assets -= put

    def token_kind(self, token: str) -> str | None:
        return _KIND if token in self.seeder.s.metamorpho else None

    def manifest(self, names: dict[str, str]) -> dict:
        s = self.seeder.s
        return {
            "metamorpho_vaults": {
                vid: {"address": self.seeder.token[vid].address, "asset": v["asset"], "markets": [e["market"] for e in v["markets"]]}
                for vid, v in s.metamorpho.items()
            }
        }


PART = MetaMorphoPart
