"""Compound v3 indexer on answers encoded from Comet's published ABI (compound-finance/comet d5a30b0;
no package ships Comet, so no devnet): the market, its assets and prices, indices accrued to the
pin, accounts found from logs, and failed or inconsistent reads as `missing` rows, never zeros."""

from __future__ import annotations

import asyncio

from comet_answers import Asset, answer_account, answer_comet
from encoded_chain import EncodedChain

from loopscan.model import to_frame
from loopscan.protocols.compound_v3 import PROVEN_ON_NODE
from loopscan.protocols.compound_v3.indexer import CompoundV3Indexer
from loopscan.protocols.compound_v3.rules import absorb, is_liquidatable

COMET, USDC, WETH, WBTC = "0x" + "c3" * 20, "0x" + "a0" * 20, "0x" + "e0" * 20, "0x" + "b0" * 20
BASE_FEED, WETH_FEED, WBTC_FEED = "0x" + "f1" * 20, "0x" + "f2" * 20, "0x" + "f3" * 20
ALICE, BOB, CAROL, DAVE = ("0x" + c * 40 for c in "1234")
NOW, ELAPSED = 1_750_000_000, 1_000
U = 9 * 10**17  # utilization the Comet answers; the rates below are its answers at U
SUPPLY_RATE, BORROW_RATE = 5 * 10**11, 10**12  # per second: x 1000 s = 0.05 % and 0.1 %


def _comet(chain: EncodedChain, *, weth_price: int = 600 * 10**8) -> None:
    answer_comet(chain, COMET, USDC, BASE_FEED, [
        Asset(WETH, WETH_FEED, 10**18, 85 * 10**16, 90 * 10**16, 95 * 10**16, 10**6 * 10**18, weth_price, 3 * 10**18),
        Asset(WBTC, WBTC_FEED, 10**8, 70 * 10**16, 77 * 10**16, 90 * 10**16, 10**4 * 10**8, 60_000 * 10**8, 0),
    ], indices=(1_050_000_000_000_000, 1_100_000_000_000_000), totals=(2_000 * 10**6, 1_500 * 10**6), last_accrual=NOW - ELAPSED,
        utilization=U, rates=(SUPPLY_RATE, BORROW_RATE), reserves=-12_345, target_reserves=5_000_000 * 10**6)  # fmt: skip


def _log(event: str, *accounts: str, block: int = 50) -> dict:
    from eth_utils import keccak

    topics = ["0x" + keccak(text=event).hex()] + ["0x" + "00" * 12 + a[2:] for a in accounts]
    return {"address": COMET, "topics": topics, "data": "0x", "blockNumber": hex(block)}


def _account(chain: EncodedChain, who: str, principal: int, supplied: int, borrowed: int, weth: int = 0) -> None:
    answer_account(chain, COMET, who, principal, supplied, borrowed, {WETH: weth, WBTC: 0})


def _chain() -> EncodedChain:
    chain = EncodedChain(NOW)
    _comet(chain)
    zero = "0x" + "00" * 20
    chain.event_logs = [
        _log("SupplyCollateral(address,address,address,uint256)", ALICE, ALICE, WETH),
        _log("Withdraw(address,address,uint256)", ALICE, ALICE),
        _log("Supply(address,address,uint256)", BOB, BOB),
        _log("Transfer(address,address,uint256)", BOB, zero),  # a burn: no account
        _log("Supply(address,address,uint256)", CAROL, CAROL),
        _log("TransferCollateral(address,address,address,uint256)", ALICE, DAVE, WETH),
        _log("Supply(address,address,uint256)", "0x" + "99" * 20, "0x" + "99" * 20, block=101),  # after the pin
    ]
    # Indices at the pin, by hand: 1.1e15 + 1.1e15 x 1e12 x 1000 / 1e18 = 1.1011e15; 1.05e15 -> 1.050525e15.
    _account(chain, ALICE, -1_000 * 10**6, 0, 1_101_100_000, weth=2 * 10**18)  # 1000 x 1.1011
    _account(chain, BOB, 500 * 10**6, 525_262_500, 0)  # 500 x 1.050525
    _account(chain, CAROL, 10**6, 1_050_525, 0)
    chain.revert(COMET, "borrowBalanceOf(address)", CAROL, reason="execution reverted")
    _account(chain, DAVE, -(10**6), 0, 1_101_099, weth=10**18)  # the Comet disagrees with the accrual by 1 wei
    return chain


