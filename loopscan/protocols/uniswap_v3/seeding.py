"""Uniswap v3 on the devnet: the factory and periphery (always deployed: liquidations sell into
them), the scenario's `[uniswap]` pools, liquidity positions, and what the manifest says of them
(`loopscan.devnet.part`)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from eth_utils import to_checksum_address
from web3.logs import DISCARD

from loopscan.devnet.errors import ScenarioError
from loopscan.devnet.part import Part
from loopscan.devnet.scenario import Scenario, Step, by_id
from loopscan.protocols.uniswap_v3.devnet import (
    TICK_SPACING,
    attach_uniswap,
    deploy_uniswap,
    price_to_tick,
    raw_price,
    sqrt_price_x96,
)

__all__ = ["PART", "UNITS", "UniswapPart"]

UNITS = ()  # published artifacts (`@uniswap/v3-core`, `@uniswap/v3-periphery`), nothing to compile
UINT128_MAX = 2**128 - 1


class UniswapPart(Part):
    ACTIONS = {
        "uniswap.add_liquidity": {
            "pool": "pool",
            "from": "account",
            "lower_price": "number",
            "upper_price": "number",
            "amount_a": "amount",
            "amount_b": "amount",
        },
        # A holder getting out at any price: exact input through the SwapRouter, no limit, no minimum.
        "uniswap.sell": {"pool": "pool", "from": "account", "token": "token", "amount": "amount"},
        # Liquidity providers leaving: every position of the pool (of every pool without `pool`)
        # withdraws `fraction` of its liquidity, as the haircut (`loopscan.solver.haircut`) assumes.
        "uniswap.withdraw_liquidity": {"pool": "pool", "fraction": "number"},
    }
    OPTIONAL_FIELDS = {"uniswap.withdraw_liquidity": {"pool"}}
    PROVENANCE = {
        "uniswap_v3_factory": "@uniswap/v3-core",
        "uniswap_v3_position_manager": "@uniswap/v3-periphery",
        "uniswap_v3_swap_router": "@uniswap/v3-periphery",
        "uniswap_v3_quoter_v2": "@uniswap/v3-periphery",
    }

    @classmethod
    def parse(cls, scenario: Scenario, data: dict) -> None:
        scenario.pools = by_id(data.get("pools", []), "uniswap.pools", scenario)

    @classmethod
    def check(cls, s: Scenario) -> None:
        tokens = set(s.all_tokens())
        for pool_id, pool in s.pools.items():
            for key in ("token_a", "token_b"):
                if pool.get(key) not in tokens:
                    raise s.error(f"uniswap.pools {pool_id!r}", f"unknown {key} {pool.get(key)!r}")

    @classmethod
    def refs(cls, s: Scenario) -> dict[str, set[str]]:
        return {"pool": set(s.pools)}

    @classmethod
    def check_step(cls, s: Scenario, step: Step) -> None:
        if step.action == "uniswap.withdraw_liquidity" and Decimal(str(step.args["fraction"])) > 1:
            raise s.error(step.label, f"`fraction` {step.args['fraction']} is above 1 (all of the liquidity)")

    # -- seeding ------------------------------------------------------------------------------
    def __init__(self, seeder) -> None:
        super().__init__(seeder)
        self.uniswap = None  # the deployment
        self.pool: dict = {}
        self.lp_positions: list[dict] = []
        self.account_names: dict[str, str] = {}  # address (lower case) -> name, of a devnet seeded earlier

    def deploy(self) -> None:
        seeder = self.seeder
        weth = seeder.chain.deploy(seeder.artifacts.compiled("loopscan", "ScenarioToken"), "Wrapped Ether (periphery stand-in)", "WETH", 18)
        self.uniswap = deploy_uniswap(seeder.chain, seeder.artifacts, weth.address)
        seeder.deployed.update(self.uniswap.addresses())
        for pid, p in seeder.s.pools.items():
            self._create_pool(pid, p)

    def _create_pool(self, pid: str, p: dict) -> None:
        seeder = self.seeder
        a, b = seeder.token[p["token_a"]], seeder.token[p["token_b"]]
        fee = int(p["fee"])
        token0, token1 = sorted([a.address, b.address], key=lambda x: int(x, 16))
        price = self._raw_price(p, Fraction(Decimal(str(p["price"]))))
        fn = self.uniswap.position_manager.functions.createAndInitializePoolIfNecessary(
            token0, token1, fee, sqrt_price_x96(price)
        )
        seeder.chain.send(fn, seeder.chain.deployer, f"createAndInitializePoolIfNecessary({pid})")
        address = self.uniswap.factory.functions.getPool(token0, token1, fee).call()
        self.pool[pid] = seeder.chain.contract(address, self.uniswap.pool_abi)

    def _raw_price(self, p: dict, price_b_per_a: Fraction) -> Fraction:
        """token1 units per token0 unit for a human price of token_a in token_b."""
        seeder = self.seeder
        a, b = p["token_a"], p["token_b"]
        if int(seeder.token[a].address, 16) < int(seeder.token[b].address, 16):
            return raw_price(price_b_per_a, seeder.s.decimals(a), seeder.s.decimals(b))
        return raw_price(1 / price_b_per_a, seeder.s.decimals(b), seeder.s.decimals(a))

    def attach(self, manifest: dict) -> None:
        chain = self.seeder.chain
        self.uniswap = attach_uniswap(chain, self.seeder.artifacts, manifest["contracts"])
        pools = manifest["uniswap_pools"]
        self.pool = {pid: chain.contract(p["address"], self.uniswap.pool_abi) for pid, p in pools.items()}
        self.account_names = {address.lower(): name for name, address in manifest["accounts"].items()}

    def do_uniswap_sell(self, a: dict) -> None:
        seeder = self.seeder
        p = seeder.s.pools[a["pool"]]
        token = a["token"]
        other = p["token_b"] if p["token_a"] == token else p["token_a"]
        account = seeder.who(a["from"])
        router = self.uniswap.router
        seeder.approve(token, account, router.address)
        params = (seeder.token[token].address, seeder.token[other].address, int(p["fee"]), account, 2**63,
                  seeder.units(token, a["amount"]), 0, 0)  # fmt: skip
        seeder.chain.send(router.functions.exactInputSingle(params), account, "SwapRouter.exactInputSingle")

    def do_uniswap_add_liquidity(self, a: dict) -> None:
        seeder = self.seeder
        pid = a["pool"]
        p = seeder.s.pools[pid]
        account = seeder.who(a["from"])
        manager = self.uniswap.position_manager
        pa, pb = p["token_a"], p["token_b"]
        amounts = {pa: seeder.units(pa, a["amount_a"]), pb: seeder.units(pb, a["amount_b"])}
        for token in (pa, pb):
            seeder.approve(token, account, manager.address)
        t0, t1 = sorted([pa, pb], key=lambda t: int(seeder.token[t].address, 16))
        spacing = TICK_SPACING[int(p["fee"])]
        lo = self._raw_price(p, Fraction(Decimal(str(a["lower_price"]))))
        hi = self._raw_price(p, Fraction(Decimal(str(a["upper_price"]))))
        lo, hi = min(lo, hi), max(lo, hi)  # inverting the price for token order swaps the bounds
        tick_lower, tick_upper = price_to_tick(lo, spacing, False), price_to_tick(hi, spacing, True)
        params = (
            seeder.token[t0].address, seeder.token[t1].address, int(p["fee"]), tick_lower, tick_upper,
            amounts[t0], amounts[t1], 0, 0, account, 2**63,
        )  # fmt: skip
        receipt = seeder.chain.send(manager.functions.mint(params), account, "NonfungiblePositionManager.mint")
        event = manager.events.IncreaseLiquidity().process_receipt(receipt, errors=DISCARD)[0]["args"]
        self.lp_positions.append(
            {
                "pool": pid,
                "owner": to_checksum_address(account),
                "token_id": event["tokenId"],
                "tick_lower": tick_lower,
                "tick_upper": tick_upper,
                "liquidity": event["liquidity"],
                "amount0": event["amount0"],
                "amount1": event["amount1"],
            }
        )

    def do_uniswap_withdraw_liquidity(self, a: dict) -> None:
        """Every position the NonfungiblePositionManager holds in the pool(s), found by its own
        enumeration (so positions minted after seeding too), withdraws floor(L · fraction) of its
        liquidity L (`decreaseLiquidity`, the removal rounded down as `haircut` rounds it) and its
        owner takes the tokens out (`collect`). Every owner is checked before the first withdrawal."""
        seeder, manager = self.seeder, self.uniswap.position_manager
        fraction = Fraction(Decimal(str(a["fraction"])))
        pools = {}
        for pid in [a["pool"]] if "pool" in a else list(seeder.s.pools):
            f = self.pool[pid].functions
            pools[(f.token0().call(), f.token1().call(), f.fee().call())] = pid
        names = self.account_names | {address.lower(): name for name, address in seeder.chain.accounts.items()}
        withdrawals = []
        for index in range(manager.functions.totalSupply().call()):
            token_id = manager.functions.tokenByIndex(index).call()
            _, _, token0, token1, fee, _, _, liquidity, *_ = manager.functions.positions(token_id).call()
            removed = liquidity * fraction.numerator // fraction.denominator
            if (token0, token1, fee) not in pools or removed == 0:  # the manager refuses a zero decrease
                continue
            owner = manager.functions.ownerOf(token_id).call()
            if owner.lower() not in names:
                pid = pools[(token0, token1, fee)]
                raise ScenarioError(f"{pid}: LP position {token_id} belongs to {owner}, not a devnet account")
            withdrawals.append((token_id, removed, names[owner.lower()]))
        for token_id, removed, name in withdrawals:
            account = seeder.who(name)
            what = f"NonfungiblePositionManager.decreaseLiquidity({token_id})"
            seeder.chain.send(manager.functions.decreaseLiquidity((token_id, removed, 0, 0, 2**63)), account, what)
            collect = manager.functions.collect((token_id, account, UINT128_MAX, UINT128_MAX))
            seeder.chain.send(collect, account, f"NonfungiblePositionManager.collect({token_id})")

    # -- what the devnet reports --------------------------------------------------------------
    def manifest(self, names: dict[str, str]) -> dict:
        s = self.seeder.s
        return {
            "uniswap_pools": {
                pid: {"address": pool.address, "token_a": s.pools[pid]["token_a"], "token_b": s.pools[pid]["token_b"],
                      "fee": int(s.pools[pid]["fee"]), "tick_spacing": TICK_SPACING[int(s.pools[pid]["fee"])]}
                for pid, pool in self.pool.items()
            },  # fmt: skip
        }

    def positions(self, names: dict[str, str]) -> dict[str, list[dict]]:
        return {
            "uniswap": [
                {**p, "liquidity": str(p["liquidity"]), "amount0": str(p["amount0"]), "amount1": str(p["amount1"])}
                for p in self.lp_positions
            ]
        }

    @staticmethod
    def summary(console, manifest: dict) -> str:
        return f"{len(manifest['positions']['uniswap'])} Uniswap v3 LP"


PART = UniswapPart
