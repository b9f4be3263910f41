"""The risk report printed after a scan: what the scan read and did not (`report.coverage`), then
the headline, then what is breaking now, then the details (pyramids, loops, losses by lender,
unwind, thresholds when liquidity leaves, riskiest positions).

Every number carries its unit; every string that came from the chain is escaped for the
terminal (`textsafe`). Fractions are data everywhere else; tables show them as %. How each
figure is computed: docs/methodology.md. The tables fit an 80-column terminal.
"""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from loopscan.model import Snapshot
from loopscan.report.coverage import coverage_lines
from loopscan.report.units import NOT_COMPUTABLE, account, not_computable_figures, pct, usd
from loopscan.result import ScanResult
from loopscan.solver.haircut import HAIRCUTS, haircut_column
from loopscan.solver.now import flagged
from loopscan.textsafe import safe_text, terminal_safe

__all__ = ["print_coverage", "print_risk_report", "riskiest_positions", "headline_table", "METHODOLOGY"]

METHODOLOGY = "docs/methodology.md"
_SHOCK = {"depeg": "depeg", "backing_loss": "backing"}
_MARKS = "¹²³⁴⁵⁶⁷⁸⁹"
_FIGURES = (("first_liquidation", "δ₁", "d1"), ("cascade", "δ_c", "dc"), ("bad_debt", "δ_bd", "dbd"))


def headline_table(thresholds: pd.DataFrame, title: str) -> tuple[Table, list[str]]:
    """Per token and shock: δ₁, δ_c, δ_bd (further shocks from the pin), what is liquidatable and
    lost now. Returns the table and its footnotes (why a figure is not computable, what a flag means)."""
    notes: list[str] = []

    def mark(text: str) -> str:
        if text not in notes:
            notes.append(text)
        return _MARKS[notes.index(text) % len(_MARKS)]

    rows = []
    for r in thresholds.itertuples():
        missing = not_computable_figures(r.not_computable)
        cells = [NOT_COMPUTABLE if name in missing else pct(getattr(r, f"{name}_frac")) for name, _, _ in _FIGURES]
        flags = [mark(f"n/c: {reason}") for reason in dict.fromkeys(missing.values())]
        if r.oracle_flags:
            flags.append(mark("an oracle loopscan could not classify is treated as a market oracle"))
        if isinstance(r.unproven_on_node, str):
            flags.append(mark("rests on venues or lending markets whose maths is not proven on a node (unproven_on_node)"))
        rows.append((safe_text(str(r.symbol)), _SHOCK[r.shock], *cells, str(int(r.liquidatable_now)), usd(r.bad_debt_now_usd),
                     "".join(dict.fromkeys(flags))))  # fmt: skip
    t = Table(title=title, title_justify="left")
    columns = ("token", "shock", "δ₁", "δ_c", "δ_bd", "liq. now", "bad debt now") + (("notes",) if notes else ())
    for col in columns:
        t.add_column(col, justify="left" if col in ("token", "shock", "notes") else "right", no_wrap=col != "token", min_width=6)
    for row in rows:
        t.add_row(*row[: len(columns)])
    legend = [f"{_MARKS[i % len(_MARKS)]} {text}" for i, text in enumerate(notes)]
    return t, legend


def riskiest_positions(result: ScanResult, limit: int = 10) -> pd.DataFrame:
    """Positions closest to liquidation that the baseline does not liquidate at once: the further
    market depeg of a token that opens them (`shocked_token`), beside what they hold (`collateral`,
    symbols joined by `+` for a pooled account)."""
    solver, book = result.solver, result.solver.book
    held = {(p.position, p.account): p.collateral for p in solver.now.itertuples()}
    rows = []
    for token in solver.shockable("depeg"):
        for (key, owner), delta in solver.first_liquidation_by_position("depeg", token).items():
            # A Morpho position is keyed by its market; a pooled one by its pool.
            protocol = next(m.protocol for k, m in book.markets.items() if k == key or k.startswith(f"{key}:"))
            collateral = "+".join(book.symbols.get(c, c) for c in held.get((key, owner), "").split("+") if c)
            rows.append({"shocked_token": book.symbols.get(token, token), "collateral": collateral, "protocol": protocol,
                         "market": key, "account": owner, "depeg_to_liquidation": delta})  # fmt: skip
    frame = pd.DataFrame(rows, columns=["shocked_token", "collateral", "protocol", "market", "account", "depeg_to_liquidation"])
    return frame.sort_values("depeg_to_liquidation").head(limit).reset_index(drop=True)


def print_coverage(console: Console, snapshot: Snapshot) -> None:
    """What the scan read and what not (`report.coverage`): printed before any figure."""
    for line in coverage_lines(snapshot):
        console.print(line, markup=False, style="yellow" if line.startswith("not on this devnet") else "")


