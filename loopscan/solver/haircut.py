"""Depth that leaves: the Book as it would be if liquidity providers withdrew a fraction of
their liquidity from the exit venues (issue 19, item 2).

`haircut(book, F)` hands each venue of each exit to its own `Venue.haircut`: a Uniswap v3 pool
scales its active `liquidity` and every initialized tick's `liquidity_net` by (1 − F), which is
what withdrawing F of every LP position leaves (a position's liquidity L adds +L at its lower tick
and −L at its upper tick, and to the active liquidity while the price is inside it). Prices,
ticks, fees and everything that is not a venue are unchanged.

Integers: a position holding L that withdraws F removes floor(L·F) and keeps L − floor(L·F)
(`loopscan.protocols.liquidity.kept`). The Book applies that rule to each aggregate (|x| − floor(|x|·F), sign kept), so it
equals the chain exactly when each aggregate is one position, and otherwise differs by less than
one unit per position summed into it (floor of a sum against a sum of floors).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction

import pandas as pd

from loopscan.errors import LoopscanError
from loopscan.solver.book import Book
from loopscan.solver.exits import Exit, Venue
from loopscan.solver.thresholds import Solver

__all__ = ["HAIRCUTS", "HaircutError", "HaircutPlan", "haircut", "haircut_column", "haircut_table"]

FIGURES = {"first_liquidation_frac": "d1", "cascade_frac": "dc", "bad_debt_frac": "dbd"}
HAIRCUTS = (0.0, 0.5, 0.9)  # what the report sets side by side: none, half and nine tenths of the liquidity gone


class HaircutError(LoopscanError):
    pass


@dataclass(frozen=True)
class HaircutPlan:
    """Fractions of liquidity withdrawn per pool, per venue protocol (e.g. every Curve pool), and
    for every other venue: a pool's own fraction wins over its venue's, its venue's over `default`.
    Venue names are checked against the registry where a plan comes in (`loopscan.result`)."""

    default: float = 0.0
    venues: Mapping[str, float] = field(default_factory=dict)  # registered venue name -> fraction
    pools: Mapping[str, float] = field(default_factory=dict)  # pool address -> fraction

    def __post_init__(self) -> None:
        for where, f in (("default", self.default), *self.venues.items(), *self.pools.items()):
            if isinstance(f, bool) or not isinstance(f, int | float) or not 0.0 <= f < 1.0:
                raise HaircutError(f"liquidity haircut {where} = {f!r}: must be a number at least 0 and below 1")
        object.__setattr__(self, "pools", {a.lower(): f for a, f in self.pools.items()})

    def fraction(self, venue: Venue) -> float:
        return self.pools.get(venue.address.lower(), self.venues.get(venue.venue, self.default))


def haircut(book: Book, fraction: float | HaircutPlan, pools: Iterable[str] | None = None) -> Book:
    """A new Book whose exit venues hold (1 − `fraction`) of their liquidity, or each venue what
    a `HaircutPlan` leaves it; `pools` (pool addresses) narrows a single fraction to those pools.
    `book` is not changed: the solver caches constants per Book object, so a changed venue must be
    a new object."""
    if isinstance(fraction, HaircutPlan):
        plan = fraction
    elif pools is not None:
        plan = HaircutPlan(pools=dict.fromkeys(pools, fraction))
    else:
        plan = HaircutPlan(default=fraction)

    def cut(venue: Venue) -> Venue:
        f = Fraction(plan.fraction(venue)).limit_denominator(10**12)  # 0.9 means nine tenths, not its binary float
        return venue if f == 0 else venue.haircut(f)

    def cut_exit(exit_: Exit) -> Exit:
        venues = tuple(cut(v) for v in exit_.venues)
        return exit_ if all(a is b for a, b in zip(venues, exit_.venues, strict=True)) else replace(exit_, venues=venues)

    return replace(book, exits={token: cut_exit(e) for token, e in book.exits.items()})


def haircut_column(figure: str, fraction: float) -> str:
    """The `haircut_table` column of a figure (`d1`, `dc`, `dbd`) at a haircut: `haircut_column("d1", 0.5)`
    is `d1_50`."""
    return f"{figure}_{round(fraction * 100)}"


def haircut_table(book: Book, fractions: Iterable[float] = HAIRCUTS, tokens: list[str] | None = None) -> pd.DataFrame:
    """Per token, its depeg thresholds with the exit pools haircut by each fraction, side by side:
    columns `d1_<pct>`, `dc_<pct>`, `dbd_<pct>` (fractions; NaN as in `Solver.thresholds`).
    Solves once per fraction."""
    merged: pd.DataFrame | None = None
    for f in fractions:
        table = Solver(haircut(book, f)).thresholds("depeg", tokens)
        part = table[["token", "symbol", *FIGURES]].rename(columns={k: haircut_column(v, f) for k, v in FIGURES.items()})
        merged = part if merged is None else merged.merge(part, on=["token", "symbol"], how="outer")
    return merged if merged is not None else pd.DataFrame(columns=["token", "symbol"])
