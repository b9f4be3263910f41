"""stream-2025's Gearbox credit accounts: seeded as the scenario says, read back by the indexer at
the seeded block (each account checked against the credit manager's own answer), and applied by
the solver (credit accounts, `loopscan.solver.accounts`)."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from devnet_helpers import contract
from eth_utils import to_checksum_address
from rich.console import Console

from loopscan.chains import from_devnet_manifest
from loopscan.graph.exposure import look_through
from loopscan.protocols import registry
from loopscan.protocols.gearbox import rules
from loopscan.report.json_report import report_dict
from loopscan.report.risk_report import print_risk_report
from loopscan.result import analyse
from loopscan.scanner import index_async

pytestmark = pytest.mark.devnet
M = 10**6
DEBT_COLLATERAL = 3


def _deployable() -> list[str]:
    """The solved protocols a devnet can deploy: one with no deployable package (`proven_on_node`
    False: Compound v3, Euler v2, Curve) is in no devnet manifest, and naming it would be an error."""
    return [n for n in registry.names() if registry.spec(n).solved and registry.spec(n).proven_on_node]


def _with_gearbox(net):
    """stream-2025 at its seeded block, read with every solved protocol it deploys (Gearbox among them)."""
    asked = [n for n in _deployable() if n not in ("aave_v3", "spark")]
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


def test_a_default_scan_reads_the_accounts_and_the_solver_applies_them(stream):
    """Gearbox is solved: a default scan reads it, no market is left out, and each account's health
    at the pin is the credit manager's own weighted value over its total debt (USD)."""
    m = stream.manifest
    snap = asyncio.run(index_async(stream.url, deployments=from_devnet_manifest(m), block=m["block"]))
    assert snap.missing.empty  # every account equals the credit manager's own calcDebtAndCollateral
    cm = m["contracts"]["gearbox_credit_manager"]
    manager = contract(stream, cm, "gearbox", "CreditManagerV3")
    rows = snap.positions[snap.positions["protocol"] == "gearbox"]
    health = {}
    for p in m["positions"]["gearbox"]:
        (debt,) = rows.loc[rows["account"] == p["credit_account"].lower(), "debt_amount"]
        d, _, _, _, interest, fees, debt_usd, _, _, twv_usd, *_ = manager.functions.calcDebtAndCollateral(
            to_checksum_address(p["credit_account"]), DEBT_COLLATERAL
        ).call(block_identifier=m["block"])
        assert debt == d + interest + fees >= int(p["debt"])
        health[p["credit_account"].lower()] = twv_usd / debt_usd
    # The pool lends: its expected liquidity is its one manager's market's one supply. It is the
    # vault its liquidity providers hold shares of (dUSDCV3), its backing all seen.
    pool = contract(stream, m["contracts"]["gearbox_pool"], "gearbox", "PoolV3")
    at = {"block_identifier": m["block"]}
    (supplied,) = rows.loc[rows["account"] == pool.address.lower(), "supply_amount"]
    assert supplied == pool.functions.expectedLiquidity().call(**at)
    (vault,) = snap.vaults[snap.vaults["vault"] == pool.address.lower()].itertuples()
    assert (vault.kind, vault.total_assets, vault.opaque_assets) == ("gearbox_pool", pool.functions.totalAssets().call(**at), 0)
    assert snap.tokens.set_index("address").loc[pool.address.lower(), "symbol"] == "dUSDCV3"
    # Its feeds are classified: xUSD's and USDC's are Chainlink-style, sdeUSD's its vault's rate × deUSD's feed.
    kinds = snap.market_collaterals[snap.market_collaterals["protocol_address"] == cm.lower()].set_index("collateral_token")["oracle_kind"]
    tokens = {t: m["tokens"][t]["address"].lower() for t in ("USDC", "xUSD", "sdeUSD")}
    assert {t: kinds[a] for t, a in tokens.items()} == {"USDC": "market", "xUSD": "market", "sdeUSD": "exchange_rate"}
    result = analyse(snap)
    assert result.solver.book.unsolved == {}
    assert report_dict(result)["unsolved_markets"] == []
    now = result.now[result.now["protocol"] == "gearbox"].set_index("account")["health"]
    assert set(now.index) == set(health)
    for account, h in health.items():
        assert now[account] == pytest.approx(h, rel=1e-7)  # the contract rounds each USD value to 1e-8
    out = io.StringIO()
    print_risk_report(Console(file=out, width=200), result)
    assert "not solved" not in out.getvalue()


