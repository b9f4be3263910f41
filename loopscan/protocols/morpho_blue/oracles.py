"""Morpho oracles: their price at the pin, and what kind of price it is, from what the chain shows.

A market liquidates on a market depeg only if its oracle follows the market. MorphoChainlinkOracleV2
(and every oracle with its public getters) says what it is built from: feeds follow a market
(`market`); a base vault alone is the vault's exchange rate, its book value (`exchange_rate`);
neither is a constant (`fixed`). An oracle without those getters cannot be classified here:
it is `unknown`, which the solver treats as a market oracle and flags.
"""

from __future__ import annotations

from dataclasses import dataclass

from loopscan.model import ZERO_ADDRESS
from loopscan.protocols.base import ScanContext, read
from loopscan.rpc import CallResult, InvalidAnswer, decode_answer

__all__ = ["OracleInfo", "fetch_oracles", "classify"]

_GETTERS = ("BASE_VAULT()", "QUOTE_VAULT()", "BASE_FEED_1()", "BASE_FEED_2()", "QUOTE_FEED_1()", "QUOTE_FEED_2()")


@dataclass(frozen=True)
class OracleInfo:
    address: str
    price: int | None  # `price()` at the pin; None if unreadable (reverted, no code...: recorded as missing)
    kind: str  # market | exchange_rate | fixed | unknown
    vaults: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()


def classify(getters: dict[str, str] | None) -> str:
    """The kind of an oracle from its MorphoChainlinkOracleV2 getters (None: it has none)."""
    if getters is None:
        return "unknown"
    if any(getters[g] != ZERO_ADDRESS for g in _GETTERS if "FEED" in g):
        return "market"
    if any(getters[g] != ZERO_ADDRESS for g in _GETTERS if "VAULT" in g):
        return "exchange_rate"
    return "fixed"


async def fetch_oracles(ctx: ScanContext, addresses: set[str]) -> dict[str, OracleInfo]:
    oracles = sorted(addresses)
    reads = {(o, "price()"): read("oracle", o, "price()") for o in oracles}
    reads |= {(o, g): read("oracle", o, g) for o in oracles for g in _GETTERS}
    got = await ctx.read_round(reads)
    out: dict[str, OracleInfo] = {}
    for oracle in oracles:
        price = got[oracle, "price()"]
        found = _getters(oracle, [got.result((oracle, g)) for g in _GETTERS])
        out[oracle] = OracleInfo(
            address=oracle,
            price=price,
            kind=classify(found),
            vaults=tuple(found[g] for g in _GETTERS[:2] if found[g] != ZERO_ADDRESS) if found else (),
            feeds=tuple(found[g] for g in _GETTERS[2:] if found[g] != ZERO_ADDRESS) if found else (),
        )
    return out


def _getters(oracle: str, answers: list[CallResult]) -> dict[str, str] | None:
    """The MorphoChainlinkOracleV2 getters as addresses; None if any is absent or not an address
    (then this is another kind of oracle: expected, not a miss)."""
    try:
        return {g: decode_answer(r, oracle, g, "address") for g, r in zip(_GETTERS, answers, strict=True)}
    except InvalidAnswer:
        return None
