"""Deploy a scenario's contracts and execute its steps as real transactions.

Every step goes through the contracts' own entry points (ERC-4626 `deposit`, and each protocol's
own through its part: `loopscan.devnet.part`). The only shortcut is in the loop macros: instead
of N rounds of deposit-and-borrow, a looper is handed `equity × leverage` of the base token,
deposits it, borrows `equity × (leverage − 1)` and the borrowed tokens are burnt — the same end
state as a zero-fee flash-loan loop, which is how loops are opened on mainnet. While seeding,
blocks share one timestamp, so no interest accrues between steps and every seeded amount reads
back exactly.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TypeVar

from web3.contract import Contract

from loopscan.devnet.build import Artifacts
from loopscan.devnet.chain import Chain, TxReverted
from loopscan.devnet.errors import ScenarioError
from loopscan.devnet.multicall3 import MULTICALL3, place_multicall3
from loopscan.devnet.part import Part
from loopscan.devnet.scenario import BASE_TOKEN_CONTRACTS, TOKEN_FIELDS, Scenario, Step, actions, parts

__all__ = ["Seeder", "units_down"]
MAX_UINT = 2**256 - 1
P = TypeVar("P", bound=Part)


def units_down(amount: Decimal, decimals: int) -> int:
    return int(amount.scaleb(decimals).to_integral_value(rounding=ROUND_DOWN))


def _token_args(t: dict) -> tuple:
    """A base token's constructor arguments: the metadata its kind declares (`TOKEN_FIELDS`)."""
    kind = t.get("kind", "base")
    if kind in TOKEN_FIELDS:
        return tuple(int(t[f]) if f == "decimals" else t[f] for f in TOKEN_FIELDS[kind])
    if kind == "bytes32_metadata":  # Bytes32MetadataToken(symbol, name, decimals), like MKR's
        return t["symbol"].encode().ljust(32, b"\0"), t["name"].encode().ljust(32, b"\0"), int(t["decimals"])
    return t["name"], t["symbol"], int(t["decimals"])


