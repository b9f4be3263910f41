"""The Aave v3 and Uniswap v3 hazards of mainnet (the `mainnet-zoo` scenario, real `@aave/core-v3`
and `@uniswap/v3-core`), scanned end to end: every reserve, position and pool is read as plain web3
reads it, or is a named `missing` row, and what rests on an unreadable price is not computable.

The zoo: reserves frozen and paused after a borrower posted them, one in isolation mode with a debt
ceiling, one siloed, one with stable-rate debt; pools initialised at the two ends of the tick range
and one without liquidity; fee-on-transfer and rebasing tokens posted as collateral. Its Morpho
markets and odd tokens are tests/protocols/test_zoo.py's.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from devnet_helpers import aave_pool, erc20, fund, published
from rich.console import Console
from scan_helpers import seeded_snapshot
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from loopscan.chains import from_devnet_manifest
from loopscan.report import units
from loopscan.report.json_report import report_dict
from loopscan.report.risk_report import print_risk_report
from loopscan.result import analyse
from loopscan.scanner import index_async

pytestmark = pytest.mark.devnet

_AAVE = "@aave/core-v3/artifacts/contracts"
_POOL = "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool"
HAZARDS = {"FRZ": "frozen", "PAU": "paused", "ISO": "debt_ceiling_cents", "SIL": "siloed_borrowing",
           "STB": "stable_borrowing_enabled"}  # fmt: skip


def _address(net, token: str) -> str:
    return net.manifest["tokens"][token]["address"]


def _unreadable_elsewhere(net) -> set[str]:
    """What the zoo's Morpho markets and odd tokens hold unreadable (tests/protocols/test_zoo.py):
    the oracles that are code at fixed addresses, and the token whose `decimals()` reverts."""
    return {a.lower() for a in net.manifest["code"].values()} | {_address(net, "RDEC").lower()}


def _config_by_web3(net, token: str, block: int) -> dict[str, int]:
    """A reserve's switches as `AaveProtocolDataProvider` answers them (its own getters)."""
    dp = published(
        net, net.manifest["contracts"]["aave_protocol_data_provider"], f"{_AAVE}/misc/AaveProtocolDataProvider"
    )
    f, asset = dp.functions, _address(net, token)
    data = f.getReserveConfigurationData(asset).call(block_identifier=block)
    return {
        "ltv_bps": data[1], "liquidation_threshold_bps": data[2], "liquidation_bonus_bps": data[3],
        "borrowing_enabled": int(data[6]), "stable_borrowing_enabled": int(data[7]), "active": int(data[8]),
        "frozen": int(data[9]), "paused": int(f.getPaused(asset).call(block_identifier=block)),
        "siloed_borrowing": int(f.getSiloedBorrowing(asset).call(block_identifier=block)),
        "debt_ceiling_cents": f.getDebtCeiling(asset).call(block_identifier=block),
    }  # fmt: skip


