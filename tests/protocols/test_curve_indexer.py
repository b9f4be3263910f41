"""Curve indexer on answers encoded from the pools' published ABIs (no package ships Curve's pools,
so no devnet): discovery through a factory, NG and classic decoding, the ramp of A at the pin, and
every failed read a `missing` row with the pool left out, never a zero."""

from __future__ import annotations

import asyncio

import pytest
from encoded_chain import EncodedChain

from loopscan.model import to_frame
from loopscan.protocols.curve import ng
from loopscan.protocols.curve.indexer import CurveIndexer
from loopscan.protocols.curve.ng import NGPool

FACTORY, NG_POOL, OLD_POOL, LENDING_POOL = ("0x" + c * 40 for c in "fade")
USDC, SUSDE, DAI, USDT, LUSD = ("0x" + c * 40 for c in "12345")
T0, DAY = 1_700_000_000, 86_400
NOW = T0 + DAY // 4  # a quarter of the way through the NG pool's ramp


def _ng_pool(chain: EncodedChain, pool: str, *, ramp_end: int = T0 + DAY) -> None:
    """A 2-coin NG pool (USDC, an ERC-4626 coin) ramping A from 100 to 200 over a day."""
    u = ["uint256"]
    chain.answer(pool, "N_COINS()", [], u, [2])
    chain.answer(pool, "coins(uint256)", [0], ["address"], [USDC])
    chain.answer(pool, "coins(uint256)", [1], ["address"], [SUSDE])
    for sig, value in [("initial_A()", 10_000), ("initial_A_time()", T0), ("future_A()", 20_000),
                       ("future_A_time()", ramp_end), ("A()", 125), ("A_precise()", 12_500), ("fee()", 10**6),
                       ("offpeg_fee_multiplier()", 5 * 10**10), ("admin_fee()", 5 * 10**9)]:  # fmt: skip
        chain.answer(pool, sig, [], u, [value])
    chain.answer(pool, "stored_rates()", [], ["uint256[]"], [[10**30, 1_150_000_000_000_000_000]])
    chain.answer(pool, "get_balances()", [], ["uint256[]"], [[4_000_000 * 10**6, 3_000_000 * 10**18]])


def _old_pool(chain: EncodedChain, pool: str) -> None:
    """A 3pool-era plain pool: no A_precise (A stored plain), no N_COINS, a fixed A of 2000."""
    u = ["uint256"]
    for k, (coin, balance) in enumerate([(DAI, 10**26), (USDC, 9 * 10**13), (USDT, 8 * 10**13)]):
        chain.answer(pool, "coins(uint256)", [k], ["address"], [coin])
        chain.answer(pool, "balances(uint256)", [k], u, [balance])
    for sig, value in [("initial_A()", 2000), ("initial_A_time()", 0), ("future_A()", 2000), ("future_A_time()", 0),
                       ("A()", 2000), ("fee()", 4 * 10**6), ("admin_fee()", 5 * 10**9)]:  # fmt: skip
        chain.answer(pool, sig, [], u, [value])


def _factory(chain: EncodedChain, pools: list[str]) -> None:
    chain.answer(FACTORY, "pool_count()", [], ["uint256"], [len(pools)])
    for k, pool in enumerate(pools):
        chain.answer(FACTORY, "pool_list(uint256)", [k], ["address"], [pool])


def _index(chain: EncodedChain, indexer: CurveIndexer):
    raw = asyncio.run(indexer.fetch(chain))
    return raw, indexer.transform(raw, chain.block)


