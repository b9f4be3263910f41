"""One contract read and its outcome: what ``multicall`` takes and gives, whatever the route."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Call", "CallResult"]


class Call(NamedTuple):
    """One read: the contract and its calldata."""

    target: str
    data: bytes


class CallResult(NamedTuple):
    """The outcome of one call; ``reason`` says why it failed (decoded revert) when it did.

    A tuple rather than a frozen dataclass: a scan makes one per read, hundreds of thousands."""

    success: bool
    return_data: bytes
    reason: str | None = None
