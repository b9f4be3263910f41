"""How the HTML page looks: colours, shapes, sizes, and numbers written with their units.

Pure formatting for `page_data`: every value the page shows passes through here.
"""

from __future__ import annotations

import math

__all__ = ["BINS", "EDGES", "GREY", "SHAPES", "SYMBOL_LEN", "cell", "colour", "edge_width", "kv", "num", "pct",
           "short", "size", "table", "units", "usd"]  # fmt: skip

SYMBOL_LEN = 48

# Distance to δ₁ (fraction of depeg): upper bound, colour, legend text.
BINS = [
    (0.05, "#b2182b", "δ₁ < 5 %"),
    (0.15, "#ef6548", "5 % ≤ δ₁ < 15 %"),
    (0.30, "#fdae61", "15 % ≤ δ₁ < 30 %"),
    (0.50, "#a6d96a", "30 % ≤ δ₁ < 50 %"),
    (math.inf, "#1a9850", "δ₁ ≥ 50 %"),
]
GREY = "#b4b4b4"
EDGES = {
    "backs": ("#4575b4", "backs: token, market supply or opaque backing held by a vault"),
    "lends": ("#8c8c8c", "lends: market lends its loan token"),
    "secures": ("#984ea3", "secures: token is a market's collateral"),
    "collateral": ("#c51b7d", "collateral: accounts post collateral in a market"),
    "borrows": ("#e08214", "borrows: market lends to its accounts"),
    "supplies": ("#1b7837", "supplies: accounts supply the loan token"),
}
SHAPES = {
    "base": ("ellipse", "base token (bottom of a pyramid)"),
    "receipt": ("round-rectangle", "receipt: a vault and the token it issues"),
    "market": ("diamond", "lending market"),
    "opaque": ("octagon", "opaque backing: reported assets not visible on chain"),
    "accounts": ("ellipse", "accounts of one market, aggregated"),
}


def num(x) -> float | None:
    if x is None:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def usd(x) -> str:
    x = num(x)
    if x is None:
        return "n/a (no price)"
    if math.isinf(x):
        return "∞"
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"${x / div:,.2f}{suffix}"
    return f"${x:,.2f}"


def pct(x, never: str = "—") -> str:
    x = num(x)
    return never if x is None else f"{x * 100:.2f} %"


def units(amount, decimals: int | None, symbol: str) -> str:
    if decimals is None:
        return f"{amount} raw units of {symbol}"
    value = int(amount) / 10**decimals
    return f"{value:,.2f} {symbol}" if abs(value) >= 0.01 or value == 0 else f"{value:.4g} {symbol}"



def short(address: str) -> str:
    return address if len(address) <= 14 else f"{address[:6]}…{address[-4:]}"


def colour(delta: float | None) -> str:
    if delta is None:
        return GREY
    return next(colour for bound, colour, _ in BINS if delta < bound)


SIZE_MIN, SIZE_MAX, SIZE_UNKNOWN = 24.0, 90.0, 18.0


def size(usd: float | None, lo: float, hi: float) -> float:
    """Node diameter (px at zoom 1): log10 of the value in USD mapped from [lo, hi] (the
    snapshot's smallest and largest values, floored at $1k) onto [SIZE_MIN, SIZE_MAX]."""
    if usd is None or usd <= 0:
        return SIZE_UNKNOWN
    if hi <= lo:
        return (SIZE_MIN + SIZE_MAX) / 2
    t = (math.log10(max(usd, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    return round(SIZE_MIN + (SIZE_MAX - SIZE_MIN) * min(max(t, 0.0), 1.0), 1)


def edge_width(usd: float | None) -> float:
    if usd is None or usd <= 0:
        return 1.0
    return round(min(7.0, max(1.0, 1.0 + (math.log10(usd) - 4.0) * 1.2)), 2)


def kv(title: str, rows: list, note: str | None = None) -> dict:
    return {"title": title, "rows": [[str(k), v] for k, v in rows], "note": note}


def table(title: str, columns: list[str], rows: list, note: str | None = None, more: str | None = None) -> dict:
    return {"title": title, "columns": columns, "rows": rows, "note": note, "more": more}


def cell(text: str, title: str) -> dict:
    """A table cell with a tooltip (the full address behind a shortened one)."""
    return {"text": text, "title": title}
