"""What one cascade changes as it runs: positions, vault books, pool sales, bad debt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from loopscan.solver.book import Book
    from loopscan.solver.pooled import PooledAccounts

__all__ = ["CascadeState", "initial_state"]


@dataclass
class CascadeState:
    """A cascade starts on the Book's own position arrays and copies a market's only when it first
    changes one of its positions (`writable`): most cascades touch a few of the markets."""

    collateral: dict[str, np.ndarray]
    debt: dict[str, np.ndarray]
    sold: dict[str, float] = field(default_factory=dict)  # token -> amount sold through its exit
    idle: dict[str, float] = field(default_factory=dict)  # vault share -> idle asset left
    total_assets: dict[str, float] = field(default_factory=dict)  # vault share -> reported assets
    supply: dict[str, float] = field(default_factory=dict)  # vault share -> shares outstanding
    realized: dict[str, float] = field(default_factory=dict)  # market -> bad debt (loan tokens)
    reserves: dict[str, float] = field(default_factory=dict)  # credit market -> its reserves left, once a loss drew on them
    touched: set[str] = field(default_factory=set)  # markets a liquidation changed a position of (copied)
    repriced: set[str] = field(default_factory=set)  # tokens whose sales or vault book changed since last priced
    quiet: dict[str, float] = field(default_factory=dict)  # market -> oracle answer at which none of its
    # positions, unchanged since, was liquidatable
    exit_moves: dict[tuple[str, int], tuple[float, int]] = field(default_factory=dict)  # (token, sold) ->
    # its exit's price relative to the pin, and the venue setting it (`Exit.price`)
    exit_parts: dict[str, tuple[int, int, ...]] = field(default_factory=dict)  # token -> (sold, each venue's part of it)
    declined: dict[tuple[str, str], tuple] = field(default_factory=dict)  # pooled account -> `Pricer.changes` of its
    # reserves when a liquidation of it last came to nothing (`liquidation.liquidate_pooled`)
    stranded: dict[str, np.ndarray] = field(default_factory=dict)  # pool -> per account (`PooledAccounts.accounts`):
    # no liquidation can seize anything from it for the rest of the cascade (`liquidation.liquidate_pooled`)
    pooled_legs: dict[str, list] = field(default_factory=dict)  # pool -> its legs' collateral and debt, and
    # whether they are this state's own copy (`PooledAccounts.amounts`)

    def stranded_in(self, index: PooledAccounts) -> np.ndarray:
        """Which accounts of the pool are stranded (`stranded`), this cascade's own array to change."""
        found = self.stranded.get(index.pool)
        if found is None:
            found = self.stranded[index.pool] = np.zeros(len(index.accounts), dtype=bool)
        return found

    def writable(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """The market's collateral and debt arrays, this cascade's own, to change."""
        self.quiet.pop(key, None)
        if key not in self.touched:
            self.touched.add(key)
            self.collateral[key] = self.collateral[key].copy()
            self.debt[key] = self.debt[key].copy()
        return self.collateral[key], self.debt[key]


def initial_state(book: Book) -> CascadeState:
    """The state at the pin: the Book's positions and vault books, nothing sold yet."""
    return CascadeState(
        collateral={k: m.collateral_amount for k, m in book.markets.items()},
        debt={k: m.debt for k, m in book.markets.items()},
        idle={s: v.idle for s, v in book.vaults.items()},
        total_assets={s: v.total_assets for s, v in book.vaults.items()},
        supply={s: v.total_supply for s, v in book.vaults.items()},
    )
