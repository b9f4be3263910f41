"""Morpho's AdaptiveCurveIrm v1.0.0 borrow rate, in exact integers.

Mirrors `AdaptiveCurveIrm.sol` (`_borrowRate`, `borrowRateView`), `adaptive-curve/ConstantsLib.sol`,
`adaptive-curve/ExpLib.sol` and the signed WAD arithmetic of `adaptive-curve/MathLib.sol`
(Solidity's `int256` division truncates toward zero), rounding direction included. Standalone:
the market maths in `loopscan.protocols.morpho_blue.maths` uses this module, never the other way round.

>>> borrow_rate_view(0, 0, 0, 0) == INITIAL_RATE_AT_TARGET // 4   # first interaction, empty market
True
"""

from __future__ import annotations

__all__ = [
    "ADJUSTMENT_SPEED", "CURVE_STEEPNESS", "INITIAL_RATE_AT_TARGET", "MAX_RATE_AT_TARGET",
    "MIN_RATE_AT_TARGET", "TARGET_UTILIZATION", "adaptive_curve_irm_rate", "borrow_rate_view",
]  # fmt: skip

WAD = 10**18  # adaptive-curve/MathLib.sol WAD_INT (= morpho-blue MathLib.WAD)
_YEAR = 365 * 86400
TARGET_UTILIZATION = 9 * 10**17  # adaptive-curve/ConstantsLib.sol
CURVE_STEEPNESS = 4 * WAD
ADJUSTMENT_SPEED = 50 * WAD // _YEAR
INITIAL_RATE_AT_TARGET = 4 * 10**16 // _YEAR
MIN_RATE_AT_TARGET = 10**15 // _YEAR
MAX_RATE_AT_TARGET = 2 * WAD // _YEAR
_LN_2 = 693147180559945309  # ExpLib.sol
_LN_WEI = -41446531673892822312
_WEXP_UPPER_BOUND = 93859467695000404319
_WEXP_UPPER_VALUE = 57716089161558943949701069502944508345128422502756744429568


def _sdiv(a: int, b: int) -> int:
    """Solidity's signed division: truncates toward zero (Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _w_exp(x: int) -> int:
    """ExpLib.wExp: e^x (WAD) as 2^q · e^r with a 2nd-order Taylor e^r."""
    if x < _LN_WEI:
        return 0
    if x >= _WEXP_UPPER_BOUND:
        return _WEXP_UPPER_VALUE
    q = _sdiv(x + (-(_LN_2 // 2) if x < 0 else _LN_2 // 2), _LN_2)
    r = x - q * _LN_2
    exp_r = WAD + r + r * r // WAD // 2
    return exp_r << q if q >= 0 else exp_r >> -q


def _new_rate_at_target(start: int, linear_adaptation: int) -> int:
    return min(max(_sdiv(start * _w_exp(linear_adaptation), WAD), MIN_RATE_AT_TARGET), MAX_RATE_AT_TARGET)


def adaptive_curve_irm_rate(
    total_supply_assets: int, total_borrow_assets: int, rate_at_target: int, elapsed: int
) -> tuple[int, int]:
    """`AdaptiveCurveIrm._borrowRate`: (average rate per second over `elapsed`, end rate at target).

    The rate at target drifts exponentially with the utilisation error since the last update;
    the average is the trapezoid rule on that curve, as the contract approximates it.
    """
    # morpho-blue MathLib.wDivDown (unsigned: rounds down)
    utilization = total_borrow_assets * WAD // total_supply_assets if total_supply_assets > 0 else 0
    norm = WAD - TARGET_UTILIZATION if utilization > TARGET_UTILIZATION else TARGET_UTILIZATION
    err = _sdiv((utilization - TARGET_UTILIZATION) * WAD, norm)
    if rate_at_target == 0:  # first interaction
        avg = end = INITIAL_RATE_AT_TARGET
    else:
        linear = _sdiv(ADJUSTMENT_SPEED * err, WAD) * elapsed
        if linear == 0:
            avg = end = rate_at_target
        else:
            end = _new_rate_at_target(rate_at_target, linear)
            mid = _new_rate_at_target(rate_at_target, _sdiv(linear, 2))
            avg = _sdiv(rate_at_target + end + 2 * mid, 4)
    coeff = WAD - _sdiv(WAD * WAD, CURVE_STEEPNESS) if err < 0 else CURVE_STEEPNESS - WAD
    return _sdiv((_sdiv(coeff * err, WAD) + WAD) * avg, WAD), end


def borrow_rate_view(total_supply_assets: int, total_borrow_assets: int, rate_at_target: int, elapsed: int) -> int:
    """`AdaptiveCurveIrm.borrowRateView`: the average rate Morpho would accrue at over `elapsed`."""
    return adaptive_curve_irm_rate(total_supply_assets, total_borrow_assets, rate_at_target, elapsed)[0]
