"""Compound v3 in the solver: a Comet read by its own indexer from answers encoded from its ABI
(compound-finance/comet d5a30b0; no package ships Comet, so no devnet), built into a Book and
shocked. Each cascade's outcome is worked out apart from the solver by the integer rules
(`compound_v3.rules.absorb` at the shocked feed price): the protocol absorbs every liquidatable
account whole, whatever anyone's profit, each collateral credited at its own liquidationFactor; the
shortfall lands on the Comet's reserves first and only beyond them on its suppliers."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from comet_answers import Asset, answer_account, answer_comet
from encoded_chain import EncodedChain
from eth_utils import keccak

from loopscan.model import Snapshot, SnapshotMeta, to_frame
from loopscan.protocols.compound_v3.indexer import CompoundV3Indexer
from loopscan.protocols.compound_v3.rules import absorb, is_liquidatable, present_value
from loopscan.solver import build_book
from loopscan.solver.thresholds import Solver

COMET, USDC, WETH, WBTC = "0x" + "c3" * 20, "0x" + "a0" * 20, "0x" + "e0" * 20, "0x" + "b0" * 20
BASE_FEED, WETH_FEED, WBTC_FEED = "0x" + "f1" * 20, "0x" + "f2" * 20, "0x" + "f3" * 20
ALICE, CAROL, BOB = "0x" + "11" * 20, "0x" + "33" * 20, "0x" + "22" * 20
NOW, U = 1_750_000_000, 5 * 10**17
SUPPLY_INDEX, BORROW_INDEX = 1_050_000_000_000_000, 1_100_000_000_000_000  # accrued at the pin: no time elapsed
WETH_PRICE, WBTC_PRICE = 1_000 * 10**8, 60_000 * 10**8
KEY = f"{COMET}:{USDC}"


def _snapshot(reserves_usdc: int, borrowers: tuple[str, ...] = (ALICE,), unit: int = 10**8) -> tuple[Snapshot, list]:
    """A USDC Comet with WETH (liquidateCF 0.9, liquidationFactor 0.95) and WBTC (0.77, 0.90); each
    borrower owes 1 000 USDC of principal (1 100 at the borrow index) against 1 WETH and 0.01 WBTC
    (1 000 + 600 USD: weighted 900 + 462 = 1 362, healthy); Bob supplies 2 000 of principal (2 100).
    `unit` is the feeds' price of one USDC (1e8: they answer USD)."""
    chain = EncodedChain(NOW)
    n = len(borrowers)
    answer_comet(chain, COMET, USDC, BASE_FEED, [
        Asset(WETH, WETH_FEED, 10**18, 825 * 10**15, 9 * 10**17, 95 * 10**16, 10**24, WETH_PRICE * unit // 10**8, n * 10**18),
        Asset(WBTC, WBTC_FEED, 10**8, 7 * 10**17, 77 * 10**16, 9 * 10**17, 10**12, WBTC_PRICE * unit // 10**8, n * 10**6),
    ], indices=(SUPPLY_INDEX, BORROW_INDEX), totals=(2_000 * 10**6, n * 1_000 * 10**6), last_accrual=NOW, utilization=U,
        rates=(10**9, 2 * 10**9), reserves=reserves_usdc * 10**6, target_reserves=10**12, base_price=unit)  # fmt: skip
    topic = "0x" + keccak(text="Supply(address,address,uint256)").hex()
    for who in (*borrowers, BOB):
        borrower = who != BOB
        answer_account(chain, COMET, who, -1_000 * 10**6 if borrower else 2_000 * 10**6, 0 if borrower else 2_100 * 10**6,
                       1_100 * 10**6 if borrower else 0, {WETH: 10**18 * borrower, WBTC: 10**6 * borrower})  # fmt: skip
        chain.event_logs.append({"address": COMET, "topics": [topic, "0x" + "00" * 12 + who[2:], "0x" + "00" * 12 + who[2:]],
                                 "data": "0x", "blockNumber": hex(50)})  # fmt: skip
    indexer = CompoundV3Indexer([(COMET, 10)])
    raws = asyncio.run(indexer.fetch(chain))
    assert chain.missing == []
    rows = indexer.transform(raws, chain.block)
    rows["tokens"] = [{"address": t, "symbol": s, "name": s, "decimals": d, "kind": "base", "price": None, "price_source": None}
                      for t, s, d in ((USDC, "USDC", 6), (WETH, "WETH", 18), (WBTC, "WBTC", 8))]  # fmt: skip
    meta = SnapshotMeta(chain_id=1, block_number=chain.block, block_hash="0x" + "ab" * 32, block_timestamp=NOW, endpoint="test")
    return Snapshot(meta, **{t: to_frame(t, [{"block": chain.block, **r} for r in rs]) for t, rs in rows.items()}), raws


def _expected_loss(raws: list, weth_price: int, borrowers: tuple[str, ...], reserves_usdc: int) -> tuple[float, float]:
    """(suppliers' loss, reserves' loss) in USDC, by the integer rules: each borrower absorbed at the
    shocked WETH price, its shortfall (debt beyond the credited collateral) out of the reserves first."""
    (raw,) = raws
    state = replace(raw.state, assets=tuple(replace(a, price=weth_price) if a.asset == WETH else a for a in raw.state.assets))
    shortfall = 0
    for who in borrowers:
        account = raw.accounts[who]
        assert is_liquidatable(state, account)
        out = absorb(state, account)
        state = out.state
        shortfall += max(-present_value(account.principal, state.base_supply_index, state.base_borrow_index) - out.credited, 0)
    reserves = max(reserves_usdc * 10**6, 0)
    return max(shortfall - reserves, 0) / 10**6, min(shortfall, reserves) / 10**6


@pytest.mark.parametrize(
    ("reserves", "borrowers", "depeg"),
    [
        (200, (ALICE,), 0.5),  # credited 500 × 0.95 + 600 × 0.90 = 1 015 against 1 100: the 85 short all from reserves
        (30, (ALICE,), 0.5),  # 30 of reserves: the suppliers lose the other 55
        (100, (ALICE, CAROL), 0.5),  # two absorbs draw the same reserves: 170 short, 70 beyond them
        (-50, (ALICE,), 0.8),  # reserves already negative absorb nothing: 1 100 − (190 + 540) = 370 lost
    ],
)
def test_absorb_loss_lands_on_reserves_first_then_suppliers(reserves, borrowers, depeg):
    snap, raws = _snapshot(reserves, borrowers)
    book = build_book(snap)
    assert KEY in book.markets and not book.unsolved
    solver = Solver(book)
    assert solver.baseline().liquidation_count == 0  # healthy at the pin
    result = solver.cascade("depeg", WETH, depeg)
    suppliers, _ = _expected_loss(raws, round(WETH_PRICE * (1 - depeg)), borrowers, reserves)
    rows = result.liquidation_rows
    assert sorted(r[2] for r in rows) == sorted(borrowers)  # every account absorbed, once, whole
    assert sum(r[5] for r in rows) == pytest.approx(suppliers, rel=1e-9, abs=1e-6)
    realized = result.losses["realized_bad_debt_usd"].sum() if len(result.losses) else 0.0
    assert realized == pytest.approx(suppliers, rel=1e-9, abs=1e-6)
    if suppliers:
        assert set(result.losses.loc[result.losses["realized_bad_debt_usd"] > 0, "lender"]) == {BOB}
    collateral, debt = result.book.markets[KEY].collateral_amount, result.book.markets[KEY].debt
    assert (collateral > 0).any() and (debt > 0).any()  # the book is untouched: the cascade wrote its own copies


def test_absorb_is_forced_even_when_no_liquidator_would_profit():
    """At a 99 % WETH depeg the collateral (10 + 600 USD at market) is worth far less than the 1 100
    owed: a Gearbox liquidator would walk away; Comet absorbs all the same."""
    snap, raws = _snapshot(0)
    result = Solver(build_book(snap)).cascade("depeg", WETH, 0.99)
    suppliers, _ = _expected_loss(raws, round(WETH_PRICE * 0.01), (ALICE,), 0)
    ((_, market, account, _, _, lost, _),) = result.liquidation_rows
    assert (market, account) == (KEY, ALICE) and lost == pytest.approx(suppliers, rel=1e-9)


def test_thresholds_include_the_comet_and_say_it_is_unproven_on_node():
    snap, raws = _snapshot(30)
    solver = Solver(build_book(snap))
    table = solver.thresholds("depeg", [WETH])
    (row,) = table.itertuples()
    # First liquidation by hand: 1 000 (1 − δ) × 0.9 + 462 = 1 100 → δ = 1 − 638 / 900 ≈ 29.11 %.
    assert row.first_liquidation_frac == pytest.approx(1 - 638 / 900, abs=1e-4)
    assert row.unproven_on_node == KEY
    assert row.not_computable.endswith("no pool read to sell WBTC, WETH into")  # none read here: what follows sales is not computed
    assert solver.shockable("depeg") == sorted([WETH, WBTC])


def test_feeds_in_another_unit_price_the_collateral_through_the_base_token():
    """A Comet's feeds answer in its own unit (cWETHv3's in ETH): here one USDC is 0.0004 of it and
    WETH 0.4. The collateral starts at feed × the base token's price / the base feed (WETH 1 000 USD,
    USDC the numeraire's unit), and the cascade is the same as with USD feeds."""
    usd, other = (Solver(build_book(_snapshot(30, unit=u)[0])) for u in (10**8, 40_000))
    assert other.book.p0[WETH] == pytest.approx(1_000.0, rel=1e-12) and other.book.p0[WBTC] == pytest.approx(60_000.0, rel=1e-12)
    assert other.cascade("depeg", WETH, 0.5).liquidation_rows == usd.cascade("depeg", WETH, 0.5).liquidation_rows
