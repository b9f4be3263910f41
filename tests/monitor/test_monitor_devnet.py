"""The monitor on the stream-2025 devnet: ticks while the chain moves, alerts at a local webhook,
history in DuckDB, metrics scraped once.

Expected alerts, from the scenario and the rules below:
- tick 1 (as seeded): xUSD's opaque share 91.4 % > 90 %; the private xUSD/USDC market lent out
  in full (utilisation 1): two conditions fire.
- `xusd-market-down-5` sets the xUSD/USD feed 5 % under book (1.27 → 1.2065). δ₁ was 9.02 % of
  the old price (a Gearbox credit account; sdeUSD's, 12.80 %, a Morpho looper's: both above the 9 %
  the rule asks), so it is now 1 − (1 − 0.090156)/0.95 = 4.23 %: below 9 %, and a 4.8-point move (> 2); δ_bd
  was 12.57 % (Morpho's looper-1) and is now 7.97 %, below 10 %: three alerts.
- `writedown` cuts the opaque backing by $93M (231.6M → 138.6M). xUSD's book falls to $0.82: the
  treasury's position on the private market (its oracle reads that book) is liquidatable now, and
  xUSD's bad debt now is $17.5M (two critical alerts for xUSD). Every other xUSD position
  falls in the baseline (the market oracle follows xUSD's market, which cannot stay above book), so
  no further shock opens another: δ₁ is none (a move of more than 2 points) and δ_bd 33.4 %, so
  both near-* conditions of xUSD resolve. sdeUSD is untouched: its Morpho looper is still 12.80 %
  away (no alert; its deUSD lent to xUSD's private market is xUSD's risk, not a shock of sdeUSD).
  xUSD's opaque share falls under 90 % and resolves.
- tick 4, nothing changed: no alert.
"""

from __future__ import annotations

import asyncio
import math
import re
import urllib.request
from pathlib import Path

import faultproxy as fp
import pandas as pd
import pytest
from click.testing import CliRunner
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from small_disk import fill, tmpfs
from webhook_server import WebhookServer

from loopscan.chains import from_devnet_manifest
from loopscan.cli import main
from loopscan.devnet.node import free_port
from loopscan.model import SCHEMA
from loopscan.monitor import Monitor, MonitorMetrics, Schedule, load_config
from loopscan.rpc import RetryPolicy
from loopscan.scanner import index_async
from loopscan.store import Store, StoreError, alert_log, load_snapshot, metric_history

pytestmark = pytest.mark.devnet
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"

RULES = """
[[rule]]
name = "near-first-liquidation"
metric = "depeg_first_liquidation_frac"
below = 0.09
severity = "warning"

[[rule]]
name = "near-bad-debt"
metric = "depeg_bad_debt_frac"
below = 0.10
severity = "critical"

[[rule]]
name = "opaque-backing"
metric = "opaque_frac"
above = 0.90
severity = "warning"

[[rule]]
name = "threshold-moved"
metric = "depeg_first_liquidation_frac"
change_above = 0.02
severity = "info"

[[rule]]
name = "lenders-stuck"
metric = "utilisation_frac"
at_least = 1.0
severity = "warning"

[[rule]]
name = "new-loop"
metric = "new_loop"
severity = "info"

[[rule]]
name = "liquidatable-now"
metric = "liquidatable_now"
at_least = 1
severity = "critical"

[[rule]]
name = "bad-debt-now"
metric = "bad_debt_now_usd"
above = 1
severity = "critical"

[[sink]]
kind = "webhook"
name = "hook"
url = "{url}"
"""


def rules_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(RULES.format(url=url))
    return path


EXPECTED = [
    [("firing", "opaque-backing", "xUSD"), ("firing", "lenders-stuck", "xUSD/USDC (morpho_blue)")],
    [("firing", "near-first-liquidation", "xUSD"), ("firing", "near-bad-debt", "xUSD"), ("firing", "threshold-moved", "xUSD")],
    [("firing", "threshold-moved", "xUSD"), ("firing", "liquidatable-now", "xUSD"), ("firing", "bad-debt-now", "xUSD"),
     ("resolved", "opaque-backing", "xUSD"), ("resolved", "near-first-liquidation", "xUSD"), ("resolved", "near-bad-debt", "xUSD")],
    [],
]  # fmt: skip


