"""The hand-rolled aggregate3 codec against eth_abi on random inputs, and on anvil's own answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from loopscan.rpc.abi import decode_revert
from loopscan.rpc.aggregate3 import (
    AGGREGATE3_SELECTOR,
    decode_aggregate3,
    encode_aggregate3,
    encoded_call_size,
)

ANSWERS = json.loads((Path(__file__).parent / "data/anvil_answers.json").read_text())

calls = st.lists(st.tuples(st.binary(min_size=20, max_size=20), st.booleans(), st.binary(max_size=200)), max_size=40)
results = st.lists(st.tuples(st.booleans(), st.binary(max_size=200)), max_size=40)


@settings(max_examples=300)
@given(calls)
def test_encode_matches_eth_abi(batch: list[tuple[bytes, bool, bytes]]) -> None:
    assert encode_aggregate3(batch) == AGGREGATE3_SELECTOR + encode(["(address,bool,bytes)[]"], [batch])


@settings(max_examples=300)
@given(results)
def test_decode_matches_eth_abi(answer: list[tuple[bool, bytes]]) -> None:
    assert decode_aggregate3(encode(["(bool,bytes)[]"], [answer])) == answer


@given(results.filter(bool), st.integers(min_value=33, max_value=500))
def test_decode_refuses_a_truncated_answer(answer: list[tuple[bool, bytes]], cut: int) -> None:
    data = encode(["(bool,bytes)[]"], [answer])
    with pytest.raises(ValueError):
        decode_aggregate3(data[: max(0, len(data) - cut)])


@given(calls)
def test_encoded_call_size_adds_up(batch: list[tuple[bytes, bool, bytes]]) -> None:
    assert len(encode_aggregate3(batch)) == 4 + 64 + sum(encoded_call_size(len(d)) for _, _, d in batch)


def test_decode_refuses_bad_flags_and_offsets() -> None:
    good = encode(["(bool,bytes)[]"], [[(True, b"x")]])
    bad_flag = bytearray(good)
    bad_flag[32 * 3 + 31] = 2  # the success word of the only result
    with pytest.raises(ValueError, match="success flag"):
        decode_aggregate3(bytes(bad_flag))
    huge_length = good[:32] + (2**64).to_bytes(32, "big") + good[64:]
    with pytest.raises(ValueError, match="array length"):
        decode_aggregate3(huge_length)
    with pytest.raises(ValueError):
        decode_aggregate3(b"")


def test_encode_refuses_a_short_target() -> None:
    with pytest.raises(ValueError):
        encode_aggregate3([(b"\x01" * 19, True, b"")])


def test_recorded_anvil_answer() -> None:
    record = ANSWERS["aggregate3"]
    recorded_calls = [(bytes.fromhex(t[2:]), True, bytes.fromhex(d[2:])) for t, d in record["calls"]]
    assert record["request"]["params"][0]["data"] == "0x" + encode_aggregate3(recorded_calls).hex()
    decoded = decode_aggregate3(bytes.fromhex(record["answer"]["result"][2:]))
    assert [ok for ok, _ in decoded] == [True, False, False, False, True]
    assert decoded[0][1] == b"loopscan"
    assert [decode_revert(data) for _, data in decoded[1:4]] == [
        "insufficient collateral",
        "Panic(0x12): division or modulo by zero",
        "reverted without data",
    ]
    assert decoded[4][1] == (7).to_bytes(32, "big")


@given(st.binary(max_size=400))
def test_decode_of_any_bytes_is_a_list_or_value_error(data: bytes) -> None:
    try:
        decoded = decode_aggregate3(data)
    except ValueError:
        return
    assert all(isinstance(ok, bool) and isinstance(out, bytes) for ok, out in decoded)
