-- loopscan history store, schema version 6.
-- Thresholds are measured from the state at the pin (loopscan.solver.thresholds): each token's row
-- also says how many positions it reaches are liquidatable now, what closing those positions now
-- would leave unpaid, and which figures were not computable, and why.
ALTER TABLE thresholds ADD COLUMN liquidatable_now BIGINT;
ALTER TABLE thresholds ADD COLUMN bad_debt_now_usd DOUBLE;
ALTER TABLE thresholds ADD COLUMN not_computable VARCHAR;

-- Losses are now the bad debt a shock adds over the baseline cascade, one row per (token, shock,
-- lender) with a column per threshold. The earlier rows (one per threshold, market and lender,
-- with the cascade's whole bad debt) cannot be restated as that: they are kept, unchanged, in
-- losses_before_006.
ALTER TABLE losses RENAME TO losses_before_006;
CREATE TABLE losses (
    scan_id VARCHAR NOT NULL,
    token VARCHAR NOT NULL,
    shock VARCHAR NOT NULL,
    lender VARCHAR NOT NULL,
    lender_symbol VARCHAR,
    loss_at_first_liquidation_usd DOUBLE,
    loss_at_cascade_usd DOUBLE,
    loss_at_bad_debt_usd DOUBLE,
    loss_at_100pct_usd DOUBLE
);
