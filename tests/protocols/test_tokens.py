"""Token metadata and kinds: literal answers worked by hand, recorded devnet answers, then the
real tokens (ScenarioToken, the vaults, MetaMorpho, Aave's a/debt tokens) on the devnet.

`data/tokens_devnet_answers.json` holds `fetch_tokens`' raw answers for every token of the
stream-2025 and susde-aave-loop scenarios (label -> getter -> [success, hex, reason]); it was
recorded from the devnet with `fetch_tokens` and only feeds the pure `token_rows`/`classify`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scan_helpers import devnet_context

from loopscan.devnet.build import Artifacts
from loopscan.model import to_frame
from loopscan.protocols.tokens import (
    MAX_TEXT,
    TokenIndexer,
    classify,
    decode_decimals,
    decode_text,
    fetch_tokens,
    token_rows,
)
from loopscan.rpc import CallResult

DATA = Path(__file__).parent / "data" / "tokens_devnet_answers.json"
FAIL = CallResult(False, b"", "reverted without data")


def ok(data: bytes) -> CallResult:
    return CallResult(True, data)


def word(value: int) -> CallResult:
    return ok(value.to_bytes(32, "big"))


def addr(byte: str) -> CallResult:
    return ok(bytes(12) + bytes.fromhex(byte * 20))


def abi_string(raw: bytes) -> CallResult:
    padded = raw + bytes(-len(raw) % 32)
    return ok((32).to_bytes(32, "big") + len(raw).to_bytes(32, "big") + padded)


# -- decode_text -------------------------------------------------------------------------------


def test_bytes32_symbol_and_name_are_stripped_of_nul_padding():
    assert decode_text(ok(b"MKR".ljust(32, b"\0"))) == "MKR"
    assert decode_text(ok(b"Maker".ljust(32, b"\0"))) == "Maker"
    assert decode_text(ok(b"A" * 32)) == "A" * 32  # a full bytes32, no padding
    assert decode_text(ok(bytes(32))) == ""


def test_abi_string():
    assert decode_text(abi_string(b"USD Coin")) == "USD Coin"
    assert decode_text(abi_string(b"")) == ""
    assert decode_text(abi_string("Ünïcödé €".encode())) == "Ünïcödé €"
    exact = "x" * 40  # longer than one word
    assert decode_text(abi_string(exact.encode())) == exact


def test_invalid_utf8_is_replaced_not_raised():
    assert decode_text(abi_string(b"\xff\xfeUSD\xc3")) == "\ufffd\ufffdUSD\ufffd"
    assert decode_text(ok(b"\x80MKR".ljust(32, b"\0"))) == "\ufffdMKR"


def test_text_is_stored_as_read_but_capped():
    hostile = "<img src=x onerror=alert(1)>\x1b[31m\u202e\0end"
    assert decode_text(abi_string(hostile.encode())) == hostile
    assert decode_text(abi_string(b"y" * 10_000)) == "y" * MAX_TEXT
    assert decode_text(abi_string("€".encode() * 1000)) == "€" * MAX_TEXT


def test_unreadable_text_is_none():
    assert decode_text(None) is None
    assert decode_text(FAIL) is None
    assert decode_text(ok(b"")) is None  # no code at the address
    assert decode_text(ok(bytes(31))) is None
    assert decode_text(ok(bytes(33))) is None  # neither bytes32 nor an ABI string
    assert decode_text(ok((2**255).to_bytes(32, "big") + bytes(32))) is None  # offset out of range
    assert decode_text(ok((32).to_bytes(32, "big") + (2**200).to_bytes(32, "big"))) is None  # length too long
    assert decode_text(ok((32).to_bytes(32, "big") + (5).to_bytes(32, "big") + b"abc")) is None  # truncated


def test_decode_decimals():
    assert decode_decimals(word(6)) == (6, None)
    assert decode_decimals(word(0)) == (0, None)
    assert decode_decimals(word(255)) == (255, None)
    assert decode_decimals(word(256))[0] is None
    assert decode_decimals(ok(b"\x12")) == (None, "answered 1 bytes, short of the 32 expected")
    assert decode_decimals(ok(bytes(64))) == (None, "answered 64 bytes, more than the 32 expected")
    assert decode_decimals(word(256)) == (None, "word 0 = 256 is out of uint8's range")
    assert decode_decimals(ok(b""))[0] is None
    assert decode_decimals(CallResult(False, b"", "boom")) == (None, "boom")
    assert decode_decimals(None)[0] is None


# -- classify ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answers, kind",
    [
        ({}, "base"),
        ({"asset()": addr("11"), "convertToAssets(uint256)": word(10**6)}, "vault_share"),
        ({"asset()": addr("11"), "convertToAssets(uint256)": FAIL}, "base"),  # asset() alone is not 4626
        ({"asset()": addr("11")}, "base"),
        ({"asset()": addr("00"), "convertToAssets(uint256)": word(1)}, "base"),  # zero address
        ({"asset()": ok(b"MKR".ljust(32, b"\0")), "convertToAssets(uint256)": word(1)}, "base"),  # not an address
        ({"UNDERLYING_ASSET_ADDRESS()": addr("11"), "POOL()": addr("22"), "RESERVE_TREASURY_ADDRESS()": addr("33")},
         "lending_receipt"),
        ({"UNDERLYING_ASSET_ADDRESS()": addr("11"), "POOL()": addr("22"), "borrowAllowance(address,address)": word(0)},
         "debt"),
        ({"UNDERLYING_ASSET_ADDRESS()": addr("11"), "POOL()": addr("22")}, "base"),
        ({"token0()": addr("11"), "token1()": addr("22"), "getReserves()": ok(bytes(96))}, "lp"),
        ({"token0()": addr("11"), "token1()": addr("22")}, "base"),  # a Uniswap v3 pool, not an LP token
        ({"SY()": addr("11"), "YT()": addr("22"), "expiry()": word(1_750_000_000)}, "pt"),
        ({"SY()": addr("11"), "YT()": addr("22"), "expiry()": word(0)}, "base"),
        ({"SY()": addr("11"), "expiry()": word(1_750_000_000)}, "base"),  # a Pendle YT: no YT()
        # An account without code answers every call with success and no data.
        ({g: ok(b"") for g in ("asset()", "convertToAssets(uint256)", "UNDERLYING_ASSET_ADDRESS()", "POOL()",
                               "RESERVE_TREASURY_ADDRESS()", "borrowAllowance(address,address)", "token0()",
                               "token1()", "getReserves()", "SY()", "expiry()", "YT()")}, "base"),
    ],
)  # fmt: skip
def test_classify_literal(answers, kind):
    assert classify(answers).value == kind


def _recorded() -> dict[str, dict]:
    data = json.loads(DATA.read_text())
    return {
        label: {"address": entry["address"], "answers": {
            g: CallResult(success, bytes.fromhex(hexdata[2:]), reason) for g, (success, hexdata, reason) in entry["answers"].items()
        }}
        for label, entry in data.items()
    }  # fmt: skip


def _expected_kind(label: str) -> str:
    name = label.split(":")[1]
    if name in ("xUSD", "sdeUSD", "cpUSDC", "sUSDe"):
        return "vault_share"
    if "Debt" in name:
        return "debt"
    if name in ("aUSDC", "aUSDT", "aUSDe", "asUSDe"):
        return "lending_receipt"
    return "base"


def test_recorded_devnet_answers():
    recorded = _recorded()
    assert len(recorded) == 21
    rows = token_rows({e["address"]: e["answers"] for e in recorded.values()}, 7)["tokens"]
    to_frame("tokens", rows)
    by_address = {r["address"]: r for r in rows}
    for label, entry in recorded.items():
        assert by_address[entry["address"]]["kind"] == _expected_kind(label), label
    assert by_address[recorded["stream:USDC"]["address"]]["decimals"] == 6
    assert by_address[recorded["susde:variableDebtUSDT"]["address"]]["symbol"] == "variableDebtUSDT"


def test_token_rows_leave_out_a_token_without_decimals():
    raw = {"0x" + "11" * 20: {"symbol()": abi_string(b"OK"), "decimals()": word(18)},
           "0x" + "22" * 20: {"symbol()": abi_string(b"BAD"), "decimals()": FAIL},
           "0x" + "33" * 20: {"symbol()": FAIL, "name()": ok(b""), "decimals()": word(8)}}  # fmt: skip
    rows = token_rows(raw, 5)["tokens"]
    assert [(r["address"][2:4], r["symbol"], r["name"], r["decimals"], r["kind"]) for r in rows] == [
        ("11", "OK", None, 18, "base"),
        ("33", None, None, 8, "base"),
    ]
    to_frame("tokens", rows)


# -- devnet ------------------------------------------------------------------------------------


async def _read(net, addresses, block=None, rounds=None):
    async with devnet_context(net, block) as ctx:
        if rounds is not None:
            calls = ctx.calls

            async def counted(batch):
                rounds.append(len(batch))
                return await calls(batch)

            ctx.calls = counted
        rows = token_rows(await fetch_tokens(ctx, addresses), ctx.block)["tokens"]
    to_frame("tokens", rows)
    if ctx.missing:
        to_frame("missing", ctx.missing)
    return {r["address"]: r for r in rows}, ctx.missing


@pytest.mark.devnet
async def test_stream_tokens(stream):
    tokens = stream.manifest["tokens"]
    rounds: list[int] = []
    rows, missing = await _read(stream, [t["address"] for t in tokens.values()], rounds=rounds)
    assert missing == []
    assert rounds == [14 * 5, 3]  # every getter of every token, then convertToAssets of the three vaults
    expected = {"USDC": "base", "xUSD": "vault_share", "sdeUSD": "vault_share", "cpUSDC": "vault_share", "deUSD": "base"}
    assert {tid: rows[t["address"].lower()]["kind"] for tid, t in tokens.items()} == expected
    for tid, t in tokens.items():
        row = rows[t["address"].lower()]
        assert (row["symbol"], row["name"], row["decimals"]) == (t["symbol"], t["name"], t["decimals"]), tid
        assert row["block"] == stream.manifest["block"]
    assert rows[tokens["USDC"]["address"].lower()]["decimals"] == 6


@pytest.mark.devnet
async def test_aave_tokens(susde):
    reserves = susde.manifest["aave_reserves"]
    a_tokens = [r["a_token"] for r in reserves.values()]
    debt_tokens = [r["variable_debt_token"] for r in reserves.values()] + [r["stable_debt_token"] for r in reserves.values()]
    base = [susde.manifest["tokens"][t]["address"] for t in ("USDC", "USDT", "USDe")]
    vault = susde.manifest["tokens"]["sUSDe"]["address"]
    indexer = TokenIndexer(a_tokens + debt_tokens + base + [vault])
    async with devnet_context(susde) as ctx:
        rows = {r["address"]: r for r in indexer.transform(await indexer.fetch(ctx), ctx.block)["tokens"]}
    assert ctx.missing == []
    kinds = {a.lower(): rows[a.lower()]["kind"] for a in a_tokens + debt_tokens + base + [vault]}
    assert kinds == {**{a.lower(): "lending_receipt" for a in a_tokens}, **{d.lower(): "debt" for d in debt_tokens},
                     **{b.lower(): "base" for b in base}, vault.lower(): "vault_share"}  # fmt: skip
    for asset, r in reserves.items():
        decimals = susde.manifest["tokens"][asset]["decimals"]
        assert (rows[r["a_token"].lower()]["symbol"], rows[r["a_token"].lower()]["decimals"]) == (f"a{asset}", decimals)
        assert rows[r["variable_debt_token"].lower()]["symbol"] == f"variableDebt{asset}"


@pytest.mark.devnet
async def test_decimals_that_revert_or_are_absent_make_a_missing_row(stream):
    reverter, no_code = "0x" + "de" * 20, "0x" + "12" * 20
    stream.node.rpc("anvil_setCode", [reverter, "0x5f5ffd"])  # revert(0, 0) on every call
    usdc = stream.manifest["tokens"]["USDC"]["address"].lower()
    block = stream.chain.w3.eth.block_number
    rows, missing = await _read(stream, [reverter, no_code, usdc], block)
    assert list(rows) == [usdc]
    assert [(m["kind"], m["address"], m["method"], m["block"]) for m in missing] == [
        ("token", no_code, "decimals()", block),
        ("token", reverter, "decimals()", block),
    ]
    assert missing[1]["reason"] == "reverted without data"
    assert "no code" in missing[0]["reason"]


# A contract answering `decimals()` with 18 and every other call with bytes32 "MKR" (how MKR and
# SAI answer symbol() and name()):
#   selector == decimals() ? return 18 : return "MKR" as bytes32
_MKR_WORD = b"MKR".ljust(32, b"\0").hex()
_MKR_CODE = (
    "0x5f3560e01c63313ce56714603557"  # if (calldata[0:4] == decimals()) goto 0x35
    "7f" + _MKR_WORD + "5f5260205ff3"  # mstore(0, word); return(0, 32)
    "5b60125f5260205ff3"  # 0x35: mstore(0, 18); return(0, 32)
)


@pytest.mark.devnet
async def test_bytes32_symbol_on_chain(stream):
    mkr = "0x" + "4d" * 20
    stream.node.rpc("anvil_setCode", [mkr, _MKR_CODE])
    rows, missing = await _read(stream, [mkr], stream.chain.w3.eth.block_number)
    assert missing == []
    assert {k: rows[mkr][k] for k in ("symbol", "name", "decimals", "kind")} == {
        "symbol": "MKR", "name": "MKR", "decimals": 18, "kind": "base"}  # fmt: skip


@pytest.mark.devnet
async def test_hostile_names_are_stored_exactly_as_read(stream):
    artifact = Artifacts().compiled("loopscan", "ScenarioToken")
    cases = [
        ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
        ("Red \x1b[31mUSD\x1b[0m", "\x1b[31m"),
        ("L" * 300, "\u202eDSU"),
    ]
    deployed = {stream.chain.deploy(artifact, name, symbol, 18).address.lower(): (name, symbol) for name, symbol in cases}
    rows, missing = await _read(stream, deployed, stream.chain.w3.eth.block_number)
    assert missing == []
    for address, (name, symbol) in deployed.items():
        assert (rows[address]["name"], rows[address]["symbol"]) == (name[:MAX_TEXT], symbol)
        assert rows[address]["kind"] == "base"
    assert len(rows[next(a for a, (n, _) in deployed.items() if n.startswith("L"))]["name"]) == MAX_TEXT
