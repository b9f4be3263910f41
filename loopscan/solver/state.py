"""What one cascade changes as it runs: positions, vault books, pool sales, bad debt."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from loopscan.solver.uniswap_v3 import Seller

__all__ = ["CascadeState"]


@dataclass
class CascadeState:
    collateral: dict[str, np.ndarray]
    debt: dict[str, np.ndarray]
    sold: dict[str, float] = field(default_factory=dict)  # token -> amount sold into its pool
    idle: dict[str, float] = field(default_factory=dict)  # vault share -> idle asset left
    total_assets: dict[str, float] = field(default_factory=dict)  # vault share -> reported assets
    supply: dict[str, float] = field(default_factory=dict)  # vault share -> shares outstanding
    realized: dict[str, float] = field(default_factory=dict)  # market -> bad debt (loan tokens)
    touched: set[str] = field(default_factory=set)  # markets a liquidation changed a position of
    pool_moves: dict[tuple[str, int], float] = field(default_factory=dict)  # (token, sold) -> price moved by
    sellers: dict[str, Seller] = field(default_factory=dict)  # token -> the sales into its pool
