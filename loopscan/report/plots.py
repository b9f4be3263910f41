"""Plots people would rather look at than read.

`plot(result, what, token=None, path=None)` returns a matplotlib `Figure` and, given a path,
writes it as PNG or SVG (chosen by the path's suffix):

* ``cascade``: δ*(δ) of `token`, the final depeg after the cascade against the initial shock
  (both in %, sampled as `ScanResult.curve` samples it), the diagonal δ* = δ (no cascade) for
  reference, and a vertical marker at each of δ₁, δ_c and δ_bd with its value;
* ``rounds``: one cascade of `token` round by round: the collateral liquidated in each round
  (USD, bars) and the token's market price after it (USD, line, on a twin axis). The shock is
  `size`, by default one basis point past δ_c (or past δ₁ when there is no cascade, or 100 %);
* ``unwind``: for `token`, against the depeg (1–25 %): the USD its exit pool absorbs within that
  price impact, and the collateral a further depeg of that size makes liquidatable (log scale;
  `ScanResult.depth`);
* ``exposure``: one stacked bar per vault of what its reported assets ultimately rest on (the
  look-through: base tokens, opaque backing, circular or unpriced parts), in %; with `token`,
  only the vaults whose look-through reaches it.

Figures are built on their own Agg canvas, never through pyplot's global state or backend, so
importing this module does not change a notebook's backend and figures need no `plt.close`.

Token symbols are chain data, i.e. anyone's text: every one goes through `label()`, which shows
control characters as escapes and escapes `$`, so that matplotlib never reads a symbol as
mathtext (`usetex` is off for every figure; outside mathtext `\\`, `_` and `^` are plain
characters, and `\\$` is matplotlib's only escape). The figure shows the symbol exactly as read.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from loopscan.errors import LoopscanError
from loopscan.textsafe import terminal_safe

__all__ = ["PLOTS", "FORMATS", "plot", "plain", "label", "default_rounds_shock"]

PLOTS = ("cascade", "rounds", "unwind", "exposure")
FORMATS = ("png", "svg")
BP = 1e-4
DPI = 150

# (threshold column, legend text (mathtext: our own text only), colour, line style)
THRESHOLD_MARKERS = (
    ("first_liquidation_frac", r"$\delta_1$ first liquidation", "tab:orange", (0, (6, 3))),
    ("cascade_frac", r"$\delta_c$ self-amplifying cascade", "tab:red", (0, (3, 2, 1, 2))),
    ("bad_debt_frac", r"$\delta_{bd}$ first bad debt", "black", (0, (1, 2))),
)
_SHOCK_TEXT = {"depeg": "market depeg", "backing_loss": "loss of opaque backing"}
_RC = {"text.usetex": False, "svg.hashsalt": "loopscan", "svg.fonttype": "path"}


class PlotError(LoopscanError):
    """A plot cannot be made as asked (unknown plot, token, format)."""


def plain(text: str) -> str:
    """`text` for a matplotlib `Text` (usetex off) that must show it literally: every `$` escaped.

    Without an unescaped `$` matplotlib does not enter mathtext and renders everything else
    (`\\`, `_`, `^`, `{`) as itself, turning each `\\$` back into `$` — so the text drawn is
    exactly `text`. Doubling backslashes would be wrong: outside mathtext they would show twice.
    """
    return text.replace("$", r"\$")


def label(text: object, max_len: int = 40) -> str:
    """Chain text (a symbol) ready for a figure: control characters shown as escapes, cut to
    `max_len`, and `$` escaped (see `plain`)."""
    return plain(terminal_safe(str(text), max_len))


def plot(result, what: str, token: str | None = None, path: str | Path | None = None, *, kind: str = "depeg",
         size: float | None = None) -> Figure:  # fmt: skip
    """A figure of `result`: `what` is ``cascade``, ``rounds``, ``unwind`` or ``exposure``.

    `token` is an address or a symbol (needed for ``cascade`` and ``rounds``); `kind` is the shock,
    ``depeg`` or ``backing_loss``; `size` the shock of a ``rounds`` plot (0..1). With `path`, the
    figure is also written there, as PNG or SVG by its suffix (folders are created).
    """
    suffix = Path(path).suffix.lower().lstrip(".") if path is not None else None
    if suffix is not None and suffix not in FORMATS:
        raise PlotError(f"cannot write a plot as {Path(path).name!r}: the file name must end in .png or .svg")
    if kind not in _SHOCK_TEXT:
        raise PlotError(f"unknown shock {kind!r}: depeg or backing_loss")
    with _style():
        if what == "cascade":
            fig = _cascade(result, resolve_token(result, token), kind)
        elif what == "rounds":
            fig = _rounds(result, resolve_token(result, token), kind, size)
        elif what == "unwind":
            fig = _unwind(result, resolve_token(result, token))
        elif what == "exposure":
            fig = _exposure(result, resolve_token(result, token) if token is not None else None)
        else:
            raise PlotError(f"unknown plot {what!r}: {', '.join(PLOTS)}")
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # No date in the files: the same result gives the same SVG (and PNG).
            metadata = {"Date": None} if suffix == "svg" else {"Software": "loopscan (matplotlib)"}
            fig.savefig(path, format=suffix, dpi=DPI, metadata=metadata)
    return fig


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(_RC):
        yield


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def resolve_token(result, token: str | None) -> str:
    """A token's address from an address or a symbol; an error if unknown or ambiguous."""
    if token is None:
        raise PlotError("this plot needs a token (an address or a symbol)")
    try:
        return result.snapshot.token_address(token)
    except LookupError as exc:
        raise PlotError(terminal_safe(str(exc))) from None


