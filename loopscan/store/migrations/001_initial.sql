-- loopscan history store, schema version 1.
-- Applied once by loopscan.store.db; never edit a released migration: add the next one.
-- Snapshot tables mirror loopscan.model.SCHEMA (snapshot format 1), with raw on-chain integers
-- as decimal text, as in the snapshot's Parquet files.

CREATE TABLE scans (
    scan_id VARCHAR PRIMARY KEY,
    chain_id BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    block_hash VARCHAR NOT NULL,
    block_timestamp BIGINT NOT NULL,
    endpoint VARCHAR NOT NULL,
    loopscan_version VARCHAR NOT NULL,
    numeraire VARCHAR NOT NULL,
    snapshot_created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    duration_s DOUBLE NOT NULL,
    positions BIGINT NOT NULL,
    missing BIGINT NOT NULL,
    has_snapshot BOOLEAN NOT NULL
);

-- One row per (scan, subject, metric): what alert rules and `loopscan history` read.
CREATE TABLE metrics (
    scan_id VARCHAR NOT NULL,
    subject_kind VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    label VARCHAR,
    metric VARCHAR NOT NULL,
    value DOUBLE,
    PRIMARY KEY (scan_id, subject_kind, subject, metric)
);

CREATE TABLE thresholds (
    scan_id VARCHAR NOT NULL,
    token VARCHAR NOT NULL,
    symbol VARCHAR,
    shock VARCHAR NOT NULL,
    first_liquidation_frac DOUBLE,
    cascade_frac DOUBLE,
    bad_debt_frac DOUBLE,
    positions_at_risk BIGINT,
    bad_debt_at_100pct_usd DOUBLE,
    oracle_flags VARCHAR
);

CREATE TABLE losses (
    scan_id VARCHAR NOT NULL,
    token VARCHAR NOT NULL,
    shock VARCHAR NOT NULL,
    threshold VARCHAR NOT NULL,
    shock_frac DOUBLE,
    market VARCHAR,
    lender VARCHAR,
    lender_symbol VARCHAR,
    realized_bad_debt_usd DOUBLE,
    hidden_bad_debt_usd DOUBLE
);

-- Conditions firing now, so that a restarted monitor neither re-sends nor forgets them.
CREATE TABLE alert_state (
    rule VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    since_scan VARCHAR,
    PRIMARY KEY (rule, subject)
);

CREATE SEQUENCE alert_seq;