def test_ng_and_classic_pools_found_through_a_factory_and_by_address():
    chain = EncodedChain(NOW)
    _factory(chain, [NG_POOL, OLD_POOL])
    _ng_pool(chain, NG_POOL)
    _old_pool(chain, OLD_POOL)
    raw, rows = _index(chain, CurveIndexer(pools=[NG_POOL.upper().replace("0X", "0x")], lists=[FACTORY]))
    assert chain.missing == []
    assert [c.target for c in chain.asked].count(NG_POOL) == len(
        [c for c in chain.asked if c.target == OLD_POOL]
    )  # each pool read once
    to_frame("pools", rows["pools"]), to_frame("pool_coins", rows["pool_coins"])  # schema-valid
    assert rows["pools"] == [
        {"block": 100, "venue": "curve", "pool": NG_POOL, "token0": USDC, "token1": SUSDE, "fee_raw": 10**6,
         "fee_scale": 10**10, "admin_fee": 5 * 10**9, "amp": 125, "n_coins": 2, "pool_kind": "ng", "amp_precise": 12_500,
         "future_amp": 20_000, "future_amp_time": T0 + DAY, "offpeg_fee_multiplier": 5 * 10**10},
        {"block": 100, "venue": "curve", "pool": OLD_POOL, "token0": DAI, "token1": USDC, "fee_raw": 4 * 10**6,
         "fee_scale": 10**10, "admin_fee": 5 * 10**9, "amp": 2000, "n_coins": 3, "pool_kind": "classic", "amp_precise": 200_000,
         "future_amp": 200_000, "future_amp_time": 0, "offpeg_fee_multiplier": None},
    ]  # fmt: skip
    assert rows["pool_coins"] == [
        {"block": 100, "pool": NG_POOL, "coin_index": 0, "token": USDC, "balance": 4_000_000 * 10**6, "rate": 10**30},
        {"block": 100, "pool": NG_POOL, "coin_index": 1, "token": SUSDE, "balance": 3_000_000 * 10**18,
         "rate": 1_150_000_000_000_000_000},
        {"block": 100, "pool": OLD_POOL, "coin_index": 0, "token": DAI, "balance": 10**26, "rate": None},
        {"block": 100, "pool": OLD_POOL, "coin_index": 1, "token": USDC, "balance": 9 * 10**13, "rate": None},
        {"block": 100, "pool": OLD_POOL, "coin_index": 2, "token": USDT, "balance": 8 * 10**13, "rate": None},
    ]  # fmt: skip
    # What was read prices the pool: selling 10 000 USDC buys sUSDe at 1.15 less the dynamic fee.
    p = raw.pools[NG_POOL]
    pool = NGPool(p.amp_precise, p.balances, p.rates, p.fee, p.offpeg_fee_multiplier)
    dy = ng.get_dy(pool, 0, 1, 10_000 * 10**6)
    assert 8_600 * 10**18 < dy < 10_000 * 10**18 * 100 // 115


