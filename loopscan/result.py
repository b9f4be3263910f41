"""What a scan produces, for the CLI, exports and notebooks: `analyse(snapshot) -> ScanResult`.

    >>> result = loopscan.scan("http://127.0.0.1:8545", deployments=".loopscan/devnet.json")  # doctest: +SKIP
    >>> result.thresholds[["symbol", "first_liquidation_frac", "bad_debt_frac"]]               # doctest: +SKIP
    >>> result.export("out/", "html")                                                         # doctest: +SKIP
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import networkx as nx
import pandas as pd

from loopscan.graph import build_graph, look_through, loop_table, pyramids
from loopscan.model import Snapshot
from loopscan.protocols import registry
from loopscan.solver import CascadeResult, Solver, build_book
from loopscan.solver.haircut import HAIRCUTS, HaircutError, HaircutPlan, haircut, haircut_table

__all__ = ["POSITION_THRESHOLDS_LIMIT", "ScanResult", "analyse", "read_haircut_plan"]

POSITION_THRESHOLDS_LIMIT = 40  # positions a depeg may reach for its per-position δ₁ to be solved (one bisection each)


@dataclass
class ScanResult:
    """A snapshot and everything loopscan derived from it. Fractions are 0..1, amounts in USD
    unless a column name says otherwise."""

    snapshot: Snapshot
    graph: nx.MultiDiGraph
    exposure: pd.DataFrame  # look-through exposure per vault (graph.look_through)
    vaults: pd.DataFrame  # per vault: base, depth, multiplier, opaque fraction
    pyramids: pd.DataFrame  # per base asset: depth, receipts outstanding, base held, multiplier
    loops: pd.DataFrame  # loop_table
    thresholds: pd.DataFrame  # depeg and backing-loss thresholds per token (solver.THRESHOLD_COLUMNS)
    losses: pd.DataFrame  # new bad debt by lender per (token, shock), a column per threshold (solver.LOSS_COLUMNS)
    solver: Solver

    @property
    def now(self) -> pd.DataFrame:
        """Every open position at the pin: liquidatable now (by the oracle answers read), or below
        health 1 yet blocked (`liquidation_blocked`: a paused reserve), bad debt now, health
        (`loopscan.solver.now`)."""
        return self.solver.now

    @property
    def markets_now(self) -> pd.DataFrame:
        """Every market's utilisation at the pin; `lenders_stuck` where it is lent out in full;
        `shortfall` (tokens, and `shortfall_usd`): credited to lenders but not held."""
        return self.solver.markets_now

    @property
    def baseline(self) -> CascadeResult:
        """The cascade with no further shock, what bots do to the state at the pin (`.rounds`,
        `.liquidations`, `.losses`). Every threshold is a further shock on top of it."""
        return self.solver.baseline()

    @property
    def coverage(self) -> dict:
        """What the scan read (per protocol: markets, positions, vaults, pools) and what it did not,
        each with why, which protocols are not proven on a node, and the debt a devnet's scenario
        records on lenders it does not deploy (`off_devnet`, in no figure):
        `loopscan.report.coverage.coverage`, the JSON report's `coverage`."""
        from loopscan.report.coverage import coverage

        return coverage(self.snapshot)

    @cached_property
    def position_thresholds(self) -> pd.DataFrame:
        """Per position a token's market depeg can reach and the baseline does not liquidate at once:
        the least further depeg of that token at which the position becomes liquidatable, before any feedback (columns `token`, `position` — the
        market key, or the protocol address for a pooled account —, `account`,
        `first_liquidation_frac`). Solved only for tokens whose depeg reaches at most
        `POSITION_THRESHOLDS_LIMIT` positions (`attrs["limit"]`); the others are listed in
        `attrs["skipped_tokens"]`. Computed on first read: one bisection per position."""
        rows, skipped = [], []
        for token in self.thresholds.loc[self.thresholds["shock"] == "depeg", "token"]:
            if len(self.solver.newly_at_risk("depeg", token, 1.0)) > POSITION_THRESHOLDS_LIMIT:
                skipped.append(token)
                continue
            for (position, account), delta in self.solver.first_liquidation_by_position("depeg", token).items():
                rows.append({"token": token, "position": position, "account": account, "first_liquidation_frac": delta})
        table = pd.DataFrame(rows, columns=["token", "position", "account", "first_liquidation_frac"])
        table.attrs.update(limit=POSITION_THRESHOLDS_LIMIT, skipped_tokens=skipped)
        return table

    @cached_property
    def depth(self) -> pd.DataFrame:
        """The unwind table: per token and level (1–25 %), what its exit pool absorbs within that
        price impact beside the collateral a depeg of that size makes liquidatable, and their ratio
        (`loopscan.solver.depth`). Computed on first read."""
        from loopscan.solver.depth import depth_table

        return depth_table(self.solver)

    @cached_property
    def haircut_thresholds(self) -> pd.DataFrame:
        """Per token of the depeg thresholds, its δ₁, δ_c and δ_bd with the exit pools haircut by
        each of `HAIRCUTS` (0, 50 and 90 % of the liquidity gone): columns `d1_<pct>`, `dc_<pct>`,
        `dbd_<pct>` (`loopscan.solver.haircut.haircut_table`). Haircuts of the chain as read, whatever
        haircut `analyse` solved the rest with. Computed on first read (a solve per haircut) and kept:
        the report, the JSON and the HTML page read this one table."""
        tokens = list(self.thresholds.loc[self.thresholds["shock"] == "depeg", "token"])
        return haircut_table(build_book(self.snapshot), HAIRCUTS, tokens or None)

    def curve(self, token: str, kind: str = "depeg") -> pd.DataFrame:
        """δ*(δ), the final depeg after the cascade against the initial shock, for `token` (a
        symbol or an address: `Snapshot.token_address`)."""
        return self.solver.curve(kind, self.snapshot.token_address(token))

    def export(self, path: str | Path, fmt: str) -> Path:
        """Write the risk graph or the tables: graphml, gexf, json, dot, html, csv or parquet."""
        from loopscan.export import export

        return export(self, Path(path), fmt)

    def plot(self, what: str, token: str | None = None, path: str | Path | None = None, **options):
        """A matplotlib figure: `cascade` (δ*(δ) for `token`), `rounds`, or `exposure`;
        `kind="backing_loss"` and `size=` as `report.plots.plot` takes them."""
        from loopscan.report.plots import plot

        return plot(self, what, token=token, path=path, **options)


