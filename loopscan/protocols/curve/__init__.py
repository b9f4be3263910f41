"""Curve stableswap pools: the exact exchange maths of the classic template (`maths`) and of
stableswap-NG (`ng`), and the indexer that reads pools at the pin (`indexer`).

No package reachable here ships Curve's pool contracts, so nothing here is deployed on the devnet:
the maths are checked to the wei against curvesim (classic) and @paraswap/dex-lib's stable-NG
implementation, the indexer against answers encoded from the published ABIs.
"""

from loopscan.protocols.spec import ProtocolSpec

PROVEN_ON_NODE = False  # no deployable package: figures resting on Curve pools are `unproven_on_node`

# The solver does not sell into Curve pools yet (no `exit`): their rows are read for the record.
SPECS = (ProtocolSpec(name="curve", role="venue", indexer="loopscan.protocols.curve.indexer", proven_on_node=PROVEN_ON_NODE),)
