"""The Aave v3 and Uniswap v3 hazards of mainnet (the `mainnet-zoo` scenario, real `@aave/core-v3`
and `@uniswap/v3-core`), scanned end to end: every reserve, position and pool is read as plain web3
reads it, or is a named `missing` row, and what rests on an unreadable price is not computable.

The zoo: reserves frozen and paused after a borrower posted them, one in isolation mode with a debt
ceiling, one siloed, one with stable-rate debt; pools initialised at the two ends of the tick range
and one without liquidity; fee-on-transfer and rebasing tokens posted as collateral.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from devnet_helpers import erc20, published
from rich.console import Console
from scan_helpers import seeded_snapshot

from loopscan.chains import from_devnet_manifest
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
    assert snap.missing.empty  # nothing here is unreadable: every hazard is legal state

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


async def _frz_price_unreadable(net):
    """FRZ's feed replaced by code that reverts, then the zoo scanned at the next block."""
    net.node.rpc("anvil_setCode", [net.manifest["feeds"]["FRZ/USD"]["address"], "0x5f5ffd"])  # revert(0, 0)
    net.node.rpc("evm_mine", [])
    return analyse(await index_async(net.url, deployments=from_devnet_manifest(net.manifest)))


async def test_an_unreadable_reserve_price_is_one_named_miss_and_no_health(mainnet_zoo):
    result = await _frz_price_unreadable(mainnet_zoo)
    snap, frz = result.snapshot, _address(mainnet_zoo, "FRZ").lower()
    misses = [(m["kind"], m["address"], m["key"], m["method"], m["reason"]) for m in snap.missing.to_dict("records")]
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


SYMBOL = '=HYPERLINK("//e.vil")\x1b[2J[bold red]<script>alert(1)</script>'  # FRZ's, as the scenario sets it
NAME = "<img src=x onerror=alert(1)>\x1b]8;;https://e.vil\x07[link=https://e.vil]FRZ[/link]"


async def test_a_hostile_symbol_is_inert_in_the_terminal_the_csv_and_the_page(mainnet_zoo, tmp_path):
    """FRZ's symbol is read as set; then, with its feed down 30 % (its borrower liquidatable), it
    heads the headline table, 'Now, at the pin', the thresholds when liquidity leaves and the
    riskiest positions, escaped in each."""
    net = mainnet_zoo
    net.apply("frz-feed-down-30")
    result = analyse(await index_async(net.url, deployments=from_devnet_manifest(net.manifest)))
    frz = _address(net, "FRZ").lower()
    assert tuple(result.snapshot.tokens.set_index("address").loc[frz, ["symbol", "name"]]) == (SYMBOL, NAME)

    console = Console(record=True, width=250, force_terminal=True, color_system=None)
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
