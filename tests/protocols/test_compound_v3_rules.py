"""Compound v3 rules: the worked cases of Comet's own tests (compound-finance/comet at
d5a30b0aaeff7755f1431e87f818990902237b03, `test/*.ts`, each cited), then cases worked by hand.

Comet's tests build markets with `makeProtocol` (test/helpers.ts): USDC base with 6 decimals at a
price of 1 (8-decimal feeds), indices at BASE_INDEX_SCALE, liquidateCollateralFactor,
liquidationFactor and storeFrontPriceFactor 1e18 unless set, `defaultAssets` COMP 175, WETH 3000,
WBTC 41000 (8 decimals). `exp(x, d)` keeps 6 decimal digits of x: factor(2/3) = 666666e12.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from loopscan.protocols.compound_v3.rules import (
    BASE_INDEX_SCALE,
    CometAccount,
    CometAsset,
    CometError,
    CometState,
    absorb,
    accrued_indices,
    buy_collateral,
    get_reserves,
    is_liquidatable,
    liquidity,
    present_value,
    principal_value,
    quote_collateral,
)

ONE = 10**18
COMP, WETH, WBTC = "comp", "weth", "wbtc"


def asset(
    name: str, price: float, decimals: int = 18, *, liquidate_cf: int = ONE, liquidation_factor: int = ONE
) -> CometAsset:
    return CometAsset(
        name, 10**decimals, ONE - 1, liquidate_cf, liquidation_factor, 100 * 10**decimals, int(price * 10**8)
    )


def market(*assets: CometAsset, supply: int = 0, borrow: int = 0, store_front: int = ONE, target: int = 0,
           totals: dict | None = None) -> CometState:  # fmt: skip
    return CometState(10**6, 10**8, BASE_INDEX_SCALE, BASE_INDEX_SCALE, supply, borrow, store_front, target, assets,
                      totals or {})  # fmt: skip


def default_assets(**kw) -> tuple[CometAsset, ...]:
    return asset(COMP, 175, **kw), asset(WETH, 3000, **kw), asset(WBTC, 41000, 8, **kw)


# -- test/is-liquidatable-test.ts --------------------------------------------------------------
def test_is_liquidatable_upstream_cases():
    one_comp = market(asset(COMP, 1))
    assert not is_liquidatable(one_comp, CometAccount(0))  # 'defaults to false'
    assert not is_liquidatable(one_comp, CometAccount(1_000_000))  # 'is false when user is owed principal'
    assert is_liquidatable(one_comp, CometAccount(-1_000_000))  # 'is true when user owes principal'
    # 'is false when collateral can cover the borrowed principal': $100,000 owed, $100,000 of COMP
    assert not is_liquidatable(one_comp, CometAccount(-100_000_000_000, {COMP: 100_000 * ONE}))
    # 'is true when the collateral cannot cover the borrowed principal': only $95,000 of COMP
    assert is_liquidatable(one_comp, CometAccount(-100_000_000_000, {COMP: 95_000 * ONE}))
    # 'takes liquidateCollateralFactor into account ...': $100,000 of COMP at 0.8
    lcf = market(CometAsset(COMP, ONE, 75 * 10**16, 8 * 10**17, ONE, 100 * ONE, 10**8))
    assert is_liquidatable(lcf, CometAccount(-100_000_000_000, {COMP: 100_000 * ONE}))
    # 'changes when the underlying asset price changes': COMP to 0.5
    assert is_liquidatable(market(asset(COMP, 0.5)), CometAccount(-100_000_000_000, {COMP: 100_000 * ONE}))


# -- test/absorb-test.ts -----------------------------------------------------------------------
def test_absorb_one_account_without_collateral():
    """'absorbs 1 account and pays out the absorber': reserves 100 -> 0, totals to 0."""
    state = market(*default_assets(), borrow=100)
    assert get_reserves(state, 0) == 100
    out = absorb(state, CometAccount(-100))
    assert (out.new_principal, out.base_paid_out, out.seized) == (0, 100, {})
    assert (out.state.total_supply_base, out.state.total_borrow_base) == (0, 0)
    assert get_reserves(out.state, 0) == 0


def test_absorb_reverts_when_total_borrows_underflow():
    """'reverts if total borrows underflows': a -100 principal with totalBorrowBase 0."""
    with pytest.raises(CometError, match="underflows"):
        absorb(market(*default_assets()), CometAccount(-100))


def test_absorb_three_accounts_whose_collateral_does_not_cover_their_debt():
    """'absorbs 3 accounts with collateral and pays out the absorber': every account's debt is
    written off whole (collateral worth far less), all collateral goes to the protocol."""
    comp_total = 10**12 + 10 * ONE + 10_000 * ONE
    state = market(*default_assets(), supply=4 * 10**21, borrow=3 * 10**21,
                   totals={COMP: comp_total, WETH: ONE + 50 * ONE, WBTC: 50 * 10**8})  # fmt: skip
    assert get_reserves(state, 0) == -(10**21)
    accounts = [
        CometAccount(-(10**6), {COMP: 10**12}),
        CometAccount(-(10**12), {COMP: 10 * ONE, WETH: ONE}),
        CometAccount(-(10**18), {COMP: 10_000 * ONE, WETH: 50 * ONE, WBTC: 50 * 10**8}),
    ]
    paid, values = [], []
    for account in accounts:
        out = absorb(state, account)
        assert out.new_principal == 0
        paid.append(out.base_paid_out)
        values.append(out.seized_value)
        state = out.state
    assert paid == [10**6, 10**12, 10**18]  # AbsorbDebt.basePaidOut
    # AbsorbCollateral.usdValue = mulPrice(amount, price, scale)
    assert values[0] == {COMP: 10**12 * 175 * 10**8 // ONE}
    assert values[2] == {COMP: 10_000 * 175 * 10**8, WETH: 50 * 3000 * 10**8, WBTC: 50 * 41000 * 10**8}
    assert state.total_supply_base == 4 * 10**21
    assert state.total_borrow_base == 3 * 10**21 - 10**18 - 10**12 - 10**6
    assert dict(state.totals_collateral) == {COMP: 0, WETH: 0, WBTC: 0}
    assert get_reserves(state, 0) == -(10**21) - 10**6 - 10**12 - 10**18


def test_absorb_an_account_whose_collateral_more_than_covers_its_debt():
    """'absorbs an account with more than enough collateral to still cover debt': liquidateCF 2/3
    makes it liquidatable, liquidationFactor 1 credits 44 175 USDC, leaving it 1 wei of supply."""
    assets = default_assets(liquidate_cf=666_666 * 10**12)
    starting_debt = 1 - (41_000 * 10**6 + 3_000 * 10**6 + 175 * 10**6)
    state = market(*assets, borrow=-starting_debt, totals={COMP: ONE, WETH: ONE, WBTC: 10**8})
    assert get_reserves(state, 0) == -starting_debt
    account = CometAccount(starting_debt, {COMP: ONE, WETH: ONE, WBTC: 10**8})
    assert is_liquidatable(state, account)
    out = absorb(state, account)
    assert out.new_principal == 1 and out.base_paid_out == 1 - starting_debt
    assert (out.state.total_supply_base, out.state.total_borrow_base) == (1, 0)
    assert get_reserves(out.state, 0) == -1


def test_absorb_refuses_a_healthy_account():
    """'reverts if an account is not underwater'."""
    with pytest.raises(CometError, match="NotLiquidatable"):
        absorb(market(*default_assets()), CometAccount(-100, {COMP: ONE}))


# -- test/quote-collateral-test.ts --------------------------------------------------------------
def test_quote_collateral_upstream_cases():
    def quote(price, lf, store_front, base_amount):
        return quote_collateral(
            market(asset(COMP, price, liquidation_factor=lf), store_front=store_front), COMP, base_amount
        )

    # 'quotes the collateral correctly for a positive base amount': 20 % off 200 -> 160; 200 USDC buys 1.25 COMP
    assert quote(200, 6 * 10**17, 5 * 10**17, 200 * 10**6) == 125 * 10**16
    assert quote(200, ONE, ONE, 0) == 0  # '... for a zero base amount'
    assert quote(200, 6 * 10**17, 0, 200 * 10**6) == ONE  # '... at market price when storeFrontPriceFactor is 0%'
    # 'properly calculates price without truncating integer during intermediate calculations'
    assert quote(9, 8 * 10**17, 5 * 10**17, 810 * 10**6) == 100 * ONE
    # 'does not overflow for large amounts': 1e15 USDC at 160 -> 6.25e12 COMP
    assert quote(200, 75 * 10**16, 8 * 10**17, 10**15 * 10**6) == 625 * 10**28


# -- test/buy-collateral-test.ts ---------------------------------------------------------------
def test_buy_collateral_upstream_cases():
    comp = asset(COMP, 1, liquidation_factor=8 * 10**17)
    # 'allows buying collateral when reserves < target reserves': 10 % off, 50 USDC -> 55.55... COMP
    assert (
        buy_collateral(market(comp, store_front=5 * 10**17, target=100), COMP, 50 * 10**6, 0, 60 * ONE)
        == 55_555_555_555_555_555_555
    )
    # 'allows buying collateral when reserves < 0 and target reserves is 0': reserves -100e6
    below = market(comp, supply=100 * 10**6, store_front=5 * 10**17, target=0)
    assert get_reserves(below, 0) == -100 * 10**6
    assert buy_collateral(below, COMP, 50 * 10**6, 0, 60 * ONE) == 55_555_555_555_555_555_555
    full_price = asset(COMP, 1)
    # 'can buy any excess collateral which does not belong to users': 60 held, 10 supplied by users
    assert (
        buy_collateral(
            market(full_price, store_front=5 * 10**17, target=100 * 10**12), COMP, 50 * 10**6, 0, 60 * ONE - 10 * ONE
        )
        == 50 * ONE
    )
    with pytest.raises(CometError, match="InsufficientReserves"):  # '... which belongs to users': 40 left
        buy_collateral(market(full_price, store_front=5 * 10**17, target=100 * 10**12), COMP, 50 * 10**6, 0, 40 * ONE)
    with pytest.raises(CometError, match="NotForSale"):  # 'reverts if reserves are above target reserves'
        buy_collateral(market(*default_assets()), COMP, 50 * 10**6, 100 * 10**6, 0)
    with pytest.raises(CometError, match="TooMuchSlippage"):  # 'reverts if slippage is too high'
        buy_collateral(market(full_price, target=100), COMP, 50 * 10**6, 0, 0, min_amount=100 * ONE)
    with pytest.raises(CometError, match="InsufficientReserves"):  # 'reverts if not enough collateral to buy'
        buy_collateral(market(full_price, target=100), COMP, 200 * 10**6, 0, 0)


# -- by hand -----------------------------------------------------------------------------------
def test_indices_round_as_the_contract_does():
    # supply rounds down, borrow principal rounds up against the borrower
    assert present_value(1000, 1_100_000_000_000_000, 10**15) == 1100
    assert present_value(-1000, 10**15, 1_234_567_000_000_000) == -1234  # 1234.567 down (in magnitude)
    assert principal_value(-1235, 10**15, 1_234_567_000_000_000) == -1001  # 1000.35 up
    assert principal_value(1100, 1_100_000_000_000_000, 10**15) == 1000


def test_liquidity_truncates_the_debt_toward_zero_and_weights_collateral():
    """1 wei of debt at base price 1.5 is 1.5e8 / 1e6 = 150 price units; Solidity's signed division
    truncates toward zero where Python's floors: -99 999 999 / 1e6 is -99, not -100."""
    state = CometState(
        10**6, 150_000_000, BASE_INDEX_SCALE, BASE_INDEX_SCALE, 0, 0, ONE, 0, (asset(COMP, 2, liquidate_cf=9 * 10**17),)
    )
    assert liquidity(state, CometAccount(-1)) == -150
    # 10 COMP at 2 with 0.9: 18 units of 1e8 against 15 USDC at 1.5 (22.5e8)
    assert liquidity(state, CometAccount(-15 * 10**6, {COMP: 10 * ONE})) == 18 * 10**8 - 2_250_000_000
    odd = CometState(10**6, 33_333_333, BASE_INDEX_SCALE, BASE_INDEX_SCALE, 0, 0, ONE, 0, ())
    assert liquidity(odd, CometAccount(-3)) == -99  # -3 x 33 333 333 / 1e6
    tiny = CometState(10**6, 999_999, BASE_INDEX_SCALE, BASE_INDEX_SCALE, 0, 0, ONE, 0, ())
    assert liquidity(tiny, CometAccount(-1)) == 0  # -999 999 / 1e6 truncates to 0
    assert not is_liquidatable(tiny, CometAccount(-1))  # so that 1 wei of debt is not liquidatable


