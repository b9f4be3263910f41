"""Pendle v2's AMM: selling an exact amount of PT for SY, to the wei as `PendleMarketV7` computes it.

Followed from `@pendle/core-v2@6.11.0`, `contracts/core/Market/MarketMathCore.sol`:
`swapExactPtForSy` lines 80–91, `executeTradeCore` 179–203, `getMarketPreCompute` 205–224,
`calcTrade` 226–253, `_setNewMarketStateTrade` 255–274, `_getRateAnchor` 276–294,
`_getLnImpliedRate` 298–312, `_getExchangeRateFromImpliedRate` 316–324, `_getExchangeRate` 326–346,
`_logProportion` 348–354, `_getRateScalar` 356–359; the fixed-point helpers from
`core/libraries/math/PMath.sol` (`mulDown`/`divDown` on int256, lines 41–60) and the SY/asset
conversions from `core/StandardizedYield/SYUtils.sol` (lines 7–21) and `PYIndex.sol` (36–50).

The market prices PT against the SY's *asset* (USDe for an sUSDe SY): the pool's SY is converted
with the PY index (the larger of the SY's exchange rate and the YT's stored index,
`PendleYieldToken._pyIndexCurrent`), the trade is priced on a logit curve of the PT proportion
whose steepness grows as expiry nears (rate scalar = scalarRoot × year / time left), anchored so
the pre-trade price equals the last implied rate (so time passing alone moves no price), and the
fee is e^(lnFeeRateRoot × time left / year), of which `reserveFeePercent` goes to the treasury.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from loopscan.protocols.pendle.logexp import PendleMathError, exp, ln, tdiv

__all__ = ["MarketState", "SwapResult", "swap_exact_pt_for_sy", "pt_to_asset_rate", "ln_implied_rate_to_apy"]

ONE = 10**18
PERCENTAGE_DECIMALS = 100
IMPLIED_RATE_TIME = 365 * 86_400
MAX_MARKET_PROPORTION = ONE * 96 // 100


@dataclass(frozen=True)
class MarketState:
    """What `PendleMarketV7.readState(router)` returns that a swap uses (raw integers, 18 decimals
    for the roots and the rate)."""

    total_pt: int
    total_sy: int
    scalar_root: int
    expiry: int  # unix seconds
    ln_fee_rate_root: int
    reserve_fee_percent: int  # base 100
    last_ln_implied_rate: int


@dataclass(frozen=True)
class SwapResult:
    net_sy_out: int  # to the seller
    net_sy_fee: int  # the whole fee, in SY
    net_sy_to_reserve: int  # the treasury's part of it, paid out of the pool
    state: MarketState  # the market after the trade


def _mul_down(a: int, b: int) -> int:
    return tdiv(a * b, ONE)


def _div_down(a: int, b: int) -> int:
    return tdiv(a * ONE, b)


def _sy_to_asset(index: int, sy: int) -> int:
    sign = -1 if sy < 0 else 1
    return sign * (abs(sy) * index // ONE)


def _asset_to_sy(index: int, asset: int) -> int:
    sign = -1 if asset < 0 else 1
    return sign * (abs(asset) * ONE // index)


def _asset_to_sy_up(index: int, asset: int) -> int:
    sign = -1 if asset < 0 else 1
    return sign * ((abs(asset) * ONE + index - 1) // index)


def _log_proportion(proportion: int) -> int:
    if proportion == ONE:
        raise PendleMathError("MarketProportionMustNotEqualOne")
    return ln(_div_down(proportion, ONE - proportion))


def _exchange_rate(total_pt: int, total_asset: int, rate_scalar: int, rate_anchor: int, net_pt_to_account: int) -> int:
    numerator = total_pt - net_pt_to_account
    if numerator < 0:
        raise PendleMathError("negative")  # PMath.subNoNeg
    proportion = _div_down(numerator, total_pt + total_asset)
    if proportion > MAX_MARKET_PROPORTION:
        raise PendleMathError(f"MarketProportionTooHigh({proportion}, {MAX_MARKET_PROPORTION})")
    rate = tdiv(_log_proportion(proportion) * ONE, rate_scalar) + rate_anchor
    if rate < ONE:
        raise PendleMathError(f"MarketExchangeRateBelowOne({rate})")
    return rate


def _exchange_rate_from_implied_rate(ln_implied_rate: int, time_to_expiry: int) -> int:
    return exp(ln_implied_rate * time_to_expiry // IMPLIED_RATE_TIME)


def _ln_implied_rate(total_pt: int, total_asset: int, rate_scalar: int, rate_anchor: int, time_to_expiry: int) -> int:
    rate = _exchange_rate(total_pt, total_asset, rate_scalar, rate_anchor, 0)
    ln_rate = ln(rate)
    if ln_rate < 0:
        raise PendleMathError("PMath.Uint: negative")
    return ln_rate * IMPLIED_RATE_TIME // time_to_expiry


def swap_exact_pt_for_sy(state: MarketState, py_index: int, exact_pt_in: int, block_time: int) -> SwapResult:
    """Sell `exact_pt_in` PT into the market at `block_time` (`MarketMathCore.swapExactPtForSy`).

    `py_index` is the YT's current index (`max(SY.exchangeRate(), YT.pyIndexStored())`). Raises
    `PendleMathError` where the market would revert. The market itself also reverts
    `MarketZeroNetLPFee` when the LPs' share of the fee rounds to zero asset (a dust sale); that
    check is the caller's (`SwapResult.net_sy_fee - net_sy_to_reserve`).
    """
    if state.expiry <= block_time:
        raise PendleMathError("MarketExpired")
    net_pt_to_account = -exact_pt_in
    if state.total_pt <= net_pt_to_account:
        raise PendleMathError(f"MarketInsufficientPtForTrade({state.total_pt}, {net_pt_to_account})")
    time_to_expiry = state.expiry - block_time

    # getMarketPreCompute
    rate_scalar = tdiv(state.scalar_root * IMPLIED_RATE_TIME, time_to_expiry)
    if rate_scalar <= 0:
        raise PendleMathError(f"MarketRateScalarBelowZero({rate_scalar})")
    total_asset = _sy_to_asset(py_index, state.total_sy)
    if state.total_pt == 0 or total_asset == 0:
        raise PendleMathError(f"MarketZeroTotalPtOrTotalAsset({state.total_pt}, {total_asset})")
    last_rate = _exchange_rate_from_implied_rate(state.last_ln_implied_rate, time_to_expiry)
    if last_rate < ONE:
        raise PendleMathError(f"MarketExchangeRateBelowOne({last_rate})")
    proportion = _div_down(state.total_pt, state.total_pt + total_asset)
    rate_anchor = last_rate - tdiv(_log_proportion(proportion) * ONE, rate_scalar)
    fee_rate = _exchange_rate_from_implied_rate(state.ln_fee_rate_root, time_to_expiry)

    # calcTrade, for netPtToAccount < 0 (PT in)
    pre_fee_rate = _exchange_rate(state.total_pt, total_asset, rate_scalar, rate_anchor, net_pt_to_account)
    pre_fee_asset_to_account = -_div_down(net_pt_to_account, pre_fee_rate)
    fee = -tdiv(pre_fee_asset_to_account * (ONE - fee_rate), fee_rate)
    net_asset_to_reserve = tdiv(fee * state.reserve_fee_percent, PERCENTAGE_DECIMALS)
    net_asset_to_account = pre_fee_asset_to_account - fee
    if net_asset_to_account < 0:
        net_sy_to_account = _asset_to_sy_up(py_index, net_asset_to_account)
    else:
        net_sy_to_account = _asset_to_sy(py_index, net_asset_to_account)
    net_sy_fee = _asset_to_sy(py_index, fee)
    net_sy_to_reserve = _asset_to_sy(py_index, net_asset_to_reserve)

    # _setNewMarketStateTrade
    total_pt = state.total_pt - net_pt_to_account
    total_sy = state.total_sy - (net_sy_to_account + net_sy_to_reserve)
    if total_sy < 0:
        raise PendleMathError("negative")  # PMath.subNoNeg
    last_ln = _ln_implied_rate(total_pt, _sy_to_asset(py_index, total_sy), rate_scalar, rate_anchor, time_to_expiry)
    if last_ln == 0:
        raise PendleMathError("MarketZeroLnImpliedRate")
    if net_sy_to_account < 0 or net_sy_fee < 0:
        raise PendleMathError("PMath.Uint: negative")
    after = replace(state, total_pt=total_pt, total_sy=total_sy, last_ln_implied_rate=last_ln)
    return SwapResult(net_sy_to_account, net_sy_fee, net_sy_to_reserve, after)


def pt_to_asset_rate(ln_implied_rate: int, expiry: int, now: int) -> int:
    """The PT's price in the asset (18 decimals) at an implied rate: 1 / e^(rate × time left / year),
    1 from expiry on (`PendlePYOracleLib.getPtToAssetRateRaw`, contracts/oracles/PtYtLpOracle/
    PendlePYOracleLib.sol lines 65–76)."""
    if expiry <= now:
        return ONE
    return ONE * ONE // _exchange_rate_from_implied_rate(ln_implied_rate, expiry - now)


def ln_implied_rate_to_apy(ln_implied_rate: int) -> float:
    """The implied yearly yield, e^rate − 1, as a fraction (for reports; float by design)."""
    return exp(ln_implied_rate) / ONE - 1
