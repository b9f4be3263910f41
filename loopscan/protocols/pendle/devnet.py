"""Deploy Pendle v2 on the devnet from `@pendle/core-v2@6.11.0`'s published Hardhat artifacts.

The bytecode is used as shipped (the package has no build info to recompile from). Only the SY is
ours: `contracts/pendle/LoopscanERC4626SY.sol`, written against the package's `IStandardizedYield`
over the scenario's ERC-4626 sUSDe, since the package ships no SY implementation. The PT feeds
lenders price with are deployed by `devnet_feeds`.

What the contracts require, in the order they check it:

* the `*Upg` contracts (yield contract factory, market factory, gauge controller, PY/LP oracle)
  disable initializers in their constructors: each sits behind an OpenZeppelin `ERC1967Proxy`
  whose constructor calls `initialize`, and since `initialize` calls owner-only setters, the
  proxy's deployer is the owner it names;
* the YT's and the market's creation codes are over the code size limit for one contract: they
  reach their factories through `BaseSplitCodeFactoryContract.deploy` (two halves, read back from
  its `Deployed` event); `PendleMarketV7` links `OracleLib`, so it is linked before it is split;
* a market calls its gauge controller and its SY's reward functions on every LP transfer, so a
  real `PendleGaugeControllerUpg` is deployed, with a scenario token standing for PENDLE;
* the router (`PendleRouterV4`) knows only `setSelectorToFacets` at first: every facet's
  selectors are registered through it. `ActionAddRemoveLiqV3` (24,745 bytes) is over the
  24,576-byte limit, so liquidity is added with the market's own `mint` and it is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import function_signature_to_4byte_selector
from web3.contract import Contract
from web3.logs import DISCARD

from loopscan.devnet.build import Artifact, Artifacts, link
from loopscan.devnet.chain import Chain
from loopscan.protocols.pendle.logexp import ln

__all__ = [
    "ARTIFACTS",
    "published",
    "FactoryParams",
    "MarketParams",
    "PendleCore",
    "PendleMarket",
    "deploy_pendle",
    "add_market",
    "provide_liquidity",
    "Sale",
    "sell_pt",
]

_BUILD = "@pendle/core-v2/build/artifacts/contracts"
ARTIFACTS = {
    name: f"{_BUILD}/{path}/{name}.sol/{name}.json"
    for path, name in (
        ("core/YieldContracts", "PendleYieldContractFactoryUpg"),
        ("core/YieldContracts", "PendleYieldToken"),
        ("core/YieldContracts", "PendlePrincipalToken"),
        ("core/Market", "PendleMarketFactoryV7Upg"),
        ("core/Market", "PendleMarketV7"),
        ("core/Market", "OracleLib"),
        ("offchain-helpers", "BaseSplitCodeFactoryContract"),
        ("LiquidityMining/GaugeController", "PendleGaugeControllerUpg"),
        ("router", "PendleRouterV4"),
        ("router", "ActionStorageV4"),
        ("router", "ActionSwapPTV3"),
        ("router", "ActionSwapYTV3"),
        ("router", "ActionSimple"),
        ("router", "ActionMiscV3"),
        ("router", "ActionCallbackV3"),
        ("oracles/PtYtLpOracle", "PendlePYLpOracle"),
        ("oracles/PtYtLpOracle/chainlink", "PendleChainlinkOracle"),
        ("oracles/internal", "PendleSparkLinearDiscountOracleFactory"),
        ("oracles/internal", "PendleSparkLinearDiscountOracle"),
    )
}
ROUTER_FACETS = (
    "ActionSwapPTV3",
    "ActionSwapYTV3",
    "ActionSimple",
    "ActionMiscV3",
    "ActionCallbackV3",
    "ActionStorageV4",
)
ONE = 10**18


@dataclass(frozen=True)
class FactoryParams:
    """The factories' fee settings, as Pendle set them on Ethereum (`@pendle/core-v2@6.11.0`,
    `deployments/1-core.json`, `network`: initialInterestFee and initialRewardFee 3e16, i.e. 3 % of
    the YT's interest and rewards, which PT swaps do not involve; initialReserveFeePercent 80, the
    treasury's share of every swap fee). The expiry divisor (one day) is ours: any divisor works."""

    expiry_divisor: int = 86_400
    interest_fee_rate: int = 3 * 10**16
    reward_fee_rate: int = 3 * 10**16
    reserve_fee_percent: int = 80
    # PendlePYLpOracle: 1000 × the chain's block time, as a lower bound (PendlePYLpOracle.sol line 24:
    # "on Ethereum blockCycleNumerator = 11000"); it sets the observations a TWAP window needs.
    block_cycle_numerator: int = 11_000


