"""Morpho Blue: isolated markets (one collateral, one loan token, an LLTV), read from the singleton's
events; its integer maths (`maths`, `irm`, `liquidation`), the solver's rules (`rules`), the
oracle classification (`oracles`), which positions events change (`reuse`) and the devnet
deployer (`devnet`)."""

from loopscan.protocols.spec import ProtocolSpec

SPECS = (
    ProtocolSpec(
        name="morpho_blue",
        role="lending",
        indexer="loopscan.protocols.morpho_blue.indexer",
        probes={("morpho_blue", "core"): "feeRecipient()"},
        rules="loopscan.protocols.morpho_blue.rules",
        margin="isolated",
        reuse="loopscan.protocols.morpho_blue.reuse",
        devnet_contracts={"morpho_blue": ("morpho_blue", "core"), "adaptive_curve_irm": ("morpho_blue", "adaptive_curve_irm")},
        devnet="loopscan.protocols.morpho_blue.seeding",
        scenario_section="morpho",
    ),
)
