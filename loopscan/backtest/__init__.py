"""Backtests: loopscan over a range of past blocks, each block an independent Dask task.

    >>> from loopscan.backtest import plan_blocks, run_backtest     # doctest: +SKIP
    >>> report = run_backtest(url, deployments, blocks, "backtest.duckdb", rules=rules, workers=2)

``blocks`` picks the blocks (dates by binary search on timestamps), ``task`` scans one,
``store`` keeps each in the history file with the alerts the rules would have raised,
``runner`` runs them on a Dask cluster, ``timeline`` reads the stored run back (thresholds
over time, alerts, lead times) for the terminal, JSON and a PNG.
"""

from loopscan.backtest.blocks import block_at, parse_when, plan_blocks
from loopscan.backtest.errors import BacktestError
from loopscan.backtest.runner import BacktestReport, run_backtest
from loopscan.backtest.task import BlockOutcome, BlockScan, scan_block

__all__ = [
    "BacktestError",
    "BacktestReport",
    "BlockOutcome",
    "BlockScan",
    "block_at",
    "parse_when",
    "plan_blocks",
    "run_backtest",
    "scan_block",
]
