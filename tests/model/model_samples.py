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
              "irm": C, "total_supply_assets": 10, "total_borrow_assets": 9, "last_update": 1_730_000_000},
             {**b, "protocol": "aave_v3", "protocol_address": A, "market_id": A, "loan_token": A, "loan_oracle": B,
              "loan_oracle_kind": "market", "loan_price_raw": 10**8, "loan_price_scale": 10**8,
              "total_supply_assets": 2**256 - 1, "total_borrow_assets": 0}],
        ),
        market_collaterals=to_frame(
            "market_collaterals",
            [{**b, "protocol_address": C, "market_id": MARKET, "collateral_token": B,
              "liquidation_threshold_wad": 860 * 10**15, "max_ltv_wad": 860 * 10**15,
              "liquidation_incentive_wad": 1043841336116910229, "oracle": C, "oracle_kind": "exchange_rate",
              "oracle_price_raw": 10**36, "oracle_price_scale": 10**36, "price_quote": "loan"},
             {**b, "protocol_address": A, "market_id": A, "collateral_token": A, "liquidation_threshold_wad": 0,
              "liquidation_incentive_wad": 10**18, "oracle_kind": "unknown", "price_quote": "numeraire"}],
        ),
        market_params=to_frame(
            "market_params",
            [{**b, "protocol_address": C, "market_id": MARKET, "param": "total_borrow_shares", "value": 9 * 10**6},
             {**b, "protocol_address": C, "market_id": MARKET, "param": "fee_wad", "value": 0},
             {**b, "protocol_address": A, "market_id": A, "param": "signed", "value": -(2**255)}],
        ),
        positions=to_frame(
            "positions",
            [{**b, "protocol": "aave_v3", "protocol_address": A, "market_id": A, "account": C,
              "debt_amount": 2, "supply_amount": 1}],
        ),
        position_collaterals=to_frame(
            "position_collaterals",
            [{**b, "protocol": "aave_v3", "protocol_address": A, "market_id": A, "account": C,
              "collateral_token": A, "amount": 1}],
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
