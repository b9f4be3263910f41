"""The risk report printed after a scan: pyramids, loops, thresholds, losses, riskiest positions.

Every number carries its unit; every string that came from the chain is escaped for the
terminal (`textsafe`). How each figure is computed: docs/methodology.md.
"""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.table import Table

from loopscan.result import ScanResult
from loopscan.textsafe import safe_text

__all__ = ["print_risk_report", "riskiest_positions", "METHODOLOGY"]

METHODOLOGY = "docs/methodology.md"


def _pct(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none ≤ 100 %"
    return f"{100 * float(value):.2f} %"


def _usd(value: float) -> str:
    return f"${value / 1e6:,.2f}M" if abs(value) >= 1e5 else f"${value:,.0f}"


def riskiest_positions(result: ScanResult, limit: int = 10) -> pd.DataFrame:
    """Positions closest to liquidation: the market depeg of their collateral that opens them."""
    solver, book = result.solver, result.solver.book
    rows = []
    for token in solver.shockable("depeg"):
        for (key, account), delta in solver.first_liquidation_by_position("depeg", token).items():
            # A Morpho position is keyed by its market; a pooled one by its pool.
            protocol = next(m.protocol for k, m in book.markets.items() if k == key or k.startswith(f"{key}:"))
            rows.append({"collateral": book.symbols.get(token, token), "protocol": protocol, "market": key,
                         "account": account, "depeg_to_liquidation": delta})  # fmt: skip
    frame = pd.DataFrame(rows, columns=["collateral", "protocol", "market", "account", "depeg_to_liquidation"])
    return frame.sort_values("depeg_to_liquidation").head(limit).reset_index(drop=True)


def print_risk_report(console: Console, result: ScanResult) -> None:
    symbols = result.solver.book.symbols
    unsolved = result.solver.book.unsolved
    if unsolved:
        console.print(f"not solved: {len(unsolved)} market(s) the solver cannot apply its rules to yet; their positions "
                      f"are in no threshold (e.g. {next(iter(unsolved.values()))})", markup=False, style="bold yellow")  # fmt: skip
    if len(result.pyramids):
        t = Table(title="Pyramids by base asset", title_justify="left")
        for col in ("base", "vaults", "depth", "receipts outstanding", "base held", "multiplier"):
            t.add_column(col, justify="left" if col == "base" else "right")
        for p in result.pyramids.itertuples():
            t.add_row(safe_text(str(p.base_symbol)), str(p.vaults), str(p.depth), _usd(p.receipts_outstanding * result.solver.book.p0.get(p.base, 1.0)),
                      _usd(p.base_held * result.solver.book.p0.get(p.base, 1.0)), f"{p.multiplier:.2f}x")  # fmt: skip
        console.print(t)
    if len(result.vaults):
        t = Table(title="Vaults: what their value rests on (look-through)", title_justify="left")
        for col in ("vault", "depth", "on base", "on opaque backing", "multiplier"):
            t.add_column(col, justify="left" if col == "vault" else "right")
        for v in result.vaults.sort_values("opaque_fraction", ascending=False).itertuples():
            t.add_row(safe_text(str(v.symbol)), str(v.depth), _pct(v.base_fraction), _pct(v.opaque_fraction), f"{v.multiplier:.2f}x")
        console.print(t)
    if len(result.loops):
        t = Table(title="Loops (receipts posted to borrow what mints them)", title_justify="left")
        for col in ("loop", "loopers", "leverage"):
            t.add_column(col, justify="left" if col == "loop" else "right")
        for lp in result.loops.itertuples():
            t.add_row(safe_text(lp.loop), str(lp.loopers), f"{lp.leverage:.2f}x")
        console.print(t)
    t = Table(title="Depeg thresholds (δ₁ first liquidation, δ_c cascade, δ_bd bad debt)", title_justify="left")
    for col in ("token", "shock", "δ₁", "δ_c", "δ_bd", "positions reachable", "bad debt at 100 %", "flags"):
        t.add_column(col, justify="left" if col in ("token", "shock", "flags") else "right")
    for r in result.thresholds.itertuples():
        shock = "market depeg" if r.shock == "depeg" else "loss of opaque backing"
        t.add_row(safe_text(str(r.symbol)), shock, _pct(r.first_liquidation_frac), _pct(r.cascade_frac), _pct(r.bad_debt_frac),
                  str(r.positions_at_risk), _usd(r.bad_debt_at_100pct_usd), "unknown oracle" if r.oracle_flags else "")  # fmt: skip
    console.print(t)
    if len(result.losses):
        t = Table(title="Losses by lender, just past each threshold", title_justify="left")
        for col in ("shocked token", "threshold", "lender", "realised bad debt", "hidden bad debt"):
            t.add_column(col, justify="right" if "debt" in col else "left")
        for x in result.losses.itertuples():
            lender = x.lender_symbol if isinstance(x.lender_symbol, str) else x.lender[:10] + "…"
            shock = "depeg" if x.shock == "depeg" else "backing loss"
            t.add_row(safe_text(symbols.get(x.token, x.token)), f"{x.threshold} ({shock} {_pct(x.shock_frac)})", safe_text(lender),
                      _usd(x.realized_bad_debt_usd), _usd(x.hidden_bad_debt_usd))  # fmt: skip
        console.print(t)
    risky = riskiest_positions(result)
    if len(risky):
        t = Table(title="Riskiest positions", title_justify="left")
        for col in ("collateral", "protocol", "account", "depeg to liquidation"):
            t.add_column(col, justify="right" if col.startswith("depeg") else "left")
        for p in risky.itertuples():
            t.add_row(safe_text(p.collateral), p.protocol, p.account, _pct(p.depeg_to_liquidation))
        console.print(t)
    console.print(f"How each figure is computed, and what is not modelled: {METHODOLOGY}", markup=False)