@dataclass(frozen=True)
class MarketParams:
    """`createNewMarket`'s parameters (18 decimals) and the PT's time to expiry.

    The defaults give, with 100M PT against SY worth 100M USDe, an implied APY of 12.0 % and a
    2.02 % cost for selling 6M PT (measured in tests/protocols/pendle: the PT-sUSDe figure of Nov
    2025, 6M for about 2 %): scalarRoot 1.43, initial anchor 1.0283, fee ln(1.002) a year, 90 days.
    """

    scalar_root: int = 143 * 10**16
    initial_anchor: int = 10_283 * 10**14
    ln_fee_rate_root: int = ln(1_002 * 10**15)
    days_to_expiry: int = 90


@dataclass
class PendleCore:
    yield_factory: Contract
    market_factory: Contract
    gauge_controller: Contract
    router: Contract  # PendleRouterV4, called with ActionSwapPTV3's ABI
    py_lp_oracle: Contract
    linear_discount_factory: Contract
    pendle: Contract  # the scenario token standing for PENDLE (no rewards are paid)
    admin: str
    treasury: str

    def addresses(self) -> dict[str, str]:
        names = (
            "yield_factory",
            "market_factory",
            "gauge_controller",
            "router",
            "py_lp_oracle",
            "linear_discount_factory",
        )
        return {f"pendle_{name}": getattr(self, name).address for name in names}


@dataclass
class PendleMarket:
    sy: Contract
    pt: Contract
    yt: Contract
    market: Contract
    expiry: int


def published(artifacts: Artifacts, name: str) -> Artifact:
    """One of `ARTIFACTS`, as shipped."""
    return artifacts.published(ARTIFACTS[name])


def _behind_proxy(chain: Chain, artifacts: Artifacts, impl: Contract, owner: str, *init_args) -> Contract:
    """An `ERC1967Proxy` to `impl`, initialized in its constructor by `owner` (who deploys it)."""
    data = bytes.fromhex(impl.encode_abi("initialize", args=list(init_args))[2:])
    proxy = chain.deploy(artifacts.compiled("loopscan", "ERC1967Proxy"), impl.address, data, sender=owner)
    return chain.contract(proxy.address, impl.abi)


def _split_code(chain: Chain, splitter: Contract, name: str, creation_code: str) -> tuple[str, int, str, int]:
    receipt = chain.send(splitter.functions.deploy(name, bytes.fromhex(creation_code)), chain.deployer, f"split {name}")
    args = splitter.events.Deployed().process_receipt(receipt, errors=DISCARD)[0]["args"]
    return (
        args["creationCodeContractA"],
        args["creationCodeSizeA"],
        args["creationCodeContractB"],
        args["creationCodeSizeB"],
    )


def _selectors(abi: list) -> list[bytes]:
    return [
        function_signature_to_4byte_selector(f"{item['name']}({','.join(_abi_type(i) for i in item['inputs'])})")
        for item in abi
        if item["type"] == "function"
    ]


def _abi_type(inp: dict) -> str:
    if not inp["type"].startswith("tuple"):
        return inp["type"]
    return f"({','.join(_abi_type(c) for c in inp['components'])}){inp['type'][5:]}"


def deploy_pendle(chain: Chain, artifacts: Artifacts, params: FactoryParams = FactoryParams()) -> PendleCore:
    """Pendle v2's core: factories, gauge controller, router with its facets, the PY/LP oracle and
    the linear-discount oracle factory."""
    admin, treasury = chain.account("pendle-admin"), chain.account("pendle-treasury")
    pendle = chain.deploy(artifacts.compiled("loopscan", "ScenarioToken"), "Pendle", "PENDLE", 18)

    def deploy(name: str, *args, bytecode: str | None = None) -> Contract:
        return chain.deploy(published(artifacts, name), *args, bytecode=bytecode)

    splitter = deploy("BaseSplitCodeFactoryContract")
    yt_code = _split_code(chain, splitter, "PendleYieldToken", published(artifacts, "PendleYieldToken").bytecode)
    market_art = published(artifacts, "PendleMarketV7")
    oracle_lib = deploy("OracleLib")
    market_code = _split_code(chain, splitter, "PendleMarketV7", link(market_art, {"OracleLib": oracle_lib.address}))

    gauge_controller = _behind_proxy(chain, artifacts, deploy("PendleGaugeControllerUpg", pendle.address), admin, admin)
    yield_factory = _behind_proxy(
        chain, artifacts, deploy("PendleYieldContractFactoryUpg", *yt_code), admin,
        params.expiry_divisor, params.interest_fee_rate, params.reward_fee_rate, treasury, admin,
    )  # fmt: skip
    market_factory = _behind_proxy(
        chain, artifacts, deploy("PendleMarketFactoryV7Upg", yield_factory.address, *market_code, gauge_controller.address),
        admin, admin, treasury, params.reserve_fee_percent,
    )  # fmt: skip

    storage = deploy("ActionStorageV4")
    router = deploy("PendleRouterV4", admin, storage.address)
    facets = [
        (
            storage.address if name == "ActionStorageV4" else deploy(name).address,
            _selectors(published(artifacts, name).abi),
        )
        for name in ROUTER_FACETS
    ]
    as_storage = chain.contract(router.address, storage.abi)
    chain.send(as_storage.functions.setSelectorToFacets(facets), admin, "PendleRouterV4.setSelectorToFacets")

    py_lp_oracle = _behind_proxy(
        chain, artifacts, deploy("PendlePYLpOracle"), admin, params.block_cycle_numerator, admin
    )
    linear_discount_factory = deploy("PendleSparkLinearDiscountOracleFactory")
    return PendleCore(
        yield_factory, market_factory, gauge_controller,
        chain.contract(router.address, published(artifacts, "ActionSwapPTV3").abi),
        py_lp_oracle, linear_discount_factory, pendle, admin, treasury,
    )  # fmt: skip


