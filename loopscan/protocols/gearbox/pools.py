"""Gearbox's pools as the vaults they are, and what each supplies its credit managers' markets:
rows of the indexer's transform (`indexer.GearboxIndexer.transform`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopscan.protocols.gearbox.indexer import CreditManager

__all__ = ["pool_rows"]


def pool_rows(managers: Iterable[CreditManager], block: int, protocol: str) -> tuple[list[dict], dict[str, int]]:
    """Each pool as the vault it is (PoolV3 is an ERC-4626: its liquidity providers hold its shares,
    `totalAssets()` is its expected liquidity), and what it supplies each credit manager's market.

    The pool is each of its markets' one supplier, so a loss reaches its liquidity providers pro
    rata. It supplies a manager what that manager borrowed, and a part of what is not lent (its
    available liquidity and the interest accrued on all borrowing: expected liquidity − total
    borrowed) in proportion to what each borrowed (evenly while none borrows), the rounding's
    remainder to the last: each market is as utilised as the pool, and the pool's positions add up
    to its expected liquidity, so its holdings see all of its backing. A manager that could not be
    read supplies a part no holding shows (opaque). Returns the vaults rows and each manager's supply."""
    by_pool: dict[str, list[CreditManager]] = {}
    for m in managers:
        by_pool.setdefault(m.pool, []).append(m)
    vaults, supplied = [], {}
    for pool, lending in by_pool.items():
        expected, (shares, total_borrowed) = lending[0].totals[0], lending[0].pool_shares
        spare = max(expected - total_borrowed, 0)
        weights = [m.totals[1] for m in lending] if total_borrowed else [1] * len(lending)
        whole = total_borrowed if total_borrowed else len(lending)
        parts = [spare * w // whole for w in weights]
        if sum(weights) == whole:
            parts[-1] += spare - sum(parts)  # every manager read: the rest is theirs, to the unit
        for m, part in zip(lending, parts, strict=True):
            supplied[m.address] = m.totals[1] + part
        vaults.append({"block": block, "vault": pool, "share_token": pool, "asset": lending[0].underlying,
                       "kind": f"{protocol}_pool", "total_assets": expected, "total_supply": shares})  # fmt: skip
    return vaults, supplied
