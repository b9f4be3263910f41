"""Past blocks on the devnet: a cached start restores the chain, not only its last state.

A scan at a past block must equal the scan taken at that block before anything later happened;
a node that holds the blocks but not their state says so in one line.
"""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest
from click.testing import CliRunner
from scan_helpers import seeded_snapshot

from loopscan import devnet
from loopscan.chains import from_devnet_manifest
from loopscan.cli import main
from loopscan.devnet.manifest import write_manifest
from loopscan.devnet.node import Anvil
from loopscan.model import Snapshot
from loopscan.result import analyse
from loopscan.rpc import HistoricalStateUnavailable
from loopscan.scanner import index, index_async

pytestmark = pytest.mark.devnet


def assert_same_chain_state(a: Snapshot, b: Snapshot) -> None:
    """Equal block and equal tables, row for row (the endpoint and creation time may differ)."""
    assert (a.meta.block_number, a.meta.block_hash, a.meta.block_timestamp) == (
        b.meta.block_number, b.meta.block_hash, b.meta.block_timestamp)  # fmt: skip
    for name, frame in a.tables().items():
        pd.testing.assert_frame_equal(frame, b.tables()[name], obj=name)


def test_a_past_block_scans_as_it_did_then(stream):
    """Scan the seeded block, apply the write-down and more blocks, scan the seeded block again."""
    seeded = stream.manifest["block"]
    before = asyncio.run(seeded_snapshot(stream))
    stream.apply("writedown")
    stream.apply("xusd-market-down-20")
    assert stream.chain.block()["number"] > seeded
    after = asyncio.run(index_async(stream.url, deployments=from_devnet_manifest(stream.manifest), block=seeded))
    assert_same_chain_state(before, after)
    pd.testing.assert_frame_equal(analyse(before).thresholds, analyse(after).thresholds)
    head = index(stream.url, deployments=from_devnet_manifest(stream.manifest))
    assert not head.vaults.equals(before.vaults)  # the later events did change the chain


def test_cached_start_keeps_every_seeded_block(minimal_session):
    """The session's devnet came from the cache; a fresh seed in this process holds its history
    in memory. Every block of the seeding reads the same on both, and the cached one answers."""
    deployments = from_devnet_manifest(minimal_session.manifest)
    with devnet.start("minimal", use_cache=False) as fresh:
        for block in (minimal_session.manifest["block"] - 3, minimal_session.manifest["block"] - 1):
            cached = index(minimal_session.url, deployments=deployments, block=block)
            assert_same_chain_state(index(fresh.url, deployments=deployments, block=block), cached)
            assert cached.meta.block_number == block and len(cached.positions) > 0


def test_a_node_without_past_state_says_so(minimal_session, tmp_path):
    """anvil's RPC state load keeps the blocks but not their state: a pruned node, in effect."""
    with Anvil().start() as pruned:
        pruned.load_state(minimal_session.node.dump_state())
        manifest = dict(minimal_session.manifest, rpc_url=pruned.url)
        write_manifest(manifest, tmp_path / "devnet.json")
        block = manifest["block"] - 2
        with pytest.raises(HistoricalStateUnavailable, match=f"historical state unavailable at block {block} on this node"):
            index(pruned.url, deployments=from_devnet_manifest(manifest), block=block)
        out = CliRunner().invoke(main, ["scan", "--rpc", pruned.url, "--deployments", str(tmp_path / "devnet.json"),
                                        "--block", str(block)])  # fmt: skip
    assert out.exit_code == 1
    assert f"historical state unavailable at block {block} on this node" in out.output
    assert "Traceback" not in out.output
