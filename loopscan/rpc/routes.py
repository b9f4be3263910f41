"""How a chain's contract reads travel when it has no Multicall3 at the canonical address.

Decided once, at the pin (``BlockReads.pin``), in this order:

1. ``deployed``: Multicall3 has code at the pinned block; ``aggregate3`` is called there.
2. ``override``: it has none, but the node accepts ``eth_call``'s third parameter, a state
   override (geth, erigon, reth, nethermind, anvil and the large providers do): ``aggregate3``
   runs against our own Multicall3-compatible code (``multicall3_code``) placed at the canonical
   address for that call only. One probe, ``aggregate3([])``, tells.
3. ``batch``: the node refuses the override (an error answer to the probe): every read is its
   own ``eth_call``, many per JSON-RPC batch. More calls for the provider to meter, same results.

Every route gives the same ``CallResult`` for the same read: a revert's data and its decoded
reason, an account without code's empty success.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from .abi import decode_revert
from .aggregate3 import decode_aggregate3, encode_aggregate3
from .calls import Call, CallResult
from .errors import BadResponse, BatchTooLarge, ExecutionReverted, NodeError, RpcError
from .multicall3_code import MULTICALL3_RUNTIME

__all__ = ["MULTICALL3_ADDRESS", "Route", "detect_route", "plain_calls", "state_override"]

log = logging.getLogger(__name__)

MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11"
Route = Literal["deployed", "override", "batch"]


def state_override(address: str = MULTICALL3_ADDRESS) -> dict[str, Any]:
    """``eth_call``'s third parameter placing our Multicall3-compatible code at ``address``."""
    return {address: {"code": "0x" + MULTICALL3_RUNTIME.hex()}}


async def detect_route(client: Any, tag: str) -> Route:
    """The route for reads at block ``tag`` (see the module docstring). Transport failures
    (after the client's retries) are raised: they say nothing about the node's abilities."""
    code = await client.request("eth_getCode", [MULTICALL3_ADDRESS, tag])
    if code not in ("0x", "0x0", None):
        return "deployed"
    probe = {"to": MULTICALL3_ADDRESS, "data": "0x" + encode_aggregate3([]).hex()}
    try:
        answer = await client.request("eth_call", [probe, tag, state_override()])
        if isinstance(answer, str) and decode_aggregate3(bytes.fromhex(answer[2:])) == []:
            route: Route = "override"
        else:
            route = "batch"
    except (NodeError, BadResponse, ValueError) as refused:
        log.info("%s: state override refused (%s)", client.endpoint, refused)
        route = "batch"
    log.warning("%s: no Multicall3 at %s at block %s; reading %s", client.endpoint, MULTICALL3_ADDRESS, int(tag, 16),
                "with its code placed by a state override" if route == "override" else "one eth_call per read, in batches")  # fmt: skip
    return route


async def plain_calls(client: Any, calls: Sequence[Call | tuple[str, bytes]], tag: str) -> list[CallResult]:
    """Each read as its own ``eth_call`` (the ``batch`` route), as ``multicall`` reports them.

    A revert is a failed ``CallResult`` with its data and decoded reason; a read the node
    refuses as too heavy even alone fails like ``multicall``'s; any other error concerns the
    node, not the read, and is raised.
    """
    requests = [("eth_call", [{"to": target, "data": "0x" + data.hex()}, tag]) for target, data in calls]
    out: list[CallResult] = []
    for answer in await client.batch(requests, return_exceptions=True):
        if isinstance(answer, ExecutionReverted):
            out.append(CallResult(False, answer.revert_data, decode_revert(answer.revert_data)))
        elif isinstance(answer, BatchTooLarge):
            out.append(CallResult(False, b"", f"refused alone: {answer.message}"))
        elif isinstance(answer, RpcError):
            raise answer
        elif isinstance(answer, str) and answer[:2] == "0x":
            try:
                out.append(CallResult(True, bytes.fromhex(answer[2:])))
            except ValueError:
                raise BadResponse(f"eth_call returned {answer:.100}", method="eth_call", endpoint=client.endpoint) from None
        else:
            raise BadResponse(f"eth_call returned {str(answer):.100}", method="eth_call", endpoint=client.endpoint)
    return out
