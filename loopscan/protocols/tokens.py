"""Tokens: symbol, name, decimals and kind, read from the token contracts themselves.

Why the kind comes from the chain and not from the name: the pyramid is built from receipt
tokens, and a receipt named like a base asset (or a base asset named like a receipt) would put it
on the wrong floor. Each kind is recognised by getters only that kind of contract answers with the
right shape — see `classify`. Everything is read in two multicall rounds: every getter of every
token, then `convertToAssets(10**decimals)` for the tokens whose `asset()` answered.

Non-standard tokens are the rule, not the exception:

- `symbol()`/`name()` may return `bytes32` (MKR, SAI) instead of `string`: NUL padding is
  stripped. An unreadable symbol or name is null, which the schema allows.
- `decimals()` that reverts, answers nothing (no code, or a fallback) or answers more than 255
  makes the token unusable — amounts cannot be scaled and guessing 18 would be off by powers of
  ten. It becomes a `missing` row and the token row is left out.

Warning: names and symbols are attacker-controlled. They are stored exactly as read (HTML, ANSI
escapes and all; escaping is the output layer's job, see `loopscan.textsafe`), with invalid
UTF-8 replaced by U+FFFD and the length capped at `MAX_TEXT` characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from loopscan.model import ZERO_ADDRESS
from loopscan.model.schema import TokenKind
from loopscan.protocols.base import Rows, ScanContext
from loopscan.rpc import Call, CallResult, InvalidAnswer, decode_address, decode_static, decode_uint, encode_call

__all__ = [
    "MAX_TEXT",
    "TokenIndexer",
    "TokenRaw",
    "classify",
    "decode_decimals",
    "decode_text",
    "fetch_tokens",
    "token_rows",
]

MAX_TEXT = 256
_MAX_TEXT_BYTES = 4 * MAX_TEXT  # enough for MAX_TEXT characters of any UTF-8 width
CONVERT = "convertToAssets(uint256)"
# Round one: every getter of every token; `borrowAllowance` is asked for (0x0, 0x0).
GETTERS = (
    "symbol()", "name()", "decimals()",
    "asset()",  # ERC-4626, MetaMorpho
    "UNDERLYING_ASSET_ADDRESS()", "POOL()", "RESERVE_TREASURY_ADDRESS()",  # Aave aTokens
    "borrowAllowance(address,address)",  # Aave debt tokens
    "token0()", "token1()", "getReserves()",  # Uniswap v2-style LP
    "SY()", "expiry()", "YT()",  # Pendle PT (its YT answers SY() and expiry() too, but no YT())
)  # fmt: skip

TokenRaw = dict[str, dict[str, CallResult]]
"""token address -> getter signature (``GETTERS`` and ``CONVERT``) -> its answer."""


def decode_text(result: CallResult | None) -> str | None:
    """A `symbol()`/`name()` answer as text: an ABI `string`, or a NUL-padded `bytes32`.

    None when the call failed or the answer is neither shape.

    >>> decode_text(CallResult(True, b"MKR".ljust(32, b"\\0")))
    'MKR'
    """
    if result is None or not result.success:
        return None
    data = result.return_data
    if len(data) == 32:
        raw = data.rstrip(b"\0")
    elif len(data) >= 64:
        offset = decode_uint(data, 0)
        if offset + 32 > len(data):
            return None
        length = int.from_bytes(data[offset : offset + 32], "big")
        if offset + 32 + length > len(data):
            return None
        raw = data[offset + 32 : offset + 32 + length]
    else:
        return None
    return raw[:_MAX_TEXT_BYTES].decode("utf-8", errors="replace")[:MAX_TEXT]


def decode_decimals(result: CallResult | None) -> tuple[int | None, str | None]:
    """`(decimals, None)`, or `(None, why)` when the answer cannot be used.

    >>> decode_decimals(CallResult(True, (6).to_bytes(32, "big")))
    (6, None)
    """
    if result is None:
        return None, "not read"
    if not result.success:
        return None, result.reason
    try:
        return decode_static(result.return_data, ("uint8",))[0], None
    except InvalidAnswer as exc:
        return None, exc.reason


def _address(answers: Mapping[str, CallResult], getter: str) -> str | None:
    """A non-zero address if `getter` answered exactly one clean address word."""
    result = answers.get(getter)
    if result is None or not result.success or len(result.return_data) != 32:
        return None
    try:
        address = decode_address(result.return_data)
    except ValueError:
        return None
    return address if address != ZERO_ADDRESS else None


def _answered(answers: Mapping[str, CallResult], getter: str, min_bytes: int = 32) -> bool:
    result = answers.get(getter)
    return result is not None and result.success and len(result.return_data) >= min_bytes


def classify(answers: Mapping[str, CallResult]) -> TokenKind:
    """The kind of a token from its getters' answers (missing keys count as not answering).

    A getter "answers" only if it succeeds with the right shape: calls to an account without
    code succeed with no data, and a contract's fallback may succeed with anything.

    >>> word = lambda a: CallResult(True, bytes(12) + bytes.fromhex(a * 20))
    >>> classify({"asset()": word("11"), "convertToAssets(uint256)": CallResult(True, bytes(32))})
    <TokenKind.VAULT_SHARE: 'vault_share'>
    """
    if _address(answers, "asset()") and _answered(answers, CONVERT):
        return TokenKind.VAULT_SHARE
    underlying = _address(answers, "UNDERLYING_ASSET_ADDRESS()")
    if underlying and _address(answers, "POOL()") and _address(answers, "RESERVE_TREASURY_ADDRESS()"):
        return TokenKind.LENDING_RECEIPT
    if underlying and _answered(answers, "borrowAllowance(address,address)"):
        return TokenKind.DEBT
    if _address(answers, "token0()") and _address(answers, "token1()") and _answered(answers, "getReserves()", 64):
        return TokenKind.LP
    if (
        _address(answers, "SY()")
        and _address(answers, "YT()")
        and _answered(answers, "expiry()")
        and decode_uint(answers["expiry()"].return_data)
    ):
        return TokenKind.PT
    return TokenKind.BASE


async def fetch_tokens(ctx: ScanContext, addresses: Iterable[str]) -> TokenRaw:
    """Every getter of every token at the pin, in two multicall rounds.

    Tokens whose `decimals()` cannot be used are recorded with `ctx.miss` here (and left out
    by `token_rows`); they stay in the raw answers so a recording shows why.
    """
    tokens = sorted({a.lower() for a in addresses})
    calls = [Call(t, encode_call(g, ZERO_ADDRESS, ZERO_ADDRESS) if "(address" in g else encode_call(g)) for t in tokens for g in GETTERS]
    results = await ctx.calls(calls)
    raw: TokenRaw = {t: dict(zip(GETTERS, results[i * len(GETTERS) : (i + 1) * len(GETTERS)], strict=True))
                     for i, t in enumerate(tokens)}  # fmt: skip
    vaults: list[tuple[str, int]] = []
    for token, answers in raw.items():
        decimals, why = decode_decimals(answers["decimals()"])
        if decimals is None:
            ctx.miss("token", token, None, "decimals()", why)
        elif _address(answers, "asset()"):
            if decimals > 77:  # 10**decimals, convertToAssets' argument, would not fit a uint256
                ctx.miss("token", token, None, CONVERT, f"decimals {decimals}: one share (10**{decimals}) is no uint256")
            else:
                vaults.append((token, decimals))
    if vaults:
        results = await ctx.calls([Call(t, encode_call(CONVERT, 10**d)) for t, d in vaults])
        for (token, _), result in zip(vaults, results, strict=True):
            raw[token][CONVERT] = result
    ctx.progress("tokens", len(tokens))
    return raw


def token_rows(raw: TokenRaw, block: int) -> Rows:
    """`tokens` rows from the raw answers; a token without usable decimals has none."""
    rows = []
    for token, answers in raw.items():
        decimals, _ = decode_decimals(answers.get("decimals()"))
        if decimals is None:
            continue
        rows.append(
            {
                "block": block, "address": token, "symbol": decode_text(answers.get("symbol()")),
                "name": decode_text(answers.get("name()")), "decimals": decimals, "kind": classify(answers).value,
                "price": None, "price_source": None,
            }
        )  # fmt: skip
    return {"tokens": rows}


class TokenIndexer:
    """The `Indexer` form of `fetch_tokens` / `token_rows`, for a token list known up front."""

    name = "tokens"

    def __init__(self, addresses: Iterable[str]) -> None:
        self.addresses = sorted({a.lower() for a in addresses})

    async def fetch(self, ctx: ScanContext) -> TokenRaw:
        return await fetch_tokens(ctx, self.addresses)

    def transform(self, raw: TokenRaw, block: int) -> Rows:
        return token_rows(raw, block)
