"""Depeg thresholds, found by bisection to 1 bp on the cascade's fixed point.

For a token T and a shock size δ (a market depeg of T, or the loss of a fraction of the opaque
backing of the vault issuing T):

* **δ₁, first liquidation**: the least δ at which any position is liquidatable before any
  feedback — the protocols' own check at the shocked prices (Morpho's health against LLTV,
  Aave's health factor). A position behind an exchange-rate or fixed oracle never counts for a
  market depeg: its oracle does not see it.
* **δ_c, cascade**: the least δ at which the cascade is self-amplifying: over the next basis
  point of shock, the final depeg δ*(δ) grows more than twice as fast as the shock itself —
  the liquidations' own price impact adds more depeg than the shock does (marginal gain ≥ 1).
  `curve()` returns δ*(δ) so that a user can see it.
* **δ_bd, bad debt**: the least δ at which a lender takes bad debt, realised (Morpho writes off
  a position whose collateral ran out) or hidden (debt above the collateral's market value,
  left open because its oracle does not see the depeg or nobody profits from liquidating it).

Each is found by scanning δ from 0 to 100 % in `GRID` steps for the first step where the
condition holds, then bisecting inside that step to 1 bp. The losses are not monotone in δ
(a larger shock can liquidate a position earlier, while the vault it can be redeemed from still
has idle assets, moving the loss from its lenders to the vault's holders), so the first
crossing is what is reported. Values are fractions; `None` where the condition never holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loopscan.solver.book import Book
from loopscan.solver.cascade import CascadeResult, run_cascade
from loopscan.solver.shock import Shock

__all__ = ["GRID", "BP", "Solver", "THRESHOLD_COLUMNS"]

BP = 1e-4
GRID = 0.02
BAD_DEBT_FLOOR_USD = 1.0  # below a dollar is rounding, not a loss
THRESHOLD_COLUMNS = [
    "token", "symbol", "shock", "first_liquidation_frac", "cascade_frac", "bad_debt_frac",
    "positions_at_risk", "bad_debt_at_100pct_usd", "oracle_flags",
]  # fmt: skip


@dataclass
class Solver:
    """Cascades of one Book, memoised by shock, and the thresholds they imply."""

    book: Book

    def __post_init__(self) -> None:
        self._memo: dict[Shock, CascadeResult] = {}

    def cascade(self, kind: str, token: str, size: float) -> CascadeResult:
        shock = Shock(kind, token, round(min(max(size, 0.0), 1.0), 6))
        if shock not in self._memo:
            self._memo[shock] = run_cascade(self.book, shock)
        return self._memo[shock]

    def curve(self, kind: str, token: str, step: float = GRID) -> pd.DataFrame:
        """δ*(δ): the final depeg of `token` after the cascade, for shocks from 0 to 100 %."""
        sizes = np.round(np.arange(0.0, 1.0 + 1e-9, step), 6)
        rows = []
        for size in sizes:
            r = self.cascade(kind, token, float(size))
            rows.append({"shock_frac": float(size), "final_depeg_frac": r.final_depeg, "liquidations": len(r.liquidations),
                         "bad_debt_usd": r.bad_debt, "rounds": r.rounds_run})  # fmt: skip
        return pd.DataFrame(rows)

    def first_liquidation(self, kind: str, token: str) -> float | None:
        return self._first(kind, token, lambda r: r.liquidatable_at_start > 0)

    def first_liquidation_by_position(self, kind: str, token: str) -> dict[tuple[str, str], float]:
        """For each position the shock can reach: the least δ at which it is liquidatable
        before any feedback. Keys are (market key, account) — for a pooled protocol, (pool, account)."""
        reach = self.cascade(kind, token, 1.0).at_risk
        found = {}
        for position in reach:
            delta = self._first(kind, token, lambda r, p=position: p in r.at_risk)
            if delta is not None:
                found[position] = delta
        return found

    def bad_debt(self, kind: str, token: str) -> float | None:
        return self._first(kind, token, lambda r: r.bad_debt > BAD_DEBT_FLOOR_USD)

    def cascade_threshold(self, kind: str, token: str) -> float | None:
        """The least δ where δ*(δ + 1bp) − δ*(δ) > 2 bp, found on the grid then by bisection
        of the secant condition (a step's rise over twice its width)."""

        def steep(a: float, b: float) -> bool:
            return self.cascade(kind, token, b).final_depeg - self.cascade(kind, token, a).final_depeg > 2 * (b - a)

        grid = np.round(np.arange(0.0, 1.0 + 1e-9, GRID), 6)
        for a, b in zip(grid[:-1], grid[1:], strict=True):
            if steep(float(a), float(b)):
                lo, hi = float(a), float(b)
                while hi - lo > BP + 1e-12:
                    mid = round((lo + hi) / 2, 6)
                    lo, hi = (lo, mid) if steep(lo, mid) else (mid, hi)
                return hi
        return None

    def _first(self, kind: str, token: str, holds: Callable[[CascadeResult], bool]) -> float | None:
        grid = np.round(np.arange(0.0, 1.0 + 1e-9, GRID), 6)
        previous = 0.0
        for size in grid:
            if holds(self.cascade(kind, token, float(size))):
                if size == 0.0:
                    return 0.0
                lo, hi = previous, float(size)
                while hi - lo > BP + 1e-12:
                    mid = round((lo + hi) / 2, 6)
                    lo, hi = (lo, mid) if holds(self.cascade(kind, token, mid)) else (mid, hi)
                return hi
            previous = float(size)
        return None

    def thresholds(self, kind: str = "depeg", tokens: list[str] | None = None) -> pd.DataFrame:
        """δ₁, δ_c and δ_bd for each token (default: every collateral token, or every vault
        with opaque backing for `backing_loss`)."""
        tokens = tokens or self.shockable(kind)
        rows = []
        for token in tokens:
            worst = self.cascade(kind, token, 1.0)
            rows.append(
                {
                    "token": token, "symbol": self.book.symbols.get(token, token), "shock": kind,
                    "first_liquidation_frac": self.first_liquidation(kind, token),
                    "cascade_frac": self.cascade_threshold(kind, token),
                    "bad_debt_frac": self.bad_debt(kind, token),
                    "positions_at_risk": int(worst.liquidatable_at_start),
                    "bad_debt_at_100pct_usd": worst.bad_debt,
                    "oracle_flags": ",".join(sorted({self.book.markets[k].key for k in self.book.unknown_oracles})) or None,
                }
            )  # fmt: skip
        return pd.DataFrame(rows, columns=THRESHOLD_COLUMNS)

    def losses_at(self, kind: str, token: str, size: float) -> pd.DataFrame:
        """Losses by lender one basis point past `size` (at a threshold, the loss it starts)."""
        r = self.cascade(kind, token, min(size + BP, 1.0))
        out = r.losses.copy()
        out.insert(0, "shock_frac", r.shock.size)
        return out

    def shockable(self, kind: str) -> list[str]:
        if kind == "backing_loss":
            return [share for share, v in self.book.vaults.items() if v.opaque > 0]
        collateral = {m.collateral if m.margin == "isolated" else m.loan for m in self.book.markets.values() if len(m.accounts)}
        return sorted(t for t in collateral if t in self.book.p0)
