"""A stored backtest read back: thresholds over time, the alerts, each rule's lead time before
an event (e.g. the write-down), as frames, JSON and a PNG.

Lead time of a rule = the event's time minus the time of the first block, up to the event's own,
at which the rule fired (0: it fired only once the event was on chain); a rule that had not fired
by then has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

__all__ = ["Event", "threshold_timeline", "alert_timeline", "failed_blocks", "lead_times", "timeline_json", "plot_timeline"]

_THRESHOLDS = ("depeg_first_liquidation_frac", "depeg_cascade_frac", "depeg_bad_debt_frac")


@dataclass(frozen=True)
class Event:
    """A marked moment: its name, and the block it happened in (its time is that block's)."""

    name: str
    block: int
    time: datetime


def threshold_timeline(con: duckdb.DuckDBPyConnection, chain_id: int) -> pd.DataFrame:
    """Per ok block and token: time, and δ₁, δ_c, δ_bd (fractions; NaN where none up to 100 %)."""
    frame = con.execute(
        "SELECT s.block_number AS block, s.block_timestamp, m.subject AS token, m.label AS symbol, m.metric, m.value "
        "FROM backtest_blocks b JOIN scans s USING (scan_id) JOIN metrics m USING (scan_id) "
        "WHERE b.chain_id = ? AND b.status = 'ok' AND m.subject_kind = 'token' AND m.metric IN (?, ?, ?) "
        "ORDER BY s.block_number, m.subject",
        [chain_id, *_THRESHOLDS],
    ).fetchdf()
    wide = frame.set_index(["block", "block_timestamp", "token", "symbol", "metric"])["value"].unstack("metric").reset_index()
    for name in _THRESHOLDS:
        if name not in wide:
            wide[name] = float("nan")
    wide["time"] = pd.to_datetime(wide["block_timestamp"], unit="s", utc=True)
    return wide[["block", "time", "token", "symbol", *_THRESHOLDS]].rename_axis(None, axis=1)


def alert_timeline(con: duckdb.DuckDBPyConnection, chain_id: int) -> pd.DataFrame:
    """Every alert the rules raised over the run, in block order."""
    return con.execute(
        "SELECT block_number AS block, created_at AS time, event, severity, rule, label, subject, message "
        "FROM alerts WHERE scan_id LIKE ? ORDER BY block_number, seq",
        [f"backtest-{chain_id}-%"],
    ).fetchdf()


def failed_blocks(con: duckdb.DuckDBPyConnection, chain_id: int) -> pd.DataFrame:
    return con.execute("SELECT block_number AS block, attempts, error FROM backtest_blocks "
                       "WHERE chain_id = ? AND status = 'failed' ORDER BY 1", [chain_id]).fetchdf()  # fmt: skip


def lead_times(alerts: pd.DataFrame, rules: list[str], events: list[Event]) -> pd.DataFrame:
    """Per event and rule: the first firing up to the event's block, and how long before it (days; NaN: none)."""
    rows = []
    for event, rule in ((e, r) for e in events for r in rules):
        fired = alerts[(alerts["rule"] == rule) & (alerts["event"] == "firing") & (alerts["block"] <= event.block)]
        if len(fired):
            first = fired.iloc[0]
            when = pd.Timestamp(first["time"]).tz_convert(UTC)
            lead = (pd.Timestamp(event.time) - when).total_seconds() / 86400
            rows.append((rule, event.name, int(first["block"]), when, lead, first["label"], first["message"]))
        else:
            rows.append((rule, event.name, None, None, float("nan"), None, None))
    return pd.DataFrame(rows, columns=["rule", "event", "first_block", "first_time", "lead_days", "label", "message"])


def _iso(value) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).tz_convert(UTC).isoformat()