-- Every alert and resolution, stored before any sink sees it (the outbox).
CREATE TABLE alerts (
    seq BIGINT NOT NULL DEFAULT nextval('alert_seq'),
    key VARCHAR PRIMARY KEY,
    event VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    subject_kind VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    label VARCHAR,
    metric VARCHAR,
    value DOUBLE,
    previous DOUBLE,
    bound DOUBLE,
    message VARCHAR NOT NULL,
    scan_id VARCHAR,
    chain_id BIGINT,
    block_number BIGINT,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE deliveries (
    key VARCHAR NOT NULL,
    sink VARCHAR NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR,
    delivered_at TIMESTAMPTZ,
    PRIMARY KEY (key, sink)
);

CREATE TABLE snapshot_tokens (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    address VARCHAR NOT NULL,
    symbol VARCHAR,
    name VARCHAR,
    decimals BIGINT NOT NULL,
    kind VARCHAR NOT NULL,
    price DOUBLE,
    price_source VARCHAR
);
CREATE TABLE snapshot_vaults (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    vault VARCHAR NOT NULL,
    share_token VARCHAR NOT NULL,
    asset VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    total_assets VARCHAR NOT NULL,
    total_supply VARCHAR NOT NULL,
    visible_assets VARCHAR NOT NULL,
    opaque_assets VARCHAR NOT NULL
);
CREATE TABLE snapshot_vault_markets (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    vault VARCHAR NOT NULL,
    protocol_address VARCHAR NOT NULL,
    market_id VARCHAR NOT NULL,
    cap VARCHAR NOT NULL,
    enabled BIGINT NOT NULL,
    supply_queue_index BIGINT,
    withdraw_queue_index BIGINT
);
CREATE TABLE snapshot_holdings (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    vault VARCHAR NOT NULL,
    holder VARCHAR NOT NULL,
    token VARCHAR NOT NULL,
    protocol VARCHAR,
    protocol_address VARCHAR,
    market_id VARCHAR,
    amount VARCHAR NOT NULL,
    read_method VARCHAR NOT NULL
);
CREATE TABLE snapshot_markets (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    protocol VARCHAR NOT NULL,
    protocol_address VARCHAR NOT NULL,
    market_id VARCHAR NOT NULL,
    loan_token VARCHAR NOT NULL,
    collateral_token VARCHAR NOT NULL,
    lltv_wad VARCHAR,
    ltv_bps BIGINT,
    liquidation_threshold_bps BIGINT,
    liquidation_bonus_bps BIGINT,
    oracle VARCHAR,
    oracle_kind VARCHAR NOT NULL,
    oracle_price_raw VARCHAR,
    oracle_price_scale VARCHAR,
    irm VARCHAR,
    total_supply_assets VARCHAR NOT NULL,
    total_supply_shares VARCHAR,
    total_borrow_assets VARCHAR NOT NULL,
    total_borrow_shares VARCHAR,
    last_update BIGINT,
    fee_wad VARCHAR,
    reserve_factor_bps BIGINT,
    emode_category BIGINT,
    protocol_revision BIGINT
);
CREATE TABLE snapshot_positions (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    protocol VARCHAR NOT NULL,
    protocol_address VARCHAR NOT NULL,
    market_id VARCHAR NOT NULL,
    account VARCHAR NOT NULL,
    collateral_token VARCHAR NOT NULL,
    collateral_amount VARCHAR NOT NULL,
    debt_amount VARCHAR NOT NULL,
    debt_shares VARCHAR,
    supply_amount VARCHAR NOT NULL,
    supply_shares VARCHAR
);
CREATE TABLE snapshot_accounts (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    protocol VARCHAR NOT NULL,
    protocol_address VARCHAR NOT NULL,
    account VARCHAR NOT NULL,
    emode_category BIGINT NOT NULL
);
CREATE TABLE snapshot_emode_categories (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    protocol VARCHAR NOT NULL,
    protocol_address VARCHAR NOT NULL,
    category BIGINT NOT NULL,
    ltv_bps BIGINT NOT NULL,
    liquidation_threshold_bps BIGINT NOT NULL,
    liquidation_bonus_bps BIGINT NOT NULL,
    price_source VARCHAR,
    label VARCHAR
);
CREATE TABLE snapshot_pools (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    venue VARCHAR NOT NULL,
    pool VARCHAR NOT NULL,
    token0 VARCHAR NOT NULL,
    token1 VARCHAR NOT NULL,
    fee_raw BIGINT NOT NULL,
    fee_scale BIGINT NOT NULL,
    sqrt_price_x96 VARCHAR,
    tick BIGINT,
    liquidity VARCHAR,
    tick_spacing BIGINT,
    amp VARCHAR,
    n_coins BIGINT NOT NULL
);
CREATE TABLE snapshot_pool_coins (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    pool VARCHAR NOT NULL,
    coin_index BIGINT NOT NULL,
    token VARCHAR NOT NULL,
    balance VARCHAR NOT NULL
);
CREATE TABLE snapshot_ticks (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    pool VARCHAR NOT NULL,
    tick BIGINT NOT NULL,
    liquidity_net VARCHAR NOT NULL,
    liquidity_gross VARCHAR NOT NULL
);
CREATE TABLE snapshot_missing (
    scan_id VARCHAR NOT NULL,
    block BIGINT NOT NULL,
    kind VARCHAR NOT NULL,
    address VARCHAR,
    key VARCHAR,
    method VARCHAR NOT NULL,
    reason VARCHAR NOT NULL
);
