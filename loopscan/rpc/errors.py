"""The errors the RPC layer raises: one base class, each failure a type a caller can catch.

::

    RpcError (a LoopscanError)        base: every message names the method and the masked endpoint
    ├── TransportError                connection dropped, or an HTTP status that is not 200
    │   ├── RpcTimeout                no whole answer within the client's timeout
    │   └── NodeUnreachable           no connection made (refused, unknown host): not retried
    ├── RateLimited                   HTTP 429 or a provider's rate-limit error; ``retry_after``
    ├── BadResponse                   not JSON, truncated, wrong shape, a batch id missing or repeated
    ├── NodeError                     the node answered with a JSON-RPC error; ``code``, ``raw``
    │   ├── ExecutionReverted         an ``eth_call`` reverted; ``reason`` decoded where possible
    │   ├── HistoricalStateUnavailable  the node no longer holds state at that block (pruned)
    │   ├── LogRangeTooLarge          ``eth_getLogs`` range or result-count limit: split the range
    │   └── BatchTooLarge             out of gas, request or response too large: send fewer calls
    └── ReorgDetected                 the pinned block's hash changed during the scan

    BadEndpoint (a LoopscanError and a ValueError)
                                      the RPC URL cannot be a node's: no scheme, not http(s), no host

    InvalidAnswer (a LoopscanError and a ValueError)
                                      a contract's answer is not what its ABI says: reverted, empty,
                                      short, oversized or a word out of its type's range

aiohttp's errors are translated where they happen, in ``client.py``; HTTP statuses and bodies
in ``response.py``; JSON-RPC error objects in ``classify.py``. Which of these are worth a retry
is decided in one place, ``retry.py``.

Warning: aiohttp puts the full request URL, API key included, in some of its messages. The
client therefore never chains an aiohttp exception as ``__cause__``; it copies a masked
description into the message instead (see ``client._describe``).
"""

from __future__ import annotations

from typing import Any

from loopscan.errors import LoopscanError

__all__ = [
    "BadEndpoint",
    "BadResponse",
    "BatchTooLarge",
    "ExecutionReverted",
    "HistoricalStateUnavailable",
    "InvalidAnswer",
    "LogRangeTooLarge",
    "NodeError",
    "NodeUnreachable",
    "RateLimited",
    "ReorgDetected",
    "RpcError",
    "RpcTimeout",
    "TransportError",
]


class RpcError(LoopscanError):
    """Base of every error the RPC layer raises.

    ``endpoint`` is always the masked URL (``mask_url``), so the message can be logged as is.
    """

    def __init__(self, detail: str, *, method: str, endpoint: str) -> None:
        self.detail = detail
        self.method = method
        self.endpoint = endpoint
        super().__init__(f"{method} at {endpoint}: {detail}")


class TransportError(RpcError):
    """The HTTP exchange failed: refused, dropped, or answered with a non-200 status."""

    def __init__(self, detail: str, *, method: str, endpoint: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(detail, method=method, endpoint=endpoint)


class RpcTimeout(TransportError):
    """No whole answer arrived within the client's timeout."""


class NodeUnreachable(TransportError):
    """No connection could be made (refused, unknown host, TLS handshake failed): nothing was
    sent, so nothing is retried."""


class RateLimited(RpcError):
    """The provider refused for rate; ``retry_after`` is its hint in seconds, if it gave one."""

    def __init__(
        self, detail: str, *, method: str, endpoint: str, retry_after: float | None = None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(detail, method=method, endpoint=endpoint)


class BadResponse(RpcError):
    """The answer is not a JSON-RPC answer to what was asked."""


class NodeError(RpcError):
    """The node answered with a JSON-RPC error object.

    ``raw`` keeps the error object as received, so nothing the node said is lost to the
    classification.
    """

    def __init__(
        self,
        detail: str,
        *,
        method: str,
        endpoint: str,
        code: int | None,
        message: str,
        data: Any = None,
        raw: Any = None,
    ) -> None:
        self.code = code
        self.message = message
        self.data = data
        self.raw = raw
        super().__init__(detail, method=method, endpoint=endpoint)


class ExecutionReverted(NodeError):
    """The call reverted. ``reason`` is the decoded Error(string), Panic or custom-error
    selector; ``revert_data`` the raw bytes (empty when the node gave none)."""

    def __init__(self, detail: str, *, reason: str, revert_data: bytes, **kwargs: Any) -> None:
        self.reason = reason
        self.revert_data = revert_data
        super().__init__(detail, **kwargs)


class HistoricalStateUnavailable(NodeError):
    """The node has pruned the state at the requested block; an archive node is needed."""


class LogRangeTooLarge(NodeError):
    """``eth_getLogs`` hit the provider's block-range or result-count limit.

    ``get_logs`` catches it and bisects; a caller sees it only when one block alone is over.
    """


class BatchTooLarge(NodeError):
    """The node refused the request for its size: out of gas, request or response too large.

    ``multicall`` catches it and halves the batch.
    """


class ReorgDetected(RpcError):
    """The pinned block is no longer canonical: reads taken at it may mix two chains."""

    def __init__(
        self, *, method: str, endpoint: str, block: int, expected_hash: str, actual_hash: str | None
    ) -> None:
        self.block = block
        self.expected_hash = expected_hash
        self.actual_hash = actual_hash
        super().__init__(
            f"block {block} was {expected_hash} at pin time, now {actual_hash or 'missing'}",
            method=method,
            endpoint=endpoint,
        )


class InvalidAnswer(LoopscanError, ValueError):
    """A contract read answered something its ABI type cannot be: it reverted, answered no data
    (an account without code), too few or too many bytes, or a word out of its type's range.

    Raised by the decoders in ``abi.py`` with the reason only, and by ``answers.decode_answer``
    with the contract and method too; indexers turn it into a ``missing`` row. A ``ValueError``
    as well, so code written against the decoders' former ``ValueError`` still catches it.
    """

    def __init__(self, reason: str, *, contract: str | None = None, method: str | None = None) -> None:
        self.reason = reason
        self.contract = contract
        self.method = method
        where = f"{method or 'a call'} on {contract}" if contract else method
        super().__init__(f"{where}: {reason}" if where else reason)


class BadEndpoint(LoopscanError, ValueError):
    """The RPC URL cannot name a node loopscan can read: refused before anything is sent."""
