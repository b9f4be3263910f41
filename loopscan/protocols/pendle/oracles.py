"""The PT price feeds lenders use, read at the pin and classified by what moves them.

Two kinds, each recognised by getters only it answers (`@pendle/core-v2@6.11.0`):

* ``linear_discount`` — `PendleSparkLinearDiscountOracle` (contracts/oracles/internal/
  PendleSparkLinearDiscountOracle.sol): `PT()`, `maturity()`, `baseDiscountPerYear()`; it answers
  1 − baseDiscountPerYear × time left / year (18 decimals). It moves with time only: a PT sell-off
  in the market changes nothing it reads, so a lender pricing with it liquidates nobody while the
  PT's sale value falls — the loss stays hidden until the debt is repaid or the PT is sold.
* ``amm_twap`` — `PendleChainlinkOracle` (contracts/oracles/PtYtLpOracle/chainlink/
  PendleChainlinkOracle.sol): `market()`, `twapDuration()`, `baseOracleType()`; it answers the PT's
  price from the market's time-weighted ln implied rate over `twapDuration` seconds
  (`PendlePYOracleLib.getPtToAssetRate` / `getPtToSyRate`): it follows the market with that lag.

A feed answering neither set is not classified here (None): it is some other kind of feed.
"""

from __future__ import annotations

from dataclasses import dataclass

from loopscan.model import ZERO_ADDRESS
from loopscan.protocols.base import ScanContext
from loopscan.protocols.pendle.maths import ONE, pt_to_asset_rate
from loopscan.rpc import Call, CallResult, answer_value, encode_call

__all__ = [
    "PtOracle",
    "classify",
    "fetch_feed_kinds",
    "fetch_pt_oracles",
    "linear_discount_price",
    "twap_ln_implied_rate",
    "twap_pt_to_asset_price",
]

YEAR = 365 * 86_400
LINEAR_DISCOUNT = ("PT()", "maturity()", "baseDiscountPerYear()")
AMM_TWAP = ("market()", "twapDuration()", "baseOracleType()")
_TYPES = {
    "PT()": "address", "maturity()": "uint256", "baseDiscountPerYear()": "uint256",
    "market()": "address", "twapDuration()": "uint32", "baseOracleType()": "uint8",
}  # fmt: skip
_ORACLE_TYPES = ("pt_to_sy", "pt_to_asset", "lp_to_sy", "lp_to_asset")  # PendleOracleType, IPChainlinkOracle.sol
_ROUND = "latestRoundData()"
_PT_FEED = "PT_FEED()"


@dataclass(frozen=True)
class PtOracle:
    address: str
    kind: str  # linear_discount | amm_twap
    answer: int | None  # latestRoundData's answer at the pin (18 decimals); None if it reverted
    pt: str | None = None  # linear_discount: the PT it prices
    maturity: int | None = None
    base_discount_per_year: int | None = None  # 1e18 = 100 % a year
    market: str | None = None  # amm_twap: the market it averages
    twap_window: int | None = None  # seconds
    quote: str | None = None  # amm_twap: pt_to_sy, pt_to_asset, lp_to_sy or lp_to_asset


def classify(answers: dict[str, CallResult]) -> str | None:
    """`linear_discount`, `amm_twap` or None, from the getters' answers (all of one set must
    answer with the right shape)."""
    for kind, getters in (("linear_discount", LINEAR_DISCOUNT), ("amm_twap", AMM_TWAP)):
        if all(g in answers and answer_value(answers[g], _TYPES[g]) is not None for g in getters):
            return kind
    return None


