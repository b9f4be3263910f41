"""Aave v3 and SparkLend (the same code): pooled reserves, e-mode, users from the Pool's events;
its integer maths (`maths`, `liquidation`, per POOL_REVISION), the solver's rules (`rules`), the
price-source classification (`oracles`), which accounts events change (`reuse`) and the devnet
deployer (`devnet`)."""

from loopscan.protocols.spec import ProtocolSpec


def _spec(name: str, contracts: dict[str, tuple[str, str]], **seeding: str) -> ProtocolSpec:
    return ProtocolSpec(
        name=name,
        role="lending",
        indexer="loopscan.protocols.aave_v3.indexer",
        probes={(name, "pool"): "ADDRESSES_PROVIDER()"},
        rules="loopscan.protocols.aave_v3.rules",
        margin="pooled",
        reuse="loopscan.protocols.aave_v3.reuse",
        devnet_contracts=contracts,
        **seeding,
    )


SPECS = (
    _spec("aave_v3", {"aave_pool_addresses_provider": ("aave_v3", "pool_addresses_provider"), "aave_pool": ("aave_v3", "pool"),
                      "aave_oracle": ("aave_v3", "oracle"), "aave_protocol_data_provider": ("aave_v3", "protocol_data_provider")},
          devnet="loopscan.protocols.aave_v3.seeding", scenario_section="aave"),
    _spec("spark", {}),
)  # fmt: skip
