"""The backtest as one self-contained HTML page: the timeline plot, the lead times, the alerts.

Everything from the chain (symbols, rule labels, messages) is escaped; the plot is embedded as
a data URL, so the page is one file that opens anywhere, offline.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

__all__ = ["write_page"]

_STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f4f4f4}img{max-width:100%}"
    ".critical{color:#b00}.warning{color:#a60}"
)


def _table(headers: list[str], rows: list[list[object]], row_class: list[str] | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{escape((row_class or [""] * len(rows))[i])}">' + "".join(f"<td>{escape('' if c is None else str(c))}</td>" for c in row) + "</tr>"
        for i, row in enumerate(rows)
    )  # fmt: skip
    return f"<table><tr>{head}</tr>{body}</table>"


def write_page(data: dict, plot: Path, path: Path, title: str) -> Path:
    """`data` is `timeline_json`'s object; `plot` the PNG `plot_timeline` wrote."""
    image = base64.b64encode(plot.read_bytes()).decode()
    leads = [[r["event"], r["rule"], (r["first_time"] or "not by then")[:10], r["first_block"],
              None if r["lead_days"] is None else f"{r['lead_days']:.1f}"] for r in data["lead_times"]]  # fmt: skip
    alerts = [[a["time"][:10], a["block"], a["event"], a["severity"], a["rule"], a["label"] or a["subject"], a["message"]]
              for a in data["alerts"]]  # fmt: skip
    events = [[e["name"], e["time"][:10], e["block"]] for e in data["events"]]
    failed = [[f["block"], f["attempts"], f["error"]] for f in data["failed"]]
    parts = [
        f"<!doctype html><meta charset=utf-8><title>{escape(title)}</title><style>{_STYLE}</style>",
        f"<h1>{escape(title)}</h1>",
        f'<img alt="thresholds over time, alerts and events" src="data:image/png;base64,{image}">',
        "<h2>Events</h2>" + _table(["event", "date", "block"], events),
        "<h2>Lead time of each rule</h2>" + _table(["event", "rule", "first fired", "block", "lead (days)"], leads),
        "<h2>Alerts</h2>" + _table(["date", "block", "event", "severity", "rule", "subject", "message"], alerts,
                                   [a["severity"] for a in data["alerts"]]),  # fmt: skip
    ]
    if failed:
        parts.append("<h2>Failed blocks</h2>" + _table(["block", "attempts", "reason"], failed))
    path.write_text("\n".join(parts) + "\n")
    return path
