"""Morpho Blue, MetaMorpho and vault indexers against the real contracts on the devnet."""

from __future__ import annotations

import pytest
from devnet_helpers import market_params, morpho, to_assets_down, to_assets_up
from scan_helpers import devnet_context

from loopscan.protocols.erc4626.indexer import VaultIndexer
from loopscan.protocols.holdings import complete_vaults, position_holdings
from loopscan.protocols.metamorpho.indexer import MetaMorphoIndexer
from loopscan.protocols.morpho_blue.indexer import MorphoBlueIndexer
from loopscan.protocols.morpho_blue.maths import liquidation_incentive_factor

pytestmark = pytest.mark.devnet
M = 10**6


async def _morpho_rows(net, block=None):
    address = net.manifest["contracts"]["morpho_blue"]
    async with devnet_context(net, block) as ctx:
        ix = MorphoBlueIndexer(address, 0)
        rows = ix.transform(await ix.fetch(ctx), ctx.block)
        return rows, ctx.missing


async def test_every_position_equals_direct_calls_and_the_seeded_truth(stream):
    rows, missing = await _morpho_rows(stream)
    assert missing == []
    block = stream.manifest["block"]
    m = morpho(stream)
    got = {(p["market_id"], p["account"]): p for p in rows["positions"]}
    posted = {(c["market_id"], c["account"]): c for c in rows["position_collaterals"]}
    collateral_of = {r["market_id"]: r["collateral_token"] for r in rows["market_collaterals"]}
    markets = stream.manifest["morpho_markets"]
    assert {r["market_id"] for r in rows["markets"]} == {mk["id"] for mk in markets.values()}
    for seeded in stream.manifest["positions"]["morpho"]:
        market_id = markets[seeded["market"]]["id"]
        p = got.pop((market_id, seeded["account"].lower()))
        supply_shares, borrow_shares, collateral = m.functions.position(market_id, seeded["account"]).call(block_identifier=block)
        tsa, tss, tba, tbs, _, _ = m.functions.market(market_id).call(block_identifier=block)
        c = posted.pop((market_id, seeded["account"].lower()), {"amount": 0, "collateral_token": collateral_of[market_id]})
        assert (p["supply_shares"], p["debt_shares"], c["amount"]) == (supply_shares, borrow_shares, collateral)
        assert c["collateral_token"] == collateral_of[market_id] and (c["amount"] > 0 or "collateral" not in seeded)
        assert p["debt_amount"] == to_assets_up(borrow_shares, tba, tbs)
        assert p["supply_amount"] == to_assets_down(supply_shares, tsa, tss)
        assert c["amount"] == int(seeded.get("collateral", 0))
        assert abs(p["debt_amount"] - int(seeded.get("borrow_assets", 0))) <= 1
        assert abs(p["supply_amount"] - int(seeded.get("supply_assets", 0))) <= 1
    assert got == {} and posted == {}  # nothing the seeder did not open


async def test_oracle_kinds_follow_what_the_oracles_are_built_from(stream):
    rows, _ = await _morpho_rows(stream)
    kinds = {r["market_id"]: r["oracle_kind"] for r in rows["market_collaterals"]}
    params = {(r["market_id"], r["param"]): r["value"] for r in rows["market_params"]}
    for market in stream.manifest["morpho_markets"].values():
        assert kinds[market["id"]] == market["oracle_kind"]
        lltv = int(market["lltv"])
        row = next(r for r in rows["market_collaterals"] if r["market_id"] == market["id"])
        # The LLTV is the threshold and the most one may borrow; the incentive is Morpho's factor for it.
        assert (row["liquidation_threshold_wad"], row["max_ltv_wad"], params[market["id"], "lltv_wad"]) == (lltv, lltv, lltv)
        assert row["liquidation_incentive_wad"] == liquidation_incentive_factor(lltv) and row["price_quote"] == "loan"


