"""A Morpho market whose oracle answers nonsense, on the real contracts: the scan completes, the
oracle is one named `missing` row, and every other row is what the clean chain gives.

The issue's case first: an oracle with no code answered `price()` with no data and the scan
ended with `ValueError: need word 0, have 0 bytes`. The oracle's code is replaced with
`anvil_setCode` by a few opcodes (PUSH1 n, PUSH0, RETURN / REVERT) answering exactly that.
"""

from __future__ import annotations

import pandas as pd
import pytest
from scan_helpers import seeded_snapshot

from loopscan.chains import from_devnet_manifest
from loopscan.model.views import market_collateral, position_collateral
from loopscan.result import analyse
from loopscan.scanner import index_async

pytestmark = pytest.mark.devnet

CASES = {
    "no code": ("0x", "answered no data (no code at that address, or a fallback)"),
    "reverts": ("0x5f5ffd", "reverted without data"),  # PUSH0 PUSH0 REVERT
    "short word": ("0x60105ff3", "answered 16 bytes, short of the 32 expected"),  # PUSH1 16 PUSH0 RETURN
    "oversized": ("0x60405ff3", "answered 64 bytes, more than the 32 expected"),  # PUSH1 64 PUSH0 RETURN
}


@pytest.mark.parametrize("case", CASES)
async def test_a_broken_oracle_is_a_named_missing_row_and_nothing_else_changes(minimal, case):
    net = minimal
    clean = await seeded_snapshot(net)
    (market,) = net.manifest["morpho_markets"].values()
    code, reason = CASES[case]
    net.node.rpc("anvil_setCode", [market["oracle"], code])
    net.node.rpc("evm_mine", [])
    snap = await index_async(net.url, deployments=from_devnet_manifest(net.manifest), block=net.chain.block()["number"])

    missing = snap.missing.to_dict("records")
    assert [(m["kind"], m["address"], m["method"], m["reason"]) for m in missing] == [
        ("oracle", market["oracle"].lower(), "price()", reason)
    ]
    assert pd.isna(missing[0]["key"])
    markets = market_collateral(snap)
    (row,) = markets[markets["market_id"] == market["id"]].to_dict("records")
    assert pd.isna(row["oracle_price_raw"]) and pd.isna(row["oracle_price_scale"])
    assert row["oracle_kind"] == "unknown"  # its getters answer nothing usable either
    # Every position and pool is still read, and reads as on the clean chain: one block later,
    # nothing but the oracle's code changed (interest accrues over the 12 s, so compare shares).
    key = ["market_id", "account"]
    cols = key + ["collateral_amount", "debt_shares", "supply_shares"]
    rows = [position_collateral(s)[cols].sort_values(key).values.tolist() for s in (snap, clean)]
    assert rows[0] == rows[1]
    tick_cols = ["pool", "tick", "liquidity_net", "liquidity_gross"]
    assert snap.ticks[tick_cols].values.tolist() == clean.ticks[tick_cols].values.tolist() != []
    analyse(snap)  # the graph and solver take a market without a price