def test_market_accounts_and_indices_at_the_pin():
    chain = _chain()
    indexer = CompoundV3Indexer([(COMET, 10)])
    raws = asyncio.run(indexer.fetch(chain))
    (raw,) = raws
    assert (raw.state.base_supply_index, raw.state.base_borrow_index) == (1_050_525_000_000_000, 1_101_100_000_000_000)
    assert set(raw.accounts) == {ALICE, BOB}
    assert [(m["kind"], m["key"], m["method"]) for m in chain.missing] == [
        ("position", CAROL, "borrowBalanceOf(address)"),
        ("position", DAVE, "accruedInterestIndices"),
    ]
    assert chain.missing[1]["reason"] == ("principal -1000000 carries to -1101100 at the pin, the Comet answers "
                                          "balanceOf 0, borrowBalanceOf 1101099")  # fmt: skip
    rows = indexer.transform(raws, chain.block)
    for table in rows:
        to_frame(table, rows[table])
    (base,) = rows["markets"]
    params = {r["param"]: r["value"] for r in rows["market_params"]}
    assert (base["market_id"], base["total_supply_assets"], base["total_borrow_assets"], params["reserves"]) == (
        USDC,
        2_101_050_000,
        1_651_650_000,
        -12_345,
    )  # 2000 x 1.050525, 1500 x 1.1011
    assert (params["store_front_price_factor_wad"], params["target_reserves"], base["last_update"]) == (
        5 * 10**17,
        5 * 10**12,
        NOW - ELAPSED,
    )
    weth, wbtc = rows["market_collaterals"]
    # liquidateCF 0.9 is the threshold, borrowCF 0.85 the LTV; absorbed at liquidationFactor 0.95: 1/0.95 per unit of debt.
    assert (weth["collateral_token"], weth["liquidation_threshold_wad"], weth["max_ltv_wad"], weth["liquidation_incentive_wad"],
            weth["oracle"], weth["oracle_price_raw"], weth["price_quote"]) == (
        WETH, 9 * 10**17, 85 * 10**16, 10**36 // (95 * 10**16), WETH_FEED, 600 * 10**8, "numeraire")  # fmt: skip
    assert (params[f"liquidation_factor_wad:{WETH}"], params[f"total_collateral:{WETH}"]) == (95 * 10**16, 3 * 10**18)
    assert (wbtc["collateral_token"], params[f"supply_cap:{WBTC}"]) == (WBTC, 10**12)
    assert [(p["account"], p["market_id"], p["debt_amount"], p["supply_amount"]) for p in rows["positions"]] == [
        (ALICE, USDC, 1_101_100_000, 0), (BOB, USDC, 0, 525_262_500),
    ]  # fmt: skip
    assert [(c["account"], c["market_id"], c["collateral_token"], c["amount"]) for c in rows["position_collaterals"]] == [
        (ALICE, USDC, WETH, 2 * 10**18),
    ]
    assert [a["account"] for a in rows["accounts"]] == [ALICE, BOB]


def test_what_was_read_feeds_the_rules():
    """Alice's 2 WETH at 600 with liquidateCF 0.9 count 1 080 against 1 101.10 owed at the pin:
    liquidatable only because interest accrued (1 000 at the stored index would not be)."""
    raw = asyncio.run(CompoundV3Indexer([(COMET, 10)]).fetch(_chain()))[0]
    alice = raw.accounts[ALICE]
    assert is_liquidatable(raw.state, alice)
    out = absorb(raw.state, alice)  # 2 x 600 x 0.95 = 1 140 credited: 38.90 USDC left to Alice
    assert out.seized == {WETH: 2 * 10**18} and out.base_paid_out == 1_140 * 10**6
    assert out.new_principal == 38_900_000 * 10**15 // 1_050_525_000_000_000
    assert PROVEN_ON_NODE is False


def test_a_failed_market_read_leaves_the_comet_out():
    chain = _chain()
    chain.revert(COMET, "getPrice(address)", WETH_FEED, reason="execution reverted: BadPrice()")
    indexer = CompoundV3Indexer([(COMET, 10)])
    raws = asyncio.run(indexer.fetch(chain))
    assert raws == [] and not any(indexer.transform(raws, chain.block).values())
    assert [(m["kind"], m["key"], m["method"], m["reason"]) for m in chain.missing] == [
        ("market", WETH, "getPrice(address)", "execution reverted: BadPrice()")
    ]
    chain = _chain()
    chain.answer(COMET, "numAssets()", [], ["uint8"], [3])  # a third asset whose info reverts
    assert asyncio.run(indexer.fetch(chain)) == []
    assert [(m["method"], m["reason"]) for m in chain.missing] == [("getAssetInfo(2)", "reverted without data")]