def add_market(
    chain: Chain,
    artifacts: Artifacts,
    core: PendleCore,
    vault: str,
    name: str,
    symbol: str,
    params: MarketParams = MarketParams(),
) -> PendleMarket:
    """An SY over ERC-4626 `vault`, its PT and YT, and a market for the PT, expiring
    `params.days_to_expiry` days from now (rounded down to the factory's expiry divisor).
    `name`/`symbol` are the SY's (Pendle's convention: "SY …", "SY-…")."""
    sy = chain.deploy(artifacts.compiled("loopscan", "LoopscanERC4626SY"), name, symbol, vault)
    divisor = core.yield_factory.functions.expiryDivisor().call()
    expiry = (chain.block()["timestamp"] + params.days_to_expiry * 86_400) // divisor * divisor
    receipt = chain.send(
        core.yield_factory.functions.createYieldContract(sy.address, expiry, False),
        chain.deployer,
        "createYieldContract",
    )
    created = core.yield_factory.events.CreateYieldContract().process_receipt(receipt, errors=DISCARD)[0]["args"]
    receipt = chain.send(
        core.market_factory.functions.createNewMarket(
            created["PT"], params.scalar_root, params.initial_anchor, params.ln_fee_rate_root
        ),
        chain.deployer,
        "createNewMarket",
    )
    market = core.market_factory.events.CreateNewMarket().process_receipt(receipt, errors=DISCARD)[0]["args"]["market"]
    pt = chain.contract(created["PT"], published(artifacts, "PendlePrincipalToken").abi)
    yt = chain.contract(created["YT"], published(artifacts, "PendleYieldToken").abi)
    return PendleMarket(sy, pt, yt, chain.contract(market, published(artifacts, "PendleMarketV7").abi), expiry)


def provide_liquidity(
    chain: Chain, market: PendleMarket, provider: str, shares_for_pt: int, shares_for_sy: int
) -> None:
    """Seed the pool from `provider`'s vault shares: `shares_for_pt` are wrapped into SY and split
    into PT and YT (the YT stays with `provider`), `shares_for_sy` are wrapped into SY; both sides
    go into the market through `mint`, which takes all of them when the pool is empty."""
    vault = market.sy.functions.vault().call()
    total = shares_for_pt + shares_for_sy
    share_token = chain.contract(vault, market.sy.abi)  # the ERC-20 functions are the same
    chain.send(share_token.functions.approve(market.sy.address, total), provider, "approve(SY)")
    chain.send(market.sy.functions.deposit(provider, vault, total, total), provider, "SY.deposit")
    chain.send(market.sy.functions.transfer(market.yt.address, shares_for_pt), provider, "SY → YT")
    chain.send(market.yt.functions.mintPY(provider, provider), provider, "YT.mintPY")
    pt_amount = market.pt.functions.balanceOf(provider).call()
    chain.send(market.sy.functions.transfer(market.market.address, shares_for_sy), provider, "SY → market")
    chain.send(market.pt.functions.transfer(market.market.address, pt_amount), provider, "PT → market")
    chain.send(market.market.functions.mint(provider, shares_for_sy, pt_amount), provider, "market.mint")


@dataclass(frozen=True)
class Sale:
    """A PT sale as the market's `Swap` event and block record it."""

    net_sy_out: int
    net_sy_fee: int
    net_sy_to_reserve: int
    timestamp: int


def sell_pt(chain: Chain, market: PendleMarket, seller: str, amount: int) -> Sale:
    """Sell `amount` PT straight into the market: transfer, then `swapExactPtForSy` (the market
    checks its PT balance after paying out)."""
    chain.send(market.pt.functions.transfer(market.market.address, amount), seller, "PT → market")
    receipt = chain.send(market.market.functions.swapExactPtForSy(seller, amount, b""), seller, "swapExactPtForSy")
    swap = market.market.events.Swap().process_receipt(receipt, errors=DISCARD)[0]["args"]
    timestamp = chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    return Sale(swap["netSyOut"], swap["netSyFee"], swap["netSyToReserve"], timestamp)
