"""Backtests over the Stream timeline on a local Dask cluster, against the devnet's real history.

Every stored block equals a direct scan of that block (its snapshot table for table, though each
worker carried the positions no event touched from its previous block: `protocols.reuse`); one worker and two store the same; a run
killed mid-way and restarted stores each block once; a block whose task raises is stored as
failed, with its reason, and the others are stored.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from backtest_helpers import HangsOn, RaisesOn, assert_same_snapshot, day_blocks

from loopscan.backtest import run_backtest
from loopscan.backtest.store import scan_id
from loopscan.chains import from_devnet_manifest
from loopscan.devnet.manifest import write_manifest
from loopscan.monitor import load_config, readings
from loopscan.result import analyse
from loopscan.scanner import index
from loopscan.store import Store, load_snapshot

pytestmark = pytest.mark.devnet

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
RULES = load_config(ROOT / "docs" / "rules.example.toml").rules
# Before, at and after the write-down (2025-11-04): thresholds and alerts change on each.
DAYS = ("2025-10-20", "2025-11-01", "2025-11-03", "2025-11-04", "2025-11-05", "2025-11-06")


def stored(store_path: Path) -> dict[str, pd.DataFrame]:
    """The run's tables, ordered, without what depends on when it ran."""
    with Store.open(store_path, read_only=True) as store:
        con = store.con
        return {
            "blocks": con.execute("SELECT block_number, status, scan_id, attempts, error FROM backtest_blocks ORDER BY 1").fetchdf(),
            "scans": con.execute("SELECT scan_id, block_number, block_hash, block_timestamp, positions, missing "
                                 "FROM scans ORDER BY block_number").fetchdf(),
            "metrics": con.execute("SELECT * FROM metrics ORDER BY scan_id, subject_kind, subject, metric").fetchdf(),
            "thresholds": con.execute("SELECT * FROM thresholds ORDER BY scan_id, token, shock").fetchdf(),
            "alerts": con.execute("SELECT key, event, rule, subject, value, previous, message, scan_id, block_number, created_at "
                                  "FROM alerts ORDER BY block_number, key").fetchdf(),
        }  # fmt: skip


@pytest.fixture(scope="module")
def two_runs(timeline, tmp_path_factory):
    """The same blocks backtested with one worker and with two, and the two workers' snapshots."""
    blocks = day_blocks(timeline, *DAYS)
    deployments = from_devnet_manifest(timeline.manifest)
    out = {}
    for workers in (1, 2):
        path = tmp_path_factory.mktemp(f"workers{workers}") / "backtest.duckdb"
        report = run_backtest(timeline.url, deployments, blocks, path, rules=RULES, workers=workers, keep_snapshots=True)
        assert report.stored == blocks and not report.failed
        out[workers] = stored(path)
    with Store.open(path, read_only=True) as store:
        snapshots = {b: load_snapshot(store.con, scan_id(timeline.manifest["chain_id"], b)) for b in blocks}
    return blocks, out, snapshots


def test_every_block_equals_a_direct_scan_of_it(timeline, two_runs):
    blocks, runs, snapshots = two_runs
    deployments = from_devnet_manifest(timeline.manifest)
    metrics, thresholds = runs[2]["metrics"], runs[2]["thresholds"]
    for block in blocks:
        snapshot = index(timeline.url, deployments=deployments, block=block)
        assert_same_snapshot(snapshots[block], snapshot, block)
        direct = analyse(snapshot)
        sid = scan_id(timeline.manifest["chain_id"], block)
        mine = metrics[metrics["scan_id"] == sid].drop(columns="scan_id")
        theirs = readings(direct)
        key = ["subject_kind", "subject", "metric"]
        pd.testing.assert_frame_equal(mine.sort_values(key).reset_index(drop=True), theirs.sort_values(key).reset_index(drop=True),
                                      check_dtype=False, obj=f"metrics of block {block}")  # fmt: skip
        got = thresholds[thresholds["scan_id"] == sid].drop(columns="scan_id").sort_values(["token", "shock"]).reset_index(drop=True)
        want = direct.thresholds[got.columns].sort_values(["token", "shock"]).reset_index(drop=True)
        for col in ("first_liquidation_frac", "cascade_frac", "bad_debt_frac"):  # None (no threshold) is NULL, read as NaN
            want[col] = want[col].astype(float)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=f"thresholds of block {block}")
    # The write-down is in the run: xUSD's thresholds before and after it differ.
    assert runs[2]["alerts"]["block_number"].isin(blocks).all() and len(runs[2]["alerts"]) > 0


