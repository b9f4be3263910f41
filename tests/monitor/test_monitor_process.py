"""`loopscan monitor` as users run it, a process: through a node outage, SIGTERM, and kill -9.

The guarantee checked: every alert the store holds reaches the webhook once, under its key,
and no alert is raised twice for one episode, whatever happens to the node or the monitor.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from test_monitor_devnet import ARTIFACTS, EXPECTED, RULES
from webhook_server import WebhookServer

from loopscan import devnet
from loopscan.devnet.node import free_port
from loopscan.store import Store, alert_log

pytestmark = pytest.mark.devnet


class MonitorProcess:
    """`loopscan monitor` in a subprocess, its stdout in a file the test polls."""

    def __init__(self, tmp_path: Path, url: str, manifest: Path, rules: Path, *extra: str) -> None:
        self.log = tmp_path / f"monitor-{time.monotonic_ns()}.log"
        self.metrics_port = free_port()
        args = [sys.executable, "-m", "loopscan.cli", "monitor", "--rpc", url, "--deployments", str(manifest),
                "--rules", str(rules), "--store", str(tmp_path / "history.duckdb"), "--metrics-port", str(self.metrics_port),
                "--retries", "0", "--timeout", "3", *extra]  # fmt: skip
        self._out = open(self.log, "w")  # noqa: SIM115 — closed in stop()
        self.proc = subprocess.Popen(args, stdout=self._out, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "400"})

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def ticks(self, status: str = "") -> int:
        return sum(1 for line in self.lines() if " tick " in line and status in line)

    def wait(self, predicate, timeout: float = 60.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"monitor exited ({self.proc.returncode}) waiting for {what}:\n" + "\n".join(self.lines()))
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n" + "\n".join(self.lines()))

    def metrics(self) -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(30)
        self._out.close()
        return code


def setup_files(tmp_path: Path, net, hook_url: str) -> tuple[Path, Path]:
    manifest = tmp_path / "devnet.json"
    manifest.write_text(json.dumps(net.manifest))
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.format(url=hook_url))
    return manifest, rules


def assert_each_alert_delivered_once(store: Path, received: list[tuple[str, dict]]) -> list[tuple[str, str, str]]:
    """Every stored alert reached the hook exactly once, and none was raised twice: a
    condition alternates firing/resolved, an event fires once per block. Returns
    (event, rule, label) of each alert, in the order raised."""
    with Store.open(store, read_only=True) as s:
        log = alert_log(s.con)
    stored = log.drop_duplicates("key")
    assert log["delivered_at"].notna().all(), "an alert is still pending"
    assert Counter(key for key, _ in received) == Counter(stored["key"]), "lost, extra or repeated deliveries"
    events = {"threshold-moved", "new-loop"}
    for (rule, _), group in stored.groupby(["rule", "subject"]):
        if rule in events:
            assert group["block_number"].is_unique, f"{rule} raised twice in one block"
        else:
            assert group["event"].tolist() == ["firing", "resolved"] * (len(group) // 2) + ["firing"] * (len(group) % 2), group
    return list(zip(stored["event"], stored["rule"], stored["label"], strict=True))


def test_a_node_outage_is_one_alert_and_the_monitor_recovers(tmp_path: Path) -> None:
    net = devnet.start("stream-2025")
    with net, WebhookServer() as hook:
        manifest, rules = setup_files(tmp_path, net, hook.url)
        mon = MonitorProcess(tmp_path, net.url, manifest, rules, "--every", "1s")
        try:
            mon.wait(lambda: mon.ticks("; ok") >= 2, what="two good ticks")
            state = net.node.dump_state()
            net.node.stop()
            failed_before = mon.ticks("FAILED")
            mon.wait(lambda: mon.ticks("FAILED") >= failed_before + 3, what="three failed ticks")
            during = mon.metrics()
            net.node.start()
            net.node.load_state(state)
            good = mon.ticks("; ok")
            mon.wait(lambda: mon.ticks("; ok") >= good + 2, what="two good ticks after the restart")
        finally:
            code = mon.stop()
        received = list(hook.received)
    log = mon.lines()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "monitor-outage.log").write_text("\n".join(log) + "\n")
    # The first SIGTERM lets the tick under way finish (its line may follow), then the monitor stops.
    signalled = max(i for i, line in enumerate(log) if line.endswith("SIGTERM: stopping after this tick"))
    after = log[signalled + 1 : -1]
    assert code == 0 and log[-1].endswith("stopped") and len(after) <= 1 and all(" tick " in line for line in after)
    assert not any("Traceback" in line for line in log)
    assert "loopscan_node_up 0.0" in during and 'loopscan_rpc_errors_total{kind="NodeUnreachable"}' in during  # refused: not retried
    episodes = assert_each_alert_delivered_once(tmp_path / "history.duckdb", received)
    assert [e for e in episodes if e[1] == "scan_failing"] == [("firing", "scan_failing", "node"), ("resolved", "scan_failing", "node")]
    assert sorted(e for e in episodes if e[1] != "scan_failing") == [("firing", "lenders-stuck", "xUSD/USDC (morpho_blue)"),
                                                                      ("firing", "opaque-backing", "xUSD")]  # fmt: skip
    failing = [line for line in log if "scan_failing" in line]
    # The first failure names the call under way when the node went: eth_chainId at a tick's start, or a read mid-tick.
    assert len(failing) == 2 and re.search(rf"scans are failing: eth_\w+ at {re.escape(net.url)}: connection failed", failing[0]), failing


def test_kill_9_mid_tick_neither_loses_nor_repeats_an_alert(stream, tmp_path: Path) -> None:
    """Three times: move the chain, let the monitor tick, kill it with SIGKILL at a random
    moment of its next ticks, start it again. Then one clean run to the end."""
    rng = random.Random(7)
    with WebhookServer() as hook:
        manifest, rules = setup_files(tmp_path, stream, hook.url)
        for event in (None, "xusd-market-down-5", "writedown"):
            if event:
                stream.apply(event)
            mon = MonitorProcess(tmp_path, stream.url, manifest, rules, "--every", "0.3s")
            mon.wait(lambda m=mon: m.ticks("; ok") >= 2, what="two ticks after the event")
            time.sleep(rng.uniform(0.0, 0.6))
            assert mon.stop(signal.SIGKILL) == -signal.SIGKILL
        final = MonitorProcess(tmp_path, stream.url, manifest, rules, "--every", "0.3s", "--ticks", "2")
        assert final.proc.wait(60) == 0, "\n".join(final.lines())
        final.stop()
        received = list(hook.received)
    episodes = assert_each_alert_delivered_once(tmp_path / "history.duckdb", received)
    # the same alerts as the uninterrupted run (test_monitor_devnet.EXPECTED), each once
    assert sorted(episodes) == sorted(alert for tick in EXPECTED for alert in tick)
