"""What the backtest tests share, under a name no other test folder uses: Dask's worker
processes unpickle `RaisesOn` by importing this module, and `conftest` would be whichever test
folder's conftest.py comes first on their path."""

from __future__ import annotations

from loopscan.backtest import scan_block


def day_blocks(net, *dates: str) -> list[int]:
    """The last block of each named day of the timeline (from the manifest)."""
    by_date = {d["date"]: d["block"] for d in net.manifest["timeline"]}
    return [by_date[d] for d in dates]


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
