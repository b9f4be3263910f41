"""What kind of price a Chainlink-style price source gives, from what the chain shows.

A depeg liquidates a position only if its collateral's price source follows the market. Lenders
that price each asset by one such source (Aave's `AaveOracle.getSourceOfAsset(asset)`, Gearbox's
`PriceOracleV3.priceFeeds(token)`) share this: each source is probed for the getters that say
what it is (`PROBES`, read in the lender's own read round), then `classify_sources` decides, per
asset:

1. `fixed`: the source prices another reserve too (the same contract, or a CAPO stable adapter
   over the same aggregator, `ASSET_TO_USD_AGGREGATOR()`), and its `description()` names that
   other asset, not this one: e.g. USDe priced by the USDT/USD feed. If no asset of the group
   is named, which one is native cannot be told: every one is `unknown`.
2. `exchange_rate`: the source exposes a vault or ratio provider: the devnet's
   `ExchangeRateFeed.vault()`, BGD's CAPO `PriceCapAdapterBase.RATIO_PROVIDER()`.
3. `market`: a Chainlink-style feed (`latestAnswer()` answers).
4. `unknown`: none of these, or no source; the solver treats it as a market oracle, flagged.

Warning: a market feed wrapped so that it no longer shows any of these getters (a bespoke
adapter over a fixed price, GHO's) is `unknown`, and a Chainlink feed that itself reports an
exchange rate looks like `market`: the chain does not say more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from loopscan.model import ZERO_ADDRESS
from loopscan.model.schema import OracleKind
from loopscan.protocols import registry
from loopscan.protocols.base import ScanContext, read
from loopscan.protocols.tokens import decode_text
from loopscan.rpc import CallResult, decode_address, decode_int

__all__ = ["PROBES", "SourceProbe", "classify_sources", "described_asset", "probe_from_answers", "source_kind", "fetch_source_kinds"]

# The getters read on every source, in this order (see `SourceProbe`).
PROBES = ("vault()", "RATIO_PROVIDER()", "ASSET_TO_USD_AGGREGATOR()", "latestAnswer()", "description()")


@dataclass(frozen=True, slots=True)
class SourceProbe:
    """What a price source answered at the pin; None where the getter reverted or is absent."""

    vault: str | None = None  # ExchangeRateFeed.vault()
    ratio_provider: str | None = None  # CAPO PriceCapAdapterBase.RATIO_PROVIDER()
    underlying: str | None = None  # CAPO PriceCapAdapterStable.ASSET_TO_USD_AGGREGATOR()
    latest_answer: int | None = None  # AggregatorInterface.latestAnswer() (what AaveOracle reads)
    description: str | None = None  # e.g. "USDT / USD", "Capped USDT/USD"


def described_asset(description: str | None) -> str | None:
    """The base asset a feed's description names, case-folded: 'Capped USDT/USD' → 'usdt'.

    >>> described_asset("USDT / USD"), described_asset("Capped USDT/USD"), described_asset("x")
    ('usdt', 'usdt', None)
    """
    if not description or "/" not in description:
        return None
    words = description.split("/", 1)[0].split()
    return words[-1].casefold() if words else None


def source_kind(probe: SourceProbe | None) -> OracleKind:
    """The kind of a source on its own (rules 2–4 of the module docstring)."""
    if probe is None:
        return OracleKind.UNKNOWN
    if probe.vault or probe.ratio_provider:
        return OracleKind.EXCHANGE_RATE
    if probe.latest_answer is not None:
        return OracleKind.MARKET
    return OracleKind.UNKNOWN


def classify_sources(
    sources: Mapping[str, str | None], symbols: Mapping[str, str | None], probes: Mapping[str, SourceProbe]
) -> dict[str, OracleKind]:
    """Each asset's oracle kind from its source (`sources`: asset → source, None if unreadable),
    the assets' `symbol()`s and the sources' probes.

    >>> feed = SourceProbe(latest_answer=10**8, description="USDT / USD")
    >>> kinds = classify_sources({"usdt": "0xf", "usde": "0xf"}, {"usdt": "USDT", "usde": "USDe"}, {"0xf": feed})
    >>> kinds["usdt"].value, kinds["usde"].value
    ('market', 'fixed')
    """
    # Sources over one aggregator price alike: group the assets by that aggregator.
    def identity(source: str) -> str:
        probe = probes.get(source)
        return probe.underlying if probe and probe.underlying else source

    groups: dict[str, list[str]] = defaultdict(list)
    for asset, source in sources.items():
        if source:
            groups[identity(source)].append(asset)
    kinds: dict[str, OracleKind] = {}
    for asset, source in sources.items():
        if not source:
            kinds[asset] = OracleKind.UNKNOWN
            continue
        probe = probes.get(source)
        group = groups[identity(source)]
        if len(group) == 1:
            kinds[asset] = source_kind(probe)
            continue
        natives = {a for a in group if _names(probes.get(sources[a] or ""), symbols.get(a))}
        if not natives:
            kinds[asset] = OracleKind.UNKNOWN
        elif asset in natives:
            kinds[asset] = source_kind(probe)
        else:
            kinds[asset] = OracleKind.FIXED
    return kinds


def _names(probe: SourceProbe | None, symbol: str | None) -> bool:
    named = described_asset(probe.description) if probe else None
    return named is not None and symbol is not None and named == symbol.casefold()


def probe_from_answers(answers: Mapping[str, CallResult]) -> SourceProbe:
    """A source's answers to `PROBES`; a getter that reverts or answers nonsense is absent
    (expected: most sources have only some of them, so these are not misses)."""

    def address(g: str) -> str | None:
        r = answers[g]
        if not r.success or len(r.return_data) != 32:
            return None
        try:
            found = decode_address(r.return_data)
        except ValueError:
            return None
        return None if found == ZERO_ADDRESS else found

    answer = answers["latestAnswer()"]
    text = answers["description()"]
    return SourceProbe(
        vault=address("vault()"),
        ratio_provider=address("RATIO_PROVIDER()"),
        underlying=address("ASSET_TO_USD_AGGREGATOR()"),
        latest_answer=decode_int(answer.return_data) if answer.success and len(answer.return_data) == 32 else None,
        description=decode_text(text),
    )


async def fetch_source_kinds(ctx: ScanContext, sources: Mapping[str, str | None]) -> dict[str, str]:
    """Each asset's oracle kind (an `OracleKind` value) from its price source (`sources`: asset →
    source, None if unreadable), in one read round of the probes and the assets' `symbol()`s: a
    source another package publishes (a Pendle PT feed) is of its kind, any other is classified
    here (`classify_sources`). For a lender that has no read round of its own to share (Aave reads
    `PROBES` in its own)."""
    known = sorted({s for s in sources.values() if s and s != ZERO_ADDRESS})
    reads = {("probe", s, g): read("oracle", s, g) for s in known for g in PROBES}
    reads |= {("symbol", a): read("token", a, "symbol()") for a in sorted(sources)}
    got = await ctx.read_round(reads)
    probes = {s: probe_from_answers({g: got.result(("probe", s, g)) for g in PROBES}) for s in known}
    symbols = {a: decode_text(got.result(("symbol", a))) for a in sources}
    published = await registry.fetch_feed_kinds(ctx, set(known))
    kinds = classify_sources(sources, symbols, probes)
    return {a: published.get(s or "", kinds[a].value) for a, s in sources.items()}
