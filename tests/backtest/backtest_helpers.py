"""What the backtest tests share, under a name no other test folder uses: Dask's worker
processes unpickle `RaisesOn` by importing this module, and `conftest` would be whichever test
folder's conftest.py comes first on their path."""

from __future__ import annotations

import pandas as pd

from loopscan.backtest import scan_block
from loopscan.model import Snapshot


def day_blocks(net, *dates: str) -> list[int]:
    """The last block of each named day of the timeline (from the manifest)."""
    by_date = {d["date"]: d["block"] for d in net.manifest["timeline"]}
    return [by_date[d] for d in dates]


def assert_same_snapshot(mine: Snapshot, theirs: Snapshot, block: int) -> None:
    """The same block, and every table equal value for value."""
    ta, tb = mine.tables(), theirs.tables()
    assert ta.keys() == tb.keys()
    for name in ta:
        # Exact: amounts are Python ints in object columns, which pandas compares to 1e-5 by default.
        pd.testing.assert_frame_equal(ta[name], tb[name], check_exact=True, obj=f"{name} at block {block}")
    assert (mine.meta.block_number, mine.meta.block_hash) == (theirs.meta.block_number, theirs.meta.block_hash)


class RaisesOn:
    """scan_block, except that block `bad` raises (as a node or a bug would)."""

    def __init__(self, bad: int) -> None:
        self.bad = bad

    def __call__(self, rpc_url, deployments, block):
        if block == self.bad:
            raise RuntimeError(f"boom at {block}")
        return scan_block(rpc_url, deployments, block)


class HangsOn:
    """scan_block, except that block `bad` never returns (as a hung node or solver would)."""

    def __init__(self, bad: int) -> None:
        self.bad = bad

    def __call__(self, rpc_url, deployments, block):
        if block == self.bad:
            import time

            time.sleep(3600)
        return scan_block(rpc_url, deployments, block)
