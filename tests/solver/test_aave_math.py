"""Aave v3's maths: worked examples from the v3.0 and v3.3 sources, and invariants.

Sources: v3.0.x is `node_modules/@aave/core-v3/contracts` (1.19.3); v3.3 is aave-dao/aave-v3-origin
tag v3.3.0, commit 5431379f8beb4d7128c84a81ced3917d856efa84,
`src/contracts/protocol/libraries/logic/LiquidationLogic.sol`:
- L74-82: MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD = 2000e8, MIN_LEFTOVER_BASE = 1000e8;
- L279-302: max liquidatable debt = the whole reserve debt, unless collateral and debt of the
  reserves are both >= 2000e8 and HF > 0.95; then half of the *total* debt in base currency;
- L324-344: the dust rule ('103' MUST_NOT_LEAVE_DUST);
- L356-367, L531-601, L696-730: no collateral left -> all debt burned, the rest a deficit.

The examples: sUSDe (18 decimals) priced 1.2 USD (1.2e8 base units), USDC and USDT at 1 USD,
e-mode 1 (LTV 90 %, LT 92 %, bonus 3 %) as in the susde-aave-loop scenario, a 10 % protocol fee
on the bonus; indexes at 1 ray and `timestamp` = last update (no interest) unless said.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from loopscan.protocols.aave_v3.liquidation import (
    liquidation_call,
    liquidation_call_v30,
    liquidation_call_v33,
    rules_for_revision,
)  # fmt: skip
from loopscan.protocols.aave_v3.maths import (
    RAY,
    UINT256_MAX,
    AaveRevert,
    EModeCategory,
    Reserve,
    UserReserve,
    a_token_balance,
    compounded_interest,
    linear_interest,
    percent_div,
    percent_mul,
    ray_div,
    ray_mul,
    user_account_data,
    variable_debt_balance,
    wad_div,
)  # fmt: skip

S, C, T = "sUSDe", "USDC", "USDT"
E18, E6 = 10**18, 10**6
YEAR = 365 * 86400
RESERVES = {
    S: Reserve(18, 120_000_000, 7200, 7500, 10850, 1000, emode_category=1),
    C: Reserve(6, 10**8, 7500, 7800, 10450, 0, emode_category=1),
    T: Reserve(6, 10**8, 7500, 7800, 10450, 0, emode_category=1),
}
EMODE = EModeCategory(9000, 9200, 10300)
ALL = 10**30  # debtToCover above any debt: "as much as allowed"


def looper(collateral: int, usdc: int, usdt: int = 0) -> dict[str, UserReserve]:
    user = {
        S: UserReserve(scaled_a_token=collateral, use_as_collateral=True),
        C: UserReserve(scaled_variable_debt=usdc),
    }
    if usdt:
        user[T] = UserReserve(scaled_variable_debt=usdt)
    return user


def v30(user, cover=ALL, debt=C):
    return liquidation_call_v30(RESERVES, user, S, debt, cover, 0, emode=1, category=EMODE)


def v33(user, cover=ALL, debt=C):
    return liquidation_call_v33(RESERVES, user, S, debt, cover, 0, emode=1, category=EMODE)


# -- the maths libraries ------------------------------------------------------------------------
def test_half_up_roundings():
    assert ray_mul(3, RAY // 2) == 2  # 1.5 -> 2
    assert ray_div(1, 2 * RAY) == 1  # 0.5 -> 1
    assert percent_mul(5, 5000) == 3 and percent_mul(5, 4999) == 2
    assert percent_div(1, 30000) == 0 and percent_div(2, 30000) == 1  # 0.33 -> 0, 0.67 -> 1
    assert wad_div(2, 3) == 666666666666666667


def test_interest_indexes():
    # Suppliers, linear: 5 % a year for half a year -> 1.025 ray.
    assert linear_interest(5 * 10**25, 0, YEAR // 2) == 1025 * 10**24
    # Borrowers, compounded to three terms: 10 % for a year, 1 + 0.1 + ~0.005 + ~0.000167
    # (each term floored, with n(n-1)/2 and n(n-1)(n-2)/6): 1.1051620428 (e^0.1 = 1.1051709).
    assert compounded_interest(10**26, 0, YEAR) == 1105162042821782412575504000
    assert compounded_interest(10**26, 5, 5) == RAY
    r = Reserve(6, 10**8, current_liquidity_rate=5 * 10**25, current_variable_borrow_rate=10**26)
    assert a_token_balance(1000 * E6, r, YEAR // 2) == 1025 * E6
    assert variable_debt_balance(1000 * E6, r, YEAR) == 1105_162043  # 1105.162042821 rounded half-up


def test_account_data_in_emode_and_without_debt():
    # 500,000 sUSDe = 600,000 USD (60,000e9 base units at 8 decimals); 560,000 USDC debt.
    # HF = 600,000 * 92 % / 560,000 = 0.985714285714285714 (wad, half-up).
    acct = user_account_data(RESERVES, looper(500_000 * E18, 560_000 * E6), 0, 1, EMODE)
    assert (acct.total_collateral_base, acct.total_debt_base) == (600_000 * 10**8, 560_000 * 10**8)
    assert (acct.avg_ltv, acct.avg_liquidation_threshold, acct.health_factor) == (9000, 9200, 985714285714285714)
    # Outside e-mode the reserve's own LT (75 %) applies: HF = 450,000 / 560,000.
    assert user_account_data(RESERVES, looper(500_000 * E18, 560_000 * E6), 0).health_factor == 803571428571428571
    assert user_account_data(RESERVES, looper(500_000 * E18, 0), 0).health_factor == UINT256_MAX


# -- v3.0 ---------------------------------------------------------------------------------------
def test_v30_close_factor_half_above_hf_095():
    # HF 0.9857 > 0.95: at most 50 % of the USDC debt, 280,000 USDC.
    # Base collateral: 280,000 USD / 1.2 = 233,333.333... sUSDe (down); with the 3 % bonus
    # (percentMul, half-up) 240,333.333...333 sUSDe. Bonus part: 240,333.33 - 240,333.33 / 1.03
    # = 7,000 sUSDe; the protocol takes 10 % of it: 700 sUSDe, the liquidator 239,633.33...
    liq = v30(looper(500_000 * E18, 560_000 * E6))
    assert (liq.debt_repaid, liq.max_liquidatable_debt) == (280_000 * E6, 280_000 * E6)
    assert liq.collateral_to_liquidator == 239_633_333333333333333333
    assert liq.protocol_fee == 700 * E18
    assert liq.scaled_collateral_out + liq.scaled_fee_out == 240_333_333333333333333333


def test_v30_full_close_factor_and_collateral_shortfall():
    # 600,000 USDC debt: HF = 0.92 <= 0.95, close factor 100 %. Covering it all would need
    # 515,000 sUSDe > 500,000: all the collateral goes, and the debt repaid is what it is worth:
    # 600,000 USD / 1.03 = 582,524.271845 USDC (percentDiv, half-up). The rest, 17,475.728155
    # USDC, stays with the user as debt without collateral: v3.0 has no deficit accounting.
    liq = v30(looper(500_000 * E18, 600_000 * E6))
    assert liq.health_factor == 92 * 10**16 and liq.max_liquidatable_debt == 600_000 * E6
    assert liq.debt_repaid == 582_524_271845
    assert liq.collateral_to_liquidator + liq.protocol_fee == 500_000 * E18 and liq.collateral_disabled
    assert liq.deficits == {}


def test_v30_reverts():
    with pytest.raises(AaveRevert, match="45"):
        v30(looper(500_000 * E18, 500_000 * E6))  # HF 1.104
    with pytest.raises(AaveRevert, match="47"):
        v30(looper(500_000 * E18, 600_000 * E6), debt=T)  # no USDT debt
    user = looper(500_000 * E18, 600_000 * E6) | {S: UserReserve(500_000 * E18, 0, 0, False)}
    with pytest.raises(AaveRevert, match="46"):  # HF 0 (nothing counts as collateral), but the
        v30(user)  # sUSDe the liquidator asks for is not enabled as collateral


# -- v3.3 ---------------------------------------------------------------------------------------
def test_v33_close_factor_applies_to_the_whole_position():
    # 300,000 USDC + 260,000 USDT, HF 0.9857. v3.0: half of the USDC debt, 150,000.
    # v3.3 (L282-297): half of the total debt, 280,000 USD, and the USDC debt (300,000 USD)
    # exceeds it, so up to 280,000e8 * 1e6 // 1e8 = 280,000 USDC.
    user = looper(500_000 * E18, 300_000 * E6, 260_000 * E6)
    assert v30(user).debt_repaid == 150_000 * E6
    assert v33(user).debt_repaid == 280_000 * E6


def test_close_factor_at_exactly_hf_095_is_full_in_both():
    # Both sources test `healthFactor > CLOSE_FACTOR_HF_THRESHOLD` for the 50 % factor (v3.0
    # `_calculateDebt`; v3.3 L285), so at HF = 0.95 exactly the whole debt can go.
    # 95,000 USDT of collateral (e-mode LT 92 %) against 92,000 USDC: HF = 87,400 / 92,000 = 0.95.
    user = {
        T: UserReserve(scaled_a_token=95_000 * E6, use_as_collateral=True),
        C: UserReserve(scaled_variable_debt=92_000 * E6),
    }
    assert user_account_data(RESERVES, user, 0, 1, EMODE).health_factor == 95 * 10**16
    for liquidate in (liquidation_call_v30, liquidation_call_v33):
        liq = liquidate(RESERVES, user, T, C, ALL, 0, emode=1, category=EMODE)
        assert liq.max_liquidatable_debt == 92_000 * E6


def test_v33_small_positions_liquidate_in_full():
    # 1,583.33 sUSDe (1,899.99 USD) against 1,800 USDC: HF 0.971 > 0.95 but the collateral is
    # below 2,000 USD (L283), so 100 %: all 1,800 USDC, where v3.0 allows 900.
    user = looper(1_583_333333333333333333, 1_800 * E6)
    assert user_account_data(RESERVES, user, 0, 1, EMODE).total_collateral_base == 1_899_99999999
    assert v30(user).debt_repaid == 900 * E6
    liq = v33(user)
    assert liq.debt_repaid == 1_800 * E6 and liq.collateral_to_liquidator == 1_540_500000000000000000


def test_v33_dust_rule():
    # 1,000,000 sUSDe (1.2M USD) against 1,164,000 USDC: HF 0.9485, close factor 100 %.
    # Covering 1,163,500 leaves 500 USD of debt (< MIN_LEFTOVER_BASE = 1,000 USD) and
    # 1,000,000 - 1,163,500 / 1.2 * 1.03 = 1,329.17 sUSDe: '103'. v3.0 allowed it.
    user = looper(1_000_000 * E18, 1_164_000 * E6)
    assert v30(user, 1_163_500 * E6).debt_repaid == 1_163_500 * E6
    with pytest.raises(AaveRevert, match="103"):
        v33(user, 1_163_500 * E6)
    assert v33(user, 1_164_000 * E6).debt_repaid == 1_164_000 * E6  # clearing the debt is allowed
    assert v33(user, 500_000 * E6).debt_repaid == 500_000 * E6  # leaving >= 1,000 USD of each too


def test_v33_bad_debt_becomes_a_deficit():
    # As in v3.0's shortfall example, but the collateral taken (incl. fee) is all the user's
    # collateral in base currency (L356): the 600,000 USDC debt is burned in full and
    # 600,000 - 582,524.271845 = 17,475.728155 USDC becomes the USDC reserve's deficit.
    liq = v33(looper(500_000 * E18, 600_000 * E6))
    assert liq.debt_repaid == 582_524_271845
    assert liq.scaled_variable_debt_burned == 600_000 * E6
    assert liq.deficits == {C: 17_475_728155}
    # With a second debt, _burnBadDebt (L696-730) writes it off too.
    liq = v33(looper(500_000 * E18, 600_000 * E6, 1_000 * E6))
    assert liq.deficits == {C: 17_475_728155, T: 1_000 * E6}


def test_revision_mapping():
    assert all(rules_for_revision(r) is liquidation_call_v30 for r in range(1, 7))
    assert rules_for_revision(7) is rules_for_revision(8) is liquidation_call_v33
    with pytest.raises(ValueError, match="POOL_REVISION 9"):
        rules_for_revision(9)
    assert rules_for_revision(11, strict=False) is liquidation_call_v33
    user = looper(500_000 * E18, 300_000 * E6, 260_000 * E6)
    assert liquidation_call(7, RESERVES, user, S, C, ALL, 0, emode=1, category=EMODE).debt_repaid == 280_000 * E6


# -- invariants ---------------------------------------------------------------------------------
positions = st.tuples(
    st.integers(1, 10**9 * E18),  # sUSDe scaled
    st.integers(7_000, 10_500),  # target HF in bps, before interest: sets the USDC debt
    st.integers(RAY, 2 * RAY),  # liquidity index
    st.integers(RAY, 2 * RAY),  # borrow index
    st.integers(0, 5 * 10**26),  # borrow rate
    st.integers(0, YEAR),  # seconds since the reserves' last update
    st.integers(10**7, 3 * 10**8),  # sUSDe price
    st.integers(10_001, 11_500),  # bonus
    st.integers(0, 10_000),  # protocol fee
)


def _market(p):
    coll, hf_bps, li, bi, rate, dt, price, bonus, fee = p
    debt = max(coll * price // 10**20 * 9200 // hf_bps, 1)  # USDC units for that HF
    reserves = {
        S: Reserve(18, price, 9000, 9200, bonus, fee, 0, li, rate // 2, RAY, 0, 0),
        C: Reserve(6, 10**8, 7500, 7800, 10450, 0, 0, RAY, 0, bi, rate, 0),
    }
    return reserves, looper(coll, debt), dt


@given(positions, st.integers(1, 10**9))
def test_hf_falls_as_collateral_price_falls_or_debt_price_rises(p, move):
    reserves, user, dt = _market(p)
    hf = user_account_data(reserves, user, dt).health_factor
    cheaper = reserves | {S: replace(reserves[S], price=max(reserves[S].price - move, 1))}
    assert user_account_data(cheaper, user, dt).health_factor <= hf
    dearer = reserves | {C: replace(reserves[C], price=reserves[C].price + move)}
    assert user_account_data(dearer, user, dt).health_factor <= hf


@given(positions, st.integers(1, 10**12 * E6))
def test_liquidations_respect_balances_and_close_factors(p, cover):
    reserves, user, dt = _market(p)
    acct = user_account_data(reserves, user, dt)
    assume(acct.health_factor < 10**18)
    balance = a_token_balance(user[S].scaled_a_token, reserves[S], dt)
    debt = variable_debt_balance(user[C].scaled_variable_debt, reserves[C], dt)
    try:
        old = liquidation_call_v30(reserves, user, S, C, cover, dt)
    except AaveRevert as exc:  # only a zero burn can fail once HF < 1
        assert exc.code == "25"
        return
    assert old.collateral_to_liquidator + old.protocol_fee <= balance
    assert old.scaled_collateral_out + old.scaled_fee_out <= user[S].scaled_a_token
    close = 5000 if acct.health_factor > 95 * 10**16 else 10_000
    assert old.debt_repaid <= min(cover, percent_mul(debt, close))
    try:
        new = liquidation_call_v33(reserves, user, S, C, cover, dt)
    except AaveRevert as exc:
        assert exc.code in ("103", "25")
        return
    assert new.collateral_to_liquidator + new.protocol_fee <= balance and new.debt_repaid <= min(cover, debt)
    assert not new.deficits or new.collateral_disabled
    if acct.health_factor <= 95 * 10**16:  # same cap, same arithmetic
        assert (new.debt_repaid, new.collateral_to_liquidator, new.protocol_fee) == (
            old.debt_repaid, old.collateral_to_liquidator, old.protocol_fee,
        )  # fmt: skip