def timeline_json(thresholds: pd.DataFrame, alerts: pd.DataFrame, leads: pd.DataFrame, events: list[Event],
                  failed: pd.DataFrame) -> dict:  # fmt: skip
    """One JSON-ready object: events, per-token thresholds over time, alerts, lead times, failures."""

    def num(x) -> float | None:
        return None if x is None or pd.isna(x) else float(x)

    return {
        "events": [{"name": e.name, "block": e.block, "time": e.time.isoformat()} for e in events],
        "thresholds": [
            {"block": int(r.block), "time": _iso(r.time), "token": r.token, "symbol": r.symbol,
             **{name: num(getattr(r, name)) for name in _THRESHOLDS}}
            for r in thresholds.itertuples()
        ],  # fmt: skip
        "alerts": [
            {"block": int(r.block), "time": _iso(r.time), "event": r.event, "severity": r.severity, "rule": r.rule,
             "label": r.label, "subject": r.subject, "message": r.message}
            for r in alerts.itertuples()
        ],  # fmt: skip
        "lead_times": [
            {"rule": r.rule, "event": r.event, "first_block": None if pd.isna(r.first_block) else int(r.first_block),
             "first_time": _iso(r.first_time), "lead_days": num(r.lead_days), "label": r.label}
            for r in leads.itertuples()
        ],  # fmt: skip
        "failed": [{"block": int(r.block), "attempts": int(r.attempts), "error": r.error} for r in failed.itertuples()],
    }


def plot_timeline(thresholds: pd.DataFrame, alerts: pd.DataFrame, events: list[Event], path: str | Path) -> Path:
    """One panel per token (δ₁, δ_c, δ_bd over time) and an alerts strip; events as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    tokens = [t for t, g in thresholds.groupby("token", sort=False) if g[list(_THRESHOLDS)].notna().any().any()]
    fig, axes = plt.subplots(len(tokens) + 1, 1, figsize=(11, 2.4 * (len(tokens) + 1)), sharex=True, squeeze=False)
    for ax, token in zip(axes[:-1, 0], tokens, strict=True):
        rows = thresholds[thresholds["token"] == token]
        for name, label in zip(_THRESHOLDS, ("δ₁ first liquidation", "δ_c cascade", "δ_bd bad debt"), strict=True):
            ax.step(rows["time"], 100 * rows[name], where="post", label=label)
        ax.set_ylabel("depeg %")
        ax.set_title(f"{rows['symbol'].iloc[0]} ({token[:10]}…)", fontsize=9, loc="left")
        ax.set_ylim(bottom=0)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    strip = axes[-1, 0]
    end = thresholds["time"].max()
    rules = list(dict.fromkeys(alerts.loc[alerts["event"] == "firing", "rule"]))
    for i, rule in enumerate(rules):
        for start, stop, severity in _firing_spans(alerts[alerts["rule"] == rule], end):
            # A span, not a tick: an alert that fires once and stays firing is the signal.
            strip.broken_barh([(start, max(stop - start, pd.Timedelta(hours=12)))], (i - 0.3, 0.6),
                              color=_SEVERITY_COLOURS.get(severity, "grey"))  # fmt: skip
    strip.set_yticks(range(len(rules)), rules, fontsize=7)
    strip.set_ylim(-0.7, max(len(rules), 1) - 0.3)
    strip.set_title("alerts firing (critical red, warning orange, info blue)", fontsize=9, loc="left")
    for ax in axes[:, 0]:
        for e in events:
            ax.axvline(e.time, color="red", linestyle="--", linewidth=1)
    for e in events:
        axes[0, 0].annotate(e.name, (e.time, 1), xycoords=("data", "axes fraction"), fontsize=7, color="red",
                            rotation=90, va="top", ha="right")  # fmt: skip
    strip.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    fig.autofmt_xdate()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


_SEVERITY_COLOURS = {"critical": "tab:red", "warning": "tab:orange", "info": "tab:blue"}


def _firing_spans(alerts: pd.DataFrame, end: pd.Timestamp) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """(from, to, severity) of each time one rule's alert fired for a subject, to its resolution or
    the last block scanned."""
    spans, open_at = [], {}
    for a in alerts.itertuples():
        time = pd.Timestamp(a.time)
        time = time.tz_localize("UTC") if time.tzinfo is None else time
        if a.event == "firing":
            open_at.setdefault(a.subject, (time, a.severity))
        elif a.event == "resolved" and a.subject in open_at:
            start, severity = open_at.pop(a.subject)
            spans.append((start, time, severity))
    spans.extend((start, end, severity) for start, severity in open_at.values())
    return spans
