"""Depeg thresholds, found by bisection to 1 bp on the cascade's fixed point.

A state can be breaking already: `now` lists what is liquidatable and under water at the pin,
and the **baseline** is the cascade with no further shock (bots liquidate what they can, sell it,
and whatever follows). Every shocked cascade starts from the same state, so the baseline's
liquidations and losses are in it too; a threshold counts only what the shock adds. For a token T
and a further shock of size δ (a market depeg of T from its price at the pin, or the loss of a
fraction of the opaque backing of the vault issuing T):

* **δ₁, first liquidation**: the least δ at which a position that is not liquidatable in the
  baseline becomes liquidatable before any feedback — the protocols' own check at the shocked
  prices (Morpho's health against LLTV, Aave's health factor). Only prices that rest on T move
  before feedback, so such a position is one T reaches (`reach`). A position behind an
  exchange-rate or fixed oracle never counts for a market depeg: its oracle does not see it.
* **δ_c, cascade**: the least δ at which the cascade is self-amplifying: over the next basis
  point of shock, the final depeg δ*(δ) grows more than twice as fast as the shock itself —
  the liquidations' own price impact adds more depeg than the shock does (marginal gain ≥ 1).
  `curve()` returns δ*(δ) so that a user can see it.
* **δ_bd, bad debt**: the least δ at which a lender takes new bad debt: some market's bad debt,
  realised (Morpho writes off a position whose collateral ran out) or hidden (debt above the
  collateral's market value, left open because its oracle does not see the depeg or nobody
  profits from liquidating it), exceeds its baseline's by more than a dollar.

Each is found by scanning δ from 0 to 100 % in `GRID` steps for the first step where the
condition holds, then bisecting inside that step to 1 bp. The losses are not monotone in δ
(a larger shock can liquidate a position earlier, while the vault it can be redeemed from still
has idle assets, moving the loss from its lenders to the vault's holders), so the first
crossing is what is reported. Values are fractions; NaN where the condition never holds up to
a 100 % shock, or where the figure is not computable (`not_computable` says why).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from loopscan.solver import accounts
from loopscan.solver.book import Book
from loopscan.solver.book_constants import constants
from loopscan.solver.cascade import CascadeResult, at_risk_before_feedback, run_cascade
from loopscan.solver.liquidatable import position_ids, positions
from loopscan.solver.now import markets_now, positions_now, under
from loopscan.solver.reach import rests_on
from loopscan.solver.shock import Shock

__all__ = ["GRID", "BP", "Solver", "THRESHOLD_COLUMNS", "LOSS_COLUMNS", "THRESHOLDS"]

BP = 1e-4
GRID = 0.02
BAD_DEBT_FLOOR_USD = 1.0  # below a dollar is rounding, not a loss
THRESHOLDS = ("first_liquidation", "cascade", "bad_debt")
THRESHOLD_COLUMNS = [
    "token", "symbol", "shock", "first_liquidation_frac", "cascade_frac", "bad_debt_frac",
    "liquidatable_now", "bad_debt_now_usd", "positions_at_risk", "bad_debt_at_100pct_usd",
    "not_computable", "oracle_flags", "unproven_on_node",
]  # fmt: skip
_COLUMN = {**{name: f"{name}_frac" for name in THRESHOLDS}, "bad_debt_at_100pct": "bad_debt_at_100pct_usd"}
LOSS_COLUMNS = [
    "token", "shock", "lender", "lender_symbol",
    *(f"loss_at_{name}_usd" for name in THRESHOLDS), "loss_at_100pct_usd",
]  # fmt: skip


@dataclass
class Solver:
    """Cascades of one Book, memoised by shock, and the thresholds they imply."""

    book: Book

    def __post_init__(self) -> None:
        self._memo: dict[Shock, CascadeResult] = {}
        self._at_risk: dict[Shock, np.ndarray] = {}  # shocks whose cascade was not needed whole

    def cascade(self, kind: str, token: str, size: float) -> CascadeResult:
        shock = _shock(kind, token, size)
        if shock not in self._memo:
            self._memo[shock] = run_cascade(self.book, shock)
        return self._memo[shock]

    def at_risk_ids(self, kind: str, token: str, size: float) -> np.ndarray:
        """The cascade's `at_risk_ids` at this shock: from the cascade where it was run, else from
        its first round alone (`at_risk_before_feedback`), the same array."""
        shock = _shock(kind, token, size)
        if shock in self._memo:
            return self._memo[shock].at_risk_ids
        if shock not in self._at_risk:
            self._at_risk[shock] = at_risk_before_feedback(self.book, shock)
        return self._at_risk[shock]

    def baseline(self, kind: str = "depeg", token: str = "") -> CascadeResult:
        """The cascade with no further shock: what bots do to the state at the pin. Every token's
        shock starts here (a zero shock of any token is this cascade)."""
        return self.cascade(kind, token, 0.0)

    @cached_property
    def now(self) -> pd.DataFrame:
        """Every open position at the pin (`now.positions_now`): liquidatable now, bad debt now."""
        return positions_now(self.book)

    @cached_property
    def markets_now(self) -> pd.DataFrame:
        """Every market's utilisation at the pin, and whether its lenders are stuck (`now.markets_now`)."""
        return markets_now(self.book)

    @cached_property
    def resting(self) -> dict[str, frozenset[str]]:
        """Each token, with the tokens its value rests on (`reach.rests_on`)."""
        return rests_on(self.book)

    def curve(self, kind: str, token: str, step: float = GRID) -> pd.DataFrame:
        """δ*(δ): the final depeg of `token` after the cascade, for shocks from 0 to 100 %."""
        sizes = np.round(np.arange(0.0, 1.0 + 1e-9, step), 6)
        rows = []
        for size in sizes:
            r = self.cascade(kind, token, float(size))
            rows.append({"shock_frac": float(size), "final_depeg_frac": r.final_depeg, "liquidations": len(r.liquidations),
                         "bad_debt_usd": r.bad_debt, "rounds": r.rounds_run})  # fmt: skip
        return pd.DataFrame(rows)

    def newly_at_risk(self, kind: str, token: str, size: float) -> set[tuple[str, str]]:
        """Positions liquidatable before feedback at this shock that are not in the baseline."""
        ids = self.at_risk_ids(kind, token, size)
        return set(positions(self.book, ids[~np.isin(ids, self.baseline(kind, token).at_risk_ids)]))

    def new_bad_debt(self, kind: str, token: str, size: float) -> float:
        """Bad debt (USD) this shock adds over the baseline (`Losses.new_since`)."""
        return self.cascade(kind, token, size).market_losses.new_since(self.baseline(kind, token).market_losses)

    def first_liquidation(self, kind: str, token: str) -> float | None:
        base = self.baseline(kind, token).at_risk_ids
        return self._first(lambda size: not np.isin(self.at_risk_ids(kind, token, size), base).all())

    def first_liquidation_by_position(self, kind: str, token: str) -> dict[tuple[str, str], float]:
        """For each position the shock can reach and the baseline does not liquidate at once: the
        least δ at which it is liquidatable before any feedback. Keys are (market key, account) —
        for a pooled protocol, (pool, account)."""
        found = {}
        _, start, _ = position_ids(self.book)
        for position in sorted(self.newly_at_risk(kind, token, 1.0)):
            where, account = position
            index = constants(self.book).pooled.get(where)
            number = start[where] + (index.index[account] if index else self.book.markets[where].accounts.index(account))
            delta = self._first(lambda size, p=number: bool((self.at_risk_ids(kind, token, size) == p).any()))
            if delta is not None:
                found[position] = delta
        return found

    def bad_debt(self, kind: str, token: str) -> float | None:
        base = self.baseline(kind, token).market_losses
        return self._first(lambda size: self.cascade(kind, token, size).market_losses.new_since(base) > BAD_DEBT_FLOOR_USD)

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

    def _first(self, holds: Callable[[float], bool]) -> float | None:
        """The least shock size at which `holds(size)`: the first grid step where it does, bisected."""
        grid = np.round(np.arange(0.0, 1.0 + 1e-9, GRID), 6)
        previous = 0.0
        for size in grid:
            if holds(float(size)):
                if size == 0.0:
                    return 0.0
                lo, hi = previous, float(size)
                while hi - lo > BP + 1e-12:
                    mid = round((lo + hi) / 2, 6)
                    lo, hi = (lo, mid) if holds(mid) else (mid, hi)
                return hi
            previous = float(size)
        return None

    def not_computable(self, kind: str, token: str) -> dict[str, str]:
        """The figures of `token`'s thresholds whose inputs were not read, each with the reason."""
        reasons: dict[str, str] = {}
        blind = sorted({self.book.symbols.get(m.collateral, m.collateral) for m in self.book.markets.values()
                        if not np.isfinite(m.oracle0) and ((m.debt > 0).any() or (m.collateral_amount > 0).any())
                        and token in self.resting.get(m.collateral, frozenset({m.collateral}))})  # fmt: skip
        blind += sorted({self.book.symbols.get(leg.loan, leg.loan) for m in accounts.credit_markets(self.book) for leg in m.credit.legs
                         if not np.isfinite(leg.oracle0) and leg.loan in accounts.held(m)
                         and token in self.resting.get(leg.loan, frozenset({leg.loan}))})  # fmt: skip
        if blind:
            why = f"the oracle of a market against {', '.join(blind)} could not be read"
            reasons.update({name: why for name in (*THRESHOLDS, "bad_debt_at_100pct")})
        # Vaults left out: their books (exchange-rate oracles, redemptions) are unknown. Venues left
        # out: liquidations have nowhere to be sold. Lending left out only narrows the coverage.
        after_sales = ("cascade", "bad_debt", "bad_debt_at_100pct")
        for role, figures in (("vaults", ("first_liquidation", *after_sales)), ("venue", after_sales)):
            skipped = sorted(n for n, r in self.book.left_out.items() if r == role)
            if skipped:
                why = f"the scan left out {', '.join(skipped)} (--protocols)"
                reasons.update({name: reasons.get(name, why) for name in figures})
        unpriced = self.cascade(kind, token, 1.0).unpriced_sales
        if unpriced:
            why = f"no pool read to sell {', '.join(self.book.symbols.get(t, t) for t in unpriced)} into"
            reasons.update({name: reasons.get(name, why) for name in ("cascade", "bad_debt", "bad_debt_at_100pct")})
        return reasons

    def thresholds(self, kind: str = "depeg", tokens: list[str] | None = None) -> pd.DataFrame:
        """δ₁, δ_c and δ_bd for each token (default: every collateral token, or every vault
        with opaque backing for `backing_loss`), beside what is liquidatable and lost now."""
        tokens = tokens or self.shockable(kind)
        rows = []
        for token in tokens:
            missing = self.not_computable(kind, token)
            reached = self.now[under(self.book, self.now, token, self.resting)] if len(self.now) else self.now
            figures = {
                "first_liquidation_frac": self.first_liquidation(kind, token),
                "cascade_frac": self.cascade_threshold(kind, token),
                "bad_debt_frac": self.bad_debt(kind, token),
                "bad_debt_at_100pct_usd": self.new_bad_debt(kind, token, 1.0),
            }
            for name in missing:
                figures[_COLUMN[name]] = None
            notes = {}
            for name, why in missing.items():
                notes.setdefault(why, []).append(name)
            rows.append(
                {
                    "token": token, "symbol": self.book.symbols.get(token, token), "shock": kind, **figures,
                    "liquidatable_now": int(reached["liquidatable_now"].sum()) if len(reached) else 0,
                    "bad_debt_now_usd": float(reached["bad_debt_now_usd"].sum()) if len(reached) else 0.0,
                    "positions_at_risk": len(self.newly_at_risk(kind, token, 1.0)),
                    "not_computable": "; ".join(f"{', '.join(names)}: {why}" for why, names in notes.items()) or None,
                    "oracle_flags": ",".join(sorted({self.book.markets[k].key for k in self.book.unknown_oracles})) or None,
                    "unproven_on_node": ",".join(self.unproven_on_node(token)) or None,
                }
            )  # fmt: skip
        table = pd.DataFrame(rows, columns=THRESHOLD_COLUMNS)
        floats = [c for c in THRESHOLD_COLUMNS if c.endswith(("_frac", "_usd"))]
        table[floats] = table[floats].astype(float)  # never happens / not computable: NaN (`not_computable` tells which)
        return table

    def unproven_on_node(self, token: str) -> list[str]:
        """What a shock of `token` reaches whose maths no node has checked: the venues (pool
        addresses) it can sell into (`Venue.proven_on_node`: the exits of `token` and of every token
        resting on it, the collateral its shock reaches), then the lending markets (market keys) of a
        protocol not proven on a node (`MarketBook.proven_on_node`) with positions in a token it
        reaches."""
        reached = [t for t, on in self.resting.items() if token in on and t in self.book.exits]
        venues = sorted({a for t in reached for a in self.book.exits[t].unproven_on_node})
        markets = sorted(m.key for m in self.book.markets.values() if not m.proven_on_node and len(m.accounts)
                         and any(token in self.resting.get(t, frozenset({t})) for t in _lent_against(m)))  # fmt: skip
        return venues + markets

    def losses(self, thresholds: pd.DataFrame) -> pd.DataFrame:
        """New bad debt by lender (over the baseline), one row per (token, shock, lender), one
        column per threshold: what the lender loses one basis point past it, and at a 100 % shock."""
        rows: dict[tuple[str, str, str], dict] = {}
        owner = {v.vault: share for share, v in self.book.vaults.items()}
        for t in thresholds.itertuples():
            base = self.baseline(t.shock, t.token).market_losses
            past = {f"loss_at_{name}_usd": _past(getattr(t, f"{name}_frac")) for name in THRESHOLDS}
            past["loss_at_100pct_usd"] = 1.0 if pd.notna(t.bad_debt_at_100pct_usd) else None
            for column, size in past.items():
                if size is None:
                    continue
                lost = self.cascade(t.shock, t.token, size).market_losses.by_lender_since(base)
                for lender, usd in lost.items():
                    vault = owner.get(lender)
                    row = rows.setdefault((t.token, t.shock, lender), {
                        "token": t.token, "shock": t.shock, "lender": lender,
                        "lender_symbol": self.book.symbols.get(vault) if vault else None})  # fmt: skip
                    row[column] = usd
        return pd.DataFrame(list(rows.values()), columns=LOSS_COLUMNS)

    def shockable(self, kind: str) -> list[str]:
        if kind == "backing_loss":
            return [share for share, v in self.book.vaults.items() if v.opaque > 0]
        collateral = {m.collateral if m.margin == "isolated" else m.loan for m in self.book.markets.values()
                      if len(m.accounts) and m.credit is None}  # fmt: skip
        collateral |= {t for m in accounts.credit_markets(self.book) for t in accounts.held(m)}
        return sorted(t for t in collateral if t in self.book.p0)


def _shock(kind: str, token: str, size: float) -> Shock:
    """The shock of that size, clamped to 0–100 % and rounded to 1e-6 (the memos' key)."""
    return Shock(kind, token, round(min(max(size, 0.0), 1.0), 6))


def _lent_against(m) -> set[str]:
    """The tokens a market's positions rest on: its collateral (a credit market's held tokens) and its loan token."""
    return ({m.collateral} if m.credit is None else accounts.held(m)) | {m.loan}


def _past(threshold: float | None) -> float | None:
    """One basis point past a threshold (where the loss it starts shows), None where there is none."""
    return None if threshold is None or pd.isna(threshold) else min(float(threshold) + BP, 1.0)
