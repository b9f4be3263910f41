"""`loopscan history`: the stored readings of each token over time, as tables and a plot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from loopscan.textsafe import safe_text, terminal_safe

__all__ = ["history_tables", "print_history", "plot_history", "print_frame", "alert_rows"]

# The token metrics shown, in order, with their column titles.
_COLUMNS = {
    "depeg_first_liquidation_frac": "δ₁",
    "depeg_cascade_frac": "δ_c",
    "depeg_bad_debt_frac": "δ_bd",
    "backing_loss_first_liquidation_frac": "loss δ₁",
    "backing_loss_bad_debt_frac": "loss δ_bd",
    "leverage_x": "leverage",
    "opaque_frac": "opaque",
}
_CAPTION = ("δ: market depeg needed for the first liquidation (δ₁), a self-feeding cascade (δ_c), bad debt (δ_bd); "
            "loss δ: the same as a loss of opaque backing; leverage: receipts per unit of base under the token; "
            "opaque: share of its backing nobody can see on chain")


_ALERT = ["seq", "created_at", "event", "severity", "rule", "label", "message", "block_number"]


def alert_rows(log: pd.DataFrame) -> pd.DataFrame:
    """`store.alert_log` (a row per alert and sink) as one row per alert, its deliveries in one
    column: `hook ✓` delivered, `hook set aside: <error>` abandoned, `hook pending (n attempts)`."""

    def one(d) -> str | None:
        if not isinstance(d.sink, str):
            return None  # no sink was configured when it was raised
        if pd.notna(d.delivered_at):
            return f"{d.sink} ✓"
        if pd.notna(d.abandoned_at):
            return f"{d.sink} set aside: {d.last_error}"
        return f"{d.sink} pending ({int(d.attempts or 0)} attempts)" + (f": {d.last_error}" if isinstance(d.last_error, str) else "")

    rows = []
    for _, group in log.groupby("seq", sort=True):
        first = group.iloc[0]
        deliveries = [x for x in (one(d) for d in group.itertuples()) if x]
        rows.append({**{c: first[c] for c in _ALERT}, "deliveries": ", ".join(deliveries) or "no sink"})
    return pd.DataFrame(rows, columns=[*_ALERT, "deliveries"])


def history_tables(rows: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """(token address, symbol) → one row per scan (block, time) and a column per metric shown.

    `rows` is `store.metric_history`. A metric a scan did not have (no vault, no threshold up
    to a 100 % shock) is NaN."""
    tokens = rows[(rows["subject_kind"] == "token") & rows["metric"].isin(list(_COLUMNS))]
    out = {}
    for (subject, label), group in tokens.groupby(["subject", "label"], dropna=False, sort=False):
        wide = group.pivot(index=["block_number", "finished_at", "scan_id"], columns="metric", values="value").reset_index()
        present = [m for m in _COLUMNS if m in wide.columns]
        out[(subject, None if pd.isna(label) else label)] = wide[["block_number", "finished_at", "scan_id", *present]]
    return out


def print_history(console: Console, tables: dict[tuple[str, str], pd.DataFrame]) -> None:
    for (subject, label), frame in tables.items():
        title = safe_text(f"{label or subject} ({subject})", style="bold")
        t = Table(title=title, title_justify="left", caption=_CAPTION, caption_justify="left")
        t.add_column("block", justify="right")
        t.add_column("scanned UTC", no_wrap=True)
        for metric in frame.columns[3:]:
            t.add_column(_COLUMNS[metric], justify="right")
        for row in frame.itertuples(index=False):
            cells = [_cell(metric, getattr(row, metric)) for metric in frame.columns[3:]]
            t.add_row(str(row.block_number), f"{pd.Timestamp(row.finished_at).tz_convert('UTC'):%m-%d %H:%M:%S}", *cells)
        console.print(t)


def _cell(metric: str, value: float) -> str:
    if pd.isna(value):
        return "none" if metric.endswith("_frac") and metric != "opaque_frac" else "–"
    if metric.endswith("_frac"):
        return f"{value:.2%}"
    return f"{value:.2f}"


def plot_history(tables: dict[tuple[str, str], pd.DataFrame], path: Path):
    """Thresholds (top) and leverage (bottom) of each token against block; written to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    for (subject, label), frame in tables.items():
        name = terminal_safe(label or subject, 24)
        for metric, style in (("depeg_first_liquidation_frac", "-o"), ("depeg_bad_debt_frac", "--s")):
            if metric in frame:
                top.plot(frame["block_number"], frame[metric] * 100, style, label=f"{name} {_COLUMNS[metric]}")
        if "leverage_x" in frame:
            bottom.plot(frame["block_number"], frame["leverage_x"], "-o", label=name)
    top.set_ylabel("depeg needed, %")
    top.set_title("Depeg needed for the first liquidation (δ₁) and for bad debt (δ_bd)")
    bottom.set_ylabel("receipts per unit of base (×)")
    bottom.set_xlabel("block")
    for ax in (top, bottom):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return fig


def print_frame(console: Console, frame: pd.DataFrame, title: str) -> None:
    """Any history frame as a table; every cell is shown as plain, terminal-safe text."""
    t = Table(title=title, title_justify="left")
    for column in frame.columns:
        t.add_column(str(column), overflow="fold")
    for row in frame.itertuples(index=False):
        t.add_row(*(safe_text(_plain(v)) for v in row))
    console.print(t)


def _plain(v: object) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT:
        return ""
    if isinstance(v, pd.Timestamp):
        return f"{v.tz_convert('UTC'):%Y-%m-%d %H:%M:%S}"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
