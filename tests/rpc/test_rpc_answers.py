"""Every decoder in loopscan.rpc fed random, truncated and oversized answers.

The property each time: a decoder returns exactly what eth_abi (the peer) reads from a valid
answer, and for anything else raises its one documented error — ``InvalidAnswer`` for contract
answers, ``ValueError`` for aggregate3 (which ``multicall`` turns into ``BadResponse``) — or,
for ``decode_revert``, always returns text. Never a silently wrong value, never another
exception.
"""

from __future__ import annotations

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from hypothesis import given, settings
from hypothesis import strategies as st

from loopscan.rpc import (
    CallResult,
    InvalidAnswer,
    decode_address,
    decode_aggregate3,
    decode_answer,
    decode_answers,
    decode_bool,
    decode_int,
    decode_revert,
    decode_static,
    decode_uint,
    encode_aggregate3,
    encode_call,
    encode_calls,
)

EXAMPLES = 400
CONTRACT = "0x00000000000000000000000000000000000000aa"

TYPES = ["uint8", "uint24", "uint64", "uint128", "uint160", "uint184", "uint256",
         "int24", "int56", "int128", "int256", "address", "bool", "bytes32"]  # fmt: skip


def _value(abi_type: str) -> st.SearchStrategy:
    """Valid values of one static type, as eth_abi encodes and decodes them."""
    if abi_type == "address":
        return st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
    if abi_type == "bool":
        return st.booleans()
    if abi_type == "bytes32":
        return st.binary(min_size=32, max_size=32)
    bits = int(abi_type.lstrip("uint") or 256)
    if abi_type.startswith("u"):
        return st.integers(0, 2**bits - 1)
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


@st.composite
def typed_answers(draw: st.DrawFn) -> tuple[list[str], list, bytes]:
    types = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=8))
    values = [draw(_value(t)) for t in types]
    return types, values, abi_encode(types, values)


def _normal(value):
    return value.lower() if isinstance(value, str) else value


@settings(max_examples=EXAMPLES, deadline=None)
@given(typed_answers())
def test_decode_static_reads_what_eth_abi_reads(case) -> None:
    types, values, data = case
    assert [_normal(v) for v in decode_static(data, types)] == [_normal(v) for v in values]
    assert [_normal(v) for v in abi_decode(types, data)] == [_normal(v) for v in values]


@settings(max_examples=EXAMPLES, deadline=None)
@given(typed_answers(), st.data())
def test_a_truncated_answer_is_invalid(case, data) -> None:
    types, _, encoded = case
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(InvalidAnswer, match="no data|short of"):
        decode_static(encoded[:cut], types)


@settings(max_examples=EXAMPLES, deadline=None)
@given(typed_answers(), st.binary(min_size=1, max_size=200))
def test_an_oversized_answer_is_invalid(case, extra: bytes) -> None:
    types, _, encoded = case
    with pytest.raises(InvalidAnswer, match="more than"):
        decode_static(encoded + extra, types)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.sampled_from(TYPES), min_size=1, max_size=4), st.data())
def test_random_bytes_decode_in_range_or_are_invalid(types: list[str], data) -> None:
    exact = st.binary(min_size=32 * len(types), max_size=32 * len(types))
    raw = data.draw(exact | st.binary(max_size=200))
    try:
        got = decode_static(raw, types)
    except InvalidAnswer as exc:
        assert exc.reason
        return
    # Accepted: eth_abi (strict: range and padding checked) reads the same values.
    assert [_normal(v) for v in got] == [_normal(v) for v in abi_decode(types, raw)]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.sampled_from(["uint8", "uint128", "int24", "int128", "address", "bool"]))
def test_a_word_out_of_range_is_invalid_and_says_so(word: bytes, abi_type: str) -> None:
    try:
        abi_decode([abi_type], word)
    except Exception:  # eth_abi refuses it (out of range or bad padding): so must we
        with pytest.raises(InvalidAnswer, match="out of|not an address|not a bool"):
            decode_static(word, [abi_type])
    else:
        decode_static(word, [abi_type])


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=100), st.integers(0, 3))
def test_word_decoders_take_any_bytes(raw: bytes, index: int) -> None:
    for decode in (decode_uint, decode_int, decode_address, decode_bool):
        try:
            decode(raw, index)
        except InvalidAnswer as exc:
            assert exc.reason
        else:
            assert len(raw) >= 32 * (index + 1)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=300))
def test_decode_revert_always_gives_text(raw: bytes) -> None:
    assert isinstance(decode_revert(raw), str) and decode_revert(raw)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.booleans(), st.binary(max_size=100), st.sampled_from(["uint256", "address", "uint8"]))
def test_decode_answer_names_contract_method_and_reason(success: bool, raw: bytes, abi_type: str) -> None:
    result = CallResult(success, raw, None if success else "boom")
    try:
        value = decode_answer(result, CONTRACT, "price()", abi_type)
    except InvalidAnswer as exc:
        assert (exc.contract, exc.method) == (CONTRACT, "price()")
        assert str(exc) == f"price() on {CONTRACT}: {exc.reason}"
        assert exc.reason == "boom" or success
    else:
        assert success and len(raw) == 32 and _normal(value) == _normal(abi_decode([abi_type], raw)[0])


