"""One block of a backtest, as a Dask task: index + analyse + readings, retried in place.

The task runs in a worker process and returns plain data (frames, the snapshot) that the
driver writes to the store; it never touches the store itself, so any number of workers, on
any machines, can run blocks while one process keeps the history file.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from loopscan.chains import Deployments
from loopscan.errors import LoopscanError
from loopscan.model import Snapshot
from loopscan.monitor import readings
from loopscan.protocols.reuse import PositionReuse
from loopscan.result import analyse
from loopscan.rpc import LogCache
from loopscan.scanner import index_async

__all__ = ["BlockScan", "BlockOutcome", "scan_block", "run_block"]


@dataclass(frozen=True)
class BlockScan:
    """What one block's scan produced (`metrics`: the monitor's readings)."""

    snapshot: Snapshot
    metrics: pd.DataFrame
    thresholds: pd.DataFrame
    losses: pd.DataFrame
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True)
class BlockOutcome:
    block: int
    attempts: int
    scan: BlockScan | None  # None when every attempt failed
    error: str | None  # the last attempt's failure, one line


def scan_block(rpc_url: str, deployments: Deployments, block: int, logs_until: int | None = None) -> BlockScan:
    """Index the chain at `block`, analyse it and compute the monitor's readings. With
    `logs_until` (the backtest's last block), logs are read once up to it per worker process and
    cut at each block (`rpc.LogCache`), instead of from the deployments at every block, and the
    positions no event touched since the worker's previous block are carried from it
    (`protocols.reuse`), not read again."""
    started = datetime.now(UTC)
    cache, reuse = (None, None) if logs_until is None else _worker_caches(rpc_url, logs_until)
    snapshot = asyncio.run(index_async(rpc_url, deployments=deployments, block=block, log_cache=cache, reuse=reuse))
    result = analyse(snapshot)
    return BlockScan(snapshot, readings(result), result.thresholds, result.losses, started, datetime.now(UTC))


Task = Callable[[str, Deployments, int], BlockScan]

_WORKER_CACHES: dict[tuple[str, int], tuple[LogCache, PositionReuse]] = {}  # per worker process: its blocks share one history


def _worker_caches(rpc_url: str, until: int) -> tuple[LogCache, PositionReuse]:
    return _WORKER_CACHES.setdefault((rpc_url, until), (LogCache(until), PositionReuse()))


def run_block(task: Task, rpc_url: str, deployments: Deployments, block: int, retries: int, backoff: float) -> BlockOutcome:
    """`task` for one block, tried 1 + `retries` times; the last failure is returned, not raised,
    so that the driver stores it with its reason."""
    error = None
    for attempt in range(1, retries + 2):
        try:
            return BlockOutcome(block, attempt, task(rpc_url, deployments, block), None)
        except Exception as exc:  # noqa: BLE001 — any failure of one block is that block's outcome
            error = _describe(exc)
            if attempt <= retries:
                time.sleep(backoff * 2 ** (attempt - 1))
    return BlockOutcome(block, retries + 1, None, error)


def _describe(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, LoopscanError) else f"{type(exc).__name__}: {text}"
