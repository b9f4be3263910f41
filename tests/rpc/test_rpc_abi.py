"""The static-word ABI helpers, against eth_abi and against literal answers worked by hand."""

from __future__ import annotations

import pytest
from eth_abi import encode
from hypothesis import given
from hypothesis import strategies as st

from loopscan.rpc.abi import (
    decode_address,
    decode_bool,
    decode_int,
    decode_revert,
    decode_uint,
    encode_call,
    selector,
)

addresses = st.binary(min_size=20, max_size=20)
uint256 = st.integers(min_value=0, max_value=2**256 - 1)


def test_selector_known_values() -> None:
    assert selector("balanceOf(address)").hex() == "70a08231"
    assert selector("transfer(address,uint256)").hex() == "a9059cbb"
    assert selector("aggregate3((address,bool,bytes)[])").hex() == "82ad56cb"


@given(addresses, uint256, st.booleans(), st.binary(min_size=32, max_size=32))
def test_encode_call_matches_eth_abi(address: bytes, amount: int, flag: bool, word: bytes) -> None:
    sig = "f(address,uint256,bool,bytes32)"
    ours = encode_call(sig, "0x" + address.hex(), amount, flag, word)
    assert ours == selector(sig) + encode(["address", "uint256", "bool", "bytes32"], [address, amount, flag, word])


def test_encode_call_takes_a_selector() -> None:
    assert encode_call(bytes.fromhex("70a08231"), 1) == bytes.fromhex("70a08231") + (1).to_bytes(32, "big")


@pytest.mark.parametrize("bad", [-1, 2**256, "0x1234", b"short", 1.5])
def test_encode_call_refuses_what_is_not_a_static_word(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        encode_call("f(uint256)", bad)  # type: ignore[arg-type]


@given(st.lists(uint256, min_size=1, max_size=4))
def test_decode_uint_reads_each_word(values: list[int]) -> None:
    data = encode(["uint256"] * len(values), values)
    assert [decode_uint(data, i) for i in range(len(values))] == values


def test_decode_words_by_hand() -> None:
    data = bytes(31) + b"\x01" + b"\xff" * 32 + bytes(12) + bytes.fromhex("11" * 20)
    assert decode_bool(data, 0) is True
    assert decode_int(data, 1) == -1
    assert decode_uint(data, 1) == 2**256 - 1
    assert decode_address(data, 2) == "0x" + "11" * 20
    with pytest.raises(ValueError):
        decode_address(data, 1)
    with pytest.raises(ValueError):
        decode_bool(data, 1)
    with pytest.raises(ValueError):
        decode_uint(data, 3)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes.fromhex("08c379a0") + encode(["string"], ["insufficient collateral"]), "insufficient collateral"),
        (bytes.fromhex("08c379a0") + encode(["string"], [""]), ""),
        (bytes.fromhex("4e487b71") + (0x11).to_bytes(32, "big"), "Panic(0x11): arithmetic underflow or overflow"),
        (bytes.fromhex("4e487b71") + (0x99).to_bytes(32, "big"), "Panic(0x99): unknown panic code"),
        (bytes.fromhex("deadbeef"), "custom error 0xdeadbeef"),
        (bytes.fromhex("deadbeef") + bytes(31) + b"\x05", "custom error 0xdeadbeef 0x" + "00" * 31 + "05"),
        (b"", "reverted without data"),
        (bytes.fromhex("08c379a0") + bytes(31) + b"\x20", "custom error 0x08c379a0 0x" + "00" * 31 + "20"),
    ],
)
def test_decode_revert(data: bytes, reason: str) -> None:
    assert decode_revert(data) == reason
