"""`loopscan history alerts`: one row per alert, its deliveries summarised (a hand-written log)."""

from __future__ import annotations

import pandas as pd

from loopscan.report.history import alert_rows

T = pd.Timestamp("2026-12-02T10:00:00Z")


def _log() -> pd.DataFrame:
    rows = [  # seq, event, rule, sink, delivered_at, abandoned_at, attempts, last_error
        (1, "firing", "liquidatable-now", "hook", T, None, 1, None),
        (1, "firing", "liquidatable-now", "stdout", T, None, 1, None),
        (2, "firing", "bad-debt-now", "hook", None, T, 5, "HTTP 400"),
        (2, "firing", "bad-debt-now", "stdout", T, None, 1, None),
        (3, "resolved", "opaque-backing", "hook", None, None, 2, "timed out"),
        (4, "firing", "new-loop", None, None, None, None, None),
    ]
    frame = pd.DataFrame(rows, columns=["seq", "event", "rule", "sink", "delivered_at", "abandoned_at", "attempts", "last_error"])
    return frame.assign(created_at=T, severity="critical", label="xUSD", subject="0xab", message="m", block_number=7, key="k")


def test_one_row_per_alert_with_every_sink_said():
    rows = alert_rows(_log())
    assert rows["seq"].tolist() == [1, 2, 3, 4]
    assert rows["rule"].tolist() == ["liquidatable-now", "bad-debt-now", "opaque-backing", "new-loop"]
    assert rows["deliveries"].tolist() == [
        "hook ✓, stdout ✓",
        "hook set aside: HTTP 400, stdout ✓",
        "hook pending (2 attempts): timed out",
        "no sink",
    ]
