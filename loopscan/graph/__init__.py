"""The risk graph: a Snapshot's tokens, vaults, markets and accounts, its loops, pyramids and
look-through exposure. Pure: no network, no solver.

    >>> from loopscan.graph import build_graph, find_loops, look_through, pyramids   # doctest: +SKIP
"""

from loopscan.graph.build import (
    account_node,
    build_graph,
    market_node,
    opaque_node,
    token_node,
    vault_node,
)
from loopscan.graph.exposure import look_through
from loopscan.graph.loops import Loop, find_loops, loop_table, token_projection
from loopscan.graph.pyramids import pyramids, vault_depths

__all__ = [
    "Loop",
    "account_node",
    "build_graph",
    "find_loops",
    "look_through",
    "loop_table",
    "market_node",
    "opaque_node",
    "pyramids",
    "token_node",
    "token_projection",
    "vault_depths",
    "vault_node",
]
