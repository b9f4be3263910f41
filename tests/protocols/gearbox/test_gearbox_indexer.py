"""The `gearbox` indexer on the devnet: credit managers from the contracts register and their
accounts, read at a pin a month after opening (base and quota interest accrued), must give the
debt and weighted collateral the credit manager's own `calcDebtAndCollateral` answers, to the wei;
a price that cannot be read leaves a `missing` row naming the contract and method, never a zero."""

from __future__ import annotations

import asyncio

import pytest
from eth_utils import to_checksum_address
from gearbox_devnet import (
    ACCOUNT_DEBT,
    ACCOUNT_QUOTA,
    DEPOSIT,
    MIXED,
    SDEUSD_LT_BPS,
    XUSD_LT_BPS,
    GearboxNet,
    deployments,
    set_prices,
)

from loopscan.model.frames import to_frame, validate_frame
from loopscan.protocols.base import ScanContext
from loopscan.protocols.gearbox import rules
from loopscan.protocols.gearbox.indexer import DEBT_COLLATERAL, plan
from loopscan.protocols.holdings import complete_vaults, position_holdings
from loopscan.result import analyse
from loopscan.rpc import RpcClient
from loopscan.scanner import index

pytestmark = pytest.mark.devnet
WAD, MONTH = 10**18, 30 * 86400


def _read(net: GearboxNet):
    """The raw read and the context, at the devnet's latest block, as a scan reads it."""
    (ix,) = plan(deployments(net), "gearbox")

    async def run():
        async with RpcClient(net.chain.node.url) as client:
            pin = await client.pin(None)
            header = await client.get_block(pin)
            ctx = ScanContext(client, pin, int(header["timestamp"], 16), deployments(net))
            return ix, await ix.fetch(ctx), ctx

    return asyncio.run(run())


def _a_month_on(net: GearboxNet, prices: dict[str, int] | None = None) -> None:
    """A month of interest, with every feed re-posted in a new block (they go stale in two days)."""
    set_prices(net, prices or {}, net.chain.block()["timestamp"] + MONTH)


