"""Reading one `eth_call` answer of any ABI type (tuples, dynamic arrays), for the indexers whose
getters return structs and lists, and saying why an answer could not be read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import decode as abi_decode

from .multicall import CallResult

__all__ = ["answer_value", "failure_reason"]


def answer_value(result: CallResult, kind: str | Sequence[str]) -> Any | None:
    """The value of ABI type `kind` a successful answer holds (addresses lowercase), or None if
    the call failed or the answer does not decode as `kind`. A function returning several values
    (`returns (address[], uint256[], uint256)`) encodes them unwrapped, unlike one returned
    struct: pass their types as a list to get a tuple.

    >>> answer_value(CallResult(True, bytes(31) + b"\\x07"), "uint8"), answer_value(CallResult(True, b"\\x01"), "uint256")
    (7, None)
    """
    if not result.success or not result.return_data:
        return None
    try:
        if not isinstance(kind, str):
            return abi_decode(list(kind), result.return_data)
        (value,) = abi_decode([kind], result.return_data)
    except Exception:  # eth_abi raises several decoding errors; all mean a malformed answer
        return None
    return value.lower() if kind == "address" else value


def failure_reason(result: CallResult) -> str | None:
    """The revert reason, or that the answer could not be decoded."""
    if not result.success:
        return result.reason
    return f"answered {len(result.return_data)} bytes that do not decode" if result.return_data else "answered no data"
