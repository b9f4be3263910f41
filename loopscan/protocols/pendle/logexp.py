"""Pendle's fixed-point `ln` and `exp` (18 decimals), integer for integer as the contracts compute them.

Followed from `@pendle/core-v2@6.11.0`, `contracts/core/libraries/math/LogExpMath.sol` (Balancer's
LogExpMath as Pendle ships it): constants lines 36–87, `exp` lines 94–236, `ln` lines 238–253,
`_ln` lines 308–453, `_ln_36` lines 455–505. Solidity's signed division truncates toward zero;
Python's `//` floors, so every division here goes through `tdiv`.
"""

from __future__ import annotations

from loopscan.errors import LoopscanError

__all__ = ["PendleMathError", "tdiv", "exp", "ln"]

ONE_18 = 10**18
ONE_20 = 10**20
ONE_36 = 10**36
MAX_NATURAL_EXPONENT = 130 * ONE_18
MIN_NATURAL_EXPONENT = -41 * ONE_18
LN_36_LOWER_BOUND = ONE_18 - 10**17
LN_36_UPPER_BOUND = ONE_18 + 10**17

X0, A0 = 128 * ONE_18, 38_877_084_059_945_950_922_200_000_000_000_000_000_000_000_000_000_000_000  # e^128, no decimals
X1, A1 = 64 * ONE_18, 6_235_149_080_811_616_882_910_000_000  # e^64, no decimals
# x_n = 2^(7-n) with 20 decimals, a_n = e^(x_n) with 20 decimals (n = 2 … 11).
_TERMS_20 = (
    (3_200_000_000_000_000_000_000, 7_896_296_018_268_069_516_100_000_000_000_000),
    (1_600_000_000_000_000_000_000, 888_611_052_050_787_263_676_000_000),
    (800_000_000_000_000_000_000, 298_095_798_704_172_827_474_000),
    (400_000_000_000_000_000_000, 5_459_815_003_314_423_907_810),
    (200_000_000_000_000_000_000, 738_905_609_893_065_022_723),
    (100_000_000_000_000_000_000, 271_828_182_845_904_523_536),
    (50_000_000_000_000_000_000, 164_872_127_070_012_814_685),
    (25_000_000_000_000_000_000, 128_402_541_668_774_148_407),
    (12_500_000_000_000_000_000, 113_314_845_306_682_631_683),
    (6_250_000_000_000_000_000, 106_449_445_891_785_942_956),
)


class PendleMathError(LoopscanError):
    """An input Pendle's contracts would revert on (named as the contract's error or message)."""


def tdiv(a: int, b: int) -> int:
    """Solidity's signed integer division: the quotient truncated toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def exp(x: int) -> int:
    """e^x, `x` and the result with 18 decimals (`LogExpMath.exp`)."""
    if not MIN_NATURAL_EXPONENT <= x <= MAX_NATURAL_EXPONENT:
        raise PendleMathError(f"LogExpMath.exp: invalid exponent {x}")
    if x < 0:
        return tdiv(ONE_18 * ONE_18, exp(-x))
    if x >= X0:
        x, first_an = x - X0, A0
    elif x >= X1:
        x, first_an = x - X1, A1
    else:
        first_an = 1
    x *= 100  # 20 decimals from here
    product = ONE_20
    for xn, an in _TERMS_20[:8]:  # x2 … x9: the series below converges for the rest
        if x >= xn:
            x -= xn
            product = tdiv(product * an, ONE_20)
    series = ONE_20
    term = x
    series += term
    for n in range(2, 13):
        term = tdiv(tdiv(term * x, ONE_20), n)
        series += term
    return tdiv(tdiv(product * series, ONE_20) * first_an, 100)


def ln(a: int) -> int:
    """ln(a), `a` and the result with 18 decimals (`LogExpMath.ln`)."""
    if a <= 0:
        raise PendleMathError(f"LogExpMath.ln: out of bounds ({a})")
    if LN_36_LOWER_BOUND < a < LN_36_UPPER_BOUND:
        return tdiv(_ln_36(a), ONE_18)
    return _ln(a)


def _ln(a: int) -> int:
    if a < ONE_18:
        return -_ln(tdiv(ONE_18 * ONE_18, a))
    total = 0
    if a >= A0 * ONE_18:
        a, total = tdiv(a, A0), total + X0
    if a >= A1 * ONE_18:
        a, total = tdiv(a, A1), total + X1
    total *= 100
    a *= 100
    for xn, an in _TERMS_20:  # x2 … x11
        if a >= an:
            a = tdiv(a * ONE_20, an)
            total += xn
    z = tdiv((a - ONE_20) * ONE_20, a + ONE_20)
    z_squared = tdiv(z * z, ONE_20)
    num = z
    series = num
    for k in (3, 5, 7, 9, 11):
        num = tdiv(num * z_squared, ONE_20)
        series += tdiv(num, k)
    series *= 2
    return tdiv(total + series, 100)


def _ln_36(x: int) -> int:
    x *= ONE_18
    z = tdiv((x - ONE_36) * ONE_36, x + ONE_36)
    z_squared = tdiv(z * z, ONE_36)
    num = z
    series = num
    for k in (3, 5, 7, 9, 11, 13, 15):
        num = tdiv(num * z_squared, ONE_36)
        series += tdiv(num, k)
    return series * 2
