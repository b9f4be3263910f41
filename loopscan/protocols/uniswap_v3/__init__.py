"""Uniswap v3: pools of the tokens a scan found, every initialised tick; its exact swap maths
(`maths`: TickMath/SqrtPriceMath, `swap`: the pool's swap loop), the pool as an exit venue (`venue`)
and the devnet deployer."""

from loopscan.protocols.spec import ProtocolSpec

SPECS = (
    ProtocolSpec(
        name="uniswap_v3",
        role="venue",
        indexer="loopscan.protocols.uniswap_v3.indexer",
        probes={("uniswap_v3", "factory"): "owner()"},
        venue="loopscan.protocols.uniswap_v3.venue",
        devnet_contracts={"uniswap_v3_factory": ("uniswap_v3", "factory"), "uniswap_v3_quoter_v2": ("uniswap_v3", "quoter_v2")},
        devnet="loopscan.protocols.uniswap_v3.seeding",
        scenario_section="uniswap",
    ),
)
