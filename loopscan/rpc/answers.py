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

from .abi import decode_static, static_bits
from .calls import CallResult
from .errors import InvalidAnswer

__all__ = ["answer_value", "checked_data", "decode_answer", "decode_answers", "failure_reason"]


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


def decode_answers(
    results: Sequence[CallResult], contracts: Sequence[str], method: str, types: str | Sequence[str]
) -> tuple[list[Any], dict[int, str]]:
    """Same-shape answers (one `method`, `types` integer words) decoded as one batch: the values, None
    where unusable, and by index the reason each unusable one has (`decode_answer`'s, word for word).

    The checks are `decode_answer`'s, made column by column over the batch (the size of every
    answer, then each word's range), so a read costs a slice and an ``int.from_bytes``; an answer
    that fails any check goes through `decode_answer` alone for its reason.
    """
    single = isinstance(types, str)
    bits = [static_bits(t) for t in ((types,) if single else types)]
    size = 32 * len(bits)
    usable = [r.success and len(r.return_data) == size for r in results]
    datas = [r.return_data if ok else bytes(size) for r, ok in zip(results, usable, strict=True)]
    columns = []
    for i, (unsigned, width) in enumerate(bits):
        start, end = 32 * i, 32 * i + 32
        column = [int.from_bytes(d[start:end], "big", signed=not unsigned) for d in datas]
        if unsigned and width < 256 and max(column, default=0) >> width:
            usable = [ok and not v >> width for ok, v in zip(usable, column, strict=True)]
        elif not unsigned and width < 256:
            low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
            if column and not low <= min(column) <= max(column) <= high:
                usable = [ok and low <= v <= high for ok, v in zip(usable, column, strict=True)]
        columns.append(column)
    values: list[Any] = columns[0] if single else list(zip(*columns, strict=True))
    reasons: dict[int, str] = {}
    for index, ok in enumerate(usable):
        if not ok:
            values[index] = None
            try:
                decode_answer(results[index], contracts[index], method, types)
            except InvalidAnswer as exc:
                reasons[index] = exc.reason
            else:
                raise AssertionError(f"{method}: answer {index} failed a batch check but decodes alone")
    return values, reasons


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
