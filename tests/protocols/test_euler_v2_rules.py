"""Euler v2 rules: the worked cases of the EVK's own tests (euler-xyz/euler-vault-kit at
5b98b42048ba11ae82fb62dfec06d1010c8e41e6, `test/unit/evault/modules/Liquidation/{basic,full}.t.sol`,
each cited), computed to the wei by hand from the contract's integer steps, then cases by hand.

The EVK tests price with `MockPriceOracle` (a quote is amount × price / 1e18, vault shares 1:1 with
assets there) and `EVaultTestBase` sets maxLiquidationDiscount to 0.2e4 (20 %).
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from loopscan.protocols.euler_v2 import PROVEN_ON_NODE
from loopscan.protocols.euler_v2.rules import (
    Collateral,
    EulerError,
    LTVConfig,
    account_liquidity,
    have_common_owner,
    liquidate,
    max_liquidation,
    socialized_debt,
    sub_account,
)

W = 10**18
T = 1_000_000  # any timestamp after the LTVs were set
E_TST2, E_TST3 = "0x" + "e2" * 20, "0x" + "e3" * 20


def flat(ltv: int) -> LTVConfig:
    """`setLTV(collateral, ltv, ltv, 0)` at time 0: no ramp, target reached at once."""
    return LTVConfig(ltv, ltv, 0, 1, 0)


# -- basic.t.sol: 10 eTST2 (0.9e4 LTV) against 5 TST borrowed, TST at 1 -------------------------
def _basic(price: int) -> list[Collateral]:
    return [Collateral(E_TST2, 10 * W, 10 * W * price // W, flat(9_000))]


def test_basic_liquidation_all_collateral():
    """`test_basicLiquidation_all_collateral`: healthy at 1 (9 > 5); at 0.5 the health score is
    4.5 / 5 = 0.9, all 5 of collateral value is worth only 4.5 of debt: repay 4.5 TST, seize all
    10 shares, and the 0.5 TST left is socialised (`debtOf(borrower) == 0`)."""
    assert max_liquidation(_basic(W), E_TST2, 5 * W, 5 * W, 2_000, T)[:2] == (0, 0)
    most = max_liquidation(_basic(5 * 10**17), E_TST2, 5 * W, 5 * W, 2_000, T)
    assert (most.repay, most.yield_balance, most.discount_factor) == (45 * 10**17, 10 * W, 9 * 10**17)
    assert socialized_debt(5 * W, most.repay, 5 * W, [(True, 10 * W - most.yield_balance)]) == 5 * 10**17


def test_liquidation_refuses_too_much_repay_or_too_little_yield():
    """`test_liquidation_gt_maxRepay` (E_ExcessiveRepayAmount) and `test_liquidation_minYeild_gt_yield` (E_MinYield)."""
    most = max_liquidation(_basic(5 * 10**17), E_TST2, 5 * W, 5 * W, 2_000, T)
    with pytest.raises(EulerError, match="E_ExcessiveRepayAmount"):
        liquidate(most, most.repay * 2)
    with pytest.raises(EulerError, match="E_MinYield"):
        liquidate(most, most.repay, most.yield_balance * 2)


def test_worthless_collateral_is_claimed_without_repay():
    """`test_basicLiquidation_worthless_collateral`: price 0, maxRepay 0, all 10 shares to the
    liquidator, and the whole 5 TST debt socialised."""
    most = max_liquidation(_basic(0), E_TST2, 5 * W, 5 * W, 2_000, T)
    assert (most.repay, most.yield_balance) == (0, 10 * W)
    assert socialized_debt(5 * W, 0, 5 * W, [(True, 0)]) == 5 * W


# -- full.t.sol: 100 eTST2 at 0.4 (0.3e4 LTV) against 5 TST borrowed ------------------------------
def _full(ltv: LTVConfig | None = None) -> list[Collateral]:
    # eTST3 is enabled with no deposit: it counts for nothing
    return [Collateral(E_TST2, 100 * W, 40 * W, ltv or flat(3_000)), Collateral(E_TST3, 0, 0, flat(9_500))]


def test_basic_full_liquidation():
    """`test_basicFullLiquidation`: collateral 100 × 0.4 × 0.3 = 12, TST at 2.2 -> 11 owed (health
    1.09); at 2.5 -> 12.5 owed, health 12 / 12.5 = 0.96 = the discount factor. Repay all 5 TST
    (`debtOf == maxRepay`), seize 12.5 / 0.96 = 13.0208333... of value = 32.55... shares."""
    assert account_liquidity(_full(), 11 * W, T, liquidation=False) == (12 * W, 11 * W)
    most = max_liquidation(_full(), E_TST2, 5 * W, 125 * 10**17, 2_000, T)
    assert most.discount_factor == 96 * 10**16
    assert (most.repay, most.yield_balance) == (
        5 * W,
        32_552_083_333_333_333_332,
    )  # 13 020 833 333 333 333 333 x 100 / 40
    assert liquidate(most, 0) == (0, 0, most.discount_factor)  # 'If repay amount is 0, it's a no-op'


def test_partial_liquidation():
    """`test_partialLiquidation`: a quarter of maxRepay seizes `partialRepay * maxYield / maxRepay`."""
    most = max_liquidation(_full(), E_TST2, 5 * W, 125 * 10**17, 2_000, T)
    part = liquidate(most, most.repay // 4)
    assert (part.repay, part.yield_balance) == (125 * 10**16, 125 * 10**16 * 32_552_083_333_333_333_332 // (5 * W))


def test_liquidation_with_custom_max_discount():
    """`test_liquidationWithCustomMaxDiscount`: TST at 2.8 -> 14 owed, health 12 / 14 = 0.857...,
    floored at 0.89 by an 11 % cap (0.99 by a 1 % cap); the whole 5 TST is repaid either way."""
    most = max_liquidation(_full(), E_TST2, 5 * W, 14 * W, 1_100, T)
    assert most.discount_factor == 89 * 10**16
    assert (most.repay, most.yield_balance) == (5 * W, 39_325_842_696_629_213_482)  # 14 / 0.89 = 15.7303... of value
    one_pct = max_liquidation(_full(), E_TST2, 5 * W, 14 * W, 100, T)
    assert one_pct.discount_factor == 99 * 10**16 and one_pct.repay == 5 * W
    assert one_pct.yield_balance == 14 * W * W // (99 * 10**16) * 100 * W // (40 * W)


def test_ltv_ramping():
    """`test_ltvRamping`: setLTV(eTST2, 0.15e4, 0.15e4, 100) at t0 ramps the liquidation LTV from
    0.3e4 to 0.15e4 over 100 s while the borrow LTV halves at once. Liquidation LTV 2850 at +10 s
    (health 1.036), 2775 at +15 (1.009), 2745 at +17 (0.998: liquidatable), 2730 at +18."""
    t0 = 5_000
    ramp = LTVConfig(1_500, 1_500, 3_000, t0 + 100, 100)
    assert [ramp.ltv(t0 + s, True) for s in (0, 10, 15, 17, 18, 100, 500)] == [
        3_000,
        2_850,
        2_775,
        2_745,
        2_730,
        1_500,
        1_500,
    ]
    assert ramp.ltv(t0, False) == 1_500
    assert account_liquidity(_full(ramp), 11 * W, t0, liquidation=False)[0] == 6 * W  # borrow side halved at once
    for s in (0, 10, 15):
        assert max_liquidation(_full(ramp), E_TST2, 5 * W, 11 * W, 2_000, t0 + s)[:2] == (0, 0)
    most = max_liquidation(_full(ramp), E_TST2, 5 * W, 11 * W, 2_000, t0 + 17)
    # 40 x 0.2745 = 10.98 against 11: df = 998 181 818 181 818 181; 11 / df = 11.020036429872495455 of value
    assert most.discount_factor == 998_181_818_181_818_181
    assert (most.repay, most.yield_balance) == (5 * W, 27_550_091_074_681_238_637)


# -- by hand -----------------------------------------------------------------------------------
def test_collateral_too_small_for_the_debt_caps_the_repay():
    """Two collaterals, the seized one worth 3 (LTV 0.8), the other 10 (LTV 0.8) against 12 owed:
    health (2.4 + 8) / 12 = 0.8666..., so 3 of collateral repays only 3 x 0.8666... = 2.6 of debt."""
    a, b = "0x" + "aa" * 20, "0x" + "bb" * 20
    cols = [Collateral(a, 3 * W, 3 * W, flat(8_000)), Collateral(b, 10 * W, 10 * W, flat(8_000))]
    most = max_liquidation(cols, a, 12 * W, 12 * W, 2_000, T)
    df = 104 * 10**17 * W // (12 * W)
    assert most.discount_factor == df == 866_666_666_666_666_666
    assert (most.repay, most.yield_balance) == (3 * W * df // W, 3 * W)
    # the other collateral is left: no socialisation
    assert socialized_debt(12 * W, most.repay, 12 * W, [(True, 0), (True, 10 * W)]) == 0
    # a liability below MIN_SOCIALIZATION_LIABILITY_VALUE is never socialised, nor with the flag set
    assert socialized_debt(10**5, 0, 10**5, [(True, 0)]) == 0
    assert socialized_debt(5 * W, 0, 5 * W, [(True, 0)], dont_socialize=True) == 0
    with pytest.raises(EulerError, match="E_BadCollateral"):
        max_liquidation(cols, "0x" + "cc" * 20, 12 * W, 12 * W, 2_000, T)


def test_sub_accounts_share_an_owner():
    owner = "0x" + "12" * 19 + "00"
    assert sub_account(owner, 7) == "0x" + "12" * 19 + "07"
    assert sub_account("0x" + "12" * 19 + "05", 5) == owner
    assert have_common_owner(owner, sub_account(owner, 255))
    assert not have_common_owner(owner, "0x" + "12" * 18 + "1300")
    with pytest.raises(EulerError):
        sub_account(owner, 256)
    assert PROVEN_ON_NODE is False


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 10**30), st.integers(1, 10**30), st.integers(1, 10**30), st.integers(1, 9_999), st.integers(0, 9_999)
)
def test_a_max_liquidation_clears_the_debt_or_takes_all_of_the_collateral(balance, value, liability, ltv, cap):
    """With one collateral the discount is the health score (floored by the cap): the liquidator
    takes over all the debt, or, if the collateral is worth too little, all of the collateral."""
    cols = [Collateral(E_TST2, balance, value, flat(ltv))]
    assume(value * ltv // 10_000 <= liability)  # in violation
    most = max_liquidation(cols, E_TST2, liability, liability, cap, T)
    assert most.repay == liability or most.yield_balance == balance
    assert most.discount_factor >= W - W * cap // 10_000
    # the liquidator pays no more than the discounted value of what it receives, give or take the one
    # share the conversion to shares rounds away (rounding that favours the violator)
    assert most.repay * W <= (most.yield_balance + 1) * value * most.discount_factor // balance + W
