-- loopscan history store, schema version 4.
-- Curve pools carry their ramp of A, their off-peg fee multiplier, their kind and, per coin, the
-- NG pools' stored_rates (loopscan.model.SCHEMA: pools, pool_coins). Compound v3's factors, caps
-- and reserves need no columns: they are market_collaterals rows and market_params (migration 3).
ALTER TABLE snapshot_pools ADD COLUMN pool_kind VARCHAR;
ALTER TABLE snapshot_pools ADD COLUMN amp_precise VARCHAR;
ALTER TABLE snapshot_pools ADD COLUMN future_amp VARCHAR;
ALTER TABLE snapshot_pools ADD COLUMN future_amp_time BIGINT;
ALTER TABLE snapshot_pools ADD COLUMN offpeg_fee_multiplier VARCHAR;
ALTER TABLE snapshot_pools ADD COLUMN admin_fee BIGINT;
ALTER TABLE snapshot_pool_coins ADD COLUMN rate VARCHAR;
