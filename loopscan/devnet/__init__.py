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
from loopscan.devnet.scenario import load_scenario

__all__ = ["Devnet", "start", "connect", "load_scenario", "DevnetError", "BuildError", "NodeStartError", "ScenarioError"]


def __getattr__(name: str):
    # `run` pulls in web3: load it when a devnet is started, not for `loopscan devnet scenarios`.
    if name in ("Devnet", "start", "connect"):
        from loopscan.devnet import run

        return getattr(run, name)
    raise AttributeError(f"module 'loopscan.devnet' has no attribute {name!r}")