def print_risk_report(console: Console, result: ScanResult) -> None:
    print_coverage(console, result.snapshot)
    unsolved = result.solver.book.unsolved
    if unsolved:
        console.print(f"not solved: {len(unsolved)} market(s) the solver cannot apply its rules to yet; their positions "
                      f"are in no threshold (e.g. {next(iter(unsolved.values()))})", markup=False, style="bold yellow")  # fmt: skip
    for pool, why in sorted(result.solver.book.unpriced_pools.items()):
        console.print(f"no exit: pool {pool} was read but cannot be priced at the pin ({why}); its depth is in no figure",
                      markup=False, style="bold yellow")  # fmt: skip
    table, legend = headline_table(result.thresholds, "Where it breaks: further shock of each token from the state at the pin")
    console.print(table)
    for line in ["δ₁ first liquidation, δ_c cascade feeds itself, δ_bd new bad debt; never: not up to a 100 % shock", *legend]:
        console.print(line, markup=False, style="dim")
    _print_now(console, result)
    _print_details(console, result)
    console.print(f"How each figure is computed, and what is not modelled: {METHODOLOGY}", markup=False)


def _print_now(console: Console, result: ScanResult) -> None:
    """What is breaking before any further shock: positions liquidatable, blocked from liquidation
    (a paused reserve) or under water at the pin, markets whose lenders cannot leave or that hold
    less than they credit, and what bots do about it (the baseline cascade)."""
    book, shown = result.solver.book, flagged(result.now)
    if len(shown):
        t = Table(title="Now, at the pin: positions liquidatable, blocked or under water", title_justify="left")
        for col in ("collateral", "protocol", "account", "debt", "health", "liq.", "bad debt"):
            wraps = col in ("collateral", "protocol")  # labels fold onto a second line; figures never do
            t.add_column(col, justify="right" if col in ("debt", "health", "bad debt") else "left",
                         no_wrap=not wraps, overflow="fold" if wraps else "ellipsis", min_width=4)
        for p in shown.sort_values("bad_debt_now_usd", ascending=False).itertuples():
            collateral = "+".join(book.symbols.get(c, c) for c in p.collateral.split("+") if c)
            liq = "yes" if p.liquidatable_now else p.liquidation_blocked if isinstance(p.liquidation_blocked, str) else "no"  # why, below
            t.add_row(safe_text(collateral), p.protocol, account(p.account), usd(p.debt_usd), f"{p.health:.3f}", liq,
                      usd(p.bad_debt_now_usd))  # fmt: skip
        console.print(t)
        for p in shown[shown["liquidation_blocked"].notna()].itertuples():
            reserves = "+".join(book.symbols.get(r, r) for r in p.blocked_reserves.split("+"))
            console.print(f"blocked: {account(p.account)} ({p.protocol}) is below health 1 but cannot be liquidated: "
                          f"{terminal_safe(reserves)} {p.liquidation_blocked}", markup=False, style="yellow")  # fmt: skip
    stuck = result.markets_now[result.markets_now["lenders_stuck"]] if len(result.markets_now) else result.markets_now
    for m in stuck.itertuples():
        label = f"{book.symbols.get(m.collateral, m.collateral)}/{book.symbols.get(m.loan, m.loan)} ({m.protocol})"
        console.print(f"lenders stuck: {terminal_safe(label)} is lent out in full (utilisation {pct(m.utilisation_frac)})",
                      markup=False, style="yellow")  # fmt: skip
    short = result.markets_now[result.markets_now["shortfall"] > 0] if len(result.markets_now) else result.markets_now
    for m in short.itertuples():
        label = f"{book.symbols.get(m.loan, m.loan)} ({m.protocol})"
        console.print(f"shortfall: {terminal_safe(label)} holds {m.shortfall:,.6g} tokens ({usd(m.shortfall_usd)}) less than it "
                      "credits its lenders (supplied - borrowed); they bear it (a fee-on-transfer or rebasing token)",
                      markup=False, style="yellow")  # fmt: skip
    base = result.baseline
    if len(base.liquidation_rows) or base.bad_debt > 0:
        sold = sum(row[-1] for row in base.liquidation_rows)
        console.print(f"baseline (no further shock): {len(base.liquidation_rows)} liquidation(s) in {base.rounds_run} round(s), "
                      f"{usd(sold)} of collateral seized, bad debt {usd(base.bad_debt)}; every threshold is a shock on top of it",
                      markup=False)  # fmt: skip


