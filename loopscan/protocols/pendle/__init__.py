"""Pendle v2 principal tokens: markets read from their factory's logs (`indexer`), the AMM's exact
swap maths (`maths`, with Pendle's fixed-point ln/exp in `logexp`), the PT feeds lenders price
with (`oracles`: linear discount, AMM TWAP) and the devnet deployer
(`devnet`, `devnet_feeds`, from `@pendle/core-v2@6.11.0`'s published bytecode and our SY adapter).

A venue the solver does not sell into yet (no `exit`, `solved=False`): its markets are read when
asked for by name (`--protocols`), and `maths.swap_exact_pt_for_sy` is the exit to wire in (it
equals the market's own swaps to the wei).
"""

from loopscan.protocols.spec import ProtocolSpec

SPECS = (
    ProtocolSpec(
        name="pendle",
        role="venue",
        indexer="loopscan.protocols.pendle.indexer",
        probes={("pendle", "market_factory"): "maxLnFeeRateRoot()"},
        feeds="loopscan.protocols.pendle.oracles",
        devnet_contracts={"pendle_market_factory": ("pendle", "market_factory"), "pendle_router": ("pendle", "router")},
        devnet="loopscan.protocols.pendle.seeding",
        scenario_section="pendle",
        solved=False,
    ),
)
