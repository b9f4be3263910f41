"""Euler v2 in the solver: a controller vault read by its own indexer from answers encoded from the
EVK's and EVC's ABIs (euler-vault-kit 5b98b42, ethereum-vault-connector 34bb788; no package ships
them, so no devnet), built into a Book and shocked. Each account's outcome is worked out apart from
the solver by the integer rules (`euler_v2.rules.max_liquidation`, `socialized_debt`), liquidation
after liquidation at the shocked quotes: a rational liquidator seizes the collateral vault that
repays the most, as much as the health score's discount allows; debt left on an account with no
collateral is socialised against the vault's depositors, unless the vault says not to."""

from __future__ import annotations

import asyncio

import pytest
from encoded_chain import EncodedChain
from eth_abi import encode
from eth_utils import keccak
from euler_answers import answer_borrower, answer_vault

from loopscan.model import Snapshot, SnapshotMeta, to_frame
from loopscan.protocols.euler_v2.indexer import EulerV2Indexer
from loopscan.protocols.euler_v2.rules import (
    CFG_DONT_SOCIALIZE_DEBT,
    Collateral,
    LTVConfig,
    account_liquidity,
    max_liquidation,
    socialized_debt,
)
from loopscan.solver import build_book
from loopscan.solver.thresholds import Solver

EVC, ROUTER, USD = "0x" + "ec" * 20, "0x" + "0e" * 20, "0x" + "00" * 19 + "48"
V_USDC, V_WSTETH, V_SUSDE, USDC = "0x" + "a1" * 20, "0x" + "b1" * 20, "0x" + "c1" * 20, "0x" + "a0" * 20
ALICE, BOB, CAROL = ("0x" + c * 20 for c in ("11", "22", "33"))
NOW, W, LTV = 1_750_000_000, 10**18, 8_000
PRICE = {V_WSTETH: 3_000 * W, V_SUSDE: W}  # USD (18 decimals) per whole share
KEY = f"{V_USDC}:{V_USDC}"
# Alice: 2 wstETH (6 000) against 4 000; Bob: 1 wstETH (3 000) against 2 300; Carol: 1 wstETH and
# 1 000 sUSDe (3 000 + 1 000) against 3 100. All healthy at the pin at a liquidation LTV of 0.8.
BOOKS = {ALICE: (4_000, {V_WSTETH: 2 * W}), BOB: (2_300, {V_WSTETH: W}), CAROL: (3_100, {V_WSTETH: W, V_SUSDE: 1_000 * W})}


