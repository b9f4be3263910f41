"""Plots people would rather look at than read: the cascade curve δ*(δ), a cascade's rounds, and
what each vault rests on. matplotlib with the Agg backend; PNG or SVG by the path's suffix."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from loopscan.errors import LoopscanError  # noqa: E402

__all__ = ["plot", "plain"]

_MARKERS = (("first_liquidation_frac", "δ₁ first liquidation", "tab:orange"), ("cascade_frac", "δ_c cascade", "tab:red"),
            ("bad_debt_frac", "δ_bd bad debt", "black"))  # fmt: skip


def plain(text: str) -> str:
    """Text safe for matplotlib: mathtext and its escapes switched off by escaping `$` and `\\`."""
    return text.replace("\\", "\\\\").replace("$", r"\$")


def plot(result, what: str, token: str | None = None, path: str | Path | None = None, kind: str = "depeg") -> Figure:
    if what == "cascade":
        fig = _cascade(result, _token(result, token), kind)
    elif what == "rounds":
        fig = _rounds(result, _token(result, token), kind)
    elif what == "exposure":
        fig = _exposure(result)
    else:
        raise LoopscanError(f"unknown plot {what!r}: cascade, rounds or exposure")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def _token(result, token: str | None) -> str:
    if token is None:
        raise LoopscanError("this plot needs a token")
    by_symbol = {s: a for a, s in result.solver.book.symbols.items()}
    return by_symbol.get(token, token.lower())


def _cascade(result, token: str, kind: str) -> Figure:
    curve = result.curve(token, kind)
    symbol = plain(result.solver.book.symbols.get(token, token))
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.plot(100 * curve["shock_frac"], 100 * curve["final_depeg_frac"], color="tab:blue", lw=2, label="final depeg δ*(δ)")
    ax.plot([0, 100], [0, 100], color="grey", ls=":", lw=1, label="no cascade (δ* = δ)")
    row = result.thresholds[(result.thresholds["token"] == token) & (result.thresholds["shock"] == kind)]
    for column, label, colour in _MARKERS:
        if len(row) and row.iloc[0][column] == row.iloc[0][column] and row.iloc[0][column] is not None:
            x = 100 * float(row.iloc[0][column])
            ax.axvline(x, color=colour, ls="--", lw=1, label=f"{label}: {x:.2f} %")
    shock = "market depeg" if kind == "depeg" else "loss of opaque backing"
    ax.set(xlabel=f"initial shock: {shock} of {symbol} (%)", ylabel=f"final depeg of {symbol} after the cascade (%)",
           title=f"Cascade curve of {symbol}", xlim=(0, 100), ylim=(0, 101))  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def _rounds(result, token: str, kind: str) -> Figure:
    row = result.thresholds[(result.thresholds["token"] == token) & (result.thresholds["shock"] == kind)]
    size = row.iloc[0]["cascade_frac"] if len(row) else None
    if size is None or size != size:
        size = row.iloc[0]["first_liquidation_frac"] if len(row) else 0.5
    size = 0.5 if size is None or size != size else min(float(size) + 1e-4, 1.0)
    rounds = result.solver.cascade(kind, token, size).rounds
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(rounds["round"], rounds["volume_usd"] / 1e6, color="tab:red", alpha=0.6, label="liquidated (USD millions)")
    ax.set(xlabel="cascade round", ylabel="collateral liquidated (USD millions)",
           title=f"{plain(result.solver.book.symbols.get(token, token))}: cascade at a {100 * size:.2f} % shock")  # fmt: skip
    twin = ax.twinx()
    twin.plot(rounds["round"], rounds["price"], color="tab:blue", marker="o", label="price (USD)")
    twin.set_ylabel("market price after the round (USD)")
    return fig


def _exposure(result) -> Figure:
    e = result.exposure[result.exposure["kind"] != "market"]
    vaults = list(dict.fromkeys(e["vault"]))
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(vaults) + 1.5))
    symbols = result.solver.book.symbols
    for i, vault in enumerate(vaults):
        left = 0.0
        for r in e[e["vault"] == vault].itertuples():
            label = f"opaque ({symbols.get(r.target, r.target)})" if r.kind == "opaque" else f"{r.kind}: {symbols.get(r.target, r.target)}"
            ax.barh(i, 100 * r.fraction, left=left, color="tab:red" if r.kind == "opaque" else "tab:green", edgecolor="white")
            if r.fraction > 0.08:
                ax.text(left + 50 * r.fraction, i, plain(f"{label} {100 * r.fraction:.0f} %"), ha="center", va="center", fontsize=7)
            left += 100 * r.fraction
    ax.set_yticks(range(len(vaults)), [plain(symbols.get(v, v)) for v in vaults])
    ax.set(xlabel="share of reported assets (%)", title="What each vault ultimately rests on (look-through)", xlim=(0, 100))
    return fig
