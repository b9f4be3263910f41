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

from .abi import decode_static
from .errors import InvalidAnswer
from .calls import CallResult

__all__ = ["decode_answer", "checked_data"]


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