def _symbols(result) -> dict[str, str]:
    """Every token's symbol as read (its address, shortened, where none could be read)."""
    tokens = result.snapshot.tokens
    out = {
        a: (s if isinstance(s, str) else f"{a[:6]}…{a[-4:]}")
        for a, s in zip(tokens["address"], tokens["symbol"], strict=True)
    }
    for address, symbol in result.solver.book.symbols.items():
        out.setdefault(address, symbol)
    return out


def _symbol(result, address: str) -> str:
    return label(_symbols(result).get(address, f"{address[:6]}…{address[-4:]}"))


def _threshold_row(result, token: str, kind: str) -> dict | None:
    t = result.thresholds
    rows = t[(t["token"] == token) & (t["shock"] == kind)]
    return rows.iloc[0].to_dict() if len(rows) else None


def _value(row: dict | None, column: str) -> float | None:
    if row is None:
        return None
    value = row.get(column)
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _provenance(result) -> str:
    meta = result.snapshot.meta
    return f"loopscan · chain {meta.chain_id} · block {meta.block_number}"


def _cascade(result, token: str, kind: str) -> Figure:
    row = _threshold_row(result, token, kind)
    if row is None:
        raise PlotError(f"no {kind} thresholds for {terminal_safe(_symbols(result).get(token, token))} ({token}): "
                        "it is not collateral anywhere" + (" and has no opaque backing" if kind == "backing_loss" else ""))  # fmt: skip
    curve = result.curve(token, kind)
    symbol = _symbol(result, token)
    fig = _figure(8, 5.5)
    ax = fig.subplots()
    diagonal = "no cascade (δ* = δ)" if kind == "depeg" else "y = x (reference)"
    ax.plot([0, 100], [0, 100], color="0.55", ls=":", lw=1.2, label=diagonal, gid="diagonal")
    ax.plot(100 * curve["shock_frac"], 100 * curve["final_depeg_frac"], color="tab:blue", lw=2, marker="o", ms=3,
            label="final depeg δ*(δ)", gid="cascade-curve", zorder=3)  # fmt: skip
    y_text = 64.0
    for column, text, colour, style in THRESHOLD_MARKERS:
        value = _value(row, column)
        if value is None:  # a legend entry without a line: never up to 100 %, or not computable
            missing = column.removesuffix("_frac") in (row.get("not_computable") or "").split(":")[0].split(", ")
            said = "not computable (see the report)" if missing else "never up to 100 %"
            ax.add_line(Line2D([], [], color=colour, ls=style, lw=1.5, label=f"{text}: {said}", gid=f"threshold:{column}"))
            continue
        x = 100 * value
        ax.axvline(x, color=colour, ls=style, lw=1.5, label=f"{text}: {x:.2f} %", gid=f"threshold:{column}")
        right = x < 75  # the value next to its line, on the side with room; boxed to stay readable over the curve
        ax.annotate(f"{text.split(' ')[0]} = {x:.2f} %", (x, y_text), xytext=(6 if right else -6, 0), textcoords="offset points",
                    color=colour, fontsize=8, va="center", ha="left" if right else "right",
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})  # fmt: skip
        y_text -= 8.0
    shock = _SHOCK_TEXT[kind]
    ax.set_xlabel(f"initial shock: {shock} of {symbol} (%)")
    ax.set_ylabel(f"final depeg of {symbol} after the cascade (%)")
    _titles(fig, ax, f"Cascade curve of {symbol}: final depeg after liquidations", f"{_provenance(result)} · δ* sampled every "
            f"{100 * _step(curve):g} %, thresholds to 1 bp")  # fmt: skip
    ax.set(xlim=(0, 100), ylim=(0, 102))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.95)
    return fig


