-- loopscan history store, schema version 3: snapshot schema 2 (loopscan.model SCHEMA_VERSION 2).
-- A market now has one row per collateral (snapshot_market_collaterals) and a position one per
-- collateral (snapshot_position_collaterals); the protocols' raw fields moved from columns of
-- snapshot_markets to snapshot_market_params. Stored snapshots are converted in place, exactly:
-- a Morpho market (lltv_wad set) takes its LLTV as liquidation threshold and maximum LTV and
-- Morpho.sol's liquidationIncentiveFactor, min(1.15e18, WAD²/(WAD − 0.3e18·(WAD − lltv)/WAD)) in
-- integers as the contract rounds it; an Aave reserve (liquidation_threshold_bps set) is its own
-- collateral, its bps × 1e14. Amounts stay decimal text; column order is the snapshot schema's.

CREATE TABLE snapshot_market_collaterals (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    protocol_address VARCHAR NOT NULL,
    market_id VARCHAR NOT NULL,
    collateral_token VARCHAR NOT NULL,
    liquidation_threshold_wad VARCHAR NOT NULL,
    max_ltv_wad VARCHAR,
    liquidation_incentive_wad VARCHAR NOT NULL,
    oracle VARCHAR,
    oracle_kind VARCHAR NOT NULL,
    oracle_price_raw VARCHAR,
    oracle_price_scale VARCHAR,
    price_quote VARCHAR NOT NULL
);
INSERT INTO snapshot_market_collaterals
SELECT scan_id, block, protocol_address, market_id, collateral_token, lltv_wad, lltv_wad,
       CAST(least(1150000000000000000::HUGEINT,
                  1000000000000000000000000000000000000::HUGEINT
                  // (1000000000000000000::HUGEINT
                      - (300000000000000000::HUGEINT * (1000000000000000000::HUGEINT - CAST(lltv_wad AS HUGEINT)))
                        // 1000000000000000000::HUGEINT)) AS VARCHAR),
       oracle, oracle_kind, oracle_price_raw, oracle_price_scale, 'loan'
FROM snapshot_markets
WHERE lltv_wad IS NOT NULL AND collateral_token <> '0x0000000000000000000000000000000000000000';
INSERT INTO snapshot_market_collaterals
SELECT scan_id, block, protocol_address, market_id, collateral_token,
       CAST(CAST(liquidation_threshold_bps AS HUGEINT) * 100000000000000 AS VARCHAR),
       CAST(CAST(ltv_bps AS HUGEINT) * 100000000000000 AS VARCHAR),
       CAST(CAST(liquidation_bonus_bps AS HUGEINT) * 100000000000000 AS VARCHAR),
       oracle, oracle_kind, oracle_price_raw, oracle_price_scale, 'numeraire'
FROM snapshot_markets
WHERE lltv_wad IS NULL AND liquidation_threshold_bps IS NOT NULL;

CREATE TABLE snapshot_market_params (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    protocol_address VARCHAR NOT NULL,
    market_id VARCHAR NOT NULL,
    param VARCHAR NOT NULL,
    value VARCHAR NOT NULL
);
INSERT INTO snapshot_market_params
SELECT scan_id, block, protocol_address, market_id, param, value
FROM (
    SELECT scan_id, block, protocol_address, market_id,
           [{'param': 'lltv_wad', 'value': lltv_wad}, {'param': 'fee_wad', 'value': fee_wad}, {'param': 'total_supply_shares', 'value': total_supply_shares},
            {'param': 'total_borrow_shares', 'value': total_borrow_shares}, {'param': 'ltv_bps', 'value': CAST(ltv_bps AS VARCHAR)},
            {'param': 'liquidation_threshold_bps', 'value': CAST(liquidation_threshold_bps AS VARCHAR)},
            {'param': 'liquidation_bonus_bps', 'value': CAST(liquidation_bonus_bps AS VARCHAR)},
            {'param': 'reserve_factor_bps', 'value': CAST(reserve_factor_bps AS VARCHAR)},
            {'param': 'emode_category', 'value': CAST(emode_category AS VARCHAR)},
            {'param': 'protocol_revision', 'value': CAST(protocol_revision AS VARCHAR)}] AS fields
    FROM snapshot_markets
), (SELECT unnest(fields, recursive := true))
WHERE value IS NOT NULL;

CREATE TABLE snapshot_position_collaterals (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    protocol VARCHAR NOT NULL,
    protocol_address VARCHAR NOT NULL,
    market_id VARCHAR NOT NULL,
    account VARCHAR NOT NULL,
    collateral_token VARCHAR NOT NULL,
    amount VARCHAR NOT NULL
);
INSERT INTO snapshot_position_collaterals
SELECT scan_id, block, protocol, protocol_address, market_id, account, collateral_token, collateral_amount
FROM snapshot_positions
WHERE collateral_amount <> '0';

CREATE TABLE snapshot_markets_2 (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    protocol VARCHAR NOT NULL,
    protocol_address VARCHAR NOT NULL,
    market_id VARCHAR NOT NULL,
    loan_token VARCHAR NOT NULL,
    loan_oracle VARCHAR,
    loan_oracle_kind VARCHAR,
    loan_price_raw VARCHAR,
    loan_price_scale VARCHAR,
    irm VARCHAR,
    total_supply_assets VARCHAR NOT NULL,
    total_borrow_assets VARCHAR NOT NULL,
    last_update BIGINT
);
-- A pooled reserve (Aave: no lltv_wad) prices its own debt with its price source.
INSERT INTO snapshot_markets_2
SELECT scan_id, block, protocol, protocol_address, market_id, loan_token,
       CASE WHEN lltv_wad IS NULL THEN oracle END,
       CASE WHEN lltv_wad IS NULL THEN oracle_kind END,
       CASE WHEN lltv_wad IS NULL THEN oracle_price_raw END,
       CASE WHEN lltv_wad IS NULL THEN oracle_price_scale END,
       irm, total_supply_assets, total_borrow_assets, last_update
FROM snapshot_markets;
DROP TABLE snapshot_markets;
ALTER TABLE snapshot_markets_2 RENAME TO snapshot_markets;

CREATE TABLE snapshot_positions_2 (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    protocol VARCHAR NOT NULL,
    protocol_address VARCHAR NOT NULL,
    market_id VARCHAR NOT NULL,
    account VARCHAR NOT NULL,
    debt_amount VARCHAR NOT NULL,
    debt_shares VARCHAR,
    supply_amount VARCHAR NOT NULL,
    supply_shares VARCHAR
);
INSERT INTO snapshot_positions_2
SELECT scan_id, block, protocol, protocol_address, market_id, account, debt_amount, debt_shares, supply_amount, supply_shares
FROM snapshot_positions;
DROP TABLE snapshot_positions;
ALTER TABLE snapshot_positions_2 RENAME TO snapshot_positions;