async def test_interest_is_accrued_to_the_pinned_block_as_morpho_would(stream):
    """Index at a block 30 days after seeding, then let Morpho accrue in a block with the same
    timestamp: its stored totals must equal the indexer's, to the wei."""
    net = stream
    net.chain.increase_time(30 * 86400)
    pinned = net.chain.block()
    rows, _ = await _morpho_rows(net, pinned["number"])
    m = morpho(net)
    by_id = {r["market_id"]: r for r in rows["markets"]}
    shares = {(r["market_id"], r["param"]): r["value"] for r in rows["market_params"]}
    for name, market in net.manifest["morpho_markets"].items():
        net.node.rpc("evm_setNextBlockTimestamp", [pinned["timestamp"]])
        net.chain.send(m.functions.accrueInterest(market_params(net, name)), net.chain.account("anyone"))
        tsa, tss, tba, tbs, last, _ = m.functions.market(market["id"]).call()
        r = by_id[market["id"]]
        got = (r["total_supply_assets"], shares[market["id"], "total_supply_shares"], r["total_borrow_assets"],
               shares[market["id"], "total_borrow_shares"])  # fmt: skip
        assert got == (tsa, tss, tba, tbs)
        assert r["last_update"] == last == pinned["timestamp"]
        assert tba > int(sum(int(p.get("borrow_assets", 0)) for p in net.manifest["positions"]["morpho"] if p["market"] == name))


async def test_vaults_report_visible_and_opaque_backing(stream):
    t = stream.manifest["tokens"]
    async with devnet_context(stream) as ctx:
        morpho_ix = MorphoBlueIndexer(stream.manifest["contracts"]["morpho_blue"], 0)
        mm = MetaMorphoIndexer([(stream.manifest["contracts"]["metamorpho_factory"], 0)])
        vaults = VaultIndexer([(t["xUSD"]["address"], "erc4626", ()), (t["sdeUSD"]["address"], "erc4626", ()),
                               (t["deUSD"]["address"], "backed", ())])  # fmt: skip
        parts = [ix.transform(await ix.fetch(ctx), ctx.block) for ix in (morpho_ix, mm, vaults)]
        assert ctx.missing == []
    rows = {k: [r for p in parts for r in p.get(k, [])] for k in ("markets", "positions", "vaults", "holdings", "vault_markets")}
    holdings = rows["holdings"] + position_holdings(rows, ctx.block, {})
    got = {v["vault"]: v for v in complete_vaults(rows["vaults"], holdings)}
    xusd = got[t["xUSD"]["address"].lower()]
    # The scenario's figures: $253.34M reported, $21.74M idle USDC seen, $231.6M off chain.
    assert (xusd["total_assets"], xusd["visible_assets"], xusd["opaque_assets"]) == (253_340_000 * M, 21_740_000 * M, 231_600_000 * M)
    deusd = got[t["deUSD"]["address"].lower()]
    # deUSD owes 104.6M at par; it holds 36.6M USDC and a 68M supply position on Morpho.
    assert (deusd["kind"], deusd["total_assets"], deusd["visible_assets"], deusd["opaque_assets"]) == ("backed_stablecoin", 104_600_000 * M, 104_600_000 * M, 0)
    assert sorted(h["read_method"] for h in holdings if h["vault"] == deusd["vault"]) == ["balanceOf", "morpho_blue.position"]
    cp = got[t["cpUSDC"]["address"].lower()]
    # MetaMorpho's totalAssets is its supply positions (rounded down) plus idle: nothing opaque.
    assert (cp["kind"], cp["total_assets"], cp["opaque_assets"]) == ("metamorpho", 120_000_000 * M, 0)
    caps = {(r["market_id"], r["supply_queue_index"]): r["cap"] for r in rows["vault_markets"]}
    ids = stream.manifest["morpho_markets"]
    assert caps == {(ids["xUSD/USDC-91.5"]["id"], 0): 60_000_000 * M, (ids["sdeUSD/USDC-86"]["id"], 1): 40_000_000 * M,
                    (ids["sdeUSD/USDC-91.5"]["id"], 2): 30_000_000 * M}  # fmt: skip


async def test_a_position_that_cannot_be_read_is_missing_not_zero(minimal):
    """A market whose IRM reverts cannot be brought to the pinned block: the market and its
    positions are reported missing, never read as if no interest had accrued."""
    net = minimal
    net.chain.increase_time(3600)  # interest is due, so the IRM must be asked
    irm = net.manifest["contracts"]["adaptive_curve_irm"]
    net.node.rpc("anvil_setCode", [irm, "0x5f5ffd"])  # revert(0, 0) on every call
    rows, missing = await _morpho_rows(net, net.chain.block()["number"])
    assert rows["markets"] == [] and rows["positions"] == []
    assert [(m["kind"], m["method"], m["reason"]) for m in missing] == [("market", "borrowRateView", "reverted without data")]
