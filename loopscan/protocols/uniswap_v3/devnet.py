"""Deploy Uniswap v3 from `@uniswap/v3-core@1.0.1` and `@uniswap/v3-periphery@1.4.4` artifacts,
and the exact price ↔ `sqrtPriceX96` / tick conversions the seeder needs.

The core pool's creation-code hash equals the periphery's `POOL_INIT_CODE_HASH`, so the
position manager and router find pools at the addresses the factory creates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from web3.contract import Contract

from loopscan.devnet.build import Artifact, Artifacts, link
from loopscan.devnet.chain import Chain

__all__ = [
    "UniswapDeployment",
    "deploy_uniswap",
    "sqrt_price_x96",
    "price_to_tick",
    "TICK_SPACING",
    "MIN_TICK",
    "MAX_TICK",
    "attach_uniswap",
]

TICK_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
MIN_TICK, MAX_TICK = -887272, 887272
_CORE = "@uniswap/v3-core/artifacts/contracts"
_PERI = "@uniswap/v3-periphery/artifacts/contracts"


@dataclass
class UniswapDeployment:
    factory: Contract
    position_manager: Contract
    router: Contract
    quoter: Contract
    pool_abi: list

    def addresses(self) -> dict[str, str]:
        return {
            "uniswap_v3_factory": self.factory.address,
            "uniswap_v3_position_manager": self.position_manager.address,
            "uniswap_v3_swap_router": self.router.address,
            "uniswap_v3_quoter_v2": self.quoter.address,
        }


def _published(artifacts: Artifacts, root: str, path: str) -> Artifact:
    name = path.rsplit("/", 1)[-1]
    return artifacts.published(f"{root}/{path}.sol/{name}.json")


def attach_uniswap(chain: Chain, artifacts: Artifacts, contracts: dict[str, str]) -> UniswapDeployment:
    """The deployment made earlier (a cached devnet), at the manifest's `contracts` addresses."""
    pool_abi = _published(artifacts, _CORE, "UniswapV3Pool").abi
    chain.register_errors(pool_abi)

    def at(name: str, root: str, path: str) -> Contract:
        return chain.contract(contracts[f"uniswap_v3_{name}"], _published(artifacts, root, path).abi)

    return UniswapDeployment(
        at("factory", _CORE, "UniswapV3Factory"),
        at("position_manager", _PERI, "NonfungiblePositionManager"),
        at("swap_router", _PERI, "SwapRouter"),
        at("quoter_v2", _PERI, "lens/QuoterV2"),
        pool_abi,
    )


def deploy_uniswap(chain: Chain, artifacts: Artifacts, weth: str) -> UniswapDeployment:
    """Factory, NonfungiblePositionManager (with its descriptor), SwapRouter and QuoterV2.

    `weth` is the wrapped-native token the periphery needs for ETH payments; the devnet never
    pays in ETH, so a scenario token stands in for WETH9, which no reachable package ships.
    """
    factory = chain.deploy(_published(artifacts, _CORE, "UniswapV3Factory"))
    # The 1 bp tier was enabled by governance after launch (Nov 2021); mainnet has it, so do we.
    chain.send(factory.functions.enableFeeAmount(100, 1), chain.deployer, "UniswapV3Factory.enableFeeAmount(100, 1)")
    nft_lib = chain.deploy(_published(artifacts, _PERI, "libraries/NFTDescriptor"))
    desc_art = _published(artifacts, _PERI, "NonfungibleTokenPositionDescriptor")
    descriptor = chain.deploy(
        desc_art, weth, b"ETH".ljust(32, b"\0"), bytecode=link(desc_art, {"NFTDescriptor": nft_lib.address})
    )
    manager = chain.deploy(
        _published(artifacts, _PERI, "NonfungiblePositionManager"), factory.address, weth, descriptor.address
    )
    router = chain.deploy(_published(artifacts, _PERI, "SwapRouter"), factory.address, weth)
    quoter = chain.deploy(_published(artifacts, _PERI, "lens/QuoterV2"), factory.address, weth)
    pool_abi = _published(artifacts, _CORE, "UniswapV3Pool").abi
    chain.register_errors(pool_abi)
    return UniswapDeployment(factory, manager, router, quoter, pool_abi)


def raw_price(price: Fraction, decimals0: int, decimals1: int) -> Fraction:
    """token1 units per token0 unit, from a human price of token0 in token1."""
    return price * Fraction(10**decimals1, 10**decimals0)


def sqrt_price_x96(price_raw: Fraction) -> int:
    """floor(sqrt(price) · 2^96), exactly, for a raw price (token1 units per token0 unit)."""
    return math.isqrt(price_raw.numerator * 2**192 // price_raw.denominator)


def price_to_tick(price_raw: Fraction, spacing: int, round_up: bool) -> int:
    """The usable tick (a multiple of `spacing`) at or beyond a raw price.

    A position's bounds only need to be on the spacing grid, so the float logarithm is fine here;
    the exact ticks chosen are what the manifest records.
    """
    tick = math.log(price_raw.numerator / price_raw.denominator) / math.log(1.0001)
    grid = math.ceil(tick / spacing) if round_up else math.floor(tick / spacing)
    return max(MIN_TICK // spacing * spacing + spacing, min(MAX_TICK // spacing * spacing, grid * spacing))
