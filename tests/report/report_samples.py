"""Literal snapshots for the report tests."""

from __future__ import annotations

from loopscan.model import Snapshot, SnapshotMeta, to_frame


def evil_vault_snapshot(symbol: str) -> Snapshot:
    """A vault whose share token carries `symbol`, over a plain base token."""
    meta = SnapshotMeta(chain_id=1, block_number=1, block_hash="0x" + "0" * 64, block_timestamp=0, endpoint="test")
    base, vault = "0x" + "a" * 40, "0x" + "c" * 40
    tokens = [{"block": 1, "address": a, "symbol": s, "name": s, "decimals": 6, "kind": k, "price": None, "price_source": None}
              for a, s, k in ((base, "USDC", "base"), (vault, symbol, "vault_share"))]  # fmt: skip
    vaults = [{"block": 1, "vault": vault, "share_token": vault, "asset": base, "kind": "erc4626", "total_assets": 10**6,
               "total_supply": 10**6, "visible_assets": 10**6, "opaque_assets": 0}]  # fmt: skip
    return Snapshot(meta, tokens=to_frame("tokens", tokens), vaults=to_frame("vaults", vaults))
