"""Morpho oracles: their price at the pin, and what kind of price it is, from what the chain shows.

A market liquidates on a market depeg only if its oracle follows the market. MorphoChainlinkOracleV2
(and every oracle with its public getters) says what it is built from: feeds follow a market
(`market`); a base vault alone is the vault's exchange rate, its book value (`exchange_rate`);
neither is a constant (`fixed`). An oracle without those getters cannot be classified here:
it is `unknown`, which the solver treats as a market oracle and flags.

A feed may itself be a protocol's own price of its token rather than a market's: a Pendle PT feed
answers a linear discount or a TWAP of the PT's AMM. The packages that publish such feeds say so
(`ProtocolSpec.feeds`, found through the registry), and an oracle built on one takes its kind
(`linear_discount`, `amm_twap`): a PT sale moves it late or never, whatever the other feeds do.

Warning: an oracle that multiplies a PT feed by a market feed of the PT's asset (USDe/USD) moves
with that asset's market too; it is classified by its PT feed, so the solver holds it fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from loopscan.model import ZERO_ADDRESS
from loopscan.protocols import registry
from loopscan.protocols.base import ScanContext, read
from loopscan.rpc import CallResult, InvalidAnswer, decode_answer

__all__ = ["OracleInfo", "fetch_oracles", "classify"]

_GETTERS = ("BASE_VAULT()", "QUOTE_VAULT()", "BASE_FEED_1()", "BASE_FEED_2()", "QUOTE_FEED_1()", "QUOTE_FEED_2()")


@dataclass(frozen=True)
class OracleInfo:
    address: str
    price: int | None  # `price()` at the pin; None if unreadable (reverted, no code...: recorded as missing)
    kind: str  # market | exchange_rate | fixed | unknown | linear_discount | amm_twap
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
    found = {o: _getters(o, [got.result((o, g)) for g in _GETTERS]) for o in oracles}
    feeds = {o: tuple(f[g] for g in _GETTERS[2:] if f[g] != ZERO_ADDRESS) if f else () for o, f in found.items()}
    feed_kinds = await registry.fetch_feed_kinds(ctx, {feed for fs in feeds.values() for feed in fs})
    out: dict[str, OracleInfo] = {}
    for oracle in oracles:
        f = found[oracle]
        own = [feed_kinds[feed] for feed in feeds[oracle] if feed in feed_kinds]
        out[oracle] = OracleInfo(
            address=oracle,
            price=got[oracle, "price()"],
            kind=own[0] if own else classify(f),
            vaults=tuple(f[g] for g in _GETTERS[:2] if f[g] != ZERO_ADDRESS) if f else (),
            feeds=feeds[oracle],
        )
    return out


def _getters(oracle: str, answers: list[CallResult]) -> dict[str, str] | None:
    """The MorphoChainlinkOracleV2 getters as addresses; None if any is absent or not an address
    (then this is another kind of oracle: expected, not a miss)."""
    try:
        return {g: decode_answer(r, oracle, g, "address") for g, r in zip(_GETTERS, answers, strict=True)}
    except InvalidAnswer:
        return None