def test_absorb_credits_collateral_at_the_liquidation_factor():
    """1 000 USDC owed, 1 WETH at 1 000 with liquidateCF 0.9 (liquidatable: 900 < 1 000) and
    liquidationFactor 0.95: 950 USDC credited leaves -50, floored at 0; the whole 1 000 USDC debt is
    paid out of reserves (basePaidOut), which hold 1 WETH in exchange."""
    weth = asset(WETH, 1000, liquidate_cf=9 * 10**17, liquidation_factor=95 * 10**16)
    state = market(weth, supply=2000 * 10**6, borrow=1000 * 10**6, totals={WETH: ONE})
    out = absorb(state, CometAccount(-1000 * 10**6, {WETH: ONE}))
    assert out.seized == {WETH: ONE} and out.seized_value == {WETH: 1000 * 10**8}
    assert out.base_paid_out == 1000 * 10**6 and out.new_principal == 0
    assert get_reserves(out.state, 1000 * 10**6) - get_reserves(state, 1000 * 10**6) == -1000 * 10**6
    # the protocol now sells that WETH at storeFront 1 x (1 - 0.95) = 5 % off: 950 USDC buys it back
    assert quote_collateral(out.state, WETH, 950 * 10**6) == ONE


def test_indices_accrue_linearly_per_second_between_accruals():
    """A 5 %/year borrow rate per second (5e16 / 31 536 000 = 1 585 489 599) for a day on an index
    of 1.1e15: 1 585 489 599 · 86 400 = 136 986 301 353 600; · 1.1e15 / 1e18 = 150 684 931 488.96, rounded down."""
    rate = 5 * 10**16 // 31_536_000
    assert rate == 1_585_489_599
    assert accrued_indices(10**15, 11 * 10**14, 0, rate, 86_400) == (10**15, 11 * 10**14 + 150_684_931_488)
    assert accrued_indices(10**15, 11 * 10**14, 7, rate, 0) == (10**15, 11 * 10**14)
    with pytest.raises(CometError, match="before lastAccrualTime"):
        accrued_indices(10**15, 10**15, 0, 0, -1)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 10**15),  # debt, base units
    st.lists(st.integers(0, 10**24), min_size=3, max_size=3),  # collateral balances
    st.lists(st.integers(1, 10**13), min_size=3, max_size=3),  # prices, 8 decimals
    st.integers(1, ONE),  # liquidation factor
)
def test_absorb_moves_exactly_the_paid_out_base_from_reserves(debt, balances, prices, lf):
    """At unit indices Comet's books are exact: reserves fall by basePaidOut to the wei, the account
    ends with max(0, collateral credit - debt) and holds no collateral."""
    names = (COMP, WETH, WBTC)
    assets = tuple(CometAsset(n, 10**18, ONE - 1, lf, lf, 0, p) for n, p in zip(names, prices, strict=True))
    account = CometAccount(-debt, dict(zip(names, balances, strict=True)))
    state = market(*assets, supply=10**16, borrow=10**15, totals=dict(account.collateral))
    assume(is_liquidatable(state, account))
    out = absorb(state, account)
    credit = sum(b * p // 10**18 * lf // ONE for b, p in zip(balances, prices, strict=True)) * 10**6 // 10**8
    assert out.new_principal == max(0, credit - debt)
    assert out.base_paid_out == out.new_principal + debt
    assert get_reserves(out.state, 0) - get_reserves(state, 0) == -out.base_paid_out
    assert all(v == 0 for v in out.state.totals_collateral.values())
