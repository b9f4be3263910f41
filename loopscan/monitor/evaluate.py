"""Rules against readings, and the alerts that follow from what was already firing. Pure.

`findings` says which (rule, subject) pairs hold in this scan; `transitions` compares them with
the firing set kept in the store and returns the alerts to raise: a condition fires when it
starts to hold and resolves when it stops (or its rule is removed); an event fires each time.
"""

from __future__ import annotations

import hashlib
import operator
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd

from loopscan.monitor.config import NEW_LOOP, SCAN_FAILING, Rule
from loopscan.monitor.readings import THRESHOLD_METRICS
from loopscan.store.alerts import Alert

__all__ = ["Finding", "findings", "transitions", "outage_finding", "TickContext"]

_COMPARE = {"below": operator.lt, "above": operator.gt, "at_least": operator.ge, "at_most": operator.le}
_WORDS = {"below": "below", "above": "above", "at_least": "at or above", "at_most": "at or below"}


@dataclass(frozen=True)
class Finding:
    rule: Rule
    subject_kind: str
    subject: str
    label: str | None
    value: float | None
    previous: float | None
    message: str


@dataclass(frozen=True)
class TickContext:
    """Where the findings were made: keys and alerts carry it."""

    tick_id: str
    chain_id: int | None
    block_number: int | None
    now: datetime
    scanned: bool  # False when the scan failed: only the outage rule was evaluated


def findings(rules: tuple[Rule, ...], current: pd.DataFrame, previous: pd.DataFrame | None) -> list[Finding]:
    """Every (rule, subject) that holds in `current` (METRIC_COLUMNS rows); `previous` is the
    last stored scan's readings (None on the first scan: changes and new loops need one)."""
    out: list[Finding] = []
    for rule in rules:
        if rule.metric == NEW_LOOP:
            out += _new_loops(rule, current, previous)
            continue
        rows = current[current["metric"] == rule.metric]
        before = {} if previous is None else _by_subject(previous[previous["metric"] == rule.metric])
        for r in rows.itertuples():
            if not rule.applies_to(r.subject, r.label):
                continue
            value = _number(r.value)
            if rule.op == "change_above":
                if previous is None or (r.subject_kind, r.subject) not in before:
                    continue
                old = before[(r.subject_kind, r.subject)]
                a, b = _for_change(rule.metric, old), _for_change(rule.metric, value)
                if a is None or b is None or abs(b - a) <= rule.bound:
                    continue
                message = f"{rule.metric} moved from {_fmt(old)} to {_fmt(value)} (more than {_fmt(rule.bound)})"
                out.append(Finding(rule, r.subject_kind, r.subject, r.label, value, old, message))
            elif value is not None and _COMPARE[rule.op](value, rule.bound):
                message = f"{rule.metric} = {_fmt(value)}, {_WORDS[rule.op]} {_fmt(rule.bound)}"
                out.append(Finding(rule, r.subject_kind, r.subject, r.label, value, None, message))
    return out


def outage_finding(rule: Rule, error: str) -> Finding:
    return Finding(rule, "node", "node", "node", None, None, f"scans are failing: {error}")


def transitions(
    found: list[Finding],
    was_firing: dict[tuple[str, str], Alert],
    ctx: TickContext,
) -> tuple[list[Alert], dict[tuple[str, str], tuple[str, str | None]]]:
    """The alerts to raise, and the firing set after them ((rule, subject) → (key, tick id)).

    After a failed scan only the outage rule was evaluated: every other condition keeps
    firing unchanged, since nothing is known about it. A firing condition whose rule is gone
    from the rules file resolves.
    """
    alerts: list[Alert] = []
    now_firing: dict[tuple[str, str], tuple[str, str | None]] = {}
    holding = set()
    for f in found:
        pair = (f.rule.name, f.subject)
        holding.add(pair)
        if f.rule.is_event:
            alerts.append(_alert(f, "firing", _key(ctx, pair), ctx))
        elif pair in was_firing:
            now_firing[pair] = (was_firing[pair].key, was_firing[pair].scan_id)
        else:
            key = _key(ctx, pair)
            alerts.append(_alert(f, "firing", key, ctx))
            now_firing[pair] = (key, ctx.tick_id)
    for pair, fired in was_firing.items():
        if pair in holding:
            continue
        if not ctx.scanned and fired.rule != SCAN_FAILING:
            now_firing[pair] = (fired.key, fired.scan_id)
            continue
        alerts.append(replace(
            fired, key=f"{fired.key}-resolved", event="resolved", value=None, previous=fired.value,
            message=f"resolved (was: {fired.message})", scan_id=ctx.tick_id if ctx.scanned else None,
            chain_id=ctx.chain_id, block_number=ctx.block_number, created_at=ctx.now,
        ))  # fmt: skip
    return alerts, now_firing


def _alert(f: Finding, event: str, key: str, ctx: TickContext) -> Alert:
    rule = f.rule
    return Alert(
        key=key, event=event, rule=rule.name, severity=str(rule.severity), subject_kind=f.subject_kind,
        subject=f.subject, label=f.label, metric=rule.metric or None, value=f.value, previous=f.previous,
        bound=rule.bound, message=f.message, scan_id=ctx.tick_id if ctx.scanned else None,
        chain_id=ctx.chain_id, block_number=ctx.block_number, created_at=ctx.now,
    )  # fmt: skip


def _key(ctx: TickContext, pair: tuple[str, str]) -> str:
    """Unique per (rule, subject, tick): a retried delivery or a restart reuses the stored key."""
    return hashlib.sha256(f"{ctx.chain_id}|{pair[0]}|{pair[1]}|{ctx.tick_id}".encode()).hexdigest()[:32]


def _new_loops(rule: Rule, current: pd.DataFrame, previous: pd.DataFrame | None) -> list[Finding]:
    if previous is None:
        return []  # the first scan is the baseline: nothing is "new" yet
    known = set(previous.loc[previous["subject_kind"] == "loop", "subject"])
    loops = current[(current["subject_kind"] == "loop") & ~current["subject"].isin(known)].drop_duplicates("subject")
    return [Finding(rule, "loop", r.subject, r.label, _number(r.value), None, "a new loop appeared")
            for r in loops.itertuples() if rule.applies_to(r.subject, r.label)]  # fmt: skip


def _by_subject(rows: pd.DataFrame) -> dict[tuple[str, str], float | None]:
    return {(r.subject_kind, r.subject): _number(r.value) for r in rows.itertuples()}


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _for_change(metric: str, value: float | None) -> float | None:
    # A threshold that does not exist means no shock up to 100 % triggers it.
    return 1.0 if value is None and metric in THRESHOLD_METRICS else value


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.4g}"