class Seeder:
    """Deploys everything a scenario declares, then runs its steps; records the seeded truth."""

    def __init__(self, chain: Chain, artifacts: Artifacts, scenario: Scenario) -> None:
        self.chain = chain
        self.artifacts = artifacts
        self.s = scenario
        self.token: dict[str, Contract] = {}  # every token id: base tokens, stablecoins, vault shares
        self.feed: dict[str, Contract] = {}
        self.deployed: dict[str, str] = {}
        self._approved: set[tuple[str, str, str]] = set()
        # Each registered protocol's part, in the registry's order (the order they deploy in). A
        # part may set what other code reaches through the seeder (Morpho Blue's `morpho`, on
        # which our stablecoins lend; Aave's `aave`).
        self.parts: list[Part] = [part(self) for _, part in parts()]

    def part(self, kind: type[P]) -> P:
        """This seeder's part of class `kind` (a part that needs another's deployment)."""
        return next(p for p in self.parts if isinstance(p, kind))

    # -- accounts ----------------------------------------------------------------------------
    def who(self, name: str) -> str:
        return self.chain.account(name)

    def attach(self, manifest: dict) -> None:
        """Rebind to a devnet deployed earlier (a cached state), so events can still be applied."""
        c, a = self.chain, self.artifacts
        ours = {**BASE_TOKEN_CONTRACTS, "opaque_vault": "OpaqueVault", "erc4626_vault": "YieldVault",
                "backed_stablecoin": "BackedStablecoin"}  # fmt: skip
        for tid, t in manifest["tokens"].items():
            if t["kind"] in ours:  # the others are a part's, which binds them
                self.token[tid] = c.contract(t["address"], a.compiled("loopscan", ours[t["kind"]]).abi)
        for fid, f in manifest["feeds"].items():
            name = "PriceFeed" if f["kind"] == "keeper" else "ExchangeRateFeed"
            self.feed[fid] = c.contract(f["address"], a.compiled("loopscan", name).abi)
        self.deployed.update(manifest["contracts"])
        for part in self.parts:
            part.attach_tokens(manifest)
        for part in self.parts:
            part.attach(manifest)

    # -- deployment --------------------------------------------------------------------------
    def deploy(self) -> None:
        c, a = self.chain, self.artifacts
        place_multicall3(c.node, a)
        self.deployed["multicall3"] = MULTICALL3
        for code in self.s.code.values():  # no transaction: the deployer's nonces, so every address, stay as they were
            c.node.rpc("anvil_setCode", [code["address"], code.get("runtime", "0x")])
        for part in self.parts:
            part.deploy_protocol()
        for tid, t in self.s.tokens.items():
            art = a.compiled("loopscan", BASE_TOKEN_CONTRACTS[t.get("kind", "base")])
            self.token[tid] = c.deploy(art, *_token_args(t))
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
        for part in self.parts:
            part.deploy_tokens()
        for part in self.parts:
            part.deploy()

    def _deploy_receipt_tokens(self) -> None:
        """Stablecoins and vaults, each after the token it is built on."""
        pending = {**{k: ("coin", v) for k, v in self.s.stablecoins.items()}, **{k: ("vault", v) for k, v in self.s.vaults.items()}}
        while pending:
            for tid, (kind, spec) in list(pending.items()):
                base = spec["reserve"] if kind == "coin" else spec["asset"]
                if base not in self.token:
                    continue
                if kind == "coin":  # ours lends on Morpho Blue (`stablecoin.lend`), deployed first by its part
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

    # -- steps -------------------------------------------------------------------------------
    def run(self, steps: list[Step]) -> None:
        known = actions()
        for step in steps:
            part = known[step.action][2]
            runner = self if part is None else self.part(part)
            handler = getattr(runner, ("_do_" if part is None else "do_") + step.action.replace(".", "_"))
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
        spec = self.s.vaults.get(vault) or self.s.share_tokens[vault]
        return spec["asset"]

    def _do_mint(self, a: dict) -> None:
        self.chain.send(self.token[a["token"]].functions.mint(self.who(a["to"]), self.units(a["token"], a["amount"])), self.chain.deployer)

    def _do_token_rebase(self, a: dict) -> None:
        index = units_down(Decimal(str(a["factor"])), 18)  # RebasingToken.ONE
        self.chain.send(self.token[a["token"]].functions.rebase(index), self.chain.deployer)

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
        for part in self.parts:
            part.on_deposit(vault, assets)

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
        amount = self.acquire(asset, distributor, self.units(self.s.root(asset), a["assets"]))
        self.chain.send(self.token[asset].functions.transfer(self.token[v].address, amount), distributor, f"yield to {v}")

    def _mint_coin(self, coin: str, account: str, reserve_amount: int) -> int:
        contract = self.token[coin]
        self.approve(self.s.stablecoins[coin]["reserve"], account, contract.address)
        return self._received(contract, account, contract.functions.mint(reserve_amount, account), f"{coin}.mint")

    def _do_stablecoin_mint(self, a: dict) -> None:
        coin = a["coin"]
        self._mint_coin(coin, self.who(a["from"]), self.units(self.s.stablecoins[coin]["reserve"], a["reserve_amount"]))

    def _do_feed_set(self, a: dict) -> None:
        f = a["feed"]
        answer = units_down(Decimal(str(a["answer"])), int(self.s.feeds[f]["decimals"]))
        self.chain.send(self.feed[f].functions.setAnswer(answer), self.who("feed-keeper"))

    def acquire(self, token: str, account: str, amount: int) -> int:
        """Turn `amount` of `token`'s root base token, minted to `account`, into `token` (a loop's
        collateral)."""
        if token in self.s.tokens:
            self.chain.send(self.token[token].functions.mint(account, amount), self.chain.deployer, f"mint {token}")
            return amount
        if token in self.s.stablecoins:
            return self._mint_coin(token, account, self.acquire(self.s.stablecoins[token]["reserve"], account, amount))
        return self._deposit(token, account, self.acquire(self._asset_of(token), account, amount))

    def flash_repay(self, token: str, account: str, amount: int) -> None:
        """Burn what a loop borrowed: the flash loan that opened it, repaid."""
        self.chain.send(self.token[token].functions.burn(account, amount), self.chain.deployer, f"flash-repay {token}")
