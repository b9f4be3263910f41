"""The depeg solver: from a Snapshot, the cascade a shock sets off and the thresholds it implies.

    >>> solver = Solver(build_book(snapshot))                       # doctest: +SKIP
    >>> solver.thresholds("depeg")                                    # doctest: +SKIP

`book` is where the snapshot's integers become floats; `cascade` runs one shock (`shock`) to its
fixed point, round by round: prices and oracles (`pricing`), who is liquidatable
(`liquidatable`), each liquidation (`liquidation`), then who lost what (`losses`);
`book_constants` holds what every cascade of a Book reads and none changes, `state` what one
cascade changes. `thresholds` bisects for δ₁, δ_c and δ_bd. The protocols' own rules and exact
swap maths come from their packages (`loopscan.protocols.registry`); `curve` holds Curve's.
"""

from loopscan.solver.book import Book, build_book
from loopscan.solver.cascade import CascadeResult, run_cascade
from loopscan.solver.shock import Shock, shock_sale
from loopscan.solver.thresholds import BP, GRID, THRESHOLD_COLUMNS, Solver

__all__ = [
    "BP", "GRID", "THRESHOLD_COLUMNS", "Book", "CascadeResult", "Shock", "Solver", "build_book", "run_cascade", "shock_sale",
]  # fmt: skip
