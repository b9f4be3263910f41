"""Pendle v2 principal tokens: markets read from their factory's logs, each SY read as a vault over
its yield token (`indexer`), the AMM's exact swap maths (`maths`, with Pendle's fixed-point ln/exp
in `logexp`), the market as its PT's exit venue (`venue`: PT sold for SY, equal to the market's
own swaps to the wei), the PT feeds lenders price with (`oracles`: linear discount, AMM TWAP; a
lender's indexer asks for their kinds through the registry, `ProtocolSpec.feeds`), and the devnet:
the deployer (`devnet`, `devnet_feeds`, from `@pendle/core-v2@6.11.0`'s published bytecode and our
SY adapter) and the scenario's `[pendle]` section (`seeding`).
"""

from loopscan.protocols.spec import ProtocolSpec

SPECS = (
    ProtocolSpec(
        name="pendle",
        role="venue",
        indexer="loopscan.protocols.pendle.indexer",
        probes={("pendle", "market_factory"): "maxLnFeeRateRoot()"},
        venue="loopscan.protocols.pendle.venue",
        feeds="loopscan.protocols.pendle.oracles",
        devnet_contracts={"pendle_market_factory": ("pendle", "market_factory"), "pendle_router": ("pendle", "router")},
        devnet="loopscan.protocols.pendle.seeding",
        scenario_section="pendle",
    ),
)
