"""Curve stableswap pools: the exact exchange maths of the classic template (`maths`) and of
stableswap-NG (`ng`), the indexer that reads pools at the pin (`indexer`), and each pool as an exit
venue of its coins (`venue`).

No package reachable here ships Curve's pool contracts, so nothing here is deployed on the devnet:
the maths are checked to the wei against curvesim (classic) and @paraswap/dex-lib's stable-NG
implementation, the indexer against answers encoded from the published ABIs.
"""

from loopscan.protocols.spec import ProtocolSpec

PROVEN_ON_NODE = False  # no deployable package: figures resting on Curve pools are `unproven_on_node`

# The solver sells into Curve pools (`venue`); every figure resting on one carries `unproven_on_node`.
SPECS = (ProtocolSpec(name="curve", role="venue", indexer="loopscan.protocols.curve.indexer", venue="loopscan.protocols.curve.venue",
                      proven_on_node=PROVEN_ON_NODE),)  # fmt: skip
