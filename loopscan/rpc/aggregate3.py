"""A hand-rolled codec for Multicall3 ``aggregate3``, the hottest encode/decode in a scan.

eth_abi spends about 25 ms per 1,000 calls on this one signature; a scan makes hundreds of
thousands. The layout is fixed, so it is written out directly (Solidity ABI spec, "Formal
Specification of the Encoding")::

    calldata = selector 0x82ad56cb
             ‖ word 0x20                          offset of the array
             ‖ word n                             array length
             ‖ n words: offset of tuple i         relative to the word after n
             ‖ tuple i = word target              address, left-padded
                       ‖ word allowFailure        0 or 1
                       ‖ word 0x60                offset of callData inside the tuple
                       ‖ word len(callData)
                       ‖ callData, right-padded to a multiple of 32

    returndata = word 0x20 ‖ word n ‖ n tuple offsets
               ‖ tuple i = word success ‖ word 0x40 ‖ word len ‖ returnData padded

The decoder follows every offset rather than assuming Solidity's canonical placement, and
checks every bound, so a malformed answer is an error, never a silently wrong result. Both
directions are tested against eth_abi on random inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["AGGREGATE3_SELECTOR", "decode_aggregate3", "encode_aggregate3", "encoded_call_size"]

AGGREGATE3_SELECTOR = bytes.fromhex("82ad56cb")  # aggregate3((address,bool,bytes)[])

_WORD_0X20 = (0x20).to_bytes(32, "big")
_WORD_0X60 = (0x60).to_bytes(32, "big")
_ALLOW_FAILURE = (1).to_bytes(32, "big")
_DENY_FAILURE = bytes(32)
_ADDRESS_PAD = bytes(12)
_PADDING = [bytes(k) for k in range(32)]


def encoded_call_size(data_len: int) -> int:
    """Bytes one call adds to aggregate3 calldata: its offset word, four tuple words, padded data."""
    return 5 * 32 + -(-data_len // 32) * 32


def encode_aggregate3(calls: Sequence[tuple[bytes, bool, bytes]]) -> bytes:
    """Calldata for ``aggregate3(calls)``; each call is (20-byte target, allowFailure, callData)."""
    n = len(calls)
    heads: list[bytes] = []
    tails: list[bytes] = []
    offset = 32 * n
    # The four words before a call's data depend only on (target, allowFailure, length): a
    # scan's calls share a few dozen of them, so each is built once per chunk.
    prefixes: dict[tuple[bytes, bool, int], bytes] = {}
    for target, allow_failure, data in calls:
        length = len(data)
        prefix = prefixes.get((target, allow_failure, length))
        if prefix is None:
            if len(target) != 20:
                raise ValueError(f"target must be 20 bytes, got {len(target)}")
            flag = _ALLOW_FAILURE if allow_failure else _DENY_FAILURE
            prefix = _ADDRESS_PAD + target + flag + _WORD_0X60 + length.to_bytes(32, "big")
            prefixes[target, allow_failure, length] = prefix
        pad = -length % 32
        heads.append(offset.to_bytes(32, "big"))
        tails += (prefix, data, _PADDING[pad])
        offset += 128 + length + pad
    return b"".join((AGGREGATE3_SELECTOR, _WORD_0X20, n.to_bytes(32, "big"), *heads, *tails))


def decode_aggregate3(data: bytes) -> list[tuple[bool, bytes]]:
    """Decode ``aggregate3``'s ``(bool success, bytes returnData)[]``; raise ``ValueError`` on
    any malformed offset, length or flag.

    Written out inline (no helper per word): this loop runs once per call of a scan.
    """
    size = len(data)
    word = int.from_bytes
    if size < 32:
        raise ValueError(f"answer of {size} bytes has no array offset")
    array = word(data[:32], "big")
    if array + 32 > size:
        raise ValueError(f"array offset {array} is past the end ({size} bytes)")
    n = word(data[array : array + 32], "big")
    base = array + 32
    if n > (size - base) // 32:
        raise ValueError(f"array length {n} does not fit {size} bytes")
    out: list[tuple[bool, bytes]] = []
    for head in range(base, base + 32 * n, 32):
        at = base + word(data[head : head + 32], "big")  # the tuple: success, offset of returnData
        if at + 64 > size:
            raise ValueError(f"result {len(out)} starts past the end")
        success = word(data[at : at + 32], "big")
        if success > 1:
            raise ValueError(f"success flag of result {len(out)} is {success}")
        start = at + word(data[at + 32 : at + 64], "big")
        if start + 32 > size:
            raise ValueError(f"returnData of result {len(out)} starts past the end")
        end = start + 32 + word(data[start : start + 32], "big")
        if end > size:
            raise ValueError(f"returnData of result {len(out)} runs past the end")
        out.append((success == 1, data[start + 32 : end]))
    return out
