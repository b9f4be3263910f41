"""MetaMorpho: curator vaults supplying to Morpho Blue markets, found from their factories' logs."""

from loopscan.protocols.spec import ProtocolSpec

SPECS = (
    ProtocolSpec(
        name="metamorpho",
        role="vaults",
        indexer="loopscan.protocols.metamorpho.indexer",
        probes={("metamorpho", "factory"): "MORPHO()"},
        devnet_contracts={"metamorpho_factory": ("metamorpho", "factory"), "public_allocator": ("metamorpho", "public_allocator")},
        devnet="loopscan.protocols.metamorpho.seeding",
        scenario_section="metamorpho",
    ),
)