def _snapshot(borrowers: tuple[str, ...], config_flags: int = 0) -> Snapshot:
    chain = EncodedChain(NOW)
    flat = (LTV - 500, LTV, 0, 1, 0)  # borrow LTV 0.75, liquidation LTV 0.8, no ramp
    answer_vault(chain, V_USDC, USDC, {V_WSTETH: flat, V_SUSDE: flat}, router=ROUTER, unit=USD, config_flags=config_flags,
                 totals=(50_000 * 10**6, 50_000 * 10**6, 9_400 * 10**6))  # fmt: skip
    for who in borrowers:
        debt, held = BOOKS[who]
        quotes = [(c, balance, balance * PRICE[c] // W) for c, balance in held.items()]
        answer_borrower(chain, (EVC, V_USDC, ROUTER, USD, USDC), who, debt * 10**6, quotes,
                        [q * LTV // 10_000 for _, _, q in quotes], debt * W)  # fmt: skip
        chain.event_logs.append({"address": V_USDC, "topics": ["0x" + keccak(text="Borrow(address,uint256)").hex(), "0x" + "00" * 12 + who[2:]],
                                 "data": "0x" + encode(["uint256"], [debt]).hex(), "blockNumber": hex(50)})  # fmt: skip
    indexer = EulerV2Indexer(EVC, vaults=[V_USDC])
    raw = asyncio.run(indexer.fetch(chain))
    assert chain.missing == [] and [a.account for a in raw.accounts] == list(borrowers)
    rows = indexer.transform(raw, chain.block)
    rows["tokens"] = [{"address": t, "symbol": s, "name": s, "decimals": d, "kind": "base", "price": None, "price_source": None}
                      for t, s, d in ((USDC, "USDC", 6), (V_WSTETH, "ewstETH", 18), (V_SUSDE, "esUSDe", 18))]  # fmt: skip
    meta = SnapshotMeta(chain_id=1, block_number=chain.block, block_hash="0x" + "ab" * 32, block_timestamp=NOW, endpoint="test")
    return Snapshot(meta, **{t: to_frame(t, [{"block": chain.block, **r} for r in rs]) for t, rs in rows.items()})


def _by_hand(who: str, depeg_wsteth: float, dont_socialize: bool) -> tuple[float, float, float]:
    """(repaid, socialised, debt left) in USDC, by the integer rules: liquidations one after another
    at the shocked quotes, each seizing the collateral whose maximum repay is the largest (discount
    cap 15 %), until the account is healthy or holds nothing."""
    debt, held = BOOKS[who]
    price = {c: int(p * (1 - depeg_wsteth)) if c == V_WSTETH else p for c, p in PRICE.items()}
    balances, liability, repaid, lost = dict(held), debt * 10**6, 0, 0
    while liability and any(balances.values()):
        cols = [Collateral(c, b, b * price[c] // W, LTVConfig(LTV - 500, LTV, 0, 1, 0)) for c, b in balances.items() if b]
        adjusted, _ = account_liquidity(cols, liability * 10**12, NOW, liquidation=True)
        if adjusted > liability * 10**12:
            break
        best = max((max_liquidation(cols, c.vault, liability, liability * 10**12, 1_500, NOW), c.vault) for c in cols)
        most, chosen = best
        balances[chosen] -= most.yield_balance
        social = socialized_debt(liability, most.repay, liability * 10**12, [(True, b) for b in balances.values()], dont_socialize)
        repaid, lost, liability = repaid + most.repay, lost + social, liability - most.repay - social
    return repaid / 10**6, lost / 10**6, liability / 10**6


@pytest.mark.parametrize(
    ("who", "flags", "liquidations"),
    [
        (ALICE, 0, 1),  # health 3 840 / 4 000 = 0.96: all 4 000 repaid for 4 166.67 of her 4 800 (partial seizure)
        (BOB, 0, 1),  # 0.8, floored at 0.85: all his 2 400 for 2 040; the 260 left is socialised
        (BOB, CFG_DONT_SOCIALIZE_DEBT, 1),  # the same seizure; the 260 stays on his empty account
        (CAROL, 0, 2),  # wstETH first (2 105.81 repaid), then sUSDe (850): 144.19 socialised
    ],
)
def test_liquidations_and_socialised_debt_are_the_integer_rules(who, flags, liquidations):
    solver = Solver(build_book(_snapshot((who,), flags)))
    assert solver.baseline().liquidation_count == 0  # healthy at the pin
    result = solver.cascade("depeg", V_WSTETH, 0.2)
    repaid, lost, left = _by_hand(who, 0.2, bool(flags))
    rows = result.liquidation_rows
    assert len(rows) == liquidations and {r[2] for r in rows} == {who}
    unit = 2e-6  # the integers round each repay to a USDC unit (1e-6), against the account
    assert sum(r[4] for r in rows) == pytest.approx(repaid, abs=unit)
    assert sum(r[5] for r in rows) == pytest.approx(lost, abs=unit)
    losses = result.losses
    realized = losses["realized_bad_debt_usd"].sum() if len(losses) else 0.0
    hidden = losses["hidden_bad_debt_usd"].sum() if len(losses) else 0.0
    assert realized == pytest.approx(lost, abs=unit)  # socialised: the vault's depositors lose it
    assert hidden == pytest.approx(left if lost == 0 and left else 0.0, abs=unit)
    if lost:
        assert set(losses.loc[losses["realized_bad_debt_usd"] > 0, "lender"]) == {V_USDC}


def test_a_partial_seizure_takes_what_the_discount_allows():
    """Alice's 2 wstETH at 2 400 each: repay 4 000 takes 4 000 / 0.96 = 4 166.67 of value, 1.7361 shares."""
    result = Solver(build_book(_snapshot((ALICE,)))).cascade("depeg", V_WSTETH, 0.2)
    ((_, market, account, value, to_pool, lost, usd),) = result.liquidation_rows
    assert (market, account, lost) == (KEY, ALICE, 0.0)
    assert value == pytest.approx(4_000 / 0.96, rel=1e-12) and to_pool == pytest.approx(4_000, rel=1e-12)
    assert usd == pytest.approx(4_000 / 0.96, rel=1e-12)  # the shares at market: their oracle follows it


def test_thresholds_include_the_vault_and_say_it_is_unproven_on_node():
    solver = Solver(build_book(_snapshot((ALICE, BOB, CAROL))))
    (row,) = solver.thresholds("depeg", [V_WSTETH]).itertuples()
    # First by hand: Bob, 3 000 (1 − δ) × 0.8 = 2 300 → δ = 1 − 2 300 / 2 400 ≈ 4.17 %.
    assert row.first_liquidation_frac == pytest.approx(1 - 2_300 / 2_400, abs=1e-4)
    assert row.unproven_on_node == KEY and row.positions_at_risk == 3
