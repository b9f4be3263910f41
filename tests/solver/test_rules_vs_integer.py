"""Each protocol's float rules (what the solver applies) against its integer maths (what the
contracts do, to the wei): the close factor, the seizure and the incentive must agree, so the
rules and the reference cannot drift apart again (as Aave v3.3's close factor once did)."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from loopscan.protocols.aave_v3 import rules as aave
from loopscan.protocols.aave_v3.liquidation import liquidation_call_v30, liquidation_call_v33
from loopscan.protocols.aave_v3.maths import AaveRevert, Reserve, UserReserve, user_account_data
from loopscan.protocols.morpho_blue import rules as morpho
from loopscan.protocols.morpho_blue.maths import WAD, liquidation_incentive_factor

S, C, T = "sUSDe", "USDC", "USDT"
E18, E6 = 10**18, 10**6

accounts = st.tuples(
    st.integers(10**2, 10**7),  # sUSDe held, whole tokens
    st.integers(9_000, 9_999),  # health factor target, bps
    st.integers(1, 99),  # share of the debt in USDC, %
    st.integers(90_000_000, 130_000_000),  # sUSDe price, 1e8 base units
    st.integers(10_100, 11_000),  # sUSDe's liquidation bonus
)


def _account(p):
    held, hf_bps, usdc_pct, price, bonus = p
    reserves = {S: Reserve(18, price, 9000, 9200, bonus), C: Reserve(6, 10**8, 7500, 7800, 10450),
                T: Reserve(6, 10**8, 7500, 7800, 10450)}  # fmt: skip
    debt_usd = held * price * 9200 // (10**8 * hf_bps)  # whole USD owed for that health factor
    usdc = debt_usd * usdc_pct // 100
    user = {S: UserReserve(scaled_a_token=held * E18, use_as_collateral=True),
            C: UserReserve(scaled_variable_debt=usdc * E6), T: UserReserve(scaled_variable_debt=(debt_usd - usdc) * E6)}  # fmt: skip
    return reserves, user


def _float_liquidation(reserves, user, revision: int) -> tuple[float, float]:
    """What the solver's rules repay and seize, in whole tokens, for the USDC debt."""
    hf = user_account_data(reserves, user, 0).health_factor / E18
    price = reserves[S].price / 1e8
    collateral = user[S].scaled_a_token / E18
    debts = {a: user[a].scaled_variable_debt / E6 for a in (C, T)}
    total = sum(debts.values())
    repay = aave.max_repay(hf, {"protocol_revision": revision}, debts[C], debts[C], collateral * price, total)
    return aave.seize(repay, 1.0, price, reserves[S].liquidation_bonus / 1e4, collateral)


@given(accounts, st.sampled_from([1, 7]))
def test_aave_rules_repay_and_seize_what_liquidation_call_does(p, revision):
    reserves, user = _account(p)
    assume(user[C].scaled_variable_debt and user[T].scaled_variable_debt)
    assume(user_account_data(reserves, user, 0).health_factor < E18)  # whole-USD debts can round HF up to 1
    call = liquidation_call_v33 if revision >= 7 else liquidation_call_v30
    try:
        done = call(reserves, user, S, C, 10**40, 0)
    except AaveRevert as exc:
        assert exc.code in ("103", "25")  # dust rule or a zero burn: nothing the float rules model
        return
    seized, repaid = _float_liquidation(reserves, user, revision)
    assert abs(repaid - done.debt_repaid / E6) <= 1e-6 * repaid + 2e-6
    assert abs(seized - (done.collateral_to_liquidator + done.protocol_fee) / E18) <= 1e-6 * seized + 1e-12


