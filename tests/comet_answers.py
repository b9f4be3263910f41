"""A Comet's answers encoded from its published ABI (compound-finance/comet d5a30b0), for the tests
of the Compound v3 indexer and of the solver on what it reads (no package ships Comet: no devnet)."""

from __future__ import annotations

from typing import NamedTuple

from encoded_chain import EncodedChain

__all__ = ["Asset", "answer_comet", "answer_account"]

_U = ["uint256"]


class Asset(NamedTuple):
    """`getAssetInfo` of one asset, with its feed's price and `totalsCollateral`."""

    asset: str
    feed: str
    scale: int
    borrow_cf: int
    liquidate_cf: int
    liquidation_factor: int
    supply_cap: int
    price: int
    total: int


def answer_comet(chain: EncodedChain, comet: str, base: str, base_feed: str, assets: list[Asset], *,
                 indices: tuple[int, int], totals: tuple[int, int], last_accrual: int, utilization: int,
                 rates: tuple[int, int], reserves: int, target_reserves: int, base_price: int = 10**8) -> None:  # fmt: skip
    """The market-wide reads: `indices` (supply, borrow) and `totals` (supply, borrow principal) as
    `totalsBasic` holds them, `rates` (supply, borrow) at `utilization`; store front at 50 %."""
    chain.answer(comet, "baseToken()", [], ["address"], [base])
    chain.answer(comet, "baseTokenPriceFeed()", [], ["address"], [base_feed])
    chain.answer(comet, "baseScale()", [], _U, [10**6])
    chain.answer(comet, "numAssets()", [], ["uint8"], [len(assets)])
    chain.answer(comet, "storeFrontPriceFactor()", [], _U, [5 * 10**17])
    chain.answer(comet, "targetReserves()", [], _U, [target_reserves])
    chain.answer(comet, "totalsBasic()", [], ["(uint64,uint64,uint64,uint64,uint104,uint104,uint40,uint8)"],
                 [(*indices, 0, 0, *totals, last_accrual, 0)])  # fmt: skip
    chain.answer(comet, "getUtilization()", [], _U, [utilization])
    chain.answer(comet, "getReserves()", [], ["int256"], [reserves])
    chain.answer(comet, "getPrice(address)", [base_feed], _U, [base_price])
    chain.answer(comet, "getSupplyRate(uint256)", [utilization], ["uint64"], [rates[0]])
    chain.answer(comet, "getBorrowRate(uint256)", [utilization], ["uint64"], [rates[1]])
    for i, a in enumerate(assets):
        chain.answer(comet, "getAssetInfo(uint8)", [i], ["(uint8,address,address,uint64,uint64,uint64,uint64,uint128)"],
                     [(i, a.asset, a.feed, a.scale, a.borrow_cf, a.liquidate_cf, a.liquidation_factor, a.supply_cap)])  # fmt: skip
        chain.answer(comet, "getPrice(address)", [a.feed], _U, [a.price])
        chain.answer(comet, "totalsCollateral(address)", [a.asset], ["(uint128,uint128)"], [(a.total, 0)])


def answer_account(chain: EncodedChain, comet: str, who: str, principal: int, supplied: int, borrowed: int,
                   collateral: dict[str, int]) -> None:  # fmt: skip
    """One account's reads: `userBasic` (its `assetsIn` bits for the assets it holds, in `collateral`'s
    order), `balanceOf`, `borrowBalanceOf` and `userCollateral` of every asset in `collateral`."""
    assets_in = sum(1 << i for i, amount in enumerate(collateral.values()) if amount)
    chain.answer(comet, "userBasic(address)", [who], ["(int104,uint64,uint64,uint16,uint8)"], [(principal, 0, 0, assets_in, 0)])
    chain.answer(comet, "balanceOf(address)", [who], _U, [supplied])
    chain.answer(comet, "borrowBalanceOf(address)", [who], _U, [borrowed])
    for asset, amount in collateral.items():
        chain.answer(comet, "userCollateral(address,address)", [who, asset], ["(uint128,uint128)"], [(amount, 0)])
