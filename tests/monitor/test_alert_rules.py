"""Rules against readings, and the alerts they raise over successive scans (pure: no node).

Readings are written by hand; each expected alert is read off the rule and the numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from loopscan.monitor.config import MonitorConfig, parse_config
from loopscan.monitor.evaluate import TickContext, findings, outage_finding, transitions

X, S = "0x" + "1" * 40, "0x" + "2" * 40
RULES = parse_config(
    {"rule": [
        {"name": "near", "metric": "depeg_first_liquidation_frac", "below": 0.10, "severity": "warning"},
        {"name": "xusd-only", "metric": "depeg_first_liquidation_frac", "at_most": 0.5, "subjects": ["XUSD"], "severity": "info"},
        {"name": "moved", "metric": "depeg_first_liquidation_frac", "change_above": 0.02, "severity": "info"},
        {"name": "stuck", "metric": "utilisation_frac", "at_least": 1.0, "severity": "critical"},
        {"name": "loops", "metric": "new_loop", "severity": "info"},
    ]},
    "test",
).rules  # fmt: skip


def readings(x_first: float | None, s_first: float | None, utilisation: float, loops: tuple[str, ...] = ()) -> pd.DataFrame:
    rows = [("token", X, "xUSD", "depeg_first_liquidation_frac", x_first),
            ("token", S, "sdeUSD", "depeg_first_liquidation_frac", s_first),
            ("market", "0xm:1", "xUSD/USDC", "utilisation_frac", utilisation)]  # fmt: skip
    rows += [("loop", key, key, "loop_leverage_x", 3.0) for key in loops]
    return pd.DataFrame(rows, columns=["subject_kind", "subject", "label", "metric", "value"])


def pairs(found) -> set[tuple[str, str]]:
    return {(f.rule.name, f.subject) for f in found}


def test_conditions_compare_as_written() -> None:
    found = findings(RULES, readings(0.0997, 0.2, 1.0), None)
    assert pairs(found) == {("near", X), ("xusd-only", X), ("stuck", "0xm:1")}
    near = next(f for f in found if f.rule.name == "near")
    assert near.message == "depeg_first_liquidation_frac = 0.0997, below 0.1"
    # exactly at the bound: `below` does not hold, `at_least` does; a threshold that does not exist never is "below"
    assert pairs(findings(RULES, readings(0.10, None, 0.999), None)) == {("xusd-only", X)}


def test_changes_and_new_loops_need_a_previous_scan() -> None:
    first = readings(0.1257, None, 0.5, loops=("a>b",))
    assert pairs(findings(RULES, first, None)) == {("xusd-only", X)}  # conditions only: nothing to compare with
    second = readings(0.0797, 0.128, 0.5, loops=("a>b", "c>d"))
    found = findings(RULES, second, first)
    # xUSD moved 4.6 points; sdeUSD went from "no liquidation up to 100 %" (counted as 1.0) to 12.8 %
    assert pairs(found) == {("near", X), ("xusd-only", X), ("moved", X), ("moved", S), ("loops", "c>d")}
    moved = {f.subject: f for f in found if f.rule.name == "moved"}
    assert moved[X].message == "depeg_first_liquidation_frac moved from 0.1257 to 0.0797 (more than 0.02)"
    assert moved[S].previous is None and moved[S].value == 0.128


def tick(n: int, scanned: bool = True) -> TickContext:
    return TickContext(f"t{n}", 1, 100 + n if scanned else None, datetime(2026, 11, 25, 12, n, tzinfo=UTC), scanned)


def run(sequence):
    """Feed (readings or an error) per tick through findings and transitions; the alerts raised."""
    config = MonitorConfig(rules=RULES)
    firing, previous, raised = {}, None, []
    for n, current in enumerate(sequence):
        if isinstance(current, str):
            found, ctx = [outage_finding(config.outage_rule, current)], tick(n, scanned=False)
        else:
            found, ctx = findings(config.rules, current, previous), tick(n)
            previous = current
        alerts, now = transitions(found, firing, ctx)
        by_key = {a.key: a for a in raised + alerts}
        firing = {pair: by_key[key] for pair, (key, _) in now.items()}
        raised += alerts
        yield n, alerts


def test_a_condition_fires_once_survives_an_outage_and_resolves() -> None:
    sequence = [readings(0.05, 0.2, 0.5), readings(0.04, 0.2, 0.5), "node down", "node down",
                readings(0.04, 0.2, 0.5), readings(0.30, 0.2, 0.5)]  # fmt: skip
    events = {n: [(a.event, a.rule, a.subject) for a in alerts] for n, alerts in run(sequence)}
    assert events == {
        0: [("firing", "near", X), ("firing", "xusd-only", X)],
        1: [],  # still holding: nothing new (the 1-point move is under the change rule's 2)
        2: [("firing", "scan_failing", "node")],  # the outage, once; xUSD's alerts stay firing
        3: [],
        4: [("resolved", "scan_failing", "node")],
        5: [("firing", "moved", X), ("resolved", "near", X)],  # 0.30 is not below 0.10; still at most 0.5
    }


def test_keys_are_unique_and_a_resolution_points_at_its_alert() -> None:
    alerts = [a for _, batch in run([readings(0.05, 0.2, 0.5), readings(0.5, 0.2, 0.5), readings(0.05, 0.2, 0.5)]) for a in batch]
    keys = [a.key for a in alerts]
    assert len(keys) == len(set(keys))
    fired, resolved, again = [a for a in alerts if a.rule == "near"]
    assert resolved.key == fired.key + "-resolved" and resolved.previous == 0.05
    assert again.key not in (fired.key, resolved.key)  # a new episode is a new alert


def test_a_rule_removed_from_the_file_resolves_its_alerts() -> None:
    first = readings(0.05, 0.2, 0.5)
    alerts, now = transitions(findings(RULES, first, None), {}, tick(0))
    firing = {pair: next(a for a in alerts if a.key == key) for pair, (key, _) in now.items()}
    without_near = tuple(r for r in RULES if r.name != "near")
    later, _ = transitions(findings(without_near, first, first), firing, tick(1))
    assert [(a.event, a.rule) for a in later] == [("resolved", "near")]
