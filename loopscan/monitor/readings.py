"""A scan's numbers in one long table: what alert rules test, the history stores and Prometheus shows.

One row per (subject, metric). Subjects are keyed by what the chain says, never by a symbol
(symbols are attacker-controlled and not unique); the symbol rides along as ``label``.

| subject_kind | subject | metrics |
|---|---|---|
| token | token address | ``{shock}_first_liquidation_frac``, ``{shock}_cascade_frac``, ``{shock}_bad_debt_frac`` (shock: ``depeg``, ``backing_loss``; further shocks from the state at the pin, null where it never happens up to a 100 % shock or is not computable), ``liquidatable_now`` (positions it reaches that are liquidatable at the pin), ``bad_debt_now_usd`` (what closing them now leaves unpaid), and for a vault's receipt ``leverage_x`` (receipts per unit of base held under it), ``opaque_frac``, ``depth`` |
| token | token address | ``unwind_{L}pct_x`` (L: 1, 2, 5, 10, 15, 25): collateral a further depeg of L % makes liquidatable over what its exit pool absorbs within L % (`ScanResult.depth`); infinite where the pool has no depth there, null where nothing opens or no pool was read |
| base | base token address | ``pyramid_leverage_x``, ``pyramid_depth`` |
| loop | token addresses joined by ``>`` | ``loop_leverage_x`` |
| market | ``protocol_address:market_id`` | ``utilisation_frac`` (borrowed / supplied; 1 = lenders cannot withdraw) |
"""

from __future__ import annotations

import math

import pandas as pd

from loopscan.graph import find_loops
from loopscan.result import ScanResult
from loopscan.solver.depth import LEVELS
from loopscan.store import METRIC_COLUMNS

__all__ = ["readings", "METRICS", "THRESHOLD_METRICS"]

_SHOCKS = ("depeg", "backing_loss")
_THRESHOLDS = ("first_liquidation_frac", "cascade_frac", "bad_debt_frac")
THRESHOLD_METRICS = tuple(f"{shock}_{name}" for shock in _SHOCKS for name in _THRESHOLDS)
METRICS = {
    **{m: "token" for m in THRESHOLD_METRICS},
    "liquidatable_now": "token",
    **{f"unwind_{round(level * 100)}pct_x": "token" for level in LEVELS},
    "bad_debt_now_usd": "token",
    "leverage_x": "token",
    "opaque_frac": "token",
    "depth": "token",
    "pyramid_leverage_x": "base",
    "pyramid_depth": "base",
    "loop_leverage_x": "loop",
    "utilisation_frac": "market",
}
"""Every metric name, with the kind of subject it describes."""


def readings(result: ScanResult) -> pd.DataFrame:
    """The METRIC_COLUMNS table of one analysed scan (values are floats, None where undefined)."""
    rows: list[tuple] = []
    for t in result.thresholds.itertuples():
        for name in _THRESHOLDS:
            rows.append(("token", t.token, t.symbol, f"{t.shock}_{name}", _value(getattr(t, name))))
    for t in result.thresholds.drop_duplicates("token").itertuples():  # the state now is the same under either shock
        rows += [("token", t.token, t.symbol, "liquidatable_now", float(t.liquidatable_now)),
                 ("token", t.token, t.symbol, "bad_debt_now_usd", _value(t.bad_debt_now_usd))]  # fmt: skip
    for d in result.depth.itertuples():
        rows.append(("token", d.token, d.symbol, f"unwind_{round(d.level_frac * 100)}pct_x", _ratio(d.liquidatable_to_absorbable)))
    share_of = dict(zip(result.snapshot.vaults["vault"], result.snapshot.vaults["share_token"], strict=True))
    for v in result.vaults.itertuples():
        token = share_of.get(v.vault, v.vault)
        rows += [("token", token, v.symbol, "leverage_x", _value(v.multiplier)),
                 ("token", token, v.symbol, "opaque_frac", _value(v.opaque_fraction)),
                 ("token", token, v.symbol, "depth", float(v.depth))]  # fmt: skip
    for b in result.pyramids.itertuples():
        rows += [("base", b.base, b.base_symbol, "pyramid_leverage_x", _value(b.multiplier)),
                 ("base", b.base, b.base_symbol, "pyramid_depth", float(b.depth))]  # fmt: skip
    if len(result.loops):
        # loop_table lists find_loops in order: the addresses give each loop a stable key.
        for loop, row in zip(find_loops(result.graph), result.loops.itertuples(), strict=True):
            rows.append(("loop", ">".join(loop.tokens), row.loop, "loop_leverage_x", _value(row.leverage)))
    snap = result.snapshot
    symbols = dict(zip(snap.tokens["address"], snap.tokens["symbol"], strict=True))
    accepted: dict[tuple[str, str], list[str]] = {}
    for c in snap.market_collaterals.itertuples():
        accepted.setdefault((c.protocol_address, c.market_id), []).append(symbols.get(c.collateral_token) or c.collateral_token)
    for m in snap.markets.itertuples():
        if not m.total_supply_assets:
            continue
        collateral = "+".join(accepted.get((m.protocol_address, m.market_id), [])) or "no collateral"
        label = f"{collateral}/{symbols.get(m.loan_token) or m.loan_token} ({m.protocol})"
        rows.append(("market", f"{m.protocol_address}:{m.market_id}", label, "utilisation_frac",
                     m.total_borrow_assets / m.total_supply_assets))  # fmt: skip
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def _ratio(x: object) -> float | None:
    """A ratio, infinity kept (no depth at all is the worst reading, not a missing one)."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _value(x: object) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x
