"""Run a backtest on Dask: every block an independent task, one process writing the store.

    report = run_backtest(url, deployments, blocks, "backtest.duckdb", rules=config.rules, workers=2)

A LocalCluster of `workers` single-threaded processes by default, or any running cluster by
its scheduler address (`tcp://host:8786`): the tasks are the same. The driver writes each
block as its task finishes (one transaction per block), then rebuilds the alert timeline.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from loopscan.backtest.errors import BacktestError
from loopscan.backtest.store import rebuild_alerts, stored_blocks, write_outcome
from loopscan.backtest.task import BlockOutcome, Task, run_block, scan_block
from loopscan.chains import Deployments
from loopscan.monitor import Rule
from loopscan.store import Store

__all__ = ["BacktestReport", "run_backtest"]


@dataclass
class BacktestReport:
    planned: int
    skipped: int  # already stored by an earlier run
    stored: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)  # block -> reason
    alerts: int = 0
    seconds: float = 0.0

    @property
    def blocks_per_minute(self) -> float:
        done = len(self.stored) + len(self.failed)
        return 60.0 * done / self.seconds if self.seconds > 0 else 0.0


@contextmanager
def dask_client(scheduler: str | None, workers: int) -> Iterator:
    """A client of the cluster at `scheduler`, or of a LocalCluster of `workers` processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise BacktestError(f"no Dask scheduler answers at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    if not logging.getLogger().isEnabledFor(logging.INFO):
        # The scheduler runs in this process and logs every start-up step at INFO; --debug shows them.
        logging.getLogger("distributed").setLevel(logging.ERROR)
    # One thread per worker: a block's scan is an event loop plus the solver; processes, not
    # threads, are what run two of them at once.
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:  # fmt: skip
        yield client


STALL_TIMEOUT = 3600.0  # seconds without any block finishing before the rest is given up


def run_backtest(
    rpc_url: str,
    deployments: Deployments,
    blocks: list[int],
    store_path: str | Path,
    *,
    rules: tuple[Rule, ...] = (),
    scheduler: str | None = None,
    workers: int = 1,
    retries: int = 2,
    backoff: float = 1.0,
    keep_snapshots: bool = False,
    task: Task | None = None,
    on_done: Callable[[BlockOutcome], None] | None = None,
    stall_timeout: float | None = STALL_TIMEOUT,
) -> BacktestReport:
    """Scan every block not yet stored, store each as it finishes, rebuild the alerts.

    If no block finishes for `stall_timeout` seconds (a hung node or worker), the blocks still
    running are cancelled and stored as failed with that reason: a later run tries them again.
    `task` scans one block (default: `scan_block`, reading each worker's logs once up to the
    range's last block)."""

    chain_id = deployments.chain_id
    started = time.monotonic()
    with Store.open(store_path) as store:
        done = stored_blocks(store.con, chain_id)
        todo = [b for b in dict.fromkeys(blocks) if b not in done]
        report = BacktestReport(planned=len(set(blocks)), skipped=len(set(blocks)) - len(todo))
        if todo:
            task = task or partial(scan_block, logs_until=max(todo))
            with dask_client(scheduler, workers) as client:
                futures = {
                    client.submit(run_block, task, rpc_url, deployments, b, retries, backoff, pure=False): b for b in todo
                }
                for future, outcome in _as_finished(futures, retries, stall_timeout):
                    block = futures[future]
                    with store.transaction() as con:
                        write_outcome(con, chain_id, outcome, with_snapshot=keep_snapshots)
                    if outcome.scan is None:
                        report.failed[block] = outcome.error or "failed"
                    else:
                        report.stored.append(block)
                    if on_done is not None:
                        on_done(outcome)
        with store.transaction() as con:
            report.alerts = rebuild_alerts(con, chain_id, rules)
    report.stored.sort()
    report.seconds = time.monotonic() - started
    return report


def _as_finished(futures: dict, retries: int, stall_timeout: float | None) -> Iterator[tuple[object, BlockOutcome]]:
    """Each future with its outcome as it finishes; after `stall_timeout` seconds with none
    finishing, every one left is cancelled and yielded as failed."""
    from distributed import wait

    pending = set(futures)
    while pending:
        try:
            done, pending = wait(pending, timeout=stall_timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            for future in sorted(pending, key=futures.get):
                future.cancel()
                yield future, BlockOutcome(futures[future], 0, None, f"stalled: no block finished in {stall_timeout:g} s; cancelled")
            return
        for future in sorted(done, key=futures.get):
            yield future, _outcome(future, futures[future], retries)


def _outcome(future, block: int, retries: int) -> BlockOutcome:
    """The task's own outcome, or a failed one when Dask itself could not run it (a worker
    that died on it more often than the scheduler allows, a task that could not be sent)."""
    if future.status == "finished":
        return future.result()
    exc = future.exception()
    return BlockOutcome(block, retries + 1, None, f"{type(exc).__name__}: {' '.join(str(exc).split())}")
