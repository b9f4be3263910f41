"""Deploy a scenario's contracts and execute its steps as real transactions.

Every step goes through the protocols' own entry points (ERC-4626 `deposit`, Morpho `supply`,
`supplyCollateral`, `borrow`, Aave `supply`/`borrow`, Uniswap's position manager `mint`). The
only shortcut is in the loop macros: instead of N rounds of deposit-and-borrow, a looper is
handed `equity × leverage` of the base token, deposits it, borrows `equity × (leverage − 1)`
and the borrowed tokens are burnt — the same end state as a zero-fee flash-loan loop, which is
how loops are opened on mainnet. While seeding, blocks share one timestamp, so no interest
accrues between steps and every seeded amount reads back exactly.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

from eth_utils import to_checksum_address
from web3.contract import Contract
from web3.logs import DISCARD

from loopscan.devnet.build import Artifacts
from loopscan.devnet.chain import Chain, TxReverted
from loopscan.devnet.errors import ScenarioError
from loopscan.devnet.multicall3 import MULTICALL3, place_multicall3
from loopscan.devnet.scenario import Scenario, Step, to_units
from loopscan.model import ZERO_ADDRESS
from loopscan.protocols.aave_v3 import devnet as aave_deploy
from loopscan.protocols.morpho_blue.devnet import (
    MorphoDeployment,
    deploy_morpho,
    market_id,
    market_params,
)
from loopscan.protocols.uniswap_v3.devnet import (
    TICK_SPACING,
    UniswapDeployment,
    deploy_uniswap,
    price_to_tick,
    raw_price,
    sqrt_price_x96,
)

__all__ = ["Seeder"]
MAX_UINT = 2**256 - 1
_ORACLE_SAMPLE = 10**18


def units_down(amount: Decimal, decimals: int) -> int:
    return int(amount.scaleb(decimals).to_integral_value(rounding=ROUND_DOWN))


class Seeder:
    """Deploys everything a scenario declares, then runs its steps; records the seeded truth."""

    def __init__(self, chain: Chain, artifacts: Artifacts, scenario: Scenario) -> None:
        self.chain = chain
        self.artifacts = artifacts
        self.s = scenario
        self.token: dict[str, Contract] = {}  # every token id: base tokens, stablecoins, vault shares
        self.feed: dict[str, Contract] = {}
        self.oracle: dict[str, Contract] = {}
        self.market: dict[str, tuple] = {}  # market id -> MarketParams tuple
        self.deployed: dict[str, str] = {}
        self.morpho: MorphoDeployment | None = None
        self.aave: aave_deploy.AaveDeployment | None = None
        self.uniswap: UniswapDeployment | None = None
        self.pool: dict[str, Contract] = {}
        # The seeded truth, accumulated from the steps' amounts (token units).
        self.morpho_positions: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.aave_positions: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.lp_positions: list[dict] = []
        self._approved: set[tuple[str, str, str]] = set()

    # -- accounts ----------------------------------------------------------------------------
    def who(self, name: str) -> str:
        return self.chain.account(name)

    def attach(self, manifest: dict) -> None:
        """Rebind to a devnet deployed earlier (a cached state), so events can still be applied."""
        c, a = self.chain, self.artifacts
        abi_of = {
            "base": a.compiled("loopscan", "ScenarioToken").abi,
            "opaque_vault": a.compiled("loopscan", "OpaqueVault").abi,
            "erc4626_vault": a.compiled("loopscan", "YieldVault").abi,
            "backed_stablecoin": a.compiled("loopscan", "BackedStablecoin").abi,
            "metamorpho_vault": a.compiled("metamorpho", "MetaMorpho").abi,
        }
        for tid, t in manifest["tokens"].items():
            self.token[tid] = c.contract(t["address"], abi_of[t["kind"]])
        for fid, f in manifest["feeds"].items():
            name = "PriceFeed" if f["kind"] == "keeper" else "ExchangeRateFeed"
            self.feed[fid] = c.contract(f["address"], a.compiled("loopscan", name).abi)
        for mid, m in manifest["morpho_markets"].items():
            self.market[mid] = (
                self.token[m["loan_token"]].address, self.token[m["collateral_token"]].address,
                m["oracle"], m["irm"], int(m["lltv"]),
            )  # fmt: skip
        self.deployed.update(manifest["contracts"])
        self.morpho = MorphoDeployment.attach(c, a, manifest["contracts"], self.who("morpho-owner"))
        if "aave_pool" in manifest["contracts"]:
            self.aave = aave_deploy.AaveDeployment.attach(
                c, a, manifest["contracts"], self.who("aave-admin"), self.who("aave-treasury")
            )

    # -- deployment --------------------------------------------------------------------------
    def deploy(self) -> None:
        c, a = self.chain, self.artifacts
        place_multicall3(c.node, a)
        self.deployed["multicall3"] = MULTICALL3
        self.morpho = deploy_morpho(c, a)
        self.deployed.update(self.morpho.addresses())
        token_art = a.compiled("loopscan", "ScenarioToken")
        for tid, t in self.s.tokens.items():
            self.token[tid] = c.deploy(token_art, t["name"], t["symbol"], int(t["decimals"]))
        for fid, f in self.s.feeds.items():
            if f.get("kind", "keeper") == "keeper":
                answer = units_down(Decimal(str(f["answer"])), int(f["decimals"]))
                self.feed[fid] = c.deploy(
                    a.compiled("loopscan", "PriceFeed"), int(f["decimals"]), fid, answer, self.who("feed-keeper")
                )
        self._deploy_receipt_tokens()
        for fid, f in self.s.feeds.items():  # feeds over vaults need the vaults first
            if f.get("kind") == "exchange_rate":
                self.feed[fid] = c.deploy(
                    a.compiled("loopscan", "ExchangeRateFeed"), self.token[f["vault"]].address, self.feed[f["asset_feed"]].address
                )
        for oid, o in self.s.oracles.items():
            self.oracle[oid] = c.deploy(a.compiled("loopscan", "MorphoFeedOracle"), self._side(o, "base"), self._side(o, "quote"))
        self._create_markets()
        self._deploy_metamorpho()
        if self.s.aave:
            self._deploy_aave()
        weth = c.deploy(token_art, "Wrapped Ether (periphery stand-in)", "WETH", 18)
        self.uniswap = deploy_uniswap(c, a, weth.address)
        self.deployed.update(self.uniswap.addresses())
        for pid, p in self.s.pools.items():
            self._create_pool(pid, p)

    def _deploy_receipt_tokens(self) -> None:
        """Stablecoins and vaults, each after the token it is built on."""
        pending = {**{k: ("coin", v) for k, v in self.s.stablecoins.items()}, **{k: ("vault", v) for k, v in self.s.vaults.items()}}
        while pending:
            for tid, (kind, spec) in list(pending.items()):
                base = spec["reserve"] if kind == "coin" else spec["asset"]
                if base not in self.token:
                    continue
                if kind == "coin":
                    self.token[tid] = self.chain.deploy(
                        self.artifacts.compiled("loopscan", "BackedStablecoin"),
                        self.token[base].address, self.morpho.morpho.address, spec["name"], spec["symbol"],
                        self.who(spec["manager"]),
                    )  # fmt: skip
                elif spec.get("kind", "yield") == "opaque":
                    self.token[tid] = self.chain.deploy(
                        self.artifacts.compiled("loopscan", "OpaqueVault"),
                        self.token[base].address, spec["name"], spec["symbol"], self.who(spec["manager"]),
                        self.who(spec["strategy"]),
                    )  # fmt: skip
                else:
                    self.token[tid] = self.chain.deploy(
                        self.artifacts.compiled("loopscan", "YieldVault"), self.token[base].address, spec["name"], spec["symbol"]
                    )
                del pending[tid]

    def _side(self, o: dict, side: str) -> tuple:
        """One side of a MorphoFeedOracle: (vault, sample, feed1, feed2, token decimals)."""
        token = o["collateral"] if side == "base" else o["loan"]
        vault = o.get(f"{side}_vault")
        feed = o.get(f"{side}_feed")
        decimals = self.s.decimals(self.s.vaults[vault]["asset"] if vault else token)
        return (
            self.token[vault].address if vault else ZERO_ADDRESS,
            _ORACLE_SAMPLE if vault else 0,
            self.feed[feed].address if feed else ZERO_ADDRESS,
            ZERO_ADDRESS,
            decimals,
        )

    def _create_markets(self) -> None:
        morpho, owner = self.morpho.morpho, self.morpho.owner
        enabled: set[int] = set()
        for mid, m in self.s.markets.items():
            lltv = to_units(Decimal(str(m["lltv"])), 18)
            if lltv not in enabled:
                self.chain.send(morpho.functions.enableLltv(lltv), owner, f"Morpho.enableLltv({m['lltv']})")
                enabled.add(lltv)
            irm = self.morpho.irm.address if m.get("irm", "adaptive") == "adaptive" else ZERO_ADDRESS
            params = market_params(
                self.token[m["loan"]].address, self.token[m["collateral"]].address, self.oracle[m["oracle"]].address, irm, lltv
            )
            self.chain.send(morpho.functions.createMarket(params), owner, f"Morpho.createMarket({mid})")
            self.market[mid] = params

    def _deploy_metamorpho(self) -> None:
        abi = self.artifacts.compiled("metamorpho", "MetaMorpho").abi
        vaults = []
        for vid, v in self.s.metamorpho.items():
            owner = self.who(v["owner"])
            timelock = int(v.get("timelock_days", 1)) * 86400
            fn = self.morpho.factory.functions.createMetaMorpho(
                owner, timelock, self.token[v["asset"]].address, v["name"], v["symbol"], b"\0" * 32
            )
            address = fn.call({"from": owner})
            self.chain.send(fn, owner, f"MetaMorphoFactory.createMetaMorpho({vid})")
            vault = self.token[vid] = self.chain.contract(address, abi)
            curator = self.who(v.get("curator", v["owner"]))
            self.chain.send(vault.functions.setCurator(curator), owner, f"{vid}.setCurator")
            self.chain.send(vault.functions.setIsAllocator(curator, True), owner, f"{vid}.setIsAllocator")
            for entry in v["markets"]:
                cap = to_units(Decimal(str(entry["cap"])), self.s.decimals(v["asset"]))
                self.chain.send(vault.functions.submitCap(self.market[entry["market"]], cap), curator, f"{vid}.submitCap")
            vaults.append((vid, v, vault, curator, timelock))
        if not vaults:
            return
        # Cap raises wait out the real timelock, as on mainnet; no position exists yet, so no
        # interest accrues over the jump.
        self.chain.increase_time(max(t for *_, t in vaults))
        for vid, v, vault, curator, _ in vaults:
            for entry in v["markets"]:
                self.chain.send(vault.functions.acceptCap(self.market[entry["market"]]), curator, f"{vid}.acceptCap")
            queue = [market_id(self.market[e["market"]]) for e in v["markets"]]
            self.chain.send(vault.functions.setSupplyQueue(queue), curator, f"{vid}.setSupplyQueue")

    def _deploy_aave(self) -> None:
        cfg = self.s.aave
        reserves = cfg["reserves"]
        assets = [self.token[r["asset"]].address for r in reserves]
        sources = [self.feed[r["source"]].address for r in reserves]
        self.aave = aave_deploy.deploy_aave(self.chain, self.artifacts, assets, sources)
        self.deployed.update(self.aave.addresses())
        bps = lambda x: int(Decimal(str(x)) * aave_deploy.BPS)  # noqa: E731
        ray = lambda x: int(Decimal(str(x)) * aave_deploy.RAY)  # noqa: E731
        aave_deploy.add_reserves(
            self.chain,
            self.artifacts,
            self.aave,
            [
                {
                    "address": self.token[r["asset"]].address,
                    "symbol": r["asset"],
                    "decimals": self.s.decimals(r["asset"]),
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
                self.chain, self.aave, int(e["id"]), bps(e["ltv"]), bps(e["liquidation_threshold"]),
                aave_deploy.BPS + bps(e["liquidation_bonus"]), e["label"], [self.token[x].address for x in e["assets"]],
            )  # fmt: skip

    def _create_pool(self, pid: str, p: dict) -> None:
        a, b = self.token[p["token_a"]], self.token[p["token_b"]]
        fee = int(p["fee"])
        token0, token1 = sorted([a.address, b.address], key=lambda x: int(x, 16))
        price = self._raw_price(p, Fraction(Decimal(str(p["price"]))))
        fn = self.uniswap.position_manager.functions.createAndInitializePoolIfNecessary(
            token0, token1, fee, sqrt_price_x96(price)
        )
        self.chain.send(fn, self.chain.deployer, f"createAndInitializePoolIfNecessary({pid})")
        address = self.uniswap.factory.functions.getPool(token0, token1, fee).call()
        self.pool[pid] = self.chain.contract(address, self.uniswap.pool_abi)

    def _raw_price(self, p: dict, price_b_per_a: Fraction) -> Fraction:
        """token1 units per token0 unit for a human price of token_a in token_b."""
        a, b = p["token_a"], p["token_b"]
        if int(self.token[a].address, 16) < int(self.token[b].address, 16):
            return raw_price(price_b_per_a, self.s.decimals(a), self.s.decimals(b))
        return raw_price(1 / price_b_per_a, self.s.decimals(b), self.s.decimals(a))

    # -- steps -------------------------------------------------------------------------------
    def run(self, steps: list[Step]) -> None:
        for step in steps:
            handler = getattr(self, "_do_" + step.action.replace(".", "_"))
            try:
                handler(step.args)
            except TxReverted as exc:
                raise ScenarioError(f"{self.s.path}: {step.label}: {exc}") from None

    def units(self, token: str, amount) -> int:
        return units_down(Decimal(str(amount)), self.s.decimals(token))

    def approve(self, token: str, owner: str, spender: str) -> None:
        key = (token, owner, spender)
        if key not in self._approved:
            self.chain.send(self.token[token].functions.approve(spender, MAX_UINT), owner, f"approve {token}")
            self._approved.add(key)

    def _asset_of(self, vault: str) -> str:
        spec = self.s.vaults.get(vault) or self.s.metamorpho[vault]
        return spec["asset"]

    def _do_mint(self, a: dict) -> None:
        self.chain.send(self.token[a["token"]].functions.mint(self.who(a["to"]), self.units(a["token"], a["amount"])), self.chain.deployer)

    def _do_transfer(self, a: dict) -> None:
        fn = self.token[a["token"]].functions.transfer(self.who(a["to"]), self.units(a["token"], a["amount"]))
        self.chain.send(fn, self.who(a["from"]))

    def _deposit(self, vault: str, account: str, assets: int) -> int:
        """ERC-4626 deposit; returns the shares received, read from the balance change."""
        share = self.token[vault]
        self.approve(self._asset_of(vault), account, share.address)
        return self._received(share, account, share.functions.deposit(assets, account), f"{vault}.deposit")

    def _received(self, token: Contract, account: str, call, what: str) -> int:
        """Send `call` from `account` and return how much of `token` it brought the account."""
        before = token.functions.balanceOf(account).call()
        self.chain.send(call, account, what)
        return token.functions.balanceOf(account).call() - before

    def _do_deposit(self, a: dict) -> None:
        vault = a["vault"]
        assets = self.units(self._asset_of(vault), a["assets"])
        self._deposit(vault, self.who(a["from"]), assets)
        if vault in self.s.metamorpho:
            self._expect_allocation(vault, assets)

    def _expect_allocation(self, vault: str, assets: int) -> None:
        """What MetaMorpho's `_supplyMorpho` does with a deposit: fill the supply queue in order,
        each market up to its cap (a deposit the caps cannot take reverts with AllCapsReached)."""
        address = self.token[vault].address
        for entry in self.s.metamorpho[vault]["markets"]:
            cap = self.units(self._asset_of(vault), entry["cap"])
            position = self.morpho_positions[(entry["market"], address)]
            put = min(cap - position["supply_assets"], assets)
            if put > 0:
                position["supply_assets"] += put
                assets -= put

    def _manager(self, vault: str) -> str:
        return self.who(self.s.vaults[vault]["manager"])

    def _do_vault_fund_strategy(self, a: dict) -> None:
        v = a["vault"]
        fn = self.token[v].functions.fundStrategy(self.units(self._asset_of(v), a["assets"]))
        self.chain.send(fn, self._manager(v))

    def _do_vault_report(self, a: dict) -> None:
        v = a["vault"]
        fn = self.token[v].functions.reportOffchainAssets(self.units(self._asset_of(v), a["offchain_assets"]))
        self.chain.send(fn, self._manager(v))

    def _do_vault_distribute_yield(self, a: dict) -> None:
        """Yield arrives as the asset, paid into the vault by a distributor (as staking rewards
        are); a stablecoin asset is minted against its reserve first, so it stays fully backed."""
        v = a["vault"]
        asset = self._asset_of(v)
        distributor = self.who("yield-distributor")
        amount = self._acquire(asset, distributor, self.units(self.s.root(asset), a["assets"]))
        self.chain.send(self.token[asset].functions.transfer(self.token[v].address, amount), distributor, f"yield to {v}")

    def _mint_coin(self, coin: str, account: str, reserve_amount: int) -> int:
        contract = self.token[coin]
        self.approve(self.s.stablecoins[coin]["reserve"], account, contract.address)
        return self._received(contract, account, contract.functions.mint(reserve_amount, account), f"{coin}.mint")

    def _do_stablecoin_mint(self, a: dict) -> None:
        coin = a["coin"]
        self._mint_coin(coin, self.who(a["from"]), self.units(self.s.stablecoins[coin]["reserve"], a["reserve_amount"]))

    def _do_stablecoin_lend(self, a: dict) -> None:
        coin, mid = a["coin"], a["market"]
        assets = self.units(self.s.markets[mid]["loan"], a["assets"])
        manager = self.who(self.s.stablecoins[coin]["manager"])
        self.chain.send(self.token[coin].functions.lendOnMorpho(self.market[mid], assets), manager, f"{coin}.lendOnMorpho")
        self.morpho_positions[(mid, self.token[coin].address)]["supply_assets"] += assets

    def _do_feed_set(self, a: dict) -> None:
        f = a["feed"]
        answer = units_down(Decimal(str(a["answer"])), int(self.s.feeds[f]["decimals"]))
        self.chain.send(self.feed[f].functions.setAnswer(answer), self.who("feed-keeper"))

    # Morpho Blue
    def _morpho_supply(self, mid: str, account: str, assets: int) -> None:
        morpho = self.morpho.morpho
        self.approve(self.s.markets[mid]["loan"], account, morpho.address)
        self.chain.send(morpho.functions.supply(self.market[mid], assets, 0, account, b""), account, "Morpho.supply")
        self.morpho_positions[(mid, account)]["supply_assets"] += assets

    def _morpho_supply_collateral(self, mid: str, account: str, assets: int) -> None:
        morpho = self.morpho.morpho
        self.approve(self.s.markets[mid]["collateral"], account, morpho.address)
        fn = morpho.functions.supplyCollateral(self.market[mid], assets, account, b"")
        self.chain.send(fn, account, "Morpho.supplyCollateral")
        self.morpho_positions[(mid, account)]["collateral"] += assets

    def _morpho_borrow(self, mid: str, account: str, assets: int) -> None:
        fn = self.morpho.morpho.functions.borrow(self.market[mid], assets, 0, account, account)
        self.chain.send(fn, account, "Morpho.borrow")
        self.morpho_positions[(mid, account)]["borrow_assets"] += assets

    def _do_morpho_supply(self, a: dict) -> None:
        mid = a["market"]
        self._morpho_supply(mid, self.who(a["from"]), self.units(self.s.markets[mid]["loan"], a["assets"]))

    def _do_morpho_supply_collateral(self, a: dict) -> None:
        mid = a["market"]
        self._morpho_supply_collateral(mid, self.who(a["from"]), self.units(self.s.markets[mid]["collateral"], a["assets"]))

    def _do_morpho_borrow(self, a: dict) -> None:
        mid = a["market"]
        self._morpho_borrow(mid, self.who(a["from"]), self.units(self.s.markets[mid]["loan"], a["assets"]))

    def _acquire(self, token: str, account: str, amount: int) -> int:
        """Turn `amount` of `token`'s root base token, minted to `account`, into `token`."""
        if token in self.s.tokens:
            self.chain.send(self.token[token].functions.mint(account, amount), self.chain.deployer, f"mint {token}")
            return amount
        if token in self.s.stablecoins:
            return self._mint_coin(token, account, self._acquire(self.s.stablecoins[token]["reserve"], account, amount))
        return self._deposit(token, account, self._acquire(self._asset_of(token), account, amount))

    def _flash_repay(self, token: str, account: str, amount: int) -> None:
        self.chain.send(self.token[token].functions.burn(account, amount), self.chain.deployer, f"flash-repay {token}")

    def _do_morpho_loop(self, a: dict) -> None:
        mid, account = a["market"], self.who(a["account"])
        m = self.s.markets[mid]
        equity, leverage = Decimal(str(a["equity"])), Decimal(str(a["leverage"]))
        collateral = self._acquire(m["collateral"], account, units_down(equity * leverage, self.s.decimals(self.s.root(m["collateral"]))))
        self._morpho_supply_collateral(mid, account, collateral)
        debt = units_down(equity * (leverage - 1), self.s.decimals(m["loan"]))
        self._morpho_borrow(mid, account, debt)
        self._flash_repay(m["loan"], account, debt)

    # Aave v3
    def _aave_supply(self, asset: str, account: str, amount: int) -> None:
        pool = self.aave.pool
        self.approve(asset, account, pool.address)
        self.chain.send(pool.functions.supply(self.token[asset].address, amount, account, 0), account, "Pool.supply")
        self.aave_positions[(asset, account)]["supplied"] += amount

    def _aave_borrow(self, asset: str, account: str, amount: int) -> None:
        fn = self.aave.pool.functions.borrow(self.token[asset].address, amount, 2, 0, account)
        self.chain.send(fn, account, "Pool.borrow")
        self.aave_positions[(asset, account)]["borrowed"] += amount

    def _do_aave_supply(self, a: dict) -> None:
        self._aave_supply(a["asset"], self.who(a["from"]), self.units(a["asset"], a["amount"]))

    def _do_aave_borrow(self, a: dict) -> None:
        self._aave_borrow(a["asset"], self.who(a["from"]), self.units(a["asset"], a["amount"]))

    def _do_aave_set_emode(self, a: dict) -> None:
        self.chain.send(self.aave.pool.functions.setUserEMode(int(a["category"])), self.who(a["from"]), "Pool.setUserEMode")

    def _do_aave_loop(self, a: dict) -> None:
        """Supply `equity × leverage` of collateral and borrow `equity × (leverage − 1)` of the
        debt asset, valued at par: a debt asset other than the collateral's base is taken to be
        swapped 1:1 (stablecoins), which is what the scenario's loopers do."""
        account = self.who(a["account"])
        if "emode" in a:
            self._do_aave_set_emode({"from": a["account"], "category": a["emode"]})
        equity, leverage = Decimal(str(a["equity"])), Decimal(str(a["leverage"]))
        col = a["collateral"]
        amount = self._acquire(col, account, units_down(equity * leverage, self.s.decimals(self.s.root(col))))
        self._aave_supply(col, account, amount)
        debt = units_down(equity * (leverage - 1), self.s.decimals(a["debt"]))
        self._aave_borrow(a["debt"], account, debt)
        self._flash_repay(a["debt"], account, debt)

    # Uniswap v3
    def _do_uniswap_add_liquidity(self, a: dict) -> None:
        pid = a["pool"]
        p = self.s.pools[pid]
        account = self.who(a["from"])
        manager = self.uniswap.position_manager
        pa, pb = p["token_a"], p["token_b"]
        amounts = {pa: self.units(pa, a["amount_a"]), pb: self.units(pb, a["amount_b"])}
        for token in (pa, pb):
            self.approve(token, account, manager.address)
        t0, t1 = sorted([pa, pb], key=lambda t: int(self.token[t].address, 16))
        spacing = TICK_SPACING[int(p["fee"])]
        lo = self._raw_price(p, Fraction(Decimal(str(a["lower_price"]))))
        hi = self._raw_price(p, Fraction(Decimal(str(a["upper_price"]))))
        lo, hi = min(lo, hi), max(lo, hi)  # inverting the price for token order swaps the bounds
        tick_lower, tick_upper = price_to_tick(lo, spacing, False), price_to_tick(hi, spacing, True)
        params = (
            self.token[t0].address, self.token[t1].address, int(p["fee"]), tick_lower, tick_upper,
            amounts[t0], amounts[t1], 0, 0, account, 2**63,
        )  # fmt: skip
        receipt = self.chain.send(manager.functions.mint(params), account, "NonfungiblePositionManager.mint")
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

