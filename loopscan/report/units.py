"""How the terminal tables write figures: short, with their unit, never cut off.

Data (DataFrames, JSON, CSV) keeps fractions and full amounts; only tables turn them into
`12.80 %`, `$108.0M` and `0x0b96…a1f5`.
"""

from __future__ import annotations

import math

__all__ = ["NEVER", "NOT_COMPUTABLE", "account", "not_computable_figures", "pct", "usd"]

NEVER = "never"  # the condition does not hold up to a 100 % shock
NOT_COMPUTABLE = "n/c"  # an input was not read: a footnote says which


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def pct(value: object, missing: str = NEVER) -> str:
    """A fraction as a percentage with two decimals (`0.128` → `12.80 %`)."""
    return missing if _missing(value) else f"{100 * float(value):.2f} %"  # type: ignore[arg-type]


def usd(value: object, missing: str = NOT_COMPUTABLE) -> str:
    """A USD amount in at most seven characters: `$108.0M`, `$16.1M`, `$2.5k`, `$950`."""
    if _missing(value):
        return missing
    x = float(value)  # type: ignore[arg-type]
    if math.isinf(x):
        return "∞"
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"${x / div:,.1f}{suffix}"
    return f"${x:,.0f}"


def not_computable_figures(text: object) -> dict[str, str]:
    """A thresholds row's `not_computable` (`first_liquidation, bad_debt: why; cascade: why`) as
    figure -> the whole note about it; {} when every figure is computable."""
    notes = {part.split(":")[0].strip(): part for part in (text if isinstance(text, str) else "").split("; ") if part}
    return {name: why for names, why in notes.items() for name in names.split(", ")}


def account(address: str) -> str:
    """An address as its first and last four hex digits: `0x0b96…a1f5`."""
    return address if len(address) <= 13 else f"{address[:6]}…{address[-4:]}"
