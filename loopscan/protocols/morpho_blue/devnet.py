"""Deploy Morpho Blue, AdaptiveCurveIrm, MetaMorpho's factory and PublicAllocator: the real code.

Sources: `@morpho-org/morpho-blue@1.0.0` for Morpho Blue, `sphere-mezo-solidity-files@1.2.0`
for the rest (line-for-line morpho-org's MetaMorpho v1.0, AdaptiveCurveIrm v1.0.0 and
PublicAllocator v1.0.0, see `UNITS`).
"""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract

from loopscan.devnet.build import Artifacts, CompileUnit
from loopscan.devnet.chain import Chain
from loopscan.model import ZERO_ADDRESS

__all__ = ["MorphoDeployment", "deploy_morpho", "market_params", "market_id", "WAD", "UNITS"]

WAD = 10**18
_SPHERE = "sphere-mezo-solidity-files/domains"

# Each with its upstream's own compiler settings.
UNITS = (
    CompileUnit(
        name="morpho-blue",
        solc="solc0819",
        sources=("@morpho-org/morpho-blue/src/Morpho.sol",),
        via_ir=True,
        runs=999999,
        evm_version="paris",
        origin="@morpho-org/morpho-blue@1.0.0 (morpho-org/morpho-blue v1.0.0), solc 0.8.19 via-IR 999999 runs",
    ),
    CompileUnit(
        name="metamorpho",
        solc="solc0821",
        sources=(
            f"{_SPHERE}/metamorpho/contracts/MetaMorphoFactory.sol",
            f"{_SPHERE}/metamorpho/contracts/MetaMorpho.sol",
        ),
        via_ir=True,
        runs=200,
        evm_version="paris",
        origin="sphere-mezo-solidity-files@1.2.0 = morpho-org/metamorpho v1.0 @380bf7bf, solc 0.8.21 via-IR 200 runs",
    ),
    CompileUnit(
        name="morpho-periphery",
        solc="solc0821",
        sources=(
            f"{_SPHERE}/morphoIrm/contracts/AdaptiveCurveIrm.sol",
            f"{_SPHERE}/publicAllocator/contracts/PublicAllocator.sol",
        ),
        via_ir=True,
        runs=999999,
        evm_version="paris",
        origin="sphere-mezo-solidity-files@1.2.0 = morpho-org/morpho-blue-irm @a7d9cce3 (AdaptiveCurveIrm v1.0.0) "
        "and morpho-org/public-allocator v1.0.0, solc 0.8.21 via-IR 999999 runs",
    ),
)


@dataclass
class MorphoDeployment:
    morpho: Contract
    irm: Contract
    factory: Contract
    public_allocator: Contract
    owner: str

    @classmethod
    def attach(cls, chain: Chain, artifacts: Artifacts, contracts: dict[str, str], owner: str) -> MorphoDeployment:
        """The deployment at the addresses a manifest lists."""
        return cls(
            chain.contract(contracts["morpho_blue"], artifacts.compiled("morpho-blue", "Morpho").abi),
            chain.contract(contracts["adaptive_curve_irm"], artifacts.compiled("morpho-periphery", "AdaptiveCurveIrm").abi),
            chain.contract(contracts["metamorpho_factory"], artifacts.compiled("metamorpho", "MetaMorphoFactory").abi),
            chain.contract(contracts["public_allocator"], artifacts.compiled("morpho-periphery", "PublicAllocator").abi),
            owner,
        )

    def addresses(self) -> dict[str, str]:
        return {
            "morpho_blue": self.morpho.address,
            "adaptive_curve_irm": self.irm.address,
            "metamorpho_factory": self.factory.address,
            "public_allocator": self.public_allocator.address,
        }


def deploy_morpho(chain: Chain, artifacts: Artifacts) -> MorphoDeployment:
    owner = chain.account("morpho-owner")
    morpho = chain.deploy(artifacts.compiled("morpho-blue", "Morpho"), owner)
    irm = chain.deploy(artifacts.compiled("morpho-periphery", "AdaptiveCurveIrm"), morpho.address)
    factory = chain.deploy(artifacts.compiled("metamorpho", "MetaMorphoFactory"), morpho.address)
    allocator = chain.deploy(artifacts.compiled("morpho-periphery", "PublicAllocator"), morpho.address)
    # MetaMorpho's ABI is needed to talk to the vaults the factory creates.
    chain.register_errors(artifacts.compiled("metamorpho", "MetaMorpho").abi)
    chain.send(morpho.functions.enableIrm(irm.address), owner, "Morpho.enableIrm(AdaptiveCurveIrm)")
    chain.send(morpho.functions.enableIrm(ZERO_ADDRESS), owner, "Morpho.enableIrm(0)")
    return MorphoDeployment(morpho, irm, factory, allocator, owner)


def market_params(loan: str, collateral: str, oracle: str, irm: str, lltv: int) -> tuple:
    """Morpho's `MarketParams` struct as the tuple web3 encodes."""
    return (loan, collateral, oracle, irm, lltv)


def market_id(params: tuple) -> bytes:
    """`Id` of a market: keccak256 of the ABI-encoded `MarketParams` (MarketParamsLib.id)."""
    from eth_abi import encode
    from eth_utils import keccak

    return keccak(encode(["address", "address", "address", "address", "uint256"], list(params)))
