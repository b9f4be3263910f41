"""`loopscan devnet up/down/apply` as a user runs them: real processes, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.devnet


def _answers(url: str) -> bool:
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}'
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=2):
            return True
    except OSError:
        return False


def _loopscan(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loopscan", *args], capture_output=True, text=True, timeout=300, **kw)


def test_detach_apply_and_down(tmp_path):
    state = str(tmp_path / "state")
    up = _loopscan("devnet", "up", "--scenario", "minimal", "--detach", "--state-dir", state)
    assert up.returncode == 0, up.stderr
    assert "\nready\n" in up.stdout and "morpho_blue" in up.stdout
    manifest = json.loads((tmp_path / "state" / "devnet.json").read_text())
    assert _answers(manifest["rpc_url"])
    applied = _loopscan("devnet", "apply", "eth-drop-10", "--state-dir", state)
    assert applied.returncode == 0, applied.stderr
    unknown = _loopscan("devnet", "apply", "nope", "--state-dir", state)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: scenario minimal has no event 'nope' (known: eth-drop-10)"
    down = _loopscan("devnet", "down", "--state-dir", state)
    assert down.returncode == 0, down.stderr
    assert not _answers(manifest["rpc_url"])


def test_foreground_prints_url_then_ready_and_stops_on_sigterm(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopscan", "devnet", "up", "--scenario", "minimal", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if line == "ready\n" or not line:
            break
    assert lines[0].startswith("RPC URL: http://127.0.0.1:") and lines[-1] == "ready\n", lines
    url = lines[0].split()[-1]
    assert _answers(url)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert not _answers(url)


def test_bad_scenario_is_one_line_and_exit_1(tmp_path):
    result = _loopscan("devnet", "up", "--scenario", "nope", "--state-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith("error: no scenario 'nope' (known: ") and result.stderr.count("\n") == 1
