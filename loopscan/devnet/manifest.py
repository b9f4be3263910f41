"""The devnet manifest: what was deployed where, and what each seeded account should hold.

Tests and users read it instead of re-deriving addresses; it is plain JSON (format version
`MANIFEST_VERSION`), written next to the node by `loopscan devnet up`. Amounts are token units
as decimal strings, so no reader loses precision on uint256 values.
"""

from __future__ import annotations

import json
from pathlib import Path

from loopscan.devnet.seed import Seeder

__all__ = ["MANIFEST_VERSION", "build_manifest", "write_manifest", "read_manifest"]

MANIFEST_VERSION = 1


def _token_kind(seeder: Seeder, tid: str) -> str:
    s = seeder.s
    if tid in s.vaults:
        return "opaque_vault" if s.vaults[tid].get("kind") == "opaque" else "erc4626_vault"
    for part in seeder.parts:
        if (kind := part.token_kind(tid)) is not None:
            return kind
    if tid in s.stablecoins:
        return "backed_stablecoin"
    return s.tokens[tid].get("kind", "base") if tid in s.tokens else "base"


def build_manifest(seeder: Seeder, rpc_url: str, block: dict) -> dict:
    """The manifest of a seeded devnet: ours (tokens, feeds, accounts), then each protocol
    part's entries and seeded positions, in the registry's order."""
    s = seeder.s
    tokens = {}
    for tid, contract in seeder.token.items():
        spec = s.tokens.get(tid) or s.vaults.get(tid) or s.stablecoins.get(tid) or s.share_tokens.get(tid)
        # None where the token has none to declare (no `symbol()`, a reverting `decimals()`).
        decimals = s.decimals(tid) if tid not in s.tokens or "decimals" in spec else None
        entry = {"address": contract.address, "decimals": decimals, "kind": _token_kind(seeder, tid)}
        entry.update(name=spec.get("name"), symbol=spec.get("symbol"))
        underlying = spec.get("asset") or spec.get("reserve")
        if underlying:
            entry["underlying"] = underlying
        tokens[tid] = entry
    names = {addr: name for name, addr in seeder.chain.accounts.items()}
    names.update({c.address: tid for tid, c in seeder.token.items()})
    manifest = {
        "loopscan_manifest": MANIFEST_VERSION,
        "scenario": s.name,
        "scenario_file": str(s.path),
        "chain_id": seeder.chain.w3.eth.chain_id,
        "rpc_url": rpc_url,
        "block": block["number"],
        "block_hash": "0x" + bytes(block["hash"]).hex(),
        "timestamp": block["timestamp"],
        "contracts": dict(seeder.deployed),
        "code": {cid: c["address"] for cid, c in s.code.items()},
        "tokens": tokens,
        "feeds": {fid: {"address": f.address, "decimals": int(s.feeds[fid]["decimals"]) if "decimals" in s.feeds[fid] else None,
                        "kind": s.feeds[fid].get("kind", "keeper")} for fid, f in seeder.feed.items()},  # fmt: skip
    }
    positions: dict[str, list[dict]] = {}
    for part in seeder.parts:
        manifest |= part.manifest(names)
        positions |= part.positions(names)
    manifest |= {"accounts": dict(seeder.chain.accounts), "positions": positions, "events": sorted(s.events)}
    # Debt the scenario records on lenders not deployed here: the scan carries it to the report as is.
    manifest["off_devnet"] = [{"lender": d["lender"], "token": d["token"], "token_address": seeder.token[d["token"]].address,
                               "debt_usd": float(d["debt_usd"]), "source": d["source"]} for d in s.off_devnet]  # fmt: skip
    return manifest


def write_manifest(manifest: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(path)


def read_manifest(path: Path) -> dict:
    data = json.loads(Path(path).read_text())
    if data.get("loopscan_manifest") != MANIFEST_VERSION:
        raise ValueError(f"{path} is not a loopscan devnet manifest (version {MANIFEST_VERSION})")
    return data