def test_gearbox_prices_only_its_own_check_and_adds_its_accounts_to_the_thresholds(stream):
    """Gearbox's own USDC feed prices only its credit accounts' check: USDC stays the numeraire
    (taken into the starting prices, it once priced USDC through its pool against xUSD). xUSD's
    first liquidation is now the weakest Gearbox xUSD account's, the float rules' δ of its feed;
    what follows it (δ_c, δ_bd) is Morpho's, as without Gearbox."""
    asked = [n for n in _deployable() if n not in ("aave_v3", "spark", "gearbox")]
    deployments = from_devnet_manifest(stream.manifest)
    without = asyncio.run(index_async(stream.url, deployments=deployments, block=stream.manifest["block"], protocols=asked))
    snap = _with_gearbox(stream)
    plain, with_gearbox = analyse(without), analyse(snap)
    assert with_gearbox.solver.book.assumed_par == plain.solver.book.assumed_par == [stream.manifest["tokens"]["USDC"]["address"].lower()]
    xusd = stream.manifest["tokens"]["xUSD"]["address"].lower()
    deltas = [_float_first_liquidation(snap, stream, p.account) for p in snap.positions.itertuples()
              if p.protocol == "gearbox" and p.debt_amount and _held(snap, p.account) == [xusd]]  # fmt: skip
    assert len(deltas) == 2
    row = with_gearbox.thresholds.set_index(["token", "shock"]).loc[(xusd, "depeg")]
    before = plain.thresholds.set_index(["token", "shock"]).loc[(xusd, "depeg")]
    assert min(deltas) <= row["first_liquidation_frac"] <= min(deltas) + 1e-4 < before["first_liquidation_frac"]
    assert (row["cascade_frac"], row["bad_debt_frac"]) == (before["cascade_frac"], before["bad_debt_frac"])


def _held(snap, account: str) -> list[str]:
    return list(snap.position_collaterals.loc[snap.position_collaterals["account"] == account, "collateral_token"])


def _float_first_liquidation(snap, stream, account: str) -> float:
    """`rules.first_liquidation` of an account holding one token, from the snapshot's rows alone."""
    m = stream.manifest
    cm = m["contracts"]["gearbox_credit_manager"].lower()
    decimals = dict(zip(snap.tokens["address"], snap.tokens["decimals"], strict=True))
    coll = snap.market_collaterals[snap.market_collaterals["market_id"] == cm].set_index("collateral_token")
    params = dict(zip(snap.market_params["param"], snap.market_params["value"], strict=True))
    loan_price = snap.markets.set_index("market_id").loc[cm]
    usdc_usd = int(loan_price["loan_price_raw"]) / int(loan_price["loan_price_scale"])
    held = snap.position_collaterals[snap.position_collaterals["account"] == account]
    tokens = list(held["collateral_token"])
    values = np.array([int(a) / 10 ** int(decimals[t]) * int(coll.loc[t, "oracle_price_raw"]) / int(coll.loc[t, "oracle_price_scale"])
                       for t, a in zip(held["collateral_token"], held["amount"], strict=True)])  # fmt: skip
    lts = np.array([int(coll.loc[t, "liquidation_threshold_wad"]) / 1e18 for t in tokens])
    quotas = np.array([int(params[f"quota:{account}:{t}"]) / 10 ** int(decimals[m["tokens"]["USDC"]["address"].lower()]) * usdc_usd
                       for t in tokens])  # fmt: skip
    (debt,) = snap.positions.loc[snap.positions["account"] == account, "debt_amount"]
    return rules.first_liquidation(values, lts, quotas, np.ones(len(tokens), dtype=bool), 0.0, int(debt) / 10**6 * usdc_usd)


