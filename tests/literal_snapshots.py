"""Tiny literal snapshots for tests that need no node: rows written by hand, answers worked by hand."""

from __future__ import annotations

from loopscan.model import Snapshot, SnapshotMeta, to_frame

MORPHO = "0x" + "f" * 40
M = "0x" + "1" * 64
BLOCK = 10


def snapshot(tables: dict[str, list[dict]]) -> Snapshot:
    """A snapshot of these rows; `market` and `position` rows carry their one collateral, which
    goes to `market_collaterals` and `position_collaterals`."""
    tables = dict(tables)
    split = {"markets": ("market_collaterals", _MARKET_KEY), "positions": ("position_collaterals", _POSITION_KEY)}
    for table, (collaterals, key) in split.items():
        rows = tables.get(table, [])
        tables[table] = [{k: v for k, v in r.items() if k not in r["_collateral"]} for r in rows]
        tables[collaterals] = [{**{k: r[k] for k in key}, **r["_collateral"]} for r in rows if r["_collateral"]]
    meta = SnapshotMeta(chain_id=1, block_number=BLOCK, block_hash="0x" + "ab" * 32, block_timestamp=0, endpoint="test")
    return Snapshot(meta, **{name: to_frame(name, [{"block": BLOCK, **{k: v for k, v in r.items() if k != "_collateral"}}
                                                    for r in rows]) for name, rows in tables.items()})  # fmt: skip


_MARKET_KEY = ("protocol_address", "market_id")
_POSITION_KEY = ("protocol", "protocol_address", "market_id", "account")


def token(address: str, symbol: str, kind: str = "base", *, name: str | None = None, price: float | None = None) -> dict:
    return {"address": address, "symbol": symbol, "name": symbol if name is None else name, "decimals": 0, "kind": kind,
            "price": price, "price_source": None}  # fmt: skip


def vault(address: str, asset: str, kind: str, total: int, visible: int) -> dict:
    return {"vault": address, "share_token": address, "asset": asset, "kind": kind, "total_assets": total,
            "total_supply": total, "visible_assets": visible, "opaque_assets": total - visible}  # fmt: skip


def market(collateral: str, loan: str, supply: int, borrow: int, market_id: str = M, price: int = 10**36) -> dict:
    """A Morpho market at LLTV 86 % (incentive: Morpho's factor for it) with a market oracle."""
    return {"protocol": "morpho_blue", "protocol_address": MORPHO, "market_id": market_id, "loan_token": loan,
            "total_supply_assets": supply, "total_borrow_assets": borrow,
            "_collateral": {"collateral_token": collateral, "liquidation_threshold_wad": 86 * 10**16,
                            "max_ltv_wad": 86 * 10**16, "liquidation_incentive_wad": 1043841336116910229,
                            "oracle": None, "oracle_kind": "market", "oracle_price_raw": price,
                            "oracle_price_scale": 10**36, "price_quote": "loan"}}  # fmt: skip


def position(account: str, collateral_token: str, collateral: int, debt: int, supply: int, market_id: str = M) -> dict:
    return {"protocol": "morpho_blue", "protocol_address": MORPHO, "market_id": market_id, "account": account,
            "debt_amount": debt, "supply_amount": supply,
            "_collateral": {"collateral_token": collateral_token, "amount": collateral} if collateral else {}}  # fmt: skip


def holding(vault_: str, token_: str, amount: int, market_id: str | None = None) -> dict:
    return {"vault": vault_, "holder": vault_, "token": token_, "protocol": "morpho_blue" if market_id else None,
            "protocol_address": MORPHO if market_id else None, "market_id": market_id, "amount": amount,
            "read_method": "x"}  # fmt: skip
