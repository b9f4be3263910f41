"""Every indexer fed hostile contract answers: no exception leaves it, every failed read is a
named `missing` row, and the rows it does produce fit the snapshot's schema.

The chain is replaced at the one seam indexers read through, `ScanContext.calls` (and `logs`,
which answers well-formed events as the protocols' own contracts emit them): each contract
answer is drawn by hypothesis from reverts, no data, short, one word (small, address-sized,
huge), several words and random bytes — what permissionless tokens, oracles and fallbacks answer
on mainnet. The decoders the indexers use are fuzzed on their own at the end.
"""

from __future__ import annotations

import asyncio
from typing import Any

from eth_abi import encode as abi_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopscan.chains import Deployments
from loopscan.model import to_frame
from loopscan.protocols.aave_v3 import indexer as aave_v3
from loopscan.protocols.aave_v3.config import decode_emode_category, decode_reserve_data, decode_string
from loopscan.protocols.aave_v3.indexer import AaveV3Indexer
from loopscan.protocols.base import ScanContext
from loopscan.protocols.erc4626.indexer import VaultIndexer
from loopscan.protocols.gearbox.indexer import GearboxIndexer
from loopscan.protocols.holdings import complete_vaults
from loopscan.protocols.metamorpho import indexer as metamorpho
from loopscan.protocols.metamorpho.indexer import MetaMorphoIndexer
from loopscan.protocols.morpho_blue import indexer as morpho_blue
from loopscan.protocols.morpho_blue.indexer import MorphoBlueIndexer
from loopscan.protocols.price_sources import PROBES, probe_from_answers
from loopscan.protocols.tokens import GETTERS, TokenIndexer, classify, decode_decimals, decode_text
from loopscan.protocols.uniswap_v3 import indexer as uniswap_v3
from loopscan.protocols.uniswap_v3.indexer import UniswapV3Indexer
from loopscan.rpc import BlockPin, Call, CallResult

EXAMPLES = 150

_word_values = st.one_of(st.integers(0, 3), st.integers(0, 2**160 - 1), st.integers(0, 2**256 - 1), st.just(2**255))
_word = _word_values.map(lambda v: v.to_bytes(32, "big"))


def _ok(data: bytes) -> CallResult:
    return CallResult(True, data)


answers = st.one_of(
    st.just(CallResult(False, b"", "reverted without data")),
    st.just(CallResult(True, b"")),
    st.binary(min_size=1, max_size=31).map(_ok),
    _word.map(_ok),
    st.lists(_word, min_size=2, max_size=16).map(lambda ws: _ok(b"".join(ws))),
    st.lists(_word, min_size=15, max_size=15).map(lambda ws: _ok(b"".join(ws))),  # getReserveData's size
    st.lists(st.integers(1, 2**160 - 1), min_size=1, max_size=3).map(
        lambda xs: _ok(abi_encode(["address[]"], [[x.to_bytes(20, "big") for x in xs]]))
    ),  # a reserves list
    st.binary(max_size=300).map(_ok),
)


def _topic(value: int | str) -> str:
    return "0x" + (value if isinstance(value, str) else hex(value)[2:]).rjust(64, "0")


def _address(n: int) -> str:
    return "0x" + hex(n)[2:].rjust(40, "0")


class HostileContext(ScanContext):
    """A ScanContext whose contracts answer from a drawn pool of hostile answers."""

    def __init__(self, pool: list[CallResult], shift: int) -> None:
        super().__init__(client=None, pin=BlockPin(100, "0x" + "ab" * 32), timestamp=1_800_000_000,  # type: ignore[arg-type]
                         deployments=Deployments(chain="test", chain_id=1, contracts=(), source="test"))  # fmt: skip
        self.pool, self.shift, self.asked = pool, shift, 0

    async def calls(self, calls: list[Call]) -> list[CallResult]:
        start = self.asked * self.shift
        self.asked += 1
        return [self.pool[(start + i) % len(self.pool)] for i in range(len(calls))]

    async def logs(self, address: Any, topics: list[Any], from_block: int | None) -> list[dict]:
        first = topics[0] if isinstance(topics[0], str) else topics[0][0]
        addresses = [address] if isinstance(address, str) else list(address)
        log = lambda topics, data=b"", at=addresses[0]: {  # noqa: E731
            "address": at, "topics": topics, "data": "0x" + data.hex(), "blockNumber": "0x1", "logIndex": "0x0"}
        if first == morpho_blue.CREATE_MARKET:
            market = lambda oracle: log([first, _topic(oracle + 7)],  # noqa: E731
                                        abi_encode(["address"] * 4 + ["uint256"], [_address(1), _address(2), _address(oracle), _address(4), 86 * 10**16]))  # fmt: skip
            return [market(0xAA), market(0)]  # an oracle and an idle market (oracle address(0))
        if first == morpho_blue.SUPPLY:
            return [log([morpho_blue.BORROW, _topic(0xAA + 7), _topic(5), _topic(6)])]
        if first == metamorpho.CREATE_METAMORPHO:
            return [log([first, _topic(0xBEEF)])]
        if first == aave_v3.SUPPLY:
            return [log([first, _topic(1), _topic(9)])]
        if first == aave_v3.TRANSFER:
            return [log([first, _topic(0), _topic(9)], at=a) for a in addresses]
        if first == uniswap_v3.POOL_CREATED:
            return [log([first, _topic(1), _topic(2), _topic(10_000)], abi_encode(["int24", "address"], [200, _address(0xCAFE)]))]
        raise AssertionError(f"no log fixture for topic {first}")


