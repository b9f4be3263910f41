"""JSON-RPC error objects, as providers word them, to the typed errors they stand for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loopscan.rpc import errors
from loopscan.rpc.classify import classify_error

DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "provider_errors.json").read_text())
ENDPOINT = "https://eth.example/***/***"


@pytest.mark.parametrize("case", CASES, ids=[f"{c['expect']}:{c['error']['message'][:40]}" for c in CASES])
def test_provider_wording(case: dict[str, Any]) -> None:
    error = classify_error(case["error"], method=case["method"], endpoint=ENDPOINT)
    assert type(error).__name__ == case["expect"]
    assert str(error).startswith(f"{case['method']} at {ENDPOINT}: ")
    if isinstance(error, errors.NodeError):
        assert error.raw is case["error"]
        assert error.code == case["error"]["code"]


def test_recorded_anvil_reverts_are_decoded() -> None:
    reverts = json.loads((DATA / "anvil_answers.json").read_text())["reverts"]
    reasons = {
        name: classify_error(answer["error"], method="eth_call", endpoint=ENDPOINT)
        for name, answer in reverts.items()
    }
    assert all(isinstance(e, errors.ExecutionReverted) for e in reasons.values())
    assert reasons["error_string"].reason == "insufficient collateral"  # type: ignore[attr-defined]
    assert reasons["panic"].reason == "Panic(0x12): division or modulo by zero"  # type: ignore[attr-defined]
    assert reasons["empty"].reason == "reverted without data"  # type: ignore[attr-defined]
    assert reasons["custom"].reason == "custom error 0xdeadbeef 0x" + "00" * 31 + "05"  # type: ignore[attr-defined]
    assert str(reasons["panic"]).endswith("execution reverted: Panic(0x12): division or modulo by zero")


def test_malformed_error_object_stays_a_node_error() -> None:
    error = classify_error("boom", method="eth_call", endpoint=ENDPOINT)
    assert type(error) is errors.NodeError and error.raw == "boom"


def test_error_tree() -> None:
    base = errors.RpcError
    for cls in (errors.TransportError, errors.RateLimited, errors.BadResponse, errors.NodeError, errors.ReorgDetected):
        assert cls.__bases__ == (base,)
    assert issubclass(errors.RpcTimeout, errors.TransportError)
    for cls in (errors.ExecutionReverted, errors.HistoricalStateUnavailable, errors.LogRangeTooLarge,
                errors.BatchTooLarge):
        assert cls.__bases__ == (errors.NodeError,)