async def test_alerts_arrive_once_in_order_and_the_history_moves(stream, tmp_path: Path) -> None:
    log: list[str] = []
    metrics = MonitorMetrics()
    with WebhookServer() as hook:
        config = load_config(rules_file(tmp_path, hook.url))
        store = tmp_path / "history.duckdb"
        port = metrics.serve(0)
        async with Monitor(stream.url, from_devnet_manifest(stream.manifest), config, store, emit=log.append,
                           metrics=metrics, webhook_backoff=0.01) as monitor:  # fmt: skip
            reports = [await monitor.tick()]
            stream.apply("xusd-market-down-5")
            hook.fail_next(1)  # the first delivery of tick 2 is refused once, then retried
            reports.append(await monitor.tick())
            stream.apply("writedown")
            reports.append(await monitor.tick())
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
            reports.append(await monitor.tick())
        metrics.stop()
        received = list(hook.received)
        refused = hook.refused
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "monitor-run.log").write_text("\n".join(log) + "\n")
    (ARTIFACTS / "metrics.txt").write_text(page)

    assert all(r.ok for r in reports), [r.error for r in reports]
    assert [[(a.event, a.rule, a.label) for a in r.raised] for r in reports] == EXPECTED
    raised = [a for r in reports for a in r.raised]
    # at the webhook: every alert, in the order raised, exactly once, keyed as stored
    assert [(key, body["event"], body["rule"], body["label"]) for key, body in received] == [
        (a.key, a.event, a.rule, a.label) for a in raised
    ]
    assert refused == 1 and len({key for key, _ in received}) == len(raised)
    with Store.open(store, read_only=True) as s:
        stored = alert_log(s.con)
        history = metric_history(s.con, ["xUSD"])
        last = load_snapshot(s.con, reports[2].tick_id)
    assert stored["delivered_at"].notna().all() and set(stored["sink"]) == {"stdout", "hook"}
    listed = CliRunner().invoke(main, ["history", "alerts", "--store", str(store)])
    assert listed.exit_code == 0, listed.output
    numbered = [line.split("│")[1].strip() for line in listed.output.splitlines() if re.match(r"│ *\d+ *│", line)]
    assert numbered == [str(i) for i in range(1, len(raised) + 1)]  # one row per alert (its sinks in one cell)
    assert listed.output.count("✓") == 2 * len(raised)  # both sinks delivered each

    first = history[history["metric"] == "depeg_first_liquidation_frac"]["value"].tolist()
    assert first[0] == pytest.approx(0.0902, abs=1e-4)
    assert first[1] == pytest.approx(1 - (1 - first[0]) / 0.95, abs=1e-4)  # bisection is to 1 bp
    assert all(math.isnan(x) for x in first[2:])  # after the write-down no further depeg opens another xUSD position
    now = history[history["metric"] == "bad_debt_now_usd"]["value"].tolist()
    # Morpho's loopers' $16.10M and Gearbox's two xUSD accounts' $1.38M (their feed keeps them open)
    assert now[:2] == [0.0, 0.0] and now[2] == pytest.approx(17.48e6, rel=1e-3) and now[3] == now[2]
    opaque = history[history["metric"] == "opaque_frac"]["value"].tolist()
    vault = last.vaults[last.vaults["vault"] == raised[0].subject].iloc[0]
    assert opaque[2] == pytest.approx(vault.opaque_assets / vault.total_assets, rel=1e-12)
    # before the write-down the same vault held $93M more of opaque backing (6 decimals)
    assert opaque[0] == pytest.approx((vault.opaque_assets + 93_000_000 * 10**6) / (vault.total_assets + 93_000_000 * 10**6), rel=1e-9)

    # the stored snapshot is the chain at that block, as a fresh scan reads it
    fresh = await index_async(stream.url, deployments=from_devnet_manifest(stream.manifest), block=reports[2].block)
    for name in SCHEMA:
        pd.testing.assert_frame_equal(getattr(last, name), getattr(fresh, name), check_exact=True)

    samples = {(s.name, s.labels.get("label"), s.labels.get("severity")): s.value
               for family in text_string_to_metric_families(page) for s in family.samples}  # fmt: skip
    assert ("loopscan_depeg_first_liquidation_ratio", "xUSD", None) not in samples  # none: no further position to open
    assert samples[("loopscan_liquidatable_now", "xUSD", None)] == 1.0
    assert samples[("loopscan_opaque_ratio", "xUSD", None)] == pytest.approx(opaque[2])
    assert samples[("loopscan_node_up", None, None)] == 1.0
    assert samples[("loopscan_scan_missing_reads", None, None)] == 0.0 and all(r.missing == 0 for r in reports)
    assert samples[("loopscan_last_success_block", None, None)] == reports[2].block
    assert samples[("loopscan_alerts_firing", None, "critical")] == 2.0  # liquidatable-now, bad-debt-now: xUSD
    assert samples[("loopscan_alerts_firing", None, "warning")] == 1.0  # lenders-stuck
    delivered = {(s.labels["sink"], s.labels["outcome"]): s.value for family in text_string_to_metric_families(page)
                 for s in family.samples if s.name == "loopscan_alert_deliveries_total"}  # fmt: skip
    assert delivered == {("stdout", "ok"): 11.0, ("hook", "ok"): 11.0}  # the refused attempt was retried inside its send
    summaries = [line.split(", ", 2)[2] for line in log if line.startswith("tick ")]
    assert summaries == ["2 firing; ok", "3 firing; ok", "3 firing, 3 resolved; ok", "no alerts; ok"]
    assert received[0][1]["block"] == reports[0].block


