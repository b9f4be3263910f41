"""`loopscan.protocols.pendle.maths` and `logexp` against Pendle's own `@pendle/core-v2-offchain-math`
(node): LogExpMath's ln and exp over their whole domain, and swaps on random markets and sales: the same SY out, fee, reserve part and new state, or the same refusal
(the library names its errors as the contract does)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopscan.protocols.pendle import logexp
from loopscan.protocols.pendle.logexp import PendleMathError, ln
from loopscan.protocols.pendle.maths import MarketState, swap_exact_pt_for_sy

PEER = Path(__file__).with_name("offchain_math_check.mjs")
INSTALL = (
    "the peer check needs Node.js and @pendle/core-v2-offchain-math@1.0.18 (in package.json): `npm ci` "
    "in the repository, or install it elsewhere and point LOOPSCAN_PEERS_DIR at that node_modules"
)
E = 10**18
NOW = 1_760_000_000
MAX_LN_FEE = ln(105 * 10**16)  # the market factory's cap, ln(1.05)


@st.composite
def cases(draw) -> dict[str, int]:
    total_pt = draw(st.integers(10**6, 10**30))
    py_index = draw(st.integers(E, 3 * E))
    # The pool's asset side as a fraction of its PT (0.05 … 20×), as SY at the index.
    total_asset = total_pt * draw(st.integers(5, 2_000)) // 100
    return {
        "totalPt": total_pt,
        "totalSy": max(total_asset * E // py_index, 1),
        "scalarRoot": draw(st.integers(E // 100, 100 * E)),
        "expiry": NOW + draw(st.integers(1, 3 * 365 * 86_400)),
        "lnFeeRateRoot": draw(st.integers(0, MAX_LN_FEE)),
        "reserveFeePercent": draw(st.integers(0, 100)),
        "lastLnImpliedRate": draw(st.integers(0, 2 * E)),
        "pyIndex": py_index,
        "ptIn": draw(st.integers(1, 2 * total_pt)),
        "blockTime": NOW,
    }


def _ours(c: dict[str, int]) -> dict[str, str]:
    state = MarketState(
        c["totalPt"], c["totalSy"], c["scalarRoot"], c["expiry"], c["lnFeeRateRoot"], c["reserveFeePercent"],
        c["lastLnImpliedRate"],
    )  # fmt: skip
    try:
        r = swap_exact_pt_for_sy(state, c["pyIndex"], c["ptIn"], c["blockTime"])
    except PendleMathError as exc:
        return {"error": str(exc).split("(")[0]}
    values = {
        "netSyOut": r.net_sy_out, "netSyFee": r.net_sy_fee, "netSyToReserve": r.net_sy_to_reserve,
        "totalPt": r.state.total_pt, "totalSy": r.state.total_sy, "lastLnImpliedRate": r.state.last_ln_implied_rate,
    }  # fmt: skip
    return {k: str(v) for k, v in values.items()}


def _peer(batch: list[dict[str, int]]) -> list[dict[str, str]]:
    node = shutil.which("node")
    assert node, INSTALL
    payload = json.dumps([{k: str(v) for k, v in c.items()} for c in batch])
    proc = subprocess.run(
        [node, str(PEER)],
        input=payload,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
        check=False,
    )
    if proc.returncode == 3:
        pytest.fail(f"{proc.stderr.strip()}: {INSTALL}")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["version"] == "1.0.18" and len(answer["results"]) == len(batch)
    return answer["results"]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(st.lists(cases(), min_size=150, max_size=150))
def test_swaps_equal_pendles_offchain_maths(batch):
    theirs = _peer(batch)
    mismatches = [(c, _ours(c), t) for c, t in zip(batch, theirs, strict=True) if _ours(c) != t]
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:2]}"
    # The batch must exercise real trades, not only refusals.
    assert any("error" not in t for t in theirs)


def _ours_logexp(case: dict[str, int | str]) -> dict[str, str]:
    try:
        return {"value": str(getattr(logexp, case["fn"])(case["x"]))}
    except PendleMathError:
        return {"error": "FixedX18Error"}


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(
    st.lists(
        st.one_of(
            # exp: its domain is [-41, 130] (18 decimals); a little beyond it on each side.
            st.builds(lambda x: {"fn": "exp", "x": x}, st.integers(-42 * E, 131 * E)),
            st.builds(lambda x: {"fn": "exp", "x": x}, st.integers(-(10**18), 10**18)),
            # ln: 0.9–1.1 takes the 36-decimal series; any other positive int256 the other path.
            st.builds(lambda x: {"fn": "ln", "x": x}, st.integers(9 * 10**17, 11 * 10**17)),
            st.builds(lambda x: {"fn": "ln", "x": x}, st.integers(-1, 2**255 - 1)),
        ),
        min_size=300,
        max_size=300,
    )
)
def test_ln_and_exp_equal_pendles_offchain_maths(batch):
    theirs = _peer(batch)
    mismatches = [(c, _ours_logexp(c), t) for c, t in zip(batch, theirs, strict=True) if _ours_logexp(c) != t]
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:2]}"
