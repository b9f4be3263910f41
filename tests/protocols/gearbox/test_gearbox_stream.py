"""stream-2025's Gearbox credit accounts: seeded as the scenario says, read back by the indexer at
the seeded block (each account checked against the credit manager's own answer), and listed by
the report and the JSON as a market the solver does not apply yet."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from devnet_helpers import contract
from eth_utils import to_checksum_address
from rich.console import Console

from loopscan.chains import from_devnet_manifest
from loopscan.protocols import registry
from loopscan.protocols.gearbox import rules
from loopscan.report.json_report import report_dict
from loopscan.report.risk_report import print_risk_report
from loopscan.result import analyse
from loopscan.scanner import index_async

pytestmark = pytest.mark.devnet
M = 10**6
DEBT_COLLATERAL = 3


def _with_gearbox(net):
    """stream-2025 at its seeded block, read with Gearbox asked for beside the default protocols."""
    asked = [n for n in registry.names() if registry.spec(n).solved and n not in ("aave_v3", "spark")] + ["gearbox"]
    return asyncio.run(
        index_async(
            net.url, deployments=from_devnet_manifest(net.manifest), block=net.manifest["block"], protocols=asked
        )
    )


def test_the_seeded_accounts_read_back_on_chain(stream):
    m, block = stream.manifest, stream.manifest["block"]
    cm = contract(stream, m["contracts"]["gearbox_credit_manager"], "gearbox", "CreditManagerV3")
    keeper = contract(stream, m["contracts"]["gearbox_quota_keeper"], "gearbox", "PoolQuotaKeeperV3")
    seeded = m["positions"]["gearbox"]
    assert [(p["owner_name"], p["collateral"], int(p["amount"]) // 10 ** m["tokens"][p["collateral"]]["decimals"],
             int(p["debt"]) // M) for p in seeded] == [
        ("gearbox-trader-1", "xUSD", 4_000_000, 4_000_000), ("gearbox-trader-2", "xUSD", 2_500_000, 2_600_000),
        ("gearbox-trader-3", "sdeUSD", 4_000_000, 3_500_000),
    ]  # fmt: skip
    assert sorted(cm.functions.creditAccounts().call(block_identifier=block)) == sorted(
        p["credit_account"] for p in seeded
    )
    for p in seeded:
        account, token = p["credit_account"], m["tokens"][p["collateral"]]["address"]
        debt, *_, borrower = cm.functions.creditAccountInfo(account).call(block_identifier=block)
        assert (debt, borrower) == (int(p["debt"]), p["owner"])
        assert contract(stream, token, "loopscan", "ScenarioToken").functions.balanceOf(account).call(
            block_identifier=block
        ) == int(p["amount"])
        assert keeper.functions.getQuota(account, token).call(block_identifier=block)[0] == int(p["quota"])
    # The quota covers the value at $1.27 (xUSD's feed) and 1.075 × $1 (sdeUSD's book value).
    assert [int(p["quota"]) // M for p in seeded] == [5_080_000, 3_175_000, 4_300_000]
    pool = contract(stream, m["contracts"]["gearbox_pool"], "gearbox", "PoolV3")
    assert pool.functions.creditManagerBorrowed(cm.address).call(block_identifier=block) == 10_100_000 * M


def test_a_scan_reads_the_accounts_and_the_report_lists_the_market_as_unsolved(stream):
    snap = _with_gearbox(stream)
    assert snap.missing.empty  # every account equals the credit manager's own calcDebtAndCollateral
    m = stream.manifest
    cm = m["contracts"]["gearbox_credit_manager"]
    manager = contract(stream, cm, "gearbox", "CreditManagerV3")
    rows = snap.positions[snap.positions["protocol"] == "gearbox"]
    for p in m["positions"]["gearbox"]:
        (debt,) = rows.loc[rows["account"] == p["credit_account"].lower(), "debt_amount"]
        d, _, _, _, interest, fees, *_ = manager.functions.calcDebtAndCollateral(
            to_checksum_address(p["credit_account"]), DEBT_COLLATERAL
        ).call(block_identifier=m["block"])
        assert debt == d + interest + fees >= int(p["debt"])
    result = analyse(snap)
    key = f"{cm.lower()}:{cm.lower()}"
    reason = "gearbox: the solver does not apply its rules yet; its positions are in no threshold"
    assert result.solver.book.unsolved == {key: reason}
    assert {"market": key, "reason": reason} in report_dict(result)["unsolved_markets"]
    out = io.StringIO()
    print_risk_report(Console(file=out, width=200), result)
    assert (
        f"not solved: 1 market(s) the solver cannot apply its rules to yet; their positions are in no threshold (e.g. {reason})"
        in out.getvalue()
    )



def test_reading_gearbox_leaves_every_solved_figure_as_it_was(stream):
    """A market the solver leaves out moves none of its figures. Gearbox prices its underlying
    (USDC) with its own feed; taken into the starting prices, that once took USDC out of the
    numeraire and priced it through its pool against xUSD: xUSD's bad debt at a 100 % backing
    loss read $40.6M instead of $104.0M."""
    asked = [n for n in registry.names() if registry.spec(n).solved and n not in ("aave_v3", "spark")]
    deployments = from_devnet_manifest(stream.manifest)
    without = asyncio.run(index_async(stream.url, deployments=deployments, block=stream.manifest["block"], protocols=asked))
    plain, with_gearbox = analyse(without), analyse(_with_gearbox(stream))
    assert with_gearbox.solver.book.assumed_par == plain.solver.book.assumed_par == [stream.manifest["tokens"]["USDC"]["address"].lower()]
    assert with_gearbox.thresholds.equals(plain.thresholds)
    xusd = plain.thresholds.set_index(["symbol", "shock"]).loc[("xUSD", "backing_loss")]
    assert round(xusd["bad_debt_at_100pct_usd"] / 1e6, 1) == 104.0

def test_the_float_rules_first_liquidation_brackets_the_credit_managers_own_check(stream):
    """From the snapshot's rows alone, `rules.first_liquidation` gives the fall of xUSD's feed at
    which each xUSD account becomes liquidatable; on chain, `isLiquidatable` turns true 1 bp past
    it and not 1 bp before."""
    snap, m = _with_gearbox(stream), stream.manifest
    cm = m["contracts"]["gearbox_credit_manager"].lower()
    xusd = m["tokens"]["xUSD"]["address"].lower()
    decimals = dict(zip(snap.tokens["address"], snap.tokens["decimals"], strict=True))
    coll = snap.market_collaterals[snap.market_collaterals["market_id"] == cm].set_index("collateral_token")
    params = dict(zip(snap.market_params["param"], snap.market_params["value"], strict=True))
    loan_price = snap.markets.set_index("market_id").loc[cm]
    usdc_usd = int(loan_price["loan_price_raw"]) / int(loan_price["loan_price_scale"])
    manager = contract(stream, m["contracts"]["gearbox_credit_manager"], "gearbox", "CreditManagerV3")
    feed = contract(stream, m["feeds"]["xUSD/USD"]["address"], "loopscan", "PriceFeed")
    answer = feed.functions.latestAnswer().call()
    keeper = stream.chain.account("feed-keeper")
    checked = 0
    for p in snap.positions[snap.positions["protocol"] == "gearbox"].itertuples():
        held = snap.position_collaterals[snap.position_collaterals["account"] == p.account]
        tokens = list(held["collateral_token"])
        if tokens != [xusd]:
            continue
        values = np.array([int(a) / 10 ** int(decimals[t]) * int(coll.loc[t, "oracle_price_raw"]) / int(coll.loc[t, "oracle_price_scale"])
                           for t, a in zip(held["collateral_token"], held["amount"], strict=True)])  # fmt: skip
        lts = np.array([int(coll.loc[t, "liquidation_threshold_wad"]) / 1e18 for t in tokens])
        quotas = np.array(
            [
                int(params[f"quota:{p.account}:{t}"])
                / 10 ** int(decimals[m["tokens"]["USDC"]["address"].lower()])
                * usdc_usd
                for t in tokens
            ]
        )
        debt = int(p.debt_amount) / 10**6 * usdc_usd
        delta = rules.first_liquidation(values, lts, quotas, np.array([True]), 0.0, debt)
        assert 0.05 < delta < 0.2  # a 1.14 and a 1.10 health factor
        for side, liquidatable in ((-1, False), (1, True)):
            stream.chain.send(feed.functions.setAnswer(int(answer * (1 - delta - side * 1e-4))), keeper, "setAnswer")
            assert manager.functions.isLiquidatable(to_checksum_address(p.account), 10_000).call() is liquidatable
        checked += 1
    assert checked == 2