async def fetch_pt_oracles(ctx: ScanContext, addresses: set[str]) -> dict[str, PtOracle]:
    """The Pendle PT feeds among `addresses`, with their answers at the pin; other feeds are left
    out (not Pendle's: expected, not a miss). A Pendle feed whose answer reverts is kept with
    `answer=None` and a `missing` row."""
    feeds = sorted(a.lower() for a in addresses)
    getters = (*LINEAR_DISCOUNT, *AMM_TWAP, _ROUND)
    results = await ctx.calls([Call(f, encode_call(g)) for f in feeds for g in getters])
    out: dict[str, PtOracle] = {}
    for i, feed in enumerate(feeds):
        answers = dict(zip(getters, results[i * len(getters) : (i + 1) * len(getters)], strict=True))
        kind = classify(answers)
        if kind is None:
            continue
        round_data = ctx.answer(
            answers[_ROUND], "oracle", feed, None, _ROUND, ("uint80", "int256", "uint256", "uint256", "uint80")
        )
        answer = None if round_data is None else round_data[1]
        value = {
            g: answer_value(answers[g], _TYPES[g]) for g in (LINEAR_DISCOUNT if kind == "linear_discount" else AMM_TWAP)
        }
        if kind == "linear_discount":
            out[feed] = PtOracle(feed, kind, answer, pt=value["PT()"], maturity=value["maturity()"],
                                 base_discount_per_year=value["baseDiscountPerYear()"])  # fmt: skip
        else:
            oracle_type = value["baseOracleType()"]
            quote = _ORACLE_TYPES[oracle_type] if oracle_type < len(_ORACLE_TYPES) else f"type {oracle_type}"
            out[feed] = PtOracle(
                feed, kind, answer, market=value["market()"], twap_window=value["twapDuration()"], quote=quote
            )
    return out


async def fetch_feed_kinds(ctx: ScanContext, addresses: set[str]) -> dict[str, str]:
    """The kind of each Pendle PT feed among `addresses` (`ProtocolSpec.feeds`): what a lender's
    oracle built on it moves with. A feed over one (`PT_FEED()`: our USD adapter for Aave,
    contracts/pendle/LoopscanPtUsdFeed.sol) is of that feed's kind."""
    kinds = {feed: o.kind for feed, o in (await fetch_pt_oracles(ctx, addresses)).items()}
    rest = sorted(a.lower() for a in addresses if a.lower() not in kinds)
    inner = [answer_value(r, "address") for r in await ctx.calls([Call(a, encode_call(_PT_FEED)) for a in rest])]
    wrapped = {a: f for a, f in zip(rest, inner, strict=True) if f is not None and f != ZERO_ADDRESS}
    found = await fetch_pt_oracles(ctx, set(wrapped.values())) if wrapped else {}
    return kinds | {a: found[f].kind for a, f in wrapped.items() if f in found}


def linear_discount_price(base_discount_per_year: int, maturity: int, now: int) -> int:
    """`PendleSparkLinearDiscountOracle.latestRoundData`'s answer at `now`: 1e18 minus the discount
    for the time left (`getDiscount`: timeLeft × baseDiscountPerYear / 365 days), 1e18 from maturity."""
    time_left = maturity - now if maturity > now else 0
    return ONE - time_left * base_discount_per_year // YEAR


def twap_ln_implied_rate(cumulative_then: int, cumulative_now: int, window: int) -> int:
    """The mean ln implied rate over `window` seconds (> 0) from the market's `observe([window, 0])`
    (`PendlePYOracleLib.getMarketLnImpliedRate`, contracts/oracles/PtYtLpOracle/PendlePYOracleLib.sol
    lines 96–107; a window of 0 reads the last rate instead)."""
    return (cumulative_now - cumulative_then) // window


def twap_pt_to_asset_price(ln_implied_rate: int, expiry: int, now: int, sy_rate: int, py_index: int) -> int:
    """`PendleChainlinkOracle`'s PT_TO_ASSET answer (18-decimal tokens) at a mean ln implied rate:
    the PT priced to expiry (`getPtToAssetRateRaw`, lines 65–76), scaled down by sy_rate / py_index
    where the SY's rate has fallen below the YT's index, i.e. the SY lost backing
    (`getPtToAssetRate`, lines 20–27; `py_index` as `getSYandPYIndexCurrent` takes it, lines 83–94)."""
    raw = pt_to_asset_rate(ln_implied_rate, expiry, now)
    return raw if sy_rate >= py_index else raw * sy_rate // py_index
