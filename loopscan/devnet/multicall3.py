"""Place our Multicall3-compatible contract at Multicall3's canonical address on an anvil."""

from __future__ import annotations

from loopscan.devnet.build import Artifacts
from loopscan.devnet.node import Anvil

__all__ = ["MULTICALL3", "place_multicall3"]

MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"


def place_multicall3(node: Anvil, artifacts: Artifacts | None = None) -> None:
    """Set the runtime code at the canonical address, as on every chain where loopscan reads.

    The runtime code is what the creation code returns when run (an `eth_call` without `to`),
    so no deployment transaction and no nonce is spent.
    """
    creation = (artifacts or Artifacts()).compiled("loopscan", "Multicall3").bytecode
    runtime = node.rpc("eth_call", [{"data": "0x" + creation}, "latest"])
    node.rpc("anvil_setCode", [MULTICALL3, runtime])