async def test_a_node_answering_garbage_raises_one_outage_alert_and_recovers(stream, tmp_path: Path) -> None:
    """Behind a proxy that answers HTML instead of JSON for three ticks: one outage alert,
    the failures counted by kind, the key never shown, then one resolution."""
    metrics = MonitorMetrics()
    log: list[str] = []
    async with fp.FaultProxy(stream.url) as proxy:
        async with Monitor(proxy.url, from_devnet_manifest(stream.manifest), load_config(rules_file(tmp_path, "http://127.0.0.1:9/x")),
                           tmp_path / "h.duckdb", emit=log.append, metrics=metrics, retry=RetryPolicy(max_retries=0),
                           webhook_backoff=0.01) as monitor:  # fmt: skip
            monitor.sinks = monitor.sinks[:1]  # stdout only: this test is about the node
            ok = await monitor.tick()
            proxy.add(fp.garbage(times=3))
            bad = [await monitor.tick() for _ in range(3)]
            page = generate_latest(metrics.registry).decode()
            back = await monitor.tick()
    assert ok.ok and back.ok and not any(r.ok for r in bad)
    assert [[(a.event, a.rule) for a in r.raised] for r in bad] == [[("firing", "scan_failing")], [], []]
    assert [(a.event, a.rule) for a in back.raised] == [("resolved", "scan_failing")]
    assert "BadResponse" not in bad[0].error and "not JSON" in bad[0].error  # the RPC layer's own words
    assert fp.FAKE_KEY not in "\n".join(log) and fp.FAKE_QUERY_KEY not in "\n".join(log)
    assert 'loopscan_rpc_errors_total{kind="BadResponse"} 3.0' in page and "loopscan_node_up 0.0" in page


async def test_every_blocks_waits_for_the_head_to_move(stream, tmp_path: Path) -> None:
    """With --every-blocks 1 the second tick comes only once a block is mined (the devnet
    mines one per transaction): the event below, applied after 1 s of silence."""
    log: list[str] = []
    async with Monitor(stream.url, from_devnet_manifest(stream.manifest), load_config(rules_file(tmp_path, "http://127.0.0.1:9/x")),
                       tmp_path / "h.duckdb", emit=log.append) as monitor:  # fmt: skip
        monitor.sinks = monitor.sinks[:1]
        stop = asyncio.Event()
        run = asyncio.create_task(monitor.run(stop, Schedule(every_blocks=1, poll_seconds=0.05), max_ticks=2))
        for _ in range(600):  # the first tick, however long a loaded machine takes over it
            if any(line.startswith("tick ") for line in log):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # then a second of silence: no block, so no second tick
        ticks_before = sum(line.startswith("tick ") for line in log)
        block = monitor.last_block
        await asyncio.to_thread(stream.apply, "xusd-market-down-5")
        assert await asyncio.wait_for(run, 30) == 2
    assert ticks_before == 1 and monitor.last_block == block + 1


