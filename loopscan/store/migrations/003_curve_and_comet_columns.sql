-- loopscan history store, schema version 3.
-- Curve pools carry their ramp of A, their off-peg fee multiplier, their kind and, per coin, the
-- NG pools' stored_rates; Compound v3 markets their factors, caps and reserves
-- (loopscan.model.SCHEMA: pools, pool_coins, markets).
ALTER TABLE snapshot_pools ADD COLUMN pool_kind VARCHAR;
ALTER TABLE snapshot_pools ADD COLUMN amp_precise VARCHAR;
ALTER TABLE snapshot_pools ADD COLUMN future_amp VARCHAR;
ALTER TABLE snapshot_pools ADD COLUMN future_amp_time BIGINT;
ALTER TABLE snapshot_pools ADD COLUMN offpeg_fee_multiplier VARCHAR;
ALTER TABLE snapshot_pools ADD COLUMN admin_fee BIGINT;
ALTER TABLE snapshot_pool_coins ADD COLUMN rate VARCHAR;
ALTER TABLE snapshot_markets ADD COLUMN borrow_factor_wad VARCHAR;
ALTER TABLE snapshot_markets ADD COLUMN liquidation_factor_wad VARCHAR;
ALTER TABLE snapshot_markets ADD COLUMN supply_cap VARCHAR;
ALTER TABLE snapshot_markets ADD COLUMN store_front_price_factor_wad VARCHAR;
ALTER TABLE snapshot_markets ADD COLUMN target_reserves VARCHAR;
ALTER TABLE snapshot_markets ADD COLUMN reserves VARCHAR;
