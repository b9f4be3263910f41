"""Euler v2 indexer on answers encoded from the EVK's and EVC's published ABIs (euler-vault-kit
5b98b42, ethereum-vault-connector 34bb788; no package ships them, so no devnet): vaults from the
factory's logs, LTV lists with a ramp at the pin, borrowers and a sub-account from `Borrow` logs,
every account's values recomputed by the rules and compared with the vault's own, and failed or
inconsistent reads as `missing` rows, never zeros."""

from __future__ import annotations

import asyncio

from encoded_chain import EncodedChain
from eth_abi import encode
from eth_utils import keccak
from euler_answers import answer_borrower, answer_vault

from loopscan.model import to_frame
from loopscan.protocols.euler_v2 import PROVEN_ON_NODE
from loopscan.protocols.euler_v2.indexer import EulerV2Indexer
from loopscan.protocols.euler_v2.rules import max_liquidation, sub_account

EVC, FACTORY, ROUTER, USD = "0x" + "ec" * 20, "0x" + "fa" * 20, "0x" + "0e" * 20, "0x" + "00" * 19 + "48"
V_USDC, V_WSTETH, V_SUSDE, NOT_A_VAULT, OTHER = ("0x" + c * 40 for c in "abcde")
USDC, WSTETH, SUSDE = "0x" + "a0" * 20, "0x" + "7f" * 20, "0x" + "9d" * 20
ALICE, BOB, CAROL, DAVE, ERIN = ("0x" + c * 19 + "00" for c in ("11", "22", "33", "44", "55"))
ALICE_1 = sub_account(ALICE, 1)
NOW, W = 1_750_000_000, 10**18


def _log(address: str, event: str, topic: str, block: int = 50, data: bytes = b"") -> dict:
    return {"address": address, "topics": ["0x" + keccak(text=event).hex(), "0x" + "00" * 12 + topic[2:]],
            "data": "0x" + data.hex(), "blockNumber": hex(block)}  # fmt: skip


def _vault(chain: EncodedChain, vault: str, asset: str, ltvs: dict[str, tuple]) -> None:
    answer_vault(chain, vault, asset, ltvs, router=ROUTER, unit=USD)


def _borrower(chain, who, debt, collaterals, values, liability_value, controllers=(V_USDC,)) -> None:  # noqa: ANN001
    answer_borrower(chain, (EVC, V_USDC, ROUTER, USD, USDC), who, debt, collaterals, values, liability_value, controllers)


def _chain() -> EncodedChain:
    chain = EncodedChain(NOW)
    chain.event_logs = [
        _log(FACTORY, "ProxyCreated(address,bool,address,bytes)", v, block=10, data=encode(["bool", "address", "bytes"], [True, OTHER, b""]))
        for v in (V_USDC, V_WSTETH, NOT_A_VAULT)
    ] + [_log(V_USDC, "Borrow(address,uint256)", a, data=encode(["uint256"], [1])) for a in (ALICE, ALICE_1, BOB, CAROL, DAVE, ERIN)]  # fmt: skip
    # USDC vault: wstETH at 0.8e4 flat; sUSDe ramping its liquidation LTV from 0.8e4 down to 0.6e4 over
    # 200 s, 100 s left at the pin: 6000 + 2000 x 100 / 200 = 7000.
    _vault(chain, V_USDC, USDC, {V_WSTETH: (7_500, 8_000, 0, 1, 0), V_SUSDE: (5_000, 6_000, 8_000, NOW + 100, 200)})
    _vault(chain, V_WSTETH, WSTETH, {})
    # Alice: 2 wstETH shares quoted 6 000 USD, x 0.8 = 4 800 against 1 000 USDC owed
    _borrower(chain, ALICE, 1_000 * 10**6, [(V_WSTETH, 2 * W, 6_000 * W)], [4_800 * W], 1_000 * W)
    # her sub-account 1: 1 000 sUSDe shares quoted 1 000 USD, x 0.7 (mid-ramp) = 700 against 750 owed
    _borrower(chain, ALICE_1, 750 * 10**6, [(V_SUSDE, 1_000 * W, 1_000 * W)], [700 * W], 750 * W)
    _borrower(chain, BOB, 0, [], [], 0)  # repaid: no position
    _borrower(chain, CAROL, 5 * 10**6, [], [], 5 * W, controllers=(OTHER,))  # now borrows elsewhere
    # Dave's vault answer uses the ramp's target (0.6) where the pin is mid-ramp (0.7): inconsistent
    _borrower(chain, DAVE, 100 * 10**6, [(V_SUSDE, 200 * W, 200 * W)], [120 * W], 100 * W)
    _borrower(chain, ERIN, 100 * 10**6, [(V_WSTETH, W, 3_000 * W)], [2_400 * W], 100 * W)
    chain.revert(
        ROUTER, "getQuote(uint256,address,address)", W, V_WSTETH, USD, reason="execution reverted: PriceOracle_TooStale"
    )
    return chain