async def test_an_unreachable_webhook_keeps_its_alerts_until_it_is_back(stream, tmp_path: Path) -> None:
    """Nothing listens at the hook for two ticks: the alerts stay pending, in order, and each
    tick says so; once the hook listens, they arrive once each, oldest first."""
    port = free_port()
    log: list[str] = []
    metrics = MonitorMetrics()
    config = load_config(rules_file(tmp_path, f"http://127.0.0.1:{port}/hook/SECRET-TOKEN"))
    async with Monitor(stream.url, from_devnet_manifest(stream.manifest), config, tmp_path / "h.duckdb", emit=log.append,
                       metrics=metrics, webhook_backoff=0.01) as monitor:  # fmt: skip
        first = await monitor.tick()
        stream.apply("xusd-market-down-5")
        second = await monitor.tick()
        pending_while_down = generate_latest(metrics.registry).decode()
        with WebhookServer(port) as hook:
            await monitor.tick()
            received = list(hook.received)
    raised = first.raised + second.raised
    assert [len(first.raised), len(second.raised)] == [2, 3]
    assert [key for key, _ in received] == [a.key for a in raised]
    assert 'loopscan_alerts_pending{sink="hook"} 5.0' in pending_while_down
    refusals = [line for line in log if line.startswith("error: alert")]
    assert len(refusals) == 2 and "retried next tick" in refusals[1] and "SECRET" not in "\n".join(log)


async def test_a_full_disk_under_the_history_is_an_error_then_a_retry(stream, tmp_path: Path) -> None:
    """The history on a full 16 MiB tmpfs: the tick reports the store error with the file and
    ENOSPC, keeps nothing and sends nothing; with space again, the next tick raises and
    delivers the same alerts."""
    with tmpfs(tmp_path / "disk", "16m") as mounted, WebhookServer() as hook:
        store = tmp_path / "disk" / "h.duckdb" if mounted else Path("/dev/full")
        config = load_config(rules_file(tmp_path, hook.url))
        deployments = from_devnet_manifest(stream.manifest)
        if not mounted:  # no tmpfs allowed here: the kernel's ENOSPC at the first write instead
            with pytest.raises(StoreError, match=r"/dev/full: cannot open: .*No space left on device"):
                async with Monitor(stream.url, deployments, config, store):
                    pass
            return
        async with Monitor(stream.url, deployments, config, store, emit=lambda line: None) as monitor:
            fill(tmp_path / "disk" / "filler")
            full = await monitor.tick()
            (tmp_path / "disk" / "filler").unlink()
            freed = await monitor.tick()
        received = list(hook.received)
    assert not full.ok and full.raised == [] and f"store: {store}:" in full.error and "No space left on device" in full.error
    assert freed.ok and [a.rule for a in freed.raised] == ["opaque-backing", "lenders-stuck"]
    assert [key for key, _ in received] == [a.key for a in freed.raised]


async def test_an_alert_the_receiver_refuses_is_set_aside_after_three_ticks(stream, tmp_path: Path) -> None:
    """The hook answers HTTP 400 to `lenders-stuck` (tick 1's second alert): it holds back the
    alerts behind it for three ticks, is then set aside, and the rest go out in order."""
    log: list[str] = []
    with WebhookServer() as hook:
        hook.refuse("lenders-stuck")
        config = load_config(rules_file(tmp_path, hook.url))
        async with Monitor(stream.url, from_devnet_manifest(stream.manifest), config, tmp_path / "h.duckdb", emit=log.append,
                           webhook_backoff=0.01) as monitor:  # fmt: skip
            first = await monitor.tick()
            stream.apply("xusd-market-down-5")
            second = await monitor.tick()
            after_two = [body["rule"] for _, body in hook.received]
            third = await monitor.tick()
        received = [(key, body["rule"]) for key, body in hook.received]
        refused = hook.refused
    opaque, stuck = first.raised
    assert after_two == ["opaque-backing"] and refused == 3  # one refusal per tick: a 400 is not retried within one
    assert received == [(opaque.key, "opaque-backing")] + [(a.key, a.rule) for a in second.raised + third.raised]
    assert [line for line in log if "set aside" in line] == [
        f"error: alert {stuck.key} set aside for hook after 3 refusals: webhook hook (http://127.0.0.1:{hook.port}/***/***): "
        "HTTP 400 (`loopscan history alerts` lists it)"
    ]
    with Store.open(tmp_path / "h.duckdb", read_only=True) as s:
        rows = alert_log(s.con)
    row = rows[(rows["key"] == stuck.key) & (rows["sink"] == "hook")].iloc[0]
    assert pd.isna(row["delivered_at"]) and pd.notna(row["abandoned_at"]) and row["attempts"] == 3 and row["last_error"].endswith("HTTP 400")
