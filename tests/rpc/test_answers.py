"""Decoding one eth_call answer of any ABI type: answers encoded with eth_abi by the test."""

from __future__ import annotations

from eth_abi import encode

from loopscan.rpc import CallResult, answer_value, failure_reason

A = "0x" + "ab" * 20


def test_structs_arrays_and_several_return_values():
    assert answer_value(CallResult(True, encode(["address"], [A])), "address") == A  # lowercase, not checksummed
    assert answer_value(CallResult(True, encode(["(uint64,int104)"], [(5, -7)])), "(uint64,int104)") == (5, -7)
    assert answer_value(CallResult(True, encode(["uint256[]"], [[1, 2, 3]])), "uint256[]") == (1, 2, 3)
    # `returns (address[], uint256[], uint256)` is encoded unwrapped: decoded as a list of types...
    several = encode(["address[]", "uint256[]", "uint256"], [[A], [9], 4])
    got = answer_value(CallResult(True, several), ["address[]", "uint256[]", "uint256"])
    assert [a.lower() for a in got[0]] == [A] and got[1:] == ((9,), 4)
    # ...and not as one dynamic struct, whose encoding starts with an offset
    assert answer_value(CallResult(True, several), "(address[],uint256[],uint256)") is None


def test_failures_and_malformed_answers_are_none_with_a_reason():
    assert answer_value(CallResult(False, b"", "execution reverted: BadPrice()"), "uint256") is None
    assert failure_reason(CallResult(False, b"", "execution reverted: BadPrice()")) == "execution reverted: BadPrice()"
    assert answer_value(CallResult(True, b"\x01" * 5), "uint256") is None
    assert failure_reason(CallResult(True, b"\x01" * 5)) == "answered 5 bytes that do not decode"
    assert answer_value(CallResult(True, b""), "uint256") is None
    assert failure_reason(CallResult(True, b"")) == "answered no data"
