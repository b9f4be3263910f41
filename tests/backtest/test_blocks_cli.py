"""Dates to blocks on the timeline devnet, and `loopscan backtest` end to end."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from backtest_helpers import day_blocks
from click.testing import CliRunner

from loopscan.backtest import BacktestError, block_at, plan_blocks
from loopscan.cli import main
from loopscan.devnet.manifest import write_manifest
from loopscan.rpc import RpcClient

pytestmark = pytest.mark.devnet


async def _plan(url: str, *args: str) -> list[int]:
    async with RpcClient(url) as client:
        return await plan_blocks(client, *args)


def test_every_day_maps_to_that_days_last_block(timeline):
    days = timeline.manifest["timeline"]
    assert asyncio.run(_plan(timeline.url, "2025-09-01", "2025-11-06", "1d")) == [d["block"] for d in days]
    assert asyncio.run(_plan(timeline.url, "2025-11-01", "2025-11-06", "2d")) == day_blocks(timeline, "2025-11-01", "2025-11-03", "2025-11-05")
    assert asyncio.run(_plan(timeline.url, "150", "160", "5")) == [150, 155, 160]


def test_an_instant_between_days_is_the_days_last_block(timeline):
    async def at(when: datetime) -> int:
        async with RpcClient(timeline.url) as client:
            return await block_at(client, when, await client.block_number())

    nov4 = datetime(2025, 11, 4, tzinfo=UTC)
    assert asyncio.run(at(nov4 + timedelta(hours=23))) == day_blocks(timeline, "2025-11-04")[0]
    assert asyncio.run(at(nov4 - timedelta(seconds=1))) == day_blocks(timeline, "2025-11-03")[0]
    with pytest.raises(BacktestError, match="before this chain's first block"):
        asyncio.run(at(datetime(2020, 1, 1, tzinfo=UTC)))
    with pytest.raises(BacktestError, match="neither a block number nor a date"):
        asyncio.run(_plan(timeline.url, "yesterday", "2025-11-06", "1d"))


def test_the_command_stores_reports_and_resumes(timeline, tmp_path):
    manifest = tmp_path / "devnet.json"
    write_manifest(timeline.manifest, manifest)
    args = ["backtest", "--rpc", timeline.url, "--deployments", str(manifest), "--from", "2025-11-03", "--to", "2025-11-05",
            "--every", "1d", "--rules", "docs/rules.example.toml", "--store", str(tmp_path / "bt.duckdb"), "--workers", "1",
            "--event", "write-down=2025-11-04", "--out", str(tmp_path / "out"), "--format", "json"]  # fmt: skip
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    blocks = day_blocks(timeline, "2025-11-03", "2025-11-04", "2025-11-05")
    assert sorted({t["block"] for t in data["thresholds"]}) == blocks
    assert data["events"] == [{"name": "write-down", "block": blocks[1], "time": "2025-11-04T00:00:00+00:00"}]
    near = {(a["rule"], a["label"]) for a in data["alerts"] if a["block"] == blocks[1] and a["event"] == "firing"}
    # the write-down makes Stream's treasury position liquidatable at once, under water by $16.1M
    assert {("liquidatable-now", "xUSD"), ("bad-debt-now", "xUSD")} <= near
    lead = {r["rule"]: r["lead_days"] for r in data["lead_times"]}
    assert lead["liquidatable-now"] == 0.0 and lead["opaque-backing"] == 1.0  # fired on the 3rd, the first block
    assert json.loads((tmp_path / "out" / "backtest.json").read_text()) == data
    assert (tmp_path / "out" / "backtest.png").stat().st_size > 10_000
    assert "lead time of each rule".lower() in (tmp_path / "out" / "backtest.html").read_text().lower()
    again = CliRunner().invoke(main, args[:-2])  # the table this time: every block is already stored
    assert again.exit_code == 0, again.output
    assert "3 blocks: 0 scanned now, 3 already stored, 0 failed" in again.output
