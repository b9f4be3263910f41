"""A Curve pool's maths object rebuilt from the snapshot's `pools` and `pool_coins` rows, so the
solver prices an exit with the exact pool the indexer read (the rows hold every input of `get_dy`
and `exchange`: A at the pin, balances, fee, admin fee, off-peg multiplier and, for NG pools, rates).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loopscan.protocols.curve.maths import CurveError, StableSwapPool, rates_for
from loopscan.protocols.curve.ng import NGPool

__all__ = ["pool_from_rows"]


def pool_from_rows(
    pool: Mapping[str, Any], coins: Sequence[Mapping[str, Any]], decimals: Sequence[int] | None = None
) -> StableSwapPool | NGPool:
    """The pool of one `pools` row and its `pool_coins` rows (any order). Pools that answered
    `stored_rates()` carry their rates (all NG pools, the classic factory pools with oracles); the
    other classic pools need each coin's `decimals` (the template's constant 10**(36 − decimals)).
    Pools of kind `other` (aave-style lending pools) are not modelled."""
    ordered = sorted(coins, key=lambda c: c["coin_index"])
    if [c["coin_index"] for c in ordered] != list(range(pool["n_coins"])):
        raise CurveError(f"pool {pool['pool']}: pool_coins rows do not cover coins 0..{pool['n_coins'] - 1}")
    balances = tuple(c["balance"] for c in ordered)
    if pool["pool_kind"] == "ng":
        return NGPool(pool["amp_precise"], balances, tuple(c["rate"] for c in ordered), pool["fee_raw"],
                      pool["offpeg_fee_multiplier"])  # fmt: skip
    if pool["pool_kind"] == "classic":
        rates = tuple(c["rate"] for c in ordered)
        if None in rates:
            if decimals is None or len(decimals) != len(balances):
                raise CurveError(f"pool {pool['pool']}: a classic pool without stored_rates needs its coins' decimals")
            rates = rates_for(decimals)
        return StableSwapPool(pool["amp_precise"], balances, rates, pool["fee_raw"], pool["admin_fee"])
    raise CurveError(f"pool {pool['pool']}: kind {pool['pool_kind']!r} is not modelled (rates come from lending coins)")
