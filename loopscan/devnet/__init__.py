"""The local devnet: anvil with the protocols' own contracts deployed and a scenario seeded.

    >>> from loopscan import devnet
    >>> with devnet.start("minimal") as net:          # doctest: +SKIP
    ...     print(net.url, net.manifest["contracts"]["morpho_blue"])

Read-only by design, loopscan sends transactions only here, to the node it started itself.
"""

from loopscan.devnet.errors import (
    BuildError,
    DevnetError,
    NodeStartError,
    ScenarioError,
)
from loopscan.devnet.run import Devnet, connect, start
from loopscan.devnet.scenario import load_scenario

__all__ = ["Devnet", "start", "connect", "load_scenario", "DevnetError", "BuildError", "NodeStartError", "ScenarioError"]
