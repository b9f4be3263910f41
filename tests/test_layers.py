"""The pure stages stay pure: importing the graph and the solver, and applying every registered
protocol's rules, loads no node-side code (the RPC layer, indexers, deployers, aiohttp, web3).

They do import `loopscan.protocols.registry`, the packages' specs and their pure `rules` and swap
maths: those are the protocols' maths, which DESIGN.md lets the solver use; a package's indexer and
deployer load only when a scan or a devnet asks for them."""

import subprocess
import sys

PROBE = """
import sys
import loopscan.graph, loopscan.solver, loopscan.solver.depth
from loopscan.protocols import registry
for name in registry.names("lending"):
    if registry.spec(name).solved:
        registry.rules(name)
node_side = ("aiohttp", "web3", "loopscan.rpc", "loopscan.devnet", "loopscan.scanner")
print(sorted(m for m in sys.modules if m.startswith(node_side)
             or (m.startswith("loopscan.protocols.") and m.rsplit(".", 1)[1] in ("indexer", "devnet", "oracles", "config"))))
"""


def test_graph_solver_and_rules_load_no_node_side_code():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