INDEXERS = {
    "morpho_blue": lambda: MorphoBlueIndexer(_address(0x40), 0),
    "metamorpho": lambda: MetaMorphoIndexer([(_address(0x41), 0)]),
    "aave_v3": lambda: AaveV3Indexer(_address(0x42), 0),
    "vaults": lambda: VaultIndexer([(_address(0x43), "erc4626", (_address(0x44),)), (_address(0x45), "backed", ())]),
    "tokens": lambda: TokenIndexer([_address(1), _address(2), _address(0xAA)]),
    "uniswap_v3": lambda: UniswapV3Indexer(_address(0x46), 0),
    "gearbox": lambda: GearboxIndexer(_address(0x47)),
}


def _run(name: str, pool: list[CallResult], shift: int) -> None:
    ctx = HostileContext(pool, shift)
    indexer = INDEXERS[name]()
    rows = indexer.transform(asyncio.run(indexer.fetch(ctx)), ctx.block)
    if "vaults" in rows:  # as the scanner completes them
        rows["vaults"] = complete_vaults(rows["vaults"], rows.get("holdings", []))
    for table, table_rows in rows.items():
        to_frame(table, table_rows)  # the schema's types and ranges
    for miss in ctx.missing:
        assert miss["kind"] and miss["method"] and miss["reason"] and miss["block"] == ctx.block
    if ctx.missing:
        to_frame("missing", ctx.missing)


def _indexer_test(name: str):
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(answers, min_size=1, max_size=12), st.integers(0, 7))
    def test(pool: list[CallResult], shift: int) -> None:
        _run(name, pool, shift)

    test.__name__ = f"test_{name}_survives_hostile_answers"
    return test


test_morpho_blue_survives_hostile_answers = _indexer_test("morpho_blue")
test_metamorpho_survives_hostile_answers = _indexer_test("metamorpho")
test_aave_v3_survives_hostile_answers = _indexer_test("aave_v3")
test_vaults_survive_hostile_answers = _indexer_test("vaults")
test_tokens_survive_hostile_answers = _indexer_test("tokens")
test_uniswap_v3_survives_hostile_answers = _indexer_test("uniswap_v3")
test_gearbox_survives_hostile_answers = _indexer_test("gearbox")


# -- the indexers' own decode helpers ---------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(answers)
def test_token_decoders_take_any_answer(result: CallResult) -> None:
    text = decode_text(result)
    assert text is None or (isinstance(text, str) and len(text) <= 256)
    decimals, why = decode_decimals(result)
    assert (decimals is None) != (why is None)
    assert decimals is None or 0 <= decimals <= 255


@settings(max_examples=400, deadline=None)
@given(st.lists(answers, min_size=len(GETTERS) + 1, max_size=len(GETTERS) + 1))
def test_token_classify_takes_any_answers(results: list[CallResult]) -> None:
    classify(dict(zip((*GETTERS, "convertToAssets(uint256)"), results)))


@settings(max_examples=400, deadline=None)
@given(answers)
def test_aave_decoders_raise_only_their_documented_errors(result: CallResult) -> None:
    data = result.return_data
    assert decode_string(data) is None or isinstance(decode_string(data), str)
    try:
        decode_reserve_data(data)
    except ValueError:
        pass
    try:
        decode_emode_category(data)
    except Exception as exc:  # the indexer catches exactly these two
        from eth_abi.exceptions import DecodingError

        assert isinstance(exc, DecodingError | OverflowError), repr(exc)


@settings(max_examples=400, deadline=None)
@given(st.lists(answers, min_size=len(PROBES), max_size=len(PROBES)))
def test_aave_source_probe_takes_any_answers(results: list[CallResult]) -> None:
    probe_from_answers(dict(zip(PROBES, results, strict=True)))


def test_a_vault_share_with_78_decimals_is_a_miss_not_a_crash() -> None:
    """Found by the property test above: one share, 10**78, does not fit convertToAssets' uint256."""
    word = CallResult(True, (78).to_bytes(32, "big"))  # decimals() 78; asset() the address 0x…4e
    ctx = HostileContext([word], 0)
    TokenIndexer([_address(1)]).transform(asyncio.run(TokenIndexer([_address(1)]).fetch(ctx)), ctx.block)
    assert [(m["method"], m["reason"]) for m in ctx.missing] == [
        ("convertToAssets(uint256)", "decimals 78: one share (10**78) is no uint256")
    ]
