"""A chain without Multicall3 gives the identical snapshot, whether the node accepts state
overrides (aggregate3 runs against our code placed for the call) or refuses them (plain
batched eth_calls), on the real protocols of a devnet.

The same block is scanned twice from one `evm_snapshot`: once as seeded, once after
`anvil_setCode(Multicall3, "")`. Every table must be equal; the block hashes differ, since
the state root does (the code is gone), and nothing else in the metadata.
"""

from __future__ import annotations

import faultproxy as fp
import pytest
from pandas.testing import assert_frame_equal

from loopscan.chains import from_devnet_manifest
from loopscan.rpc import MULTICALL3_ADDRESS
from loopscan.scanner import index_async

pytestmark = pytest.mark.devnet


async def _scan(net, url: str):
    head = net.chain.block()
    snap = await index_async(url, deployments=from_devnet_manifest(net.manifest), block=head["number"])
    return snap, head["timestamp"]


async def _with_and_without(net, refuse_overrides: bool):
    start = net.node.rpc("evm_snapshot", [])
    net.node.rpc("evm_mine", [])
    with_it = await _scan(net, net.url)
    net.node.rpc("evm_revert", [start])
    net.node.rpc("anvil_setCode", [MULTICALL3_ADDRESS, "0x"])
    net.node.rpc("evm_mine", [])
    async with fp.FaultProxy(net.url) as proxy:
        if refuse_overrides:
            proxy.add(fp.refuse_overrides())
        without = await _scan(net, proxy.url)
    return with_it, without, proxy


@pytest.mark.parametrize("refuse_overrides", [False, True], ids=["override", "plain batches"])
@pytest.mark.parametrize("scenario", ["stream", "susde"])
async def test_no_multicall3_gives_the_identical_snapshot(scenario, refuse_overrides, request):
    net = request.getfixturevalue(scenario)
    (snap, stamp), (bare, bare_stamp), proxy = await _with_and_without(net, refuse_overrides)
    assert (bare.meta.block_number, bare_stamp) == (snap.meta.block_number, stamp)
    assert bare.meta.block_hash != snap.meta.block_hash  # the state differs by Multicall3's code only
    assert bare.meta.chain_id == snap.meta.chain_id
    assert snap.missing.empty and len(snap.positions) > 0
    for name, frame in snap.tables().items():
        assert_frame_equal(bare.tables()[name], frame, obj=name)
    with_override = [c for c in proxy.calls if c["method"] == "eth_call" and len(c["params"]) == 3]
    plain = [c for c in proxy.calls if c["method"] == "eth_call" and c["params"][0]["to"] != MULTICALL3_ADDRESS]
    if refuse_overrides:
        assert len(with_override) == 1 and len(plain) > 100  # the refused probe, then every read alone
    else:
        assert len(with_override) > 1 and plain == []
