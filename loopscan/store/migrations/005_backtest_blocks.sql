-- loopscan history store, schema version 5.
-- A backtest's blocks: each one scanned once, keyed by block, so that a run can resume where it
-- stopped and a block that kept failing is kept with its reason rather than skipped in silence.
-- A block scanned ok has its scan in `scans` (scan_id `backtest-<chain>-<block>`), written in the
-- same transaction as this row.
CREATE TABLE backtest_blocks (
    chain_id BIGINT NOT NULL,
    block_number BIGINT NOT NULL,
    status VARCHAR NOT NULL,          -- ok | failed
    scan_id VARCHAR,
    attempts INTEGER NOT NULL,
    error VARCHAR,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (chain_id, block_number)
);
