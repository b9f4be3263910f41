"""Record the anvil answers in ``anvil_answers.json``, for the tests that run without a node.

Run from the repository root: ``python tests/rpc/data/record_anvil_answers.py``. It starts an
anvil, builds the state ``tests/rpc/conftest.py`` builds, and stores each request beside the
answer anvil gave. Re-record when anvil's version or the conftest state changes.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import conftest as c  # noqa: E402  (the session state lives there)
from eth_abi import encode  # noqa: E402

from loopscan.rpc import encode_aggregate3  # noqa: E402


def post(url: str, doc: Any) -> Any:
    request = urllib.request.Request(url, data=json.dumps(doc).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def record(url: str, anvil: c.Anvil) -> dict[str, Any]:
    at = hex(anvil.log_to)
    calls = [
        (c.IDENTITY, b"loopscan"),
        (c.REVERTER, bytes.fromhex("08c379a0") + encode(["string"], ["insufficient collateral"])),
        (c.REVERTER, bytes.fromhex("4e487b71") + (0x12).to_bytes(32, "big")),
        (c.REVERTER, b""),
        (c.BURNER, (7).to_bytes(32, "big")),
    ]
    data = "0x" + encode_aggregate3([(bytes.fromhex(t[2:]), True, d) for t, d in calls]).hex()
    aggregate3 = {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"to": c.MULTICALL3, "data": data}, at]}
    out: dict[str, Any] = {
        "aggregate3": {
            "calls": [[t, "0x" + d.hex()] for t, d in calls],
            "request": aggregate3,
            "answer": post(url, aggregate3),
        }
    }
    reverts = {
        "error_string": calls[1][1],
        "panic": calls[2][1],
        "empty": b"",
        "custom": bytes.fromhex("deadbeef") + (5).to_bytes(32, "big"),
    }
    out["reverts"] = {
        name: post(url, {"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                         "params": [{"to": c.REVERTER, "data": "0x" + payload.hex()}, at]})
        for name, payload in reverts.items()
    }
    batch = [
        {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
        for i, (method, params) in enumerate(
            [("eth_chainId", []), ("eth_getBalance", [c.SENDER, at]), ("eth_nonexistent", []),
             ("eth_getCode", [c.REVERTER, at])],
            start=7,
        )
    ]
    out["batch"] = {"request": batch, "answer": post(url, batch)}
    logs = {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
            "params": [{"address": c.EMITTER, "fromBlock": hex(anvil.log_from), "toBlock": hex(anvil.log_from + 40)}]}
    out["logs"] = {"request": logs, "answer": post(url, logs)}
    oversize = {"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                "params": [{"to": c.IDENTITY, "data": "0x" + "00" * 1_100_000}, "0x1"]}
    out["over_2mb"] = {"request": "an eth_call with 1.1 MB of calldata (2.2 MB of JSON)", "answer": post(url, oversize)}
    return out


if __name__ == "__main__":
    process, url = c.start_anvil()
    try:
        answers = record(url, c.seed(url))
    finally:
        c.stop_anvil(process)
    (HERE / "anvil_answers.json").write_text(json.dumps(answers, indent=1) + "\n")
