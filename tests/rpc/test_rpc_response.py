"""Reading one HTTP answer into results and typed errors, on recorded and literal answers."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from loopscan.rpc import errors
from loopscan.rpc.response import Sent, Settled, read_response

ANSWERS = json.loads((Path(__file__).parent / "data/anvil_answers.json").read_text())
ENDPOINT = "https://eth.example/***/***"


def read(sent: list[Sent], body: Any, status: int = 200, retry_after: float | None = None) -> Settled:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return read_response(sent, status, retry_after, raw, endpoint=ENDPOINT, excerpt=lambda b: b[:60].decode())


def recorded_batch() -> tuple[list[Sent], list[dict[str, Any]]]:
    batch = ANSWERS["batch"]
    sent = [Sent(index, call["id"], call["method"]) for index, call in enumerate(batch["request"])]
    return sent, batch["answer"]


def test_recorded_batch_in_any_order() -> None:
    sent, answer = recorded_batch()
    shuffled = answer[:]
    random.Random(7).shuffle(shuffled)
    for body in (answer, shuffled):
        out = read(sent, body)
        assert out.results == {0: "0x7a69", 1: answer[1]["result"], 3: "0x365f5f37365ffd"}
        assert set(out.failures) == {2}
        assert isinstance(out.failures[2], errors.NodeError) and out.failures[2].code == -32601
        assert out.failures[2].method == "eth_nonexistent"


def test_missing_id_fails_that_call_only() -> None:
    sent, answer = recorded_batch()
    out = read(sent, [a for a in answer if a["id"] != sent[1].id])
    assert set(out.results) == {0, 3}
    assert isinstance(out.failures[1], errors.BadResponse) and "no answer for id" in str(out.failures[1])


def test_duplicate_or_unknown_id_fails_the_whole_batch() -> None:
    sent, answer = recorded_batch()
    for body in (answer + [answer[0]], answer + [{"jsonrpc": "2.0", "id": 999, "result": "0x"}]):
        out = read(sent, body)
        assert not out.results
        assert all(isinstance(e, errors.BadResponse) for e in out.failures.values()) and len(out.failures) == 4


def test_single_call_shapes() -> None:
    one = [Sent(0, 5, "eth_chainId")]
    assert read(one, {"jsonrpc": "2.0", "id": 5, "result": "0x1"}).results == {0: "0x1"}
    assert read(one, [{"jsonrpc": "2.0", "id": 5, "result": "0x1"}]).results == {0: "0x1"}  # ids still checked
    assert isinstance(read(one, {"jsonrpc": "2.0", "id": 5}).failures[0], errors.BadResponse)
    assert isinstance(read(one, {"jsonrpc": "2.0", "id": 6, "result": "0x1"}).failures[0], errors.BadResponse)
    assert read(one, {"jsonrpc": "2.0", "id": 5, "result": None}).results == {0: None}


def test_not_json_and_truncated() -> None:
    one = [Sent(0, 5, "eth_chainId")]
    for body in (b"<html>502 Bad Gateway</html>", b'{"jsonrpc":"2.0","id":5,"res', b""):
        failure = read(one, body).failures[0]
        assert isinstance(failure, errors.BadResponse) and "not JSON" in str(failure)


def test_http_statuses() -> None:
    one = [Sent(0, 5, "eth_call")]
    limited = read(one, b"slow down", status=429, retry_after=3.0).failures[0]
    assert isinstance(limited, errors.RateLimited) and limited.retry_after == 3.0
    for code in (500, 502, 503):
        failure = read(one, b"<html>oops</html>", status=code).failures[0]
        assert type(failure) is errors.TransportError and failure.status == code
    assert isinstance(read(one, b"too big", status=413).failures[0], errors.BatchTooLarge)
    unauthorized = read(one, {"error": "invalid api key"}, status=401).failures[0]
    assert type(unauthorized) is errors.TransportError and unauthorized.status == 401


def test_a_json_rpc_error_under_a_non_200_status_is_read() -> None:
    # QuickNode answers its getLogs range error with HTTP 413 (arbitrum-sdk issue #609).
    one = [Sent(0, 56, "eth_getLogs")]
    body = {"jsonrpc": "2.0", "id": 56, "error": {"code": -32614, "message": "eth_getLogs is limited to a 10,000 range"}}
    assert isinstance(read(one, body, status=413).failures[0], errors.LogRangeTooLarge)


def test_a_batch_refused_as_a_whole() -> None:
    sent, _ = recorded_batch()
    out = read(sent, ANSWERS["over_2mb"]["answer"])  # anvil over its 2 MB cap: one error, id null
    assert len(out.failures) == 4 and all(type(e) is errors.NodeError for e in out.failures.values())
    assert [e.method for e in out.failures.values()] == [s.method for s in sent]
    geth = read(sent, {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch too large"}})
    assert all(isinstance(e, errors.BatchTooLarge) for e in geth.failures.values())
    assert all(isinstance(e, errors.BadResponse) for e in read(sent, {"result": 1}).failures.values())


def test_recorded_logs_answer() -> None:
    record = ANSWERS["logs"]
    out = read([Sent(0, 1, "eth_getLogs")], record["answer"])
    logs = out.results[0]
    assert len(logs) > 0 and all(log["address"] == record["request"]["params"][0]["address"] for log in logs)


def test_stdlib_json_fallback_writes_what_orjson_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import sys

    import loopscan.rpc.response as with_orjson

    monkeypatch.setitem(sys.modules, "orjson", None)  # `import orjson` now raises ImportError
    spec = importlib.util.spec_from_file_location("loopscan.rpc._response_without_orjson", with_orjson.__file__)
    assert spec is not None and spec.loader is not None
    without = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, without)
    spec.loader.exec_module(without)
    call = {"jsonrpc": "2.0", "id": 3, "method": "eth_call", "params": [{"to": "0x04", "data": "0x12"}, "0x10"]}
    assert without.dumps is not with_orjson.dumps
    assert without.dumps(call) == with_orjson.dumps(call)
    assert without.loads(b'{"id":1,"result":"0x1"}') == {"id": 1, "result": "0x1"}