def test_one_worker_and_two_store_the_same(two_runs):
    _, runs, _ = two_runs
    for name in runs[1]:
        pd.testing.assert_frame_equal(runs[1][name], runs[2][name], obj=name)


def test_a_failing_block_is_stored_as_failed_and_the_others_stored(timeline, tmp_path):
    blocks = day_blocks(timeline, "2025-11-03", "2025-11-04", "2025-11-05")
    path = tmp_path / "backtest.duckdb"
    report = run_backtest(timeline.url, from_devnet_manifest(timeline.manifest), blocks, path, workers=2,
                          retries=1, backoff=0.0, task=RaisesOn(blocks[1]))  # fmt: skip
    assert report.stored == [blocks[0], blocks[2]]
    assert report.failed == {blocks[1]: f"RuntimeError: boom at {blocks[1]}"}
    rows = stored(path)["blocks"]
    assert rows[["block_number", "status", "attempts"]].values.tolist() == [
        [blocks[0], "ok", 1], [blocks[1], "failed", 2], [blocks[2], "ok", 1]]  # fmt: skip
    assert rows.loc[1, "error"] == f"RuntimeError: boom at {blocks[1]}" and pd.isna(rows.loc[1, "scan_id"])
    # A rerun tries the failed block again (and only it): now it succeeds.
    again = run_backtest(timeline.url, from_devnet_manifest(timeline.manifest), blocks, path, workers=1)
    assert (again.skipped, again.stored, again.failed) == (2, [blocks[1]], {})
    assert stored(path)["blocks"]["status"].tolist() == ["ok", "ok", "ok"]


def test_a_hung_block_is_given_up_after_the_stall_timeout(timeline, tmp_path):
    blocks = day_blocks(timeline, "2025-11-03", "2025-11-04")
    path = tmp_path / "backtest.duckdb"
    report = run_backtest(timeline.url, from_devnet_manifest(timeline.manifest), blocks, path, workers=2,
                          retries=0, task=HangsOn(blocks[1]), stall_timeout=20.0)  # fmt: skip
    assert report.stored == [blocks[0]]
    assert report.failed == {blocks[1]: "stalled: no block finished in 20 s; cancelled"}
    assert stored(path)["blocks"]["status"].tolist() == ["ok", "failed"]


def test_killed_mid_run_then_restarted_stores_every_block_once(timeline, tmp_path):
    blocks = day_blocks(timeline, *DAYS)
    manifest = tmp_path / "devnet.json"
    write_manifest(timeline.manifest, manifest)
    path = tmp_path / "backtest.duckdb"
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "backtest-resume.log"
    cmd = [sys.executable, str(Path(__file__).with_name("resume_driver.py")), timeline.url, str(manifest), str(path),
           ",".join(map(str, blocks))]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    lines = []
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    for line in first.stdout:
        lines.append(f"run 1: {line.rstrip()}")
        if len(lines) == 2:
            os.killpg(first.pid, signal.SIGKILL)  # the driver and its Dask workers, mid-run
            break
    first.wait()
    first.stdout.close()
    lines.append(f"run 1: killed (exit {first.returncode})")
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    lines += [f"run 2: {line}" for line in second.stdout.splitlines()]
    log.write_text("\n".join(lines) + "\n")
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"done: {len(blocks) - 2} scanned, 2 skipped, 0 failed" in second.stdout, log.read_text()
    rows = stored(path)
    assert rows["blocks"]["block_number"].tolist() == blocks and (rows["blocks"]["status"] == "ok").all()
    assert rows["scans"]["block_number"].tolist() == blocks  # one scan per block, none twice
    assert set(rows["metrics"]["scan_id"]) == set(rows["scans"]["scan_id"])
    assert not rows["thresholds"].duplicated(["scan_id", "token", "shock"]).any()  # no block's rows written twice
