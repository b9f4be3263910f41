"""Fast helpers for the static ABI words indexers read in bulk.

eth_abi validates and dispatches per value, which costs more than the read itself when an
indexer decodes a million ``balanceOf`` answers. Static words are fixed 32-byte slots, so
slicing and ``int.from_bytes`` do the job. Dynamic types (``string``, ``bytes``, arrays) are
left to eth_abi, except for the revert reason, which every failed call needs.
"""

from __future__ import annotations

from functools import lru_cache

from eth_utils import keccak

__all__ = [
    "decode_address",
    "decode_bool",
    "decode_int",
    "decode_revert",
    "decode_uint",
    "encode_call",
    "selector",
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
    out = [selector(fn) if isinstance(fn, str) else fn]
    for arg in args:
        if isinstance(arg, bool):
            out.append(int(arg).to_bytes(32, "big"))
        elif isinstance(arg, int):
            if not 0 <= arg <= _UINT256_MAX:
                raise ValueError(f"{arg} does not fit a uint256")
            out.append(arg.to_bytes(32, "big"))
        elif isinstance(arg, str):
            raw = bytes.fromhex(arg[2:] if arg.startswith(("0x", "0X")) else arg)
            if len(raw) != 20:
                raise ValueError(f"{arg!r} is not a 20-byte address")
            out.append(bytes(12) + raw)
        elif isinstance(arg, bytes) and len(arg) == 32:
            out.append(arg)
        else:
            raise TypeError(f"cannot encode {arg!r} as a static ABI word")
    return b"".join(out)


def _word(data: bytes, index: int) -> bytes:
    start = 32 * index
    if len(data) < start + 32:
        raise ValueError(f"need word {index}, have {len(data)} bytes")
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
        raise ValueError(f"word {index} is not an address: {word.hex()}")
    return "0x" + word[12:].hex()


def decode_bool(data: bytes, index: int = 0) -> bool:
    """The ``index``-th word of ``data`` as bool; only 0 and 1 are valid."""
    value = decode_uint(data, index)
    if value > 1:
        raise ValueError(f"word {index} is not a bool: {value}")
    return value == 1


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