async def test_every_zoo_reserve_position_and_pool_is_read_as_web3_reads_it(mainnet_zoo):
    net = mainnet_zoo
    block = net.manifest["block"]
    snap = await seeded_snapshot(net)
    # No Aave or Uniswap read fails: every hazard of theirs is legal state.
    assert set(snap.missing["address"]) <= _unreadable_elsewhere(net)

    params = snap.market_params.set_index(["market_id", "param"])["value"]
    for token in net.manifest["aave_reserves"]:
        asset = _address(net, token).lower()
        expected = _config_by_web3(net, token, block)
        assert {name: int(params[asset, name]) for name in expected} == expected, token
    flags = {t: int(params[_address(net, t).lower(), name]) for t, name in HAZARDS.items()}
    assert flags == {"FRZ": 1, "PAU": 1, "ISO": 100_000 * 100, "SIL": 1, "STB": 1}  # the scenario's settings

    # Each position's supply and debt (variable + stable) are the tokens' balances at the block.
    positions = snap.positions.set_index(["market_id", "account"])
    reserves = net.manifest["aave_reserves"]
    seen = 0
    for r in reserves.values():
        supplied, variable, stable = (erc20(net, r[k]) for k in ("a_token", "variable_debt_token", "stable_debt_token"))
        for account, row in positions.xs(r["asset"].lower(), level="market_id").iterrows():
            of = [t.functions.balanceOf(net.chain.w3.to_checksum_address(account)).call(block_identifier=block)
                  for t in (supplied, variable, stable)]  # fmt: skip
            assert (row["supply_amount"], row["debt_amount"]) == (of[0], of[1] + of[2])
            seen += 1
    assert seen == len(snap.positions) == 19

    # Fee-on-transfer and rebasing collateral: Aave credits what was supplied (the positions above),
    # the aToken holds less, and the snapshot shows both: 1 % burnt of 500,000 FOT, REB rebased -10 %.
    for token, supplied, held in (("FOT", 500_000, 495_000), ("REB", 1_000_000, 900_000)):
        asset, a_token = _address(net, token), reserves[token]["a_token"]
        cash = erc20(net, asset).functions.balanceOf(a_token).call(block_identifier=block)
        total = snap.markets.set_index("market_id").loc[asset.lower(), "total_supply_assets"]
        assert (int(params[asset.lower(), "underlying_held"]), cash, total) == (
            held * 10**18,
            held * 10**18,
            supplied * 10**18,
        )
    # STB's debt is all stable-rate (100,000 at the seeding block), and its total is the reserve's borrow.
    total = lambda key: erc20(net, reserves["STB"][key]).functions.totalSupply().call(block_identifier=block)  # noqa: E731
    assert total("variable_debt_token") == 0 and total("stable_debt_token") >= 100_000 * 10**18
    assert snap.markets.set_index("market_id").loc[_address(net, "STB").lower(), "total_borrow_assets"] == total(
        "stable_debt_token"
    )

    # Pools at the extreme ticks and without liquidity: slot0 and liquidity as the pool answers.
    pools = snap.pools.set_index("pool")
    for pid, p in net.manifest["uniswap_pools"].items():
        pool = published(net, p["address"], _POOL)
        slot0 = pool.functions.slot0().call(block_identifier=block)
        liquidity = pool.functions.liquidity().call(block_identifier=block)
        row = pools.loc[p["address"].lower()]
        assert (int(row["sqrt_price_x96"]), int(row["tick"]), int(row["liquidity"])) == (
            slot0[0],
            slot0[1],
            liquidity,
        ), pid
    ticks = {pid: int(pools.loc[p["address"].lower(), "tick"]) for pid, p in net.manifest["uniswap_pools"].items()}
    # 1e38 and 1e-38 of token_a in token_b: within 12,300 ticks of ±887272 (the sign follows the token order).
    assert min(abs(ticks["ISO/SIL-top"]), abs(ticks["FRZ/PAU-bottom"])) > 875_000
    assert all(int(pools.loc[p["address"].lower(), "liquidity"]) == 0
               for pid, p in net.manifest["uniswap_pools"].items() if pid != "WETH/USDC-5bp")  # fmt: skip

    result = analyse(snap)
    assert result.thresholds["not_computable"].isna().all()


async def _scan(net):
    """The zoo analysed at its latest block."""
    return analyse(await index_async(net.url, deployments=from_devnet_manifest(net.manifest)))


RESERVE_PAUSED = "29"  # Errors.RESERVE_PAUSED, required by ValidationLogic.validateLiquidationCall
REPORT_SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "scan-report.schema.json").read_text())


def _json_now(result) -> dict:
    """The JSON report's `now`, checked against its schema."""
    report = report_dict(result)
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    return report["now"]