def test_decode_answer_reasons_worked_by_hand() -> None:
    def reason(result: CallResult, types="uint256") -> str:
        with pytest.raises(InvalidAnswer) as caught:
            decode_answer(result, CONTRACT, "price()", types)
        return caught.value.reason

    assert reason(CallResult(True, b"")) == "answered no data (no code at that address, or a fallback)"
    assert reason(CallResult(True, bytes(31))) == "answered 31 bytes, short of the 32 expected"
    assert reason(CallResult(True, bytes(33))) == "answered 33 bytes, more than the 32 expected"
    assert reason(CallResult(False, b"", "reverted without data")) == "reverted without data"
    assert reason(CallResult(True, (256).to_bytes(32, "big")), "uint8") == "word 0 = 256 is out of uint8's range"
    assert reason(CallResult(True, b"\x01" * 32), "address") == "word 0 is not an address: 0x" + "01" * 32
    assert decode_answer(CallResult(True, (7).to_bytes(32, "big")), CONTRACT, "price()", "uint256") == 7


# -- same-shape answers as one batch: decode_answer's values and reasons, answer for answer ------

INT_TYPES = [t for t in TYPES if "int" in t]


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[str], list[CallResult]]:
    """Answers of one integer layout: valid ones, words out of range, wrong sizes, reverts."""
    types = draw(st.lists(st.sampled_from(INT_TYPES), min_size=1, max_size=3))
    size = 32 * len(types)
    answer = st.one_of(
        st.tuples(*(_value(t) for t in types)).map(lambda v: CallResult(True, abi_encode(types, list(v)))),
        st.binary(min_size=size, max_size=size).map(lambda b: CallResult(True, b)),  # often out of range
        st.binary(max_size=size + 40).map(lambda b: CallResult(True, b)),
        st.binary(max_size=40).map(lambda b: CallResult(False, b, decode_revert(b))),
    )
    return types, draw(st.lists(answer, max_size=12))


@settings(max_examples=EXAMPLES, deadline=None)
@given(batches(), st.booleans())
def test_decode_answers_is_decode_answer_answer_by_answer(case, one_type: bool) -> None:
    types, results = case
    kind = types[0] if one_type else types
    if one_type:
        results = [r if len(r.return_data) != 32 * len(types) else CallResult(r.success, r.return_data[:32], r.reason)
                   for r in results]  # fmt: skip
    contracts = [f"0x{i:040x}" for i in range(len(results))]
    values, reasons = decode_answers(results, contracts, "get()", kind)
    for i, result in enumerate(results):
        try:
            expected = decode_answer(result, contracts[i], "get()", kind)
        except InvalidAnswer as exc:
            assert values[i] is None and reasons[i] == exc.reason
        else:
            assert values[i] == expected and i not in reasons


def test_decode_answers_worked_by_hand() -> None:
    word = (5).to_bytes(32, "big")
    results = [CallResult(True, word + word), CallResult(True, word), CallResult(False, b"", "boom"),
               CallResult(True, (2**128).to_bytes(32, "big") + word)]  # fmt: skip
    values, reasons = decode_answers(results, [CONTRACT] * 4, "position()", ("uint128", "uint256"))
    assert values == [(5, 5), None, None, None]
    assert reasons == {1: "answered 32 bytes, short of the 64 expected", 2: "boom",
                       3: "word 0 = 340282366920938463463374607431768211456 is out of uint128's range"}  # fmt: skip


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
                          st.integers(0, 2**256 - 1), st.booleans()), max_size=10))  # fmt: skip
def test_encode_calls_is_encode_call_row_by_row(rows) -> None:
    signature = "f(address,uint256,bool)"
    assert encode_calls(signature, rows) == [encode_call(signature, *row) for row in rows]


# -- aggregate3: malformed answers are an error or the exact original, never something else -----

results = st.lists(st.tuples(st.booleans(), st.binary(max_size=80)), max_size=8)


def _encode_results(items: list[tuple[bool, bytes]]) -> bytes:
    return abi_encode(["(bool,bytes)[]"], [items])


@settings(max_examples=EXAMPLES, deadline=None)
@given(results, st.data())
def test_aggregate3_truncated_is_an_error_or_the_original(items, data) -> None:
    encoded = _encode_results(items)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    try:
        got = decode_aggregate3(encoded[:cut])
    except ValueError:
        return
    assert got == items  # only padding was cut


@settings(max_examples=EXAMPLES, deadline=None)
@given(results, st.binary(min_size=1, max_size=200))
def test_aggregate3_oversized_reads_the_original(items, extra: bytes) -> None:
    assert decode_aggregate3(_encode_results(items) + extra) == items


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=400))
def test_aggregate3_random_bytes_decode_or_raise_value_error(raw: bytes) -> None:
    try:
        got = decode_aggregate3(raw)
    except ValueError:
        return
    assert all(isinstance(ok, bool) and isinstance(data, bytes) for ok, data in got)


def test_aggregate3_calldata_round_trips_through_eth_abi() -> None:
    calls = [(b"\x11" * 20, True, b"\x01\x02"), (b"\x22" * 20, False, b"")]
    (decoded,) = abi_decode(["(address,bool,bytes)[]"], encode_aggregate3(calls)[4:])
    assert [(bytes.fromhex(a[2:]), f, d) for a, f, d in decoded] == calls