def _print_details(console: Console, result: ScanResult) -> None:
    symbols, p0 = result.solver.book.symbols, result.solver.book.p0
    if len(result.pyramids):
        t = Table(title="Pyramids by base asset", title_justify="left")
        for col in ("base", "vaults", "depth", "receipts out", "base held", "multiplier"):
            t.add_column(col, justify="left" if col == "base" else "right")
        for p in result.pyramids.itertuples():
            t.add_row(safe_text(str(p.base_symbol)), str(p.vaults), str(p.depth), usd(p.receipts_outstanding * p0.get(p.base, 1.0)),
                      usd(p.base_held * p0.get(p.base, 1.0)), f"{p.multiplier:.2f}x")  # fmt: skip
        console.print(t)
    if len(result.vaults):
        t = Table(title="Vaults: what their value rests on (look-through)", title_justify="left")
        for col in ("vault", "depth", "on base", "on opaque", "multiplier"):
            t.add_column(col, justify="left" if col == "vault" else "right")
        for v in result.vaults.sort_values("opaque_fraction", ascending=False).itertuples():
            t.add_row(safe_text(str(v.symbol)), str(v.depth), pct(v.base_fraction), pct(v.opaque_fraction), f"{v.multiplier:.2f}x")
        console.print(t)
    if len(result.loops):
        t = Table(title="Loops (receipts posted to borrow what mints them)", title_justify="left")
        for col in ("loop", "loopers", "leverage"):
            t.add_column(col, justify="left" if col == "loop" else "right")
        for lp in result.loops.itertuples():
            t.add_row(safe_text(lp.loop), str(lp.loopers), f"{lp.leverage:.2f}x")
        console.print(t)
    if len(result.losses):
        t = Table(title="New bad debt by lender, one basis point past each threshold", title_justify="left")
        # An address as a lender (`0x30ef…a1b2`) is kept whole; a long token symbol gives way first.
        t.add_column("token", overflow="ellipsis", no_wrap=True, max_width=14)
        t.add_column("shock", no_wrap=True)
        t.add_column("lender", no_wrap=True, min_width=11)
        for col in ("at δ₁", "at δ_c", "at δ_bd", "at 100 %"):
            t.add_column(col, justify="right", no_wrap=True)
        for x in result.losses.itertuples():
            lender = x.lender_symbol if isinstance(x.lender_symbol, str) else account(x.lender)
            t.add_row(safe_text(symbols.get(x.token, x.token)), _SHOCK[x.shock], safe_text(lender),
                      *(usd(v, "–") for v in (x.loss_at_first_liquidation_usd, x.loss_at_cascade_usd, x.loss_at_bad_debt_usd,
                                              x.loss_at_100pct_usd)))  # fmt: skip
        console.print(t)
    _print_unwind(console, result)
    _print_haircuts(console, result)
    risky = riskiest_positions(result)
    if len(risky):
        t = Table(title="Riskiest positions: the further depeg that opens each", title_justify="left")
        for col in ("depeg of", "collateral", "protocol", "account", "depeg"):
            t.add_column(col, justify="right" if col == "depeg" else "left", no_wrap=col in ("account", "depeg"))
        for p in risky.itertuples():
            t.add_row(safe_text(p.shocked_token), safe_text(p.collateral), p.protocol, account(p.account), pct(p.depeg_to_liquidation))
        console.print(t)


def _print_unwind(console: Console, result: ScanResult) -> None:
    """Per token, the first level at which a depeg opens positions: what they hold against what
    the token's pool absorbs within that price impact (the full table: `ScanResult.depth`)."""
    depth = result.depth
    opened = depth[depth["liquidatable_positions"] > 0].groupby("token", sort=False).head(1)
    if not len(opened):
        return
    t = Table(title="Unwind: collateral a depeg makes liquidatable against its pool's depth", title_justify="left")
    for col in ("token", "depeg", "positions", "liquidatable", "absorbable within it", "ratio"):
        t.add_column(col, justify="left" if col == "token" else "right")
    for r in opened.itertuples():
        ratio, pooled = r.liquidatable_to_absorbable, isinstance(r.exit_pool, str)
        shown = NOT_COMPUTABLE if not pooled else "∞" if ratio == float("inf") else f"{ratio:.1f}x"
        t.add_row(safe_text(str(r.symbol)), pct(r.level_frac), str(r.liquidatable_positions), usd(r.liquidatable_usd),
                  usd(r.absorbable_usd) if pooled else "no pool read", shown)  # fmt: skip
    console.print(t)



def _print_haircuts(console: Console, result: ScanResult) -> None:
    """Per token, δ₁, δ_c and δ_bd with its exit pools holding all, half and a tenth of their
    liquidity (`ScanResult.haircut_thresholds`): what the thresholds are worth when liquidity
    providers leave before the liquidations come."""
    table = result.haircut_thresholds
    if not len(table):
        return
    depeg = result.thresholds[result.thresholds["shock"] == "depeg"].set_index("token")["not_computable"]
    t = Table(title="Thresholds when liquidity leaves", title_justify="left")
    for col in ("token", "threshold", *(f"{round(f * 100)} % gone" for f in HAIRCUTS)):
        t.add_column(col, justify="left" if col in ("token", "threshold") else "right", no_wrap=col != "token")
    for r in table.itertuples():
        missing = not_computable_figures(depeg.get(r.token))
        for i, (name, label, short) in enumerate(_FIGURES):
            cells = [NOT_COMPUTABLE if name in missing else pct(getattr(r, haircut_column(short, f))) for f in HAIRCUTS]
            t.add_row(safe_text(str(r.symbol)) if i == 0 else "", label, *cells, end_section=i == len(_FIGURES) - 1)
    console.print(t)
    console.print("a depeg after LPs withdrew that share of each exit pool's liquidity", markup=False, style="dim")