async def test_a_paused_reserve_blocks_the_liquidation_its_borrower_health_calls_for(mainnet_zoo):
    """PAU's feed down 30 %: its borrower's health is 0.875, yet PAU is paused, so Aave refuses to
    liquidate and the solver says blocked. Unpaused, Aave liquidates it as the baseline cascade does."""
    net = mainnet_zoo
    net.apply("pau-feed-down-30")
    pau, usdc = _address(net, "PAU"), _address(net, "USDC")
    borrower = net.manifest["accounts"]["paused-borrower"]
    result = await _scan(net)
    row = result.now.set_index("account").loc[borrower.lower()]
    assert row["health"] == pytest.approx(0.875, rel=1e-6)  # 1M PAU x $0.70 x 75 % / $600k
    assert (row["liquidatable_now"], row["liquidation_blocked"], row["blocked_reserves"]) == (False, "paused", pau.lower())
    assert not [r for r in result.baseline.liquidation_rows if r[2] == borrower.lower()]
    assert result.thresholds["liquidatable_now"].sum() == 0  # nothing a liquidator may close
    (entry,) = [p for p in _json_now(result)["positions"] if p["account"] == borrower.lower()]
    assert (entry["liquidatable_now"], entry["liquidation_blocked"], entry["blocked_reserves"]) == (False, "paused", [pau.lower()])
    console = Console(record=True, width=250)
    print_risk_report(console, result)
    line = f"blocked: {units.account(borrower.lower())} (aave_v3) is below health 1 but cannot be liquidated: PAU paused"
    assert line in console.export_text()

    pool = aave_pool(net)
    liquidator = fund(net, "USDC", "liquidator", 10**12 * 10**6, pool.address)
    call = pool.functions.liquidationCall(pau, usdc, borrower, 2**256 - 1, False)
    with pytest.raises(ContractLogicError, match=RESERVE_PAUSED):
        call.call({"from": liquidator})

    net.apply("pau-unpaused")
    result = await _scan(net)
    row = result.now.set_index("account").loc[borrower.lower()]
    assert row["liquidatable_now"] and pd.isna(row["liquidation_blocked"]) and pd.isna(row["blocked_reserves"])
    (solver,) = [r for r in result.baseline.liquidation_rows if r[2] == borrower.lower()]
    receipt = net.chain.send(call, liquidator, "liquidationCall")
    (event,) = pool.events.LiquidationCall().process_receipt(receipt, errors=DISCARD)
    # HF below 0.95: all the debt, seizing debt x 1.05 / $0.70 of PAU; the solver's floats at the
    # pin, the contract one block of interest later.
    assert event.args.liquidatedCollateralAmount / 10**18 == pytest.approx(solver[3], rel=1e-6)
    assert event.args.debtToCover / 10**6 == pytest.approx(solver[4], rel=1e-6)
    assert solver[4] == pytest.approx(600_000, rel=1e-6) and solver[3] == pytest.approx(900_000, rel=1e-6)


def _shortfalls(result) -> dict[str, tuple[float, float]]:
    """markets_now's shortfall (tokens, USD) by reserve, where there is one."""
    m = result.markets_now
    return {r.loan: (r.shortfall, r.shortfall_usd) for r in m[m["shortfall"] > 0].itertuples()}


async def test_what_fee_on_transfer_and_rebasing_reserves_hold_short_is_a_shortfall_lenders_see(mainnet_zoo):
    """Supplied − borrowed − held, from the aToken's real balance: FOT burnt 1 % of 500,000, REB
    rebased to 0.9, then 0.8, then 1.1 (more than credited: no shortfall). Every other reserve: 0."""
    net = mainnet_zoo
    fot, reb = _address(net, "FOT").lower(), _address(net, "REB").lower()
    result = await _scan(net)
    assert _shortfalls(result) == {fot: (5_000.0, 5_000.0), reb: (100_000.0, 100_000.0)}
    assert (result.markets_now["shortfall"] == 0).sum() == len(result.markets_now) - 2  # read, and nothing short
    console = Console(record=True, width=250)
    print_risk_report(console, result)
    text = console.export_text()
    now = text[: text.index("New bad debt by lender")]  # the state at the pin, before the details
    assert "shortfall: REB (aave_v3) holds 100,000 tokens ($100.0k) less than it credits its lenders" in now
    assert "shortfall: FOT (aave_v3) holds 5,000 tokens ($5.0k) less than it credits its lenders" in now
    assert {(m["loan"], m["shortfall"], m["shortfall_usd"]) for m in _json_now(result)["shortfalls"]} == {
        (fot, 5_000.0, 5_000.0), (reb, 100_000.0, 100_000.0)
    }

    net.apply("reb-rebased-to-0.8")
    assert _shortfalls(await _scan(net))[reb] == (200_000.0, 200_000.0)
    net.apply("reb-rebased-to-1.1")
    assert reb not in _shortfalls(await _scan(net))


async def _frz_price_unreadable(net):
    """FRZ's feed replaced by code that reverts, then the zoo scanned at the next block."""
    net.node.rpc("anvil_setCode", [net.manifest["feeds"]["FRZ/USD"]["address"], "0x5f5ffd"])  # revert(0, 0)
    net.node.rpc("evm_mine", [])
    return await _scan(net)


