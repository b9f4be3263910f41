"""The devnet manifest: what was deployed where, and what each seeded account should hold.

Tests and users read it instead of re-deriving addresses; it is plain JSON (format version
`MANIFEST_VERSION`), written next to the node by `loopscan devnet up`. Amounts are token units
as decimal strings, so no reader loses precision on uint256 values.
"""

from __future__ import annotations

import json
from pathlib import Path

from loopscan.devnet.seed import Seeder
from loopscan.protocols.morpho_blue.devnet import market_id
from loopscan.protocols.uniswap_v3.devnet import TICK_SPACING

__all__ = ["MANIFEST_VERSION", "build_manifest", "write_manifest", "read_manifest"]

MANIFEST_VERSION = 1


def _token_kind(seeder: Seeder, tid: str) -> str:
    s = seeder.s
    if tid in s.vaults:
        return "opaque_vault" if s.vaults[tid].get("kind") == "opaque" else "erc4626_vault"
    if tid in s.metamorpho:
        return "metamorpho_vault"
    if tid in s.stablecoins:
        return "backed_stablecoin"
    return "base"


def _oracle_kind(o: dict) -> str:
    """What the oracle tracks, by construction (loopscan must find the same from the chain)."""
    if o.get("base_feed") or o.get("quote_feed"):
        return "market"
    return "exchange_rate" if o.get("base_vault") else "fixed"


def build_manifest(seeder: Seeder, rpc_url: str, block: dict) -> dict:
    s = seeder.s
    tokens = {}
    for tid, contract in seeder.token.items():
        entry = {"address": contract.address, "decimals": s.decimals(tid), "kind": _token_kind(seeder, tid)}
        spec = s.tokens.get(tid) or s.vaults.get(tid) or s.stablecoins.get(tid) or s.metamorpho.get(tid)
        entry.update(name=spec["name"], symbol=spec["symbol"])
        underlying = spec.get("asset") or spec.get("reserve")
        if underlying:
            entry["underlying"] = underlying
        tokens[tid] = entry
    markets = {}
    for mid, params in seeder.market.items():
        m = s.markets[mid]
        markets[mid] = {
            "id": "0x" + market_id(params).hex(),
            "loan_token": m["loan"],
            "collateral_token": m["collateral"],
            "oracle": params[2],
            "oracle_id": m["oracle"],
            "oracle_kind": _oracle_kind(s.oracles[m["oracle"]]),
            "irm": params[3],
            "lltv": str(params[4]),
        }
    names = {addr: name for name, addr in seeder.chain.accounts.items()}
    names.update({c.address: tid for tid, c in seeder.token.items()})
    positions = {
        "morpho": [
            {"market": mid, "account": acct, "account_name": names.get(acct, acct), **{k: str(v) for k, v in amounts.items()}}
            for (mid, acct), amounts in seeder.morpho_positions.items()
        ],
        "aave": [
            {"asset": asset, "account": acct, "account_name": names.get(acct, acct), **{k: str(v) for k, v in amounts.items()}}
            for (asset, acct), amounts in seeder.aave_positions.items()
        ],
        "uniswap": [{**p, "liquidity": str(p["liquidity"]), "amount0": str(p["amount0"]), "amount1": str(p["amount1"])} for p in seeder.lp_positions],
    }
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
        "tokens": tokens,
        "feeds": {fid: {"address": f.address, "decimals": int(s.feeds[fid]["decimals"]) if "decimals" in s.feeds[fid] else None,
                        "kind": s.feeds[fid].get("kind", "keeper")} for fid, f in seeder.feed.items()},  # fmt: skip
        "morpho_oracles": {oid: {"address": o.address, "kind": _oracle_kind(s.oracles[oid])} for oid, o in seeder.oracle.items()},
        "morpho_markets": markets,
        "metamorpho_vaults": {
            vid: {"address": seeder.token[vid].address, "asset": v["asset"], "markets": [e["market"] for e in v["markets"]]}
            for vid, v in s.metamorpho.items()
        },
        "aave_reserves": {
            r["asset"]: {"asset": seeder.token[r["asset"]].address, **seeder.aave.reserves[seeder.token[r["asset"]].address]}
            for r in (s.aave or {}).get("reserves", [])
        },
        "uniswap_pools": {
            pid: {"address": pool.address, "token_a": s.pools[pid]["token_a"], "token_b": s.pools[pid]["token_b"],
                  "fee": int(s.pools[pid]["fee"]), "tick_spacing": TICK_SPACING[int(s.pools[pid]["fee"])]}
            for pid, pool in seeder.pool.items()
        },  # fmt: skip
        "accounts": dict(seeder.chain.accounts),
        "positions": positions,
        "events": sorted(s.events),
    }
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