def analyse(snapshot: Snapshot, tokens: list[str] | None = None, liquidity_haircut: float | HaircutPlan = 0.0) -> ScanResult:
    """Graph, exposure, pyramids, loops and thresholds of a snapshot (pure: no node). `tokens`
    narrows the depeg thresholds to these tokens (symbols or addresses: `Snapshot.token_address`).
    `liquidity_haircut` solves on exit pools that hold (1 − it) of their liquidity, or what a
    `HaircutPlan` (per pool and venue) leaves each (`loopscan.solver.haircut`): thresholds, losses
    and the depth table."""
    if isinstance(liquidity_haircut, HaircutPlan):
        _check_venues(liquidity_haircut)
    tokens = [snapshot.token_address(t) for t in tokens] if tokens else None
    graph = build_graph(snapshot)
    exposure = look_through(snapshot)
    vaults, bases = pyramids(snapshot, exposure)
    solver = Solver(haircut(build_book(snapshot), liquidity_haircut))
    parts = [solver.thresholds("depeg", tokens)]
    if solver.shockable("backing_loss"):
        parts.append(solver.thresholds("backing_loss"))
    thresholds = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]
    return ScanResult(snapshot, graph, exposure, vaults, bases, loop_table(snapshot, graph), thresholds, solver.losses(thresholds), solver)



def read_haircut_plan(path: str | Path) -> HaircutPlan:
    """A haircut plan from a TOML file: `default = F`, a `[venues]` table (venue protocol = F) and a
    `[pools]` table ("0xpool" = F)."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise HaircutError(f"liquidity haircut file {path}: {exc}") from None
    unknown = set(data) - {"default", "venues", "pools"}
    if unknown:
        raise HaircutError(f"liquidity haircut file {path}: unknown key(s) {', '.join(sorted(unknown))}; "
                           "expected default, [venues], [pools]")  # fmt: skip
    try:
        return _check_venues(HaircutPlan(data.get("default", 0.0), dict(data.get("venues", {})), dict(data.get("pools", {}))))
    except HaircutError as exc:
        raise HaircutError(f"{path}: {exc}") from None


def _check_venues(plan: HaircutPlan) -> HaircutPlan:
    """A plan naming a venue nobody registered is a typo, not a venue with no pools here."""
    known = registry.names("venue")
    unknown = set(plan.venues) - set(known)
    if unknown:
        raise HaircutError(f"liquidity haircut venues: unknown {', '.join(sorted(unknown))}; venues: {', '.join(known)}")
    return plan
