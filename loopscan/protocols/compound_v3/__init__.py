"""Compound v3 (Comet): its absorb / store-front rules (`rules`) and the indexer of its markets
(`indexer`).

No package reachable here ships Comet's contracts, so it cannot be deployed on the devnet: the
rules reproduce the worked cases of Comet's own tests and the indexer is tested on ABI-encoded
answers. The solver applies it as ``account`` margin (several collaterals, each with its own feed
and factors, against one base-token debt; `absorb` takes the whole account); every figure resting
on it carries `unproven_on_node`.
"""

from loopscan.protocols.spec import ProtocolSpec

PROVEN_ON_NODE = False  # no deployable package: figures resting on Compound v3 are `unproven_on_node`

SPECS = (
    ProtocolSpec(name="compound_v3", role="lending", indexer="loopscan.protocols.compound_v3.indexer",
                 probes={("compound_v3", "comet"): "baseToken()"}, rules="loopscan.protocols.compound_v3.rules",
                 margin="account", proven_on_node=PROVEN_ON_NODE),
)  # fmt: skip
