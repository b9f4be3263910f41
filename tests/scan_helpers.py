"""Reading a devnet at the block its manifest records: a `ScanContext`, or the whole Snapshot."""

from __future__ import annotations

from contextlib import asynccontextmanager

from loopscan.chains import from_devnet_manifest
from loopscan.model import Snapshot
from loopscan.protocols.base import ScanContext
from loopscan.rpc import RpcClient
from loopscan.scanner import index_async


@asynccontextmanager
async def devnet_context(net, block: int | None = None):
    """A context reading `net` at `block` (default: the manifest's seeded block)."""
    async with RpcClient(net.url) as client:
        pin = await client.pin(block if block is not None else net.manifest["block"])
        header = await client.get_block(pin)
        yield ScanContext(client, pin, int(header["timestamp"], 16), from_devnet_manifest(net.manifest))


async def seeded_snapshot(net) -> Snapshot:
    """`net` indexed at the block its manifest records (the seeded state, whatever came after)."""
    return await index_async(net.url, deployments=from_devnet_manifest(net.manifest), block=net.manifest["block"])
