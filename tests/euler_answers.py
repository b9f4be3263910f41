"""An EVK vault's and the EVC's answers encoded from their published ABIs (euler-vault-kit 5b98b42,
ethereum-vault-connector 34bb788), for the tests of the Euler v2 indexer and of the solver on what
it reads (no package ships them: no devnet)."""

from __future__ import annotations

from collections.abc import Sequence

from encoded_chain import EncodedChain

__all__ = ["answer_vault", "answer_borrower"]


def answer_vault(chain: EncodedChain, vault: str, asset: str, ltvs: dict[str, tuple], *, router: str, unit: str,
                 max_discount: int = 1_500, config_flags: int = 0,
                 totals: tuple[int, int, int] = (9_000_000 * 10**6, 8_900_000 * 10**6, 6_000_000 * 10**6)) -> None:  # fmt: skip
    """The vault's getters (`totals`: totalAssets, totalSupply, totalBorrows) and `LTVFull` of each
    collateral (borrow LTV, liquidation LTV, initial liquidation LTV, target timestamp, ramp duration)."""
    for sig, kind, value in [
        ("asset()", "address", asset), ("oracle()", "address", router), ("unitOfAccount()", "address", unit),
        ("LTVList()", "address[]", list(ltvs)), ("maxLiquidationDiscount()", "uint16", max_discount),
        ("configFlags()", "uint32", config_flags), ("totalAssets()", "uint256", totals[0]),
        ("totalSupply()", "uint256", totals[1]), ("totalBorrows()", "uint256", totals[2]),
    ]:  # fmt: skip
        chain.answer(vault, sig, [], [kind], [value])
    for collateral, ltv in ltvs.items():
        chain.answer(vault, "LTVFull(address)", [collateral], ["uint16", "uint16", "uint16", "uint48", "uint32"], list(ltv))


def answer_borrower(chain: EncodedChain, where: tuple[str, str, str, str, str], who: str, debt: int,
                    collaterals: Sequence[tuple[str, int, int]], values: Sequence[int], liability_value: int,
                    controllers: Sequence[str] | None = None) -> None:  # fmt: skip
    """One account of vault `where` = (EVC, vault, router, unit of account, asset): `debtOf`, the EVC's
    controllers (the vault by default), `accountLiquidityFull` answering `values` against
    `liability_value`, and per collateral (vault, share balance, quote) its `balanceOf` and quote."""
    evc, vault, router, unit, asset = where
    chain.answer(vault, "debtOf(address)", [who], ["uint256"], [debt])
    chain.answer(evc, "getControllers(address)", [who], ["address[]"], [list(controllers or (vault,))])
    chain.answer(vault, "accountLiquidityFull(address,bool)", [who, True], ["address[]", "uint256[]", "uint256"],
                 [[c for c, _, _ in collaterals], list(values), liability_value])  # fmt: skip
    for c, balance, quote in collaterals:
        chain.answer(c, "balanceOf(address)", [who], ["uint256"], [balance])
        if balance:
            chain.answer(router, "getQuote(uint256,address,address)", [balance, c, unit], ["uint256"], [quote])
    chain.answer(router, "getQuote(uint256,address,address)", [debt, asset, unit], ["uint256"], [liability_value])