def test_the_float_rules_first_liquidation_brackets_the_credit_managers_own_check(stream):
    """From the snapshot's rows alone, `rules.first_liquidation` gives the fall of xUSD's feed at
    which each xUSD account becomes liquidatable; on chain, `isLiquidatable` turns true 1 bp past
    it and not 1 bp before."""
    snap, m = _with_gearbox(stream), stream.manifest
    xusd = m["tokens"]["xUSD"]["address"].lower()
    manager = contract(stream, m["contracts"]["gearbox_credit_manager"], "gearbox", "CreditManagerV3")
    feed = contract(stream, m["feeds"]["xUSD/USD"]["address"], "loopscan", "PriceFeed")
    answer = feed.functions.latestAnswer().call()
    keeper = stream.chain.account("feed-keeper")
    checked = 0
    for p in snap.positions[snap.positions["protocol"] == "gearbox"].itertuples():
        if _held(snap, p.account) != [xusd]:
            continue
        delta = _float_first_liquidation(snap, stream, p.account)
        assert 0.05 < delta < 0.2  # a 1.14 and a 1.10 health factor
        for side, liquidatable in ((-1, False), (1, True)):
            stream.chain.send(feed.functions.setAnswer(int(answer * (1 - delta - side * 1e-4))), keeper, "setAnswer")
            assert manager.functions.isLiquidatable(to_checksum_address(p.account), 10_000).call() is liquidatable
        checked += 1
    assert checked == 2


def test_a_credit_accounts_oracle_follows_prices_that_move_within_a_cascade(stream):
    """Losing all of xUSD's opaque backing writes off deUSD's loans against xUSD in round 1; sdeUSD's
    book (deUSD's) falls with it, and Gearbox's sdeUSD feed (the vault's rate × deUSD's price) follows
    it, so the sdeUSD credit account is liquidated in round 2. A leg's oracle answer kept from before
    the write-off (never forgotten) would leave it open."""
    m = stream.manifest
    result = analyse(_with_gearbox(stream))
    xusd = m["tokens"]["xUSD"]["address"].lower()
    (trader,) = [p["credit_account"].lower() for p in m["positions"]["gearbox"] if p["collateral"] == "sdeUSD"]
    done = result.solver.cascade("backing_loss", xusd, 1.0).liquidations
    assert done.loc[done["account"] == trader, "round"].tolist() == [2]
    sdeusd = m["tokens"]["sdeUSD"]["address"].lower()
    at_start = result.solver.cascade("backing_loss", xusd, 0.0)
    assert at_start.prices[sdeusd] == pytest.approx(result.solver.book.p0[sdeusd])  # no write-off, no move


def test_the_pools_look_through_weighs_each_account_by_its_debt(stream):
    """dUSDCV3 lends $10.1M of its $15M: its idle part rests on USDC; the lent part on each
    account's collateral, weighted by what the account owes (4M and 2.6M against xUSD, 3.5M
    against sdeUSD), each followed down to what it rests on."""
    m = stream.manifest
    snap = _with_gearbox(stream)
    exposure = look_through(snap)
    pool = m["contracts"]["gearbox_pool"].lower()
    on = {(r.vault, r.kind, r.target): r.fraction for r in exposure.itertuples()}
    xusd, sdeusd, usdc = (m["tokens"][t]["address"].lower() for t in ("xUSD", "sdeUSD", "USDC"))
    lent = 10.1 / 15
    opaque = lent * (6.6 / 10.1 * on[xusd, "opaque", xusd] + 3.5 / 10.1 * on[sdeusd, "opaque", xusd])
    assert on[pool, "opaque", xusd] == pytest.approx(opaque, rel=1e-9)
    assert on[pool, "base", usdc] == pytest.approx(1 - opaque, rel=1e-9)
    assert not [k for k in on if k[0] == pool and k[1] == "unpriced"]
