"""One contract read and its outcome: what ``multicall`` takes and gives, whatever the route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["Call", "CallResult"]


class Call(NamedTuple):
    """One read: the contract and its calldata."""

    target: str
    data: bytes


@dataclass(frozen=True, slots=True)
class CallResult:
    """The outcome of one call; ``reason`` says why it failed (decoded revert) when it did."""

    success: bool
    return_data: bytes
    reason: str | None = None
