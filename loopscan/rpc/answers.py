"""Check a contract's answer before decoding it: the one gate between ``CallResult`` and a value.

Mainnet is permissionless: an oracle may be an account without code (a call to it succeeds
with no data), a token's fallback may answer anything, a getter may answer a word out of its
type's range. Each is an ``InvalidAnswer`` naming the contract, the method and the reason, which
the indexers record as a ``missing`` row (``ScanContext.answer``) instead of letting a decoder's
error end the scan.

>>> from loopscan.rpc.calls import CallResult
>>> decode_answer(CallResult(True, b""), "0x00000000000000000000000000000000000000aa", "price()", "uint256")
Traceback (most recent call last):
...
loopscan.rpc.errors.InvalidAnswer: price() on 0x00000000000000000000000000000000000000aa: answered no data (no code at that address, or a fallback)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import decode as abi_decode

from .abi import decode_static
from .calls import CallResult
from .errors import InvalidAnswer

__all__ = ["answer_value", "checked_data", "decode_answer", "failure_reason"]


def checked_data(result: CallResult, contract: str, method: str) -> bytes:
    """The answer's bytes if the call did not revert; else ``InvalidAnswer`` with the revert reason."""
    if not result.success:
        raise InvalidAnswer(result.reason or "reverted without a reason", contract=contract, method=method)
    return result.return_data


def decode_answer(result: CallResult, contract: str, method: str, types: str | Sequence[str]) -> Any:
    """The answer of ``method`` on ``contract`` decoded as ``types``: one static type (its value)
    or a sequence of them (a tuple), each word checked (``abi.decode_static``)."""
    data = checked_data(result, contract, method)
    try:
        if isinstance(types, str):
            return decode_static(data, (types,))[0]
        return decode_static(data, types)
    except InvalidAnswer as exc:
        raise InvalidAnswer(exc.reason, contract=contract, method=method) from None


def answer_value(result: CallResult, kind: str | Sequence[str]) -> Any | None:
    """The value of ABI type `kind`, static or dynamic (tuples, arrays: Comet's and the EVK's getters),
    that a successful answer holds (addresses lowercase), or None if the call failed or the answer
    does not decode as `kind`; the caller records `failure_reason` as a missing row. A function
    returning several values encodes them unwrapped, unlike one returned struct: pass their types as
    a list to get a tuple.

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
