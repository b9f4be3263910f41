"""Gearbox v3.1 credit accounts: the indexer of its credit managers and accounts (`indexer`), the
liquidation rules (`rules`), the devnet deployer (`devnet`) and its scenario part (`seeding`).

Deployed on the devnet from `@gearbox-protocol/core-v3@1.52.1`'s own sources, so its reads are
proven on a node; the solver applies its multi-collateral accounts by their own rules (``account``
margin, `loopscan.solver.accounts`).
"""

from loopscan.protocols.spec import ProtocolSpec

SPECS = (
    ProtocolSpec(
        name="gearbox",
        role="lending",
        indexer="loopscan.protocols.gearbox.indexer",
        probes={("gearbox", "contracts_register"): "getCreditManagers()"},
        rules="loopscan.protocols.gearbox.rules",
        margin="account",  # each credit account stands alone: its collaterals against its own debt
        devnet_contracts={"gearbox_register": ("gearbox", "contracts_register")},
        devnet="loopscan.protocols.gearbox.seeding",
        scenario_section="gearbox",
        proven_on_node=True,
    ),
)