async def test_an_unreadable_reserve_price_is_one_named_miss_and_no_health(mainnet_zoo):
    result = await _frz_price_unreadable(mainnet_zoo)
    snap, frz = result.snapshot, _address(mainnet_zoo, "FRZ").lower()
    misses = [(m["kind"], m["address"], m["key"], m["method"], m["reason"])
              for m in snap.missing.to_dict("records") if m["address"] not in _unreadable_elsewhere(mainnet_zoo)]  # fmt: skip
    oracle = mainnet_zoo.manifest["contracts"]["aave_oracle"].lower()
    assert misses == [("oracle", oracle, frz, "getAssetPrice(address)", "reverted without data")]
    assert pd.isna(snap.markets.set_index("market_id").loc[frz, "loan_price_raw"])  # not a zero
    now = result.now.set_index("collateral")
    assert now.loc[frz, "health"] != now.loc[frz, "health"]  # NaN: the frozen borrower's health is unknown
    others = now.drop(index=frz)
    assert others["health"].notna().all()


async def test_thresholds_that_rest_on_the_unreadable_price_are_not_computable(mainnet_zoo):
    result = await _frz_price_unreadable(mainnet_zoo)
    row = result.thresholds.set_index("token").loc[_address(mainnet_zoo, "FRZ").lower()]
    assert row["not_computable"] and "could not be read" in str(row["not_computable"])
    # The report prints it (its other rows' not_computable are NaN beside this text: no traceback).
    console = Console(record=True, width=250)
    print_risk_report(console, result)
    frz_row = next(line for line in console.export_text().splitlines() if "HYPERLINK" in line)
    assert frz_row.count("n/c") == 3  # δ₁, δ_c and δ_bd


SYMBOL = '=HYPERLINK("//e.vil")\x1b[2J[bold red]<script>alert(1)</script>'  # FRZ's, as the scenario sets it
NAME = "<img src=x onerror=alert(1)>\x1b]8;;https://e.vil\x07[link=https://e.vil]FRZ[/link]"


async def test_a_hostile_symbol_is_inert_in_the_terminal_the_csv_and_the_page(mainnet_zoo, tmp_path):
    """FRZ's symbol is read as set. Seeded, its borrower heads the riskiest positions (a 20 % depeg
    opens it); with FRZ's feed down 30 % the borrower is liquidatable, and FRZ heads the headline
    table, 'Now, at the pin' and the thresholds when liquidity leaves. Both reports print to one
    terminal, escaped in each table."""
    net = mainnet_zoo
    console = Console(record=True, width=250, force_terminal=True, color_system=None)
    print_risk_report(console, await _scan(net))  # no position is flagged now: its first 'Now' table is the next report's
    net.apply("frz-feed-down-30")
    result = await _scan(net)
    frz = _address(net, "FRZ").lower()
    assert tuple(result.snapshot.tokens.set_index("address").loc[frz, ["symbol", "name"]]) == (SYMBOL, NAME)
    print_risk_report(console, result)
    text = console.export_text()
    shown = '=HYPERLINK("//e.vil")\\x1b[2J[bold red]<script>alert(1)</script>'  # the escape as text, markup as typed
    assert "\x1b" not in text and "\x07" not in text
    for title in ("Where it breaks", "Now, at the pin", "Thresholds when liquidity leaves", "Riskiest positions"):
        section = text[text.index(title) :]
        section = section[: section.index("\u2514")]  # up to the table's bottom border
        assert shown in section, title

    folder = result.export(tmp_path / "csv", "csv")
    with (folder / "tokens.csv").open(encoding="utf-8-sig", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["address"] == frz)
    assert (row["symbol"], row["name"]) == ("'" + SYMBOL, NAME)  # a formula start is quoted, the rest kept as read
    for name in ("thresholds", "depth"):  # the derived tables that name tokens by symbol
        with (folder / f"{name}.csv").open(encoding="utf-8-sig", newline="") as f:
            cells = [c for r in csv.reader(f) for c in r]
        assert "'" + SYMBOL in cells and not [c for c in cells if c.startswith("=")], name

    page = result.export(tmp_path / "html", "html").read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<img src=x" not in page and "\x1b" not in page and "\x07" not in page
    # In the page's data: the escape as text, `<` as \u003c, cut to the label's length.
    assert '"label":"=HYPERLINK(\\"//e.vil\\")\\\\x1b[2J[bold red]\\u003cscript\\u003ea\\u2026"' in page