def test_every_account_equals_the_credit_managers_own_answer(gearbox_net):
    net, g = gearbox_net, gearbox_net.gearbox
    _a_month_on(net, {"xUSD": 97_000_000})
    ix, raw, ctx = _read(net)
    assert ctx.missing == []
    cm = g.credit_manager.address.lower()
    (m,) = raw.managers.values()
    assert (m.address, m.underlying, m.pool) == (cm, net.usdc.address.lower(), g.pool.address.lower())
    assert m.fees == (2_500, 150, 9_600, 100, 9_800)
    assert {t: c.lt_bps for t, c in m.tokens.items()} == {
        net.usdc.address.lower(): 10_000 - 400 - 150, net.xusd.address.lower(): XUSD_LT_BPS,
        net.sdeusd.address.lower(): SDEUSD_LT_BPS,
    }  # fmt: skip
    assert sorted(a.account for a in raw.accounts) == sorted([net.account.lower(), net.mixed_account.lower()])
    for acc in raw.accounts:
        cdd = g.credit_manager.functions.calcDebtAndCollateral(to_checksum_address(acc.account), DEBT_COLLATERAL).call(
            block_identifier=ctx.block
        )
        debt, _, _, _, interest, fees, debt_usd, _, value_usd, twv_usd = cdd[:10]
        assert interest > 0 and fees > 0  # a month of base and quota interest
        assert (acc.debt, acc.accrued_interest, acc.accrued_fees) == (debt, interest, fees)
        # The integer rules, fed with what the indexer read, give the contract's own figures.
        u = m.tokens[m.underlying]
        tokens = [rules.TokenPosition(b, m.tokens[t].price, m.tokens[t].decimals, m.tokens[t].lt_bps, acc.quotas[t])
                  for t, b in acc.balances.items() if t != m.underlying]  # fmt: skip
        underlying = rules.Underlying(acc.balances[m.underlying], u.price, u.decimals)
        assert rules.collateral_usd(tokens, underlying, m.lt_underlying) == (value_usd, twv_usd)
        assert rules.convert_to_usd(acc.total_debt, u.price, u.decimals) == debt_usd
    mixed = next(a for a in raw.accounts if a.account == net.mixed_account.lower())
    assert mixed.quotas == {net.xusd.address.lower(): MIXED["xUSD"][1], net.sdeusd.address.lower(): MIXED["sdeUSD"][1]}

    rows = ix.transform(raw, ctx.block)
    # As the scan completes them: the pool's supply positions joined as its holdings.
    rows["holdings"] = position_holdings(rows, ctx.block, {})
    rows["vaults"] = complete_vaults(rows["vaults"], rows["holdings"])
    for table, table_rows in rows.items():
        validate_frame(table, to_frame(table, table_rows))
    # The pool is the ERC-4626 vault it is, all of its backing seen: its one manager's market holds
    # all of it (the lent part, the interest accrued on it and the pool's cash).
    pool, usdc = g.pool.address.lower(), net.usdc.address.lower()
    (vault,) = rows["vaults"]
    assert (vault["vault"], vault["asset"], vault["kind"]) == (pool, usdc, "gearbox_pool")
    assert (vault["total_assets"], vault["total_supply"]) == (g.pool.functions.totalAssets().call(), g.pool.functions.totalSupply().call())
    assert vault["opaque_assets"] == 0
    (held,) = rows["holdings"]
    assert (held["market_id"], held["amount"]) == (g.credit_manager.address.lower(), vault["total_assets"])
    # Every feed here is a Chainlink-style `PriceFeed`, each naming its own token: market feeds
    # (stream-2025's sdeUSD feed, a vault's exchange rate, is classified in test_gearbox_stream).
    assert {c["oracle_kind"] for c in rows["market_collaterals"]} == {"market"}
    (market,) = rows["markets"]
    assert (market["loan_token"], market["total_borrow_assets"]) == (
        net.usdc.address.lower(),
        g.pool.functions.creditManagerBorrowed(g.credit_manager.address).call(),
    )
    thresholds = {c["collateral_token"]: c["liquidation_threshold_wad"] for c in rows["market_collaterals"]}
    assert thresholds[net.xusd.address.lower()] == XUSD_LT_BPS * WAD // 10_000
    assert {c["liquidation_incentive_wad"] for c in rows["market_collaterals"]} == {WAD * 10_000 // 9_600}
    params = {p["param"]: p["value"] for p in rows["market_params"]}
    assert params["liquidation_discount_expired_bps"] == 9_800 and params["fee_liquidation_bps"] == 150
    assert params[f"quota_limit:{net.xusd.address.lower()}"] == 10_000_000 * 10**6
    assert params[f"quota:{net.account.lower()}:{net.xusd.address.lower()}"] == ACCOUNT_QUOTA
    debts = {p["account"]: p["debt_amount"] for p in rows["positions"]}
    assert (
        ACCOUNT_DEBT
        < debts[net.account.lower()]
        == next(a.total_debt for a in raw.accounts if a.account == net.account.lower())
    )


def test_a_ramped_threshold_is_read_at_the_pin_as_the_rules_ramp_it(gearbox_net):
    net, g = gearbox_net, gearbox_net.gearbox
    start = net.chain.block()["timestamp"] + 10
    fn = g.credit_configurator.functions.rampLiquidationThreshold(net.xusd.address, 8_000, start, 10 * 86400)
    net.chain.send(fn, g.admin, "rampLiquidationThreshold")
    set_prices(net, {}, start + 3 * 86400 + 7)  # 30 % of the way, and a few seconds
    _, raw, ctx = _read(net)
    (m,) = raw.managers.values()
    xusd = m.tokens[net.xusd.address.lower()]
    assert xusd.ramp == (XUSD_LT_BPS, 8_000, start, 10 * 86400)
    assert xusd.lt_bps == rules.liquidation_threshold(*xusd.ramp, ctx.timestamp) == 8_700 - 1  # rounded down
    assert ctx.missing == []  # the accounts' weighted values, at the ramped LT, still equal the contract's


def test_an_unreadable_price_leaves_missing_rows_never_a_zero(gearbox_net):
    net, g = gearbox_net, gearbox_net.gearbox
    _a_month_on(net, {"sdeUSD": 0})  # PriceOracleV3 refuses a non-positive answer
    ix, raw, ctx = _read(net)
    oracle, cm = g.price_oracle.address.lower(), g.credit_manager.address.lower()
    sdeusd = net.sdeusd.address.lower()
    got = {(r["kind"], r["address"], r["key"], r["method"]) for r in ctx.missing}
    assert got == {
        ("oracle", oracle, sdeusd, "getPrice(address)"),
        ("position", cm, net.mixed_account.lower(), "calcDebtAndCollateral(address,uint8)"),
    }
    # keccak("IncorrectPriceException()")[:4]: the node's answer names the custom error by selector
    assert {r["reason"] for r in ctx.missing} == {"custom error 0x53b798e2"}
    assert [a.account for a in raw.accounts] == [net.account.lower()]
    rows = ix.transform(raw, ctx.block)
    (unpriced,) = [c for c in rows["market_collaterals"] if c["collateral_token"] == sdeusd]
    assert unpriced["oracle_price_raw"] is None and unpriced["oracle_price_scale"] is None
    assert net.mixed_account.lower() not in {p["account"] for p in rows["positions"]}


def test_a_default_scan_reads_gearbox_and_the_solver_checks_each_account_as_the_credit_manager_does(gearbox_net):
    """Gearbox is solved, so a default scan reads it. At the pin, each account's health (weighted
    value over total debt, the quota capping the mixed account's xUSD, its kept USDC at the
    underlying's LT) is the credit manager's own `calcDebtAndCollateral`; the pool is the lender."""
    net, g = gearbox_net, gearbox_net.gearbox
    snap = index(net.chain.node.url, deployments=deployments(net))
    assert snap.missing.empty
    assert set(snap.markets["protocol"]) == {"gearbox"}
    assert sorted(snap.positions["account"]) == sorted([net.account.lower(), net.mixed_account.lower(), g.pool.address.lower()])
    result = analyse(snap)
    assert result.solver.book.unsolved == {}
    now = result.now.set_index("account")["health"]
    for account in (net.account, net.mixed_account):
        cdd = g.credit_manager.functions.calcDebtAndCollateral(account, DEBT_COLLATERAL).call(block_identifier=snap.meta.block_number)
        assert now[account.lower()] == pytest.approx(cdd[9] / cdd[6], rel=1e-7)  # twvUSD / totalDebtUSD
    key = f"{g.credit_manager.address.lower()}:{g.credit_manager.address.lower()}"
    assert result.solver.book.markets[key].suppliers == {g.pool.address.lower(): pytest.approx(DEPOSIT / 10**6, rel=1e-3)}
    # ... as the vault its liquidity providers hold shares of.
    assert result.solver.book.vaults[g.pool.address.lower()].total_assets == result.solver.book.markets[key].suppliers[g.pool.address.lower()]
