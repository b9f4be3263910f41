"""Curve stableswap-NG maths: answers worked by hand, then @paraswap/dex-lib@5.0.6's stable-NG
implementation (its own `PriceHandler`, run by tests/solver/peers/dexlib_stable_ng_check.mjs) on
thousands of seeded random pools, to the wei.

Where the contract reverts dex-lib does not always throw: a trade too small to pay anything
(`xp[j] - y - 1` < 0) makes dex-lib answer 0, and Newton's iterates that do not converge make it
throw; both are counted as reverts on each side, never as agreement on a number.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from loopscan.protocols.curve import maths as classic
from loopscan.protocols.curve import ng
from loopscan.protocols.curve.maths import CurveError, amp_at
from loopscan.protocols.curve.ng import NGPool

PEER = Path(__file__).parents[1] / "solver" / "peers" / "dexlib_stable_ng_check.mjs"
INSTALL = (
    "the peer check needs Node.js and @paraswap/dex-lib@5.0.6: `./run.sh test` installs it, or run "
    "tests/solver/peers/install_dexlib.sh ~/.cache/loopscan/peers (or any DIR, with LOOPSCAN_PEERS_DIR=DIR/node_modules)"
)


# -- by hand -----------------------------------------------------------------------------------
def test_dynamic_fee_by_hand():
    m, fee = 2 * 10**10, 10**6
    assert ng.dynamic_fee(10**24, 10**24, fee, m) == fee  # on peg: 4·x·x/(2x)² = 1, the base fee
    # 1 : 2 -> 4·2/9 = 8/9 of the way: 2e10·1e6 // (1e10·8/9 + 1e10) = 2e16 // 18888888888
    assert ng.dynamic_fee(10**24, 2 * 10**24, fee, m) == 2 * 10**16 // 18_888_888_888 == 1_058_823
    assert ng.dynamic_fee(1, 10**30, fee, m) == 2 * fee  # all on one side: fee · m / 1e10
    assert ng.dynamic_fee(10**24, 2 * 10**24, fee, 10**10) == fee  # a multiplier of 1× or less: flat fee
    assert ng.dynamic_fee(10**24, 2 * 10**24, fee, 0) == fee


def test_get_D_by_hand_and_where_it_rounds_apart_from_the_classic_pool():
    assert ng.get_D([10**24] * 3, 100 * 100) == 3 * 10**24  # equal balances: D = Σx at once
    assert ng.get_D([0, 0], 100) == 0
    # NG divides D_P by N**N once, the classic pool by x·N per coin: the floors differ.
    xp = [203209835621268717817663, 7568246223008223067848455, 1217916736023645089066744]
    assert (ng.get_D(xp, 100), classic.get_D(xp, 100)) == (5354877513534613714622650, 5354877513534613714622651)
    with pytest.raises(CurveError, match="zero balance"):
        ng.get_D([10**18, 0], 100)


def test_ramp_of_A_by_hand():
    # ramp_A from 100 (stored as 10 000) to 200 over a day, read a quarter of the way in
    assert amp_at(10_000, 1_000, 20_000, 1_000 + 86_400, 1_000 + 21_600) == 12_500
    assert amp_at(20_000, 0, 10_000, 3, 1) == 20_000 - 10_000 * 1 // 3 == 16_667  # down: rounded toward the start
    assert amp_at(20_000, 0, 10_000, 3, 3) == 10_000
    assert amp_at(5, 0, 7, 0, 0) == 7  # never ramped: future_A_time = 0
    with pytest.raises(CurveError, match="before the ramp"):
        amp_at(10_000, 100, 20_000, 200, 50)


def test_get_dy_uses_the_integer_A_and_exchange_the_precise_one():
    pool = NGPool(12_345, (10**24, 3 * 10**24), (10**18, 10**18), 4 * 10**6, 2 * 10**10)
    rounded = NGPool(12_300, pool.balances, pool.rates, pool.fee, pool.offpeg_fee_multiplier)
    dx = 10**23
    assert ng.get_dy(pool, 1, 0, dx) == ng.get_dy(rounded, 1, 0, dx) == ng.exchange(rounded, 1, 0, dx).dy
    assert ng.exchange(pool, 1, 0, dx).dy > ng.get_dy(pool, 1, 0, dx)  # more A, flatter curve, more out


def test_exchange_moves_balances_as_the_pool_does():
    pool = NGPool(20_000, (10**12, 2 * 10**12), (10**30, 10**30), 10**6, 2 * 10**10)  # two 6-decimal coins
    ex = ng.exchange(pool, 0, 1, 10**9)
    xp = pool.xp()
    x = xp[0] + 10**9 * 10**30 // 10**18
    y = classic.get_y_for_D(0, 1, x, xp, 20_000, ng.get_D(xp, 20_000))
    dy = xp[1] - y - 1
    fee = dy * ng.dynamic_fee((xp[0] + x) // 2, (xp[1] + y) // 2, 10**6, 2 * 10**10) // 10**10
    assert ex.dy == (dy - fee) * 10**18 // 10**30
    assert ex.admin_fee == fee * ng.ADMIN_FEE // 10**10 * 10**18 // 10**30
    assert ex.pool.balances == (10**12 + 10**9, 2 * 10**12 - ex.dy - ex.admin_fee)
    with pytest.raises(CurveError, match="0 coins"):
        ng.exchange(pool, 0, 1, 0)
    with pytest.raises(CurveError, match="underflows"):
        ng.get_dy(NGPool(20_000, (10**24, 10**24), (10**18, 10**18), 0, 0), 0, 1, 0)


def test_pools_the_contract_would_refuse():
    with pytest.raises(CurveError):
        NGPool(100, (1, 2, 3), (10**18, 10**18), 0, 0)
    with pytest.raises(CurveError):
        NGPool(100, (1, 2), (10**18, 10**18), ng.MAX_FEE + 1, 0)
    with pytest.raises(CurveError):
        NGPool(100, (1, 2), (10**18, 0), 0, 0)
    with pytest.raises(CurveError, match="multiplier"):  # CurveStableSwapFactoryNG.vy: fee · m <= MAX_FEE · 1e10
        NGPool(100, (1, 2), (10**18, 10**18), 10**8, 50 * 10**10 + 1)


# -- dex-lib, exactly --------------------------------------------------------------------------
def _random_pool(rng: random.Random) -> tuple[NGPool, int, int, int]:
    n = rng.choice([2, 2, 2, 3, 4, 5, 8])
    decimals = [rng.choice([6, 8, 18]) for _ in range(n)]
    # rate_multipliers 10**(36 - decimals), times an oracle or ERC-4626 rate around 1 for some coins
    rates = [
        10 ** (36 - d) * rng.choice([10**18, 10**18, rng.randint(9 * 10**17, 13 * 10**17)]) // 10**18 for d in decimals
    ]
    skew = rng.choice([0, 1, 2, 4])
    balances = [rng.randint(1, 10**9) * 10**d // 10 ** rng.randint(0, skew) + rng.randint(0, 10**d) for d in decimals]
    A = rng.choice([1, 5, 10, 100, 200, 1000, 5000, rng.randint(1, 10**6)])
    fee = rng.choice([0, 10**6, 4 * 10**6, rng.randint(0, ng.MAX_FEE)])
    # set_new_fee and the factory's deploy_plain_pool keep fee · multiplier <= MAX_FEE · 1e10
    highest = ng.MAX_FEE * 10**10 // max(fee, 1)
    offpeg = min(highest, rng.choice([0, 10**10, 2 * 10**10, 5 * 10**10, rng.randint(0, highest)]))
    i, j = rng.sample(range(n), 2)
    dx = rng.randint(0, balances[i] * rng.choice([1, 2, 10])) // 10 ** rng.randint(0, 12)
    return NGPool(A * 100, tuple(balances), tuple(rates), fee, offpeg), i, j, dx


def _ours(pool: NGPool, i: int, j: int, dx: int) -> tuple[int | None, int]:
    xp = pool.xp()
    fee = ng.dynamic_fee(xp[i], xp[j], pool.fee, pool.offpeg_fee_multiplier)
    try:
        return ng.get_dy(pool, i, j, dx), fee
    except CurveError:
        return None, fee


def test_thousands_of_random_pools_match_dex_lib_to_the_wei():
    node = shutil.which("node")
    assert node, INSTALL
    rng = random.Random(20251202)
    cases = [_random_pool(rng) for _ in range(4000)]
    payload = json.dumps([
        {"balances": [str(b) for b in p.balances], "rates": [str(r) for r in p.rates], "A": str(p.amp),
         "fee": str(p.fee), "offpeg": str(p.offpeg_fee_multiplier), "i": i, "j": j, "dx": str(dx)}
        for p, i, j, dx in cases
    ])  # fmt: skip
    proc = subprocess.run([node, str(PEER)], input=payload, capture_output=True, text=True, env=os.environ.copy(),
                          timeout=600, check=False)  # fmt: skip
    if proc.returncode == 3:
        pytest.fail(f"{proc.stderr.strip()}: {INSTALL}")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["lib"] == "5.0.6" and len(answer["results"]) == len(cases)
    outcomes: Counter[str] = Counter()
    mismatches = []
    for (pool, i, j, dx), theirs in zip(cases, answer["results"], strict=True):
        dy, fee = _ours(pool, i, j, dx)
        if int(theirs["fee"]) != fee:
            mismatches.append(("fee", pool, i, j, dx, fee, theirs["fee"]))
        if dy is None:  # the contract reverts: dex-lib answers 0 (dust) or throws (no convergence)
            if not (theirs["dy"] == "0" or theirs["dy"].startswith("error")):
                mismatches.append(("dy", pool, i, j, dx, dy, theirs["dy"]))
            outcomes["revert"] += 1
        elif theirs["dy"] != str(dy):
            mismatches.append(("dy", pool, i, j, dx, dy, theirs["dy"]))
        else:
            outcomes["exact"] += 1
    print(
        f"dex-lib {answer['lib']} stable-NG: {dict(outcomes)} of {len(cases)}, fee agreement {len(cases) - sum(m[0] == 'fee' for m in mismatches)}"
    )
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:3]}"
    assert outcomes["exact"] > 3600