def _unwind(result, token: str) -> Figure:
    depth = result.depth[result.depth["token"] == token]
    if not len(depth):
        raise PlotError(f"no unwind table for {terminal_safe(_symbols(result).get(token, token))} ({token}): it is not collateral anywhere")
    symbol = _symbol(result, token)
    fig = _figure(8, 5.5)
    ax = fig.subplots()
    x = 100 * depth["level_frac"].to_numpy()
    liquidatable = depth["liquidatable_usd"].to_numpy()
    ax.plot(x, np.where(liquidatable > 0, liquidatable, np.nan), color="tab:red", lw=2, marker="o",
            label="collateral the depeg makes liquidatable", gid="liquidatable")  # fmt: skip
    if isinstance(depth["exit_pool"].iloc[0], str):
        absorbed = depth["absorbable_usd"].to_numpy()
        ax.plot(x, np.where(absorbed > 0, absorbed, np.nan), color="tab:blue", lw=2, marker="s",
                label="what its exit pool absorbs within that impact", gid="absorbable")  # fmt: skip
    else:
        ax.add_line(Line2D([], [], color="tab:blue", lw=2, label="absorbable: not computable (no pool read)", gid="absorbable"))
    ax.set_yscale("log")
    ax.set_xlabel(f"further depeg of {symbol}, and price impact (%)")
    ax.set_ylabel("USD (log scale)")
    _titles(fig, ax, f"Unwind of {symbol}: liquidatable collateral against pool depth", f"{_provenance(result)} · "
            "before feedback; positions the baseline liquidates left out")  # fmt: skip
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.95)
    return fig


def _titles(fig: Figure, ax, title: str, subtitle: str) -> None:
    fig.suptitle(title, fontsize=12)
    ax.set_title(subtitle, fontsize=8, color="0.4")


def _step(curve) -> float:
    x = curve["shock_frac"].to_numpy()
    return float(np.round(x[1] - x[0], 6)) if len(x) > 1 else 0.0


def default_rounds_shock(result, token: str, kind: str = "depeg") -> tuple[float, str]:
    """The shock the ``rounds`` plot shows by default, and why: one basis point past δ_c, else
    past δ₁, else 100 %."""
    row = _threshold_row(result, token, kind)
    for column, name in (("cascade_frac", "δ_c"), ("first_liquidation_frac", "δ₁")):
        value = _value(row, column)
        if value is not None:
            return min(value + BP, 1.0), f"{name} + 1 bp"
    return 1.0, "no liquidation below 100 %"