def test_aave_v33_caps_a_large_position_at_half_its_total_debt():
    # Worked by hand: HF 0.98, $60k of USDC and $40k of USDT owed: v3.3 may repay min(60k, 100k / 2).
    v33, v30 = {"protocol_revision": 7}, {"protocol_revision": 1}
    assert aave.max_repay(0.98, v33, 60_000.0, 60_000.0, 120_000.0, 100_000.0) == 50_000.0
    assert aave.max_repay(0.98, v30, 60_000.0, 60_000.0, 120_000.0, 100_000.0) == 30_000.0  # v3.0: half of this debt
    assert aave.max_repay(0.94, v33, 60_000.0, 60_000.0, 120_000.0, 100_000.0) == 60_000.0  # below 0.95: all of it
    assert aave.max_repay(0.98, v33, 1_500.0, 1_500.0, 120_000.0, 3_000.0) == 1_500.0  # under $2,000 of debt: all of it
    assert aave.max_repay(0.98, {}, 60_000.0, 60_000.0, 120_000.0, 100_000.0) == 30_000.0  # unread revision: v3.0's


def test_morpho_liquidation_at_the_contracts_incentive():
    # LLTV 86 %: LIF 1.043841336116910229 (the contract's integer factor; blue-sdk's figure in DEVNET-NOTES).
    incentive = liquidation_incentive_factor(86 * 10**16) / WAD
    assert incentive == 1.043841336116910229
    # 1,000 collateral at a price of 1.0, 900 owed: unhealthy (900 > 860); seizes 900 × LIF, repays 900.
    seized, repaid, bad = morpho.liquidate(1_000.0, 900.0, 1.0, 0.86, incentive)
    assert (seized, repaid, bad) == (900.0 * incentive, 900.0 * incentive / incentive, 0.0)
    # At a price of 0.9 the collateral (worth 900) covers 900 / LIF of debt: the rest is bad debt.
    seized, repaid, bad = morpho.liquidate(1_000.0, 900.0, 0.9, 0.86, incentive)
    assert seized == 1_000.0 and abs(repaid - 900.0 / incentive) < 1e-9 and abs(bad - (900.0 - 900.0 / incentive)) < 1e-9
    assert morpho.liquidate(1_000.0, 850.0, 1.0, 0.86, incentive) is None  # healthy: 850 ≤ 860


def test_markets_the_solver_cannot_apply_are_listed_not_dropped():
    """An isolated market with two collaterals (the solver applies one per isolated market) is left
    out of the book with the reason, never read as if it had one."""
    from literal_snapshots import MORPHO, M, market, token

    from loopscan.model import Snapshot, SnapshotMeta, to_frame
    from loopscan.solver import build_book

    loan, weth, wbtc = "0x" + "a0" * 20, "0x" + "e0" * 20, "0x" + "b0" * 20
    row = market(weth, loan, 10, 5)
    rows = {
        "tokens": [token(loan, "USDC"), token(weth, "WETH"), token(wbtc, "WBTC")],
        "markets": [{k: v for k, v in row.items() if k != "_collateral"}],
        "market_collaterals": [{"protocol_address": MORPHO, "market_id": M, **row["_collateral"], "collateral_token": t}
                               for t in (weth, wbtc)],
    }  # fmt: skip
    meta = SnapshotMeta(chain_id=1, block_number=10, block_hash="0x" + "ab" * 32, block_timestamp=0, endpoint="test")
    book = build_book(Snapshot(meta, **{t: to_frame(t, [{"block": 10, **r} for r in rs]) for t, rs in rows.items()}))
    assert book.markets == {} and list(book.unsolved) == [f"{MORPHO}:{M}"]
    assert book.unsolved[f"{MORPHO}:{M}"].startswith("morpho_blue market with 2 collaterals: the solver applies one")


def test_a_paused_or_inactive_reserve_is_no_leg_of_a_liquidation():
    """ValidationLogic.validateLiquidationCall: both legs active (RESERVE_INACTIVE, checked first)
    and not paused (RESERVE_PAUSED); a frozen reserve is still liquidated."""
    assert aave.usable({"active": 1, "frozen": 1, "paused": 0})
    assert aave.refusal({"active": 1, "paused": 1}) == "paused" and not aave.usable({"active": 1, "paused": 1})
    assert aave.refusal({"active": 0, "paused": 1}) == "inactive"
    assert aave.refusal({"protocol_revision": 1}) is None  # switches not read: the reserve's defaults
