"""Fast helpers for the static ABI words indexers read in bulk.

eth_abi validates and dispatches per value, which costs more than the read itself when an
indexer decodes a million ``balanceOf`` answers. Static words are fixed 32-byte slots, so
slicing and ``int.from_bytes`` do the job. Dynamic types (``string``, ``bytes``, arrays) are
left to eth_abi, except for the revert reason, which every failed call needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from eth_utils import keccak

from .errors import InvalidAnswer

__all__ = [
    "decode_address",
    "decode_bool",
    "decode_int",
    "decode_revert",
    "decode_static",
    "decode_uint",
    "describe_size",
    "encode_call",
    "encode_calls",
    "selector",
    "static_bits",
]

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)

# Solidity's panic codes, from the language documentation ("Panic via assert and Error via require").
PANIC_CODES = {
    0x00: "generic compiler panic",
    0x01: "assert failed",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "corrupt storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to a zero-initialised function pointer",
}

_UINT256_MAX = (1 << 256) - 1
_WORD_TYPES = {bool, int, str, bytes}  # what `encode_call` may encode as one word


@lru_cache(maxsize=4096)
def selector(signature: str) -> bytes:
    """The 4-byte selector of a canonical signature, e.g. ``selector("balanceOf(address)")``."""
    return keccak(text=signature)[:4]


def encode_call(fn: str | bytes, *args: int | bool | str | bytes) -> bytes:
    """Calldata for a function whose arguments are all static words.

    ``fn`` is a signature or a 4-byte selector. Each argument becomes one word: ``bool`` as
    0/1, ``int`` as uint256, a ``0x``-prefixed 20-byte hex string as an address, and 32
    ``bytes`` as bytes32.

    >>> encode_call("balanceOf(address)", "0x" + "11" * 20).hex()[:8]
    '70a08231'
    """
    return b"".join([selector(fn) if isinstance(fn, str) else fn, *map(_word_of, args)])


def _word_of(arg: int | bool | str | bytes) -> bytes:
    """One argument of `encode_call` as its 32-byte word."""
    if isinstance(arg, bool):
        return int(arg).to_bytes(32, "big")
    if isinstance(arg, int):
        if not 0 <= arg <= _UINT256_MAX:
            raise ValueError(f"{arg} does not fit a uint256")
        return arg.to_bytes(32, "big")
    if isinstance(arg, str):
        raw = bytes.fromhex(arg[2:] if arg.startswith(("0x", "0X")) else arg)
        if len(raw) != 20:
            raise ValueError(f"{arg!r} is not a 20-byte address")
        return bytes(12) + raw
    if isinstance(arg, bytes) and len(arg) == 32:
        return arg
    raise TypeError(f"cannot encode {arg!r} as a static ABI word")


def encode_calls(signature: str, rows: Sequence[tuple[int | bool | str | bytes, ...]]) -> list[bytes]:
    """``encode_call(signature, *row)`` for every row, as one batch: the selector is found once
    and each distinct argument encoded once per position (a market id or a user recurs across
    many reads), so a row costs a join.

    >>> encode_calls("balanceOf(address)", [("0x" + "11" * 20,)]) == [encode_call("balanceOf(address)", "0x" + "11" * 20)]
    True
    """
    head = selector(signature)
    if len({len(row) for row in rows}) != 1:  # none, or of several lengths: row by row, as it would
        return [encode_call(head, *row) for row in rows]
    columns = list(zip(*rows, strict=True))
    if any(not set(map(type, column)) <= _WORD_TYPES for column in columns):
        # A value `encode_call` refuses, for its error. (Values of these types share a dict key only
        # where their words are equal: 1 and True.)
        return [encode_call(head, *row) for row in rows]
    words = [{value: _word_of(value) for value in set(column)} for column in columns]
    parts = [map(w.__getitem__, column) for w, column in zip(words, columns, strict=True)]
    return list(map(b"".join, zip([head] * len(rows), *parts, strict=True)))


def describe_size(size: int, expected: int) -> str:
    """Why an answer of ``size`` bytes is not the ``expected`` one, for a ``missing`` row."""
    if size == 0:
        return "answered no data (no code at that address, or a fallback)"
    return f"answered {size} bytes, {'short of' if size < expected else 'more than'} the {expected} expected"


def _word(data: bytes, index: int) -> bytes:
    start = 32 * index
    if len(data) < start + 32:
        raise InvalidAnswer(describe_size(len(data), start + 32))
    return data[start : start + 32]


def decode_uint(data: bytes, index: int = 0) -> int:
    """The ``index``-th word of ``data`` as uint256."""
    return int.from_bytes(_word(data, index), "big")


def decode_int(data: bytes, index: int = 0) -> int:
    """The ``index``-th word of ``data`` as int256 (two's complement)."""
    return int.from_bytes(_word(data, index), "big", signed=True)


def decode_address(data: bytes, index: int = 0) -> str:
    """The ``index``-th word of ``data`` as a lowercase ``0x`` address; high bytes must be zero."""
    word = _word(data, index)
    if any(word[:12]):
        raise InvalidAnswer(f"word {index} is not an address: 0x{word.hex()}")
    return "0x" + word[12:].hex()


def decode_bool(data: bytes, index: int = 0) -> bool:
    """The ``index``-th word of ``data`` as bool; only 0 and 1 are valid."""
    value = decode_uint(data, index)
    if value > 1:
        raise InvalidAnswer(f"word {index} is not a bool: {value}")
    return value == 1


def static_bits(abi_type: str) -> tuple[bool, int]:
    """Whether an integer ABI type is unsigned, and its width: ``static_bits("uint128") == (True, 128)``."""
    unsigned = abi_type.startswith("uint")
    try:
        bits = int(abi_type[4 if unsigned else 3 :] or 256)
    except ValueError:
        bits = 0
    if not (abi_type.startswith(("uint", "int")) and 8 <= bits <= 256 and bits % 8 == 0):
        raise ValueError(f"{abi_type!r} is not a static ABI type decode_static knows")
    return unsigned, bits


def _checker(abi_type: str) -> Callable[[bytes, int], Any]:
    """The decoder of one static word of ``abi_type``, checking that the value fits the type."""
    if abi_type == "address":
        return lambda data, i: decode_address(data, i)
    if abi_type == "bool":
        return lambda data, i: decode_bool(data, i)
    if abi_type == "bytes32":
        return _word
    unsigned, bits = static_bits(abi_type)
    if not unsigned:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

        def decode_signed(data: bytes, i: int) -> int:
            value = decode_int(data, i)
            if not low <= value <= high:
                raise InvalidAnswer(f"word {i} = {value} is out of {abi_type}'s range")
            return value

        return decode_signed

    def decode_unsigned(data: bytes, i: int) -> int:
        value = decode_uint(data, i)
        if value >> bits:
            raise InvalidAnswer(f"word {i} = {value} is out of {abi_type}'s range")
        return value

    return decode_unsigned


@lru_cache(maxsize=256)
def _layout(types: tuple[str, ...]) -> tuple[Callable[[bytes, int], Any], ...]:
    return tuple(_checker(t) for t in types)


def decode_static(data: bytes, types: Sequence[str]) -> tuple[Any, ...]:
    """An answer made of static words only (``uintN``, ``intN``, ``address``, ``bool``,
    ``bytes32``), checked whole: exactly one word per type, each in its type's range.

    Stricter than Solidity's decoder, which ignores bytes past the last word: a view that
    answers more than its signature says is a fallback or another contract, not the getter.

    >>> decode_static((6).to_bytes(32, "big"), ["uint8"])
    (6,)
    """
    layout = _layout(tuple(types))
    if len(data) != 32 * len(layout):
        raise InvalidAnswer(describe_size(len(data), 32 * len(layout)))
    return tuple(check(data, i) for i, check in enumerate(layout))


def decode_revert(data: bytes) -> str:
    """A readable reason for revert data: the Error(string) text, the Panic code and its
    meaning, or the custom error's selector with its arguments in hex.

    >>> decode_revert(bytes.fromhex("4e487b71") + (0x11).to_bytes(32, "big"))
    'Panic(0x11): arithmetic underflow or overflow'
    """
    if not data:
        return "reverted without data"
    head, body = data[:4], data[4:]
    if head == ERROR_SELECTOR:
        try:
            offset = decode_uint(body, 0)
            length = decode_uint(body[offset:], 0)
            text = body[offset + 32 : offset + 32 + length]
            if len(text) == length:
                return text.decode("utf-8", errors="replace")
        except ValueError:
            pass
    elif head == PANIC_SELECTOR and len(body) == 32:
        code = int.from_bytes(body, "big")
        return f"Panic({code:#04x}): {PANIC_CODES.get(code, 'unknown panic code')}"
    return f"custom error 0x{head.hex()}" + (f" 0x{body.hex()}" if body else "")