def test_a_pin_before_the_ramp_ends_and_after_it():
    for now, amp, a in [(T0 + DAY, 20_000, 200), (T0 + 3 * DAY, 20_000, 200), (T0 + DAY // 2 + 1, 15_000, 150)]:
        chain = EncodedChain(now)
        _ng_pool(chain, NG_POOL)
        chain.answer(NG_POOL, "A()", [], ["uint256"], [a])
        chain.answer(NG_POOL, "A_precise()", [], ["uint256"], [amp])
        raw, _ = _index(chain, CurveIndexer(pools=[NG_POOL]))
        assert chain.missing == [] and raw.pools[NG_POOL].amp_precise == amp, now


def test_failed_reads_are_missing_rows_and_leave_the_pool_out():
    chain = EncodedChain(NOW)
    _factory(chain, [NG_POOL, OLD_POOL, LENDING_POOL])
    chain.revert(FACTORY, "pool_list(uint256)", 2, reason="execution reverted")
    _ng_pool(chain, NG_POOL)
    chain.revert(NG_POOL, "get_balances()", reason="execution reverted: oracle")  # a rate oracle that reverts
    _old_pool(chain, OLD_POOL)
    chain.answer(OLD_POOL, "A()", [], ["uint256"], [1999])  # disagrees with its own ramp
    raw, rows = _index(chain, CurveIndexer(lists=[FACTORY]))
    assert raw.pools == {} and rows == {"pools": [], "pool_coins": []}
    got = [(m["kind"], m["address"], m["key"], m["method"], m["reason"]) for m in chain.missing]
    assert got == [
        ("pool_list", FACTORY, "2", "pool_list(uint256)", "execution reverted"),
        ("pool", NG_POOL, None, "get_balances()", "execution reverted: oracle"),
        ("pool", OLD_POOL, None, "A()", f"answered 1999, the ramp gives 2000 at timestamp {NOW}"),
    ]


def test_pools_that_are_not_read_are_said_so():
    chain = EncodedChain(NOW)
    chain.revert(FACTORY, "pool_count()", reason="execution reverted")
    # A 2020 lending pool: coins(int128) only, so coins(uint256) reverts.
    _old_pool(chain, LENDING_POOL)
    chain.revert(LENDING_POOL, "coins(uint256)", 0)
    # An NG pool whose stored_rates answer one rate for two coins, and a pool before its ramp began.
    _ng_pool(chain, NG_POOL)
    chain.answer(NG_POOL, "stored_rates()", [], ["uint256[]"], [[10**30]])
    _ng_pool(chain, OLD_POOL)
    chain.answer(OLD_POOL, "initial_A_time()", [], ["uint256"], [NOW + 1])
    raw, _ = _index(chain, CurveIndexer(pools=[LENDING_POOL, NG_POOL, OLD_POOL], lists=[FACTORY]))
    assert raw.pools == {}
    got = [(m["kind"], m["address"], m["key"], m["method"], m["reason"]) for m in chain.missing]
    assert got == [
        ("pool_list", FACTORY, None, "pool_count()", "execution reverted"),
        ("pool", LENDING_POOL, "0", "coins(uint256)", "reverted without data (pools with coins(int128) are not read)"),
        ("pool", NG_POOL, None, "stored_rates()", "answered 1 items for 2 coins"),
        (
            "pool",
            OLD_POOL,
            None,
            "initial_A_time()",
            "_A: the pin is before the ramp started (the contract underflows)",
        ),
    ]


def test_a_dynamic_fee_pool_without_stored_rates_is_kept_as_other():
    """aave-style pools have offpeg_fee_multiplier but price their coins through the lending
    protocol: read, kept apart (`other`), not handed to either maths."""
    chain = EncodedChain(NOW)
    _old_pool(chain, LENDING_POOL)
    chain.answer(LENDING_POOL, "offpeg_fee_multiplier()", [], ["uint256"], [2 * 10**10])
    _, rows = _index(chain, CurveIndexer(pools=[LENDING_POOL]))
    assert chain.missing == []
    assert [(p["pool_kind"], p["offpeg_fee_multiplier"]) for p in rows["pools"]] == [("other", 2 * 10**10)]


def test_rows_rebuild_the_pools_the_maths_price():
    """The snapshot rows alone rebuild each pool exactly as read (A at the pin, balances, fees, rates)."""
    from loopscan.protocols.curve import maths
    from loopscan.protocols.curve.pools import pool_from_rows

    chain = EncodedChain(NOW)
    _factory(chain, [NG_POOL, OLD_POOL])
    _ng_pool(chain, NG_POOL)
    _old_pool(chain, OLD_POOL)
    raw, rows = _index(chain, CurveIndexer(lists=[FACTORY]))
    coins = {p: [c for c in rows["pool_coins"] if c["pool"] == p] for p in (NG_POOL, OLD_POOL)}
    by_pool = {p["pool"]: p for p in rows["pools"]}
    ng_pool = pool_from_rows(by_pool[NG_POOL], coins[NG_POOL][::-1])  # any order
    p = raw.pools[NG_POOL]
    assert ng_pool == NGPool(p.amp_precise, p.balances, p.rates, p.fee, p.offpeg_fee_multiplier)
    old = pool_from_rows(by_pool[OLD_POOL], coins[OLD_POOL], decimals=[18, 6, 6])
    assert old == maths.StableSwapPool.from_decimals(2000, [10**26, 9 * 10**13, 8 * 10**13], [18, 6, 6], 4 * 10**6)
    with pytest.raises(maths.CurveError, match="not modelled"):
        pool_from_rows({**by_pool[OLD_POOL], "pool_kind": "other"}, coins[OLD_POOL], decimals=[18, 6, 6])
    with pytest.raises(maths.CurveError, match="decimals"):
        pool_from_rows(by_pool[OLD_POOL], coins[OLD_POOL])
    with pytest.raises(maths.CurveError, match="cover coins"):
        pool_from_rows(by_pool[OLD_POOL], coins[OLD_POOL][1:], decimals=[18, 6, 6])


def test_a_classic_factory_pool_with_rate_oracles_keeps_its_stored_rates():
    """Classic factory pools with oracles answer `stored_rates()` as a fixed-size uint256[2] and no
    off-peg multiplier: classic maths with those rates, no decimals needed."""
    from loopscan.protocols.curve import maths
    from loopscan.protocols.curve.pools import pool_from_rows

    chain = EncodedChain(NOW)
    _old_pool(chain, OLD_POOL)
    chain.revert(OLD_POOL, "coins(uint256)", 2)  # two coins only
    chain.answer(OLD_POOL, "stored_rates()", [], ["uint256", "uint256"], [10**18, 1_080_000_000_000_000_000])
    raw, rows = _index(chain, CurveIndexer(pools=[OLD_POOL]))
    assert chain.missing == []
    assert (raw.pools[OLD_POOL].kind, raw.pools[OLD_POOL].rates) == ("classic", (10**18, 1_080_000_000_000_000_000))
    assert [c["rate"] for c in rows["pool_coins"]] == [10**18, 1_080_000_000_000_000_000]
    pool = pool_from_rows(rows["pools"][0], rows["pool_coins"])
    assert pool == maths.StableSwapPool(200_000, (10**26, 9 * 10**13), (10**18, 1_080_000_000_000_000_000), 4 * 10**6)
