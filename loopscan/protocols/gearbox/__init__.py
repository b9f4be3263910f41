"""Gearbox v3.1 credit accounts: the indexer of its credit managers and accounts (`indexer`), the
liquidation rules (`rules`), the devnet deployer (`devnet`) and its scenario part (`seeding`).

Deployed on the devnet from `@gearbox-protocol/core-v3@1.52.1`'s own sources, so its reads are
proven on a node; the solver does not apply its multi-collateral accounts yet (`solved=False`):
it is read when asked for by name and its markets are listed as unsolved.
"""

from loopscan.protocols.spec import ProtocolSpec

SPECS = (
    ProtocolSpec(
        name="gearbox",
        role="lending",
        indexer="loopscan.protocols.gearbox.indexer",
        probes={("gearbox", "contracts_register"): "getCreditManagers()"},
        rules="loopscan.protocols.gearbox.rules",
        margin="isolated",  # each credit account stands alone, against its own debt
        devnet_contracts={"gearbox_register": ("gearbox", "contracts_register")},
        devnet="loopscan.protocols.gearbox.seeding",
        scenario_section="gearbox",
        proven_on_node=True,
        solved=False,
    ),
)