def _rounds(result, token: str, kind: str, size: float | None) -> Figure:
    if size is None:
        size, why = default_rounds_shock(result, token, kind)
    else:
        if not 0.0 <= float(size) <= 1.0:
            raise PlotError(f"shock size {size} is not a fraction between 0 and 1")
        size, why = float(size), "as asked"
    cascade = result.solver.cascade(kind, token, size)
    rounds = cascade.rounds
    symbol = _symbol(result, token)
    start = result.solver.book.p0.get(token)
    fig = _figure(8, 5)
    ax = fig.subplots()
    ax.bar(rounds["round"], rounds["volume_usd"] / 1e6, color="tab:red", alpha=0.65, width=0.6,
           label="collateral liquidated in the round (USD M)", gid="volume")  # fmt: skip
    for r in rounds.itertuples():
        if r.liquidations:
            ax.annotate(f"{r.liquidations} liq.", (r.round, r.volume_usd / 1e6), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color="tab:red")  # fmt: skip
    ax.set_xlabel("cascade round")
    ax.set_ylabel("collateral liquidated (USD millions)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(-0.6 if kind == "depeg" else 0.4, max(rounds["round"].max() if len(rounds) else 1, 1) + 0.6)
    ax.set_ylim(bottom=0)
    twin = ax.twinx()
    xs, ys = list(rounds["round"]), list(rounds["price"])
    if kind == "depeg" and start:
        xs, ys = [0, *xs], [start * (1 - size), *ys]  # round 0: the shock alone, before any liquidation
    twin.plot(
        xs, ys, color="tab:blue", marker="o", lw=2, label=f"market price of {symbol} after the round (USD)", gid="price"
    )
    if start:
        twin.axhline(
            start, color="tab:blue", ls=":", lw=1, label=f"price before the shock: {start:.4g} USD", gid="start_price"
        )
    twin.set_ylabel(f"market price of {symbol} (USD)")
    twin.set_ylim(bottom=0, top=max([start or 0.0, *ys, 1e-9]) * 1.08)
    _titles(
        fig,
        ax,
        f"{symbol}: a {100 * size:.2f} % {_SHOCK_TEXT[kind]} ({why}), round by round",
        f"{_provenance(result)} · final depeg {100 * cascade.final_depeg:.2f} %, bad debt {cascade.bad_debt / 1e6:,.2f} M USD",
    )
    if xs and xs[0] == 0:
        ticks = [int(x) for x in ax.get_xticks() if 0 <= x <= xs[-1] and float(x).is_integer()]
        ax.set_xticks(ticks, ["shock" if t == 0 else str(t) for t in ticks])
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    twin.legend(handles, [h.get_label() for h in handles], loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=2,
                fontsize=8, frameon=False)  # fmt: skip
    return fig


_BASE_COLOURS = ("tab:green", "tab:blue", "tab:cyan", "tab:olive", "tab:purple", "tab:brown")
_OPAQUE_COLOURS = ("tab:red", "#f08080", "#8b0000", "#ff7f50", "#c71585")
_LEAF_TEXT = {
    "base": "base token",
    "opaque": "opaque backing of",
    "circular": "circular through",
    "unpriced": "unpriced collateral",
}


def _exposure(result, token: str | None) -> Figure:
    e = result.exposure[result.exposure["kind"] != "market"]  # market rows overlap the leaves
    vaults = list(dict.fromkeys(e["vault"]))
    if token is not None:
        vaults = [v for v in vaults if v == token or (e[e["vault"] == v]["target"] == token).any()]
        if not vaults:
            raise PlotError(f"no vault rests on {terminal_safe(_symbols(result).get(token, token))} ({token})")
    if not vaults:
        raise PlotError("no vault in this snapshot: nothing to plot")
    summary = {r.vault: r for r in result.vaults.itertuples()} if len(result.vaults) else {}
    vaults.sort(
        key=lambda v: (getattr(summary.get(v), "depth", 0), _symbols(result).get(v, v))
    )  # base of the pyramid at the bottom
    leaves = list(dict.fromkeys((r.kind, r.target) for r in e[e["vault"].isin(vaults)].itertuples()))
    colours, hatches = {}, {}
    counters = {"base": 0, "opaque": 0}
    for kind, target in sorted(leaves, key=lambda k: ("base", "opaque", "circular", "unpriced").index(k[0])):
        if kind in counters:
            palette = _BASE_COLOURS if kind == "base" else _OPAQUE_COLOURS
            colours[(kind, target)] = palette[counters[kind] % len(palette)]
            counters[kind] += 1
        else:
            colours[(kind, target)] = "0.6" if kind == "circular" else "tan"
            hatches[(kind, target)] = "//" if kind == "circular" else "xx"
    fig = _figure(9, 0.75 * len(vaults) + 2.4)
    ax = fig.subplots()
    total_max = 100.0
    for i, vault in enumerate(vaults):
        left = 0.0
        for r in e[e["vault"] == vault].itertuples():
            width = 100 * float(r.fraction)
            if width <= 0:
                continue
            ax.barh(i, width, left=left, color=colours[(r.kind, r.target)], hatch=hatches.get((r.kind, r.target)),
                    edgecolor="white", height=0.6, gid=f"exposure:{vault}:{r.kind}:{r.target}")  # fmt: skip
            if width >= 7:
                name = _symbol(result, r.target) if r.kind == "base" else f"{r.kind} ({_symbol(result, r.target)})"
                text = f"{name} {width:.1f} %" if width >= 8 + 1.2 * len(name) else f"{width:.1f} %"
                ax.text(left + width / 2, i, text, ha="center", va="center", fontsize=8,
                        color="white" if r.kind in ("base", "opaque") else "black")  # fmt: skip
            left += width
        if left < 99.5:  # holdings not in the vault's unit are listed, not weighed
            ax.barh(
                i,
                100 - left,
                left=left,
                color="white",
                edgecolor="0.7",
                hatch="..",
                height=0.6,
                gid=f"exposure:{vault}:unweighed",
            )
        ax.text(max(left, 100) + 1, i, f"{left:.1f} %", va="center", fontsize=7, color="0.35")
        total_max = max(total_max, left)
    ax.set_yticks(range(len(vaults)), [_vault_label(result, v, summary.get(v)) for v in vaults], fontsize=9)
    ax.set_xlim(0, total_max + 8)
    ax.set_xlabel("share of the vault's reported assets (%)")
    _titles(fig, ax, "What each vault ultimately rests on (look-through exposure)", _provenance(result))
    handles = [Patch(facecolor=colours[leaf], hatch=hatches.get(leaf), edgecolor="white",
                     label=f"{_LEAF_TEXT[leaf[0]]} {_symbol(result, leaf[1])}") for leaf in leaves]  # fmt: skip
    if any(h.get_gid() for h in ax.patches if (h.get_gid() or "").endswith(":unweighed")):
        handles.append(
            Patch(facecolor="white", edgecolor="0.7", hatch="..", label="held in another unit (not weighed)")
        )
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14 - 0.1 / max(len(vaults), 1)), ncols=min(3, len(handles)),
              fontsize=8, frameon=False)  # fmt: skip
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return fig


def _vault_label(result, vault: str, summary) -> str:
    text = _symbol(result, vault)
    if summary is None:
        return text
    multiplier = float(summary.multiplier)
    lever = f"{multiplier:.2f}× on its base" if math.isfinite(multiplier) else "no base held"
    return f"{text}\ndepth {int(summary.depth)}, {lever}"