def test_vaults_ltvs_borrowers_and_sub_accounts_at_the_pin():
    chain = _chain()
    indexer = EulerV2Indexer(EVC, [(FACTORY, 5)])
    raw = asyncio.run(indexer.fetch(chain))
    assert list(raw.vaults) == [V_USDC, V_WSTETH]
    assert [(a.account, a.debt, a.liability_value) for a in raw.accounts] == [
        (ALICE, 1_000 * 10**6, 1_000 * W), (ALICE_1, 750 * 10**6, 750 * W),
    ]  # fmt: skip
    assert [(m["kind"], m["address"], m["key"], m["method"]) for m in chain.missing] == [
        ("market", NOT_A_VAULT, None, "asset()"),
        ("position", V_USDC, DAVE, "accountLiquidityFull(address,bool)"),
        ("position", V_USDC, ERIN, "getQuote(uint256,address,address)"),
    ]  # fmt: skip
    assert chain.missing[1]["reason"] == (
        f"the vault answers [{120 * W}] against {100 * W}, the rules give [{140 * W}] against {100 * W}"
    )
    rows = indexer.transform(raw, chain.block)
    for table in rows:
        to_frame(table, rows[table])
    usdc = [m for m in rows["markets"] if m["protocol_address"] == V_USDC]
    assert [(m["market_id"], m["loan_token"], m["total_supply_assets"], m["total_borrow_assets"]) for m in usdc] == [
        (V_USDC, USDC, 9_000_000 * 10**6, 6_000_000 * 10**6)
    ]
    accepted = [(c["collateral_token"], c["max_ltv_wad"], c["liquidation_threshold_wad"])
                for c in rows["market_collaterals"] if c["protocol_address"] == V_USDC]  # fmt: skip
    assert accepted == [
        (V_WSTETH, 75 * 10**16, 80 * 10**16),
        (V_SUSDE, 50 * 10**16, 70 * 10**16),  # the liquidation LTV at the pin, mid-ramp
    ]  # fmt: skip
    # Prices in USDC units per share unit, from the quotes over the debt's quote: wstETH 6 000 / 2 (Alice's),
    # sUSDe 1 000 / 1 000 (her sub-account's); the unit of account (USD, 18 decimals) cancels.
    prices = {c["collateral_token"]: (c["oracle_price_raw"], c["oracle_price_scale"], c["price_quote"])
              for c in rows["market_collaterals"] if c["protocol_address"] == V_USDC}  # fmt: skip
    assert prices == {V_WSTETH: (6_000 * W * 1_000 * 10**6, 2 * W * 1_000 * W, "loan"),
                      V_SUSDE: (1_000 * W * 750 * 10**6, 1_000 * W * 750 * W, "loan")}  # fmt: skip
    assert [(p["account"], p["market_id"], p["debt_amount"], p["supply_amount"]) for p in rows["positions"]] == [
        (V_USDC, V_USDC, 0, 9_000_000 * 10**6), (V_WSTETH, V_WSTETH, 0, 9_000_000 * 10**6),  # each vault lends
        (ALICE, V_USDC, 1_000 * 10**6, 0), (ALICE_1, V_USDC, 750 * 10**6, 0),
    ]  # fmt: skip
    assert [(c["account"], c["market_id"], c["collateral_token"], c["amount"]) for c in rows["position_collaterals"]] == [
        (ALICE, V_USDC, V_WSTETH, 2 * W), (ALICE_1, V_USDC, V_SUSDE, 1_000 * W),
    ]  # fmt: skip


def test_what_was_read_feeds_the_liquidation_rules():
    """The sub-account is below water at the pin (700 < 750): health 0.9333..., inside the 15 % cap;
    750 / 0.9333... = 803.57... of sUSDe value repays all 750 USDC."""
    raw = asyncio.run(EulerV2Indexer(EVC, [(FACTORY, 5)]).fetch(_chain()))
    sub = raw.accounts[1]
    vault = raw.vaults[V_USDC]
    most = max_liquidation(
        sub.collaterals, V_SUSDE, sub.debt, sub.liability_value, vault.max_liquidation_discount, raw.timestamp
    )
    df = 700 * W * W // (750 * W)
    assert most.discount_factor == df == 933_333_333_333_333_333
    assert (most.repay, most.yield_balance) == (750 * 10**6, 750 * W * W // df * 1_000 * W // (1_000 * W))
    assert max_liquidation(raw.accounts[0].collaterals, V_WSTETH, 10**9, 1_000 * W, 1_500, NOW)[:2] == (0, 0)  # healthy
    assert PROVEN_ON_NODE is False


def test_a_hole_in_an_ltv_list_leaves_the_vault_out():
    chain = _chain()
    chain.revert(V_USDC, "LTVFull(address)", V_SUSDE, reason="execution reverted")
    raw = asyncio.run(EulerV2Indexer(EVC, [(FACTORY, 5)]).fetch(chain))
    assert list(raw.vaults) == [V_WSTETH] and raw.accounts == []
    assert ("market", V_USDC, V_SUSDE, "LTVFull(address)") in [
        (m["kind"], m["address"], m["key"], m["method"]) for m in chain.missing
    ]
