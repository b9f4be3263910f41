"""Literal snapshots shared by the model tests (a uniquely named module, importable from them)."""

from datetime import UTC, datetime

from loopscan.model import Snapshot, SnapshotMeta, to_frame

BLOCK = 21_000_000
A = "0x" + "a1" * 20
B = "0x" + "b2" * 20
C = "0x" + "c3" * 20
MARKET = "0x" + "d4" * 32


def sample_meta() -> SnapshotMeta:
    return SnapshotMeta(
        chain_id=1,
        block_number=BLOCK,
        block_hash="0x" + "ef" * 32,
        block_timestamp=1_730_000_000,
        endpoint="https://eth.example/***",
        loopscan_version="0.1.0",
        created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    )


def sample_snapshot(meta: SnapshotMeta) -> Snapshot:
    """One or two rows in every table, with nulls and extreme integers."""
    b = {"block": BLOCK}
    return Snapshot(
        meta,
        tokens=to_frame(
            "tokens",
            [
                {**b, "address": A, "symbol": "USDC", "name": "USD Coin", "decimals": 6, "kind": "base",
                 "price": 1.0001, "price_source": "chainlink"},
                {**b, "address": B, "decimals": 18, "kind": "vault_share"},
            ],
        ),
        vaults=to_frame(
            "vaults",
            [{**b, "vault": B, "share_token": B, "asset": A, "kind": "metamorpho", "total_assets": 2**256 - 1,
              "total_supply": 0, "visible_assets": 5, "opaque_assets": -(2**255)}],
        ),
        holdings=to_frame(
            "holdings",
            [
                {**b, "vault": B, "holder": B, "token": A, "amount": 7, "read_method": "balanceOf"},
                {**b, "vault": B, "holder": C, "token": A, "protocol": "morpho_blue", "protocol_address": C,
                 "market_id": MARKET, "amount": 2**200, "read_method": "morpho.position"},
            ],
        ),
        markets=to_frame(
            "markets",
            [{**b, "protocol": "morpho_blue", "protocol_address": C, "market_id": MARKET, "loan_token": A,
              "collateral_token": B, "lltv_wad": 860 * 10**15, "oracle": C, "oracle_kind": "exchange_rate",
              "oracle_price_raw": 10**36, "oracle_price_scale": 10**36, "irm": C, "total_supply_assets": 10,
              "total_supply_shares": 10**7, "total_borrow_assets": 9, "total_borrow_shares": 9 * 10**6,
              "last_update": 1_730_000_000, "fee_wad": 0}],
        ),
        positions=to_frame(
            "positions",
            [{**b, "protocol": "aave_v3", "protocol_address": A, "market_id": A, "account": C,
              "collateral_token": A, "collateral_amount": 1, "debt_amount": 2, "supply_amount": 1}],
        ),
        pools=to_frame(
            "pools",
            [{**b, "venue": "uniswap_v3", "pool": C, "token0": A, "token1": B, "fee_raw": 100, "fee_scale": 10**6,
              "sqrt_price_x96": 2**160 - 1, "tick": -887272, "liquidity": 2**128 - 1, "tick_spacing": 1,
              "n_coins": 2}],
        ),
        pool_coins=to_frame(
            "pool_coins",
            [{**b, "pool": C, "coin_index": 0, "token": A, "balance": 3},
             {**b, "pool": C, "coin_index": 1, "token": B, "balance": 0}],
        ),
        ticks=to_frame(
            "ticks",
            [{**b, "pool": C, "tick": -887272, "liquidity_net": -(2**127), "liquidity_gross": 2**127},
             {**b, "pool": C, "tick": 887272, "liquidity_net": 2**127 - 1, "liquidity_gross": 2**127}],
        ),
        missing=to_frame(
            "missing",
            [{**b, "kind": "token", "address": C, "method": "decimals()", "reason": "execution reverted"}],
        ),
    )
