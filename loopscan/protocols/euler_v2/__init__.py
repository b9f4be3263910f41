"""Euler v2 (EVK vaults on the Ethereum Vault Connector): its liquidation rules (`rules`) and the
indexer of its vaults and borrowers (`indexer`).

No package reachable here ships the EVK or the EVC, so Euler v2 cannot be deployed on the devnet:
the rules reproduce the worked cases of the EVK's own tests. The solver applies it as ``account``
margin (one controller vault's debt against the account's collateral vaults, each at its
liquidation LTV); every figure resting on it carries `unproven_on_node`.
"""

from loopscan.protocols.spec import ProtocolSpec

PROVEN_ON_NODE = False  # no deployable package: figures resting on Euler v2 are `unproven_on_node`

SPECS = (
    ProtocolSpec(name="euler_v2", role="lending", indexer="loopscan.protocols.euler_v2.indexer",
                 rules="loopscan.protocols.euler_v2.rules",
                 margin="account", proven_on_node=PROVEN_ON_NODE),
)  # fmt: skip
