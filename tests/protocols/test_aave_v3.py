"""The Aave v3 indexer: pure decoding and oracle classification on literal inputs, then against the
real `@aave/core-v3` contracts on the `susde-aave-loop` devnet, where every account's health
derived from the snapshot's rows alone must equal the pool's own `getUserAccountData`."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from devnet_helpers import aave_pool, contract
from eth_utils import to_checksum_address
from scan_helpers import devnet_context

from loopscan.model import to_frame
from loopscan.protocols.aave_v3.config import (
    EModeData,
    ReserveData,
    decode_reserve_configuration,
    decode_reserve_data,
    decode_string,
    emode_of_reserve,
    is_borrowing,
    is_using_as_collateral,
    reserve_ids_in_use,
)
from loopscan.protocols.aave_v3.indexer import AaveRaw, AaveV3Indexer
from loopscan.protocols.aave_v3.maths import EModeCategory, Reserve, UserReserve, user_account_data
from loopscan.protocols.price_sources import (
    SourceProbe,
    classify_sources,
    described_asset,
)
from loopscan.protocols.tokens import TokenIndexer

# -- pure: bitmaps ------------------------------------------------------------------------------


def test_reserve_configuration_fields_sit_at_reserve_configuration_sol_bit_positions():
    word = (
        7500 | 7800 << 16 | 10450 << 32 | 6 << 48 | 1 << 56 | 1 << 58 | 1 << 63 | 1000 << 64
        | 5_000_000 << 80 | 9_000_000 << 116 | 1000 << 152 | 3 << 168 | 12 << 212
    )  # fmt: skip
    cfg = decode_reserve_configuration(word)
    assert (cfg.ltv, cfg.liquidation_threshold, cfg.liquidation_bonus, cfg.decimals) == (7500, 7800, 10450, 6)
    assert (cfg.active, cfg.frozen, cfg.borrowing_enabled, cfg.stable_borrowing_enabled) == (True, False, True, False)
    assert (cfg.paused, cfg.flashloan_enabled, cfg.reserve_factor) == (False, True, 1000)
    assert (cfg.borrow_cap, cfg.supply_cap, cfg.liquidation_protocol_fee) == (5_000_000, 9_000_000, 1000)
    assert (cfg.emode_category, cfg.unbacked_mint_cap, cfg.debt_ceiling) == (3, 0, 12)
    # Each field is masked: all ones everywhere decodes to each field's own maximum.
    full = decode_reserve_configuration(2**256 - 1)
    assert (full.ltv, full.decimals, full.borrow_cap, full.emode_category, full.debt_ceiling) == (
        2**16 - 1, 255, 2**36 - 1, 255, 2**40 - 1,
    )  # fmt: skip


def test_user_configuration_pairs_borrowing_then_collateral_bits():
    # Reserve 0: borrowing; reserve 1: nothing; reserve 3: collateral and borrowing.
    bitmap = 0b01 | 0b11 << 6
    assert is_borrowing(bitmap, 0) and not is_using_as_collateral(bitmap, 0)
    assert not is_borrowing(bitmap, 1) and not is_using_as_collateral(bitmap, 1)
    assert is_borrowing(bitmap, 3) and is_using_as_collateral(bitmap, 3)
    assert list(reserve_ids_in_use(bitmap)) == [0, 3]
    assert list(reserve_ids_in_use(0)) == []


def test_reserve_data_is_15_words_and_other_lengths_are_refused():
    words = [0] * 15
    words[7], words[8], words[9], words[10] = 4, 0xA, 0, 0xC
    data = b"".join(w.to_bytes(32, "big") for w in words)
    r = decode_reserve_data(data)
    assert (r.id, r.a_token, r.stable_debt_token, r.variable_debt_token) == (4, "0x" + "00" * 19 + "0a", None, "0x" + "00" * 19 + "0c")
    with pytest.raises(ValueError, match="expected 480"):
        decode_reserve_data(data + bytes(32))


def test_strings_decode_from_abi_string_or_bytes32():
    abi_string = (32).to_bytes(32, "big") + (4).to_bytes(32, "big") + b"USDe".ljust(32, b"\0")
    assert decode_string(abi_string) == "USDe"
    assert decode_string(b"MKR".ljust(32, b"\0")) == "MKR"
    assert decode_string(b"\xff" * 3) is None


def test_emode_membership_from_the_configuration_before_v32_and_from_bitmaps_after():
    cfg = decode_reserve_configuration(2 << 168)
    assert emode_of_reserve(5, cfg, None) == 2
    # v3.2+: the deprecated bits are ignored; the lowest category holding the reserve's bit counts.
    assert emode_of_reserve(5, cfg, {7: 1 << 5, 3: 1 << 5 | 1, 9: 1 << 4}) == 3
    assert emode_of_reserve(5, cfg, {9: 1 << 4}) == 0


# -- pure: oracle kinds -------------------------------------------------------------------------
USDT_FEED = SourceProbe(latest_answer=10**8, description="USDT / USD")


@pytest.mark.parametrize(
    ("sources", "probes", "expected"),
    [
        # USDe priced by USDT's own feed: USDT market, USDe fixed.
        ({"usdt": "0xf1", "usde": "0xf1"}, {"0xf1": USDT_FEED}, {"usdt": "market", "usde": "fixed"}),
        # Two CAPO stable adapters over the one USDT/USD aggregator are the same price.
        (
            {"usdt": "0xa1", "usde": "0xa2"},
            {"0xa1": SourceProbe(underlying="0xf1", latest_answer=1, description="Capped USDT/USD"),
             "0xa2": SourceProbe(underlying="0xf1", latest_answer=1, description="Capped USDT/USD")},
            {"usdt": "market", "usde": "fixed"},
        ),  # fmt: skip
        # Shared, but the feed names neither asset: which is native is unknown.
        ({"usdt": "0xf1", "usde": "0xf1"}, {"0xf1": SourceProbe(latest_answer=1)}, {"usdt": "unknown", "usde": "unknown"}),
        # A vault (devnet ExchangeRateFeed) or a ratio provider (CAPO) is an exchange rate.
        ({"susde": "0xe1"}, {"0xe1": SourceProbe(vault="0xv", latest_answer=1)}, {"susde": "exchange_rate"}),
        ({"wsteth": "0xe2"}, {"0xe2": SourceProbe(ratio_provider="0xr", latest_answer=1)}, {"wsteth": "exchange_rate"}),
        # Answers nothing known, or no source readable.
        ({"gho": "0xg"}, {"0xg": SourceProbe()}, {"gho": "unknown"}),
        ({"x": None, "y": "0xq"}, {}, {"x": "unknown", "y": "unknown"}),
    ],
)
def test_oracle_kind_from_what_the_sources_answer(sources, probes, expected):
    symbols = {"usdt": "USDT", "usde": "USDe", "susde": "sUSDe", "wsteth": "wstETH", "gho": "GHO"}
    kinds = classify_sources(sources, symbols, probes)
    assert {a: k.value for a, k in kinds.items()} == expected


def test_described_asset_reads_the_base_of_a_pair():
    assert described_asset("USDe / USD") == "usde"
    assert described_asset("Capped wstETH / ETH / USD") == "wsteth"
    assert described_asset(None) is None and described_asset("no pair") is None


# -- pure: transform ----------------------------------------------------------------------------
def _reserve(rid: int, a_token: str, emode: int = 0) -> ReserveData:
    cfg = decode_reserve_configuration(9000 | 9300 << 16 | 10100 << 32 | 18 << 48 | 1 << 56 | emode << 168)
    return ReserveData(cfg, 10**27, 0, 10**27, 0, 1000, rid, a_token, None, "0x" + "dd" * 20, None)


def test_transform_v32_pool_collateral_flags_zero_rows_and_unreadable_configurations():
    a, b = "0x" + "0a" * 20, "0x" + "0b" * 20
    u1, u2, u3 = ("0x" + f"{i:02x}" * 20 for i in (1, 2, 3))
    raw = AaveRaw(
        pool="0x" + "99" * 20, timestamp=1000, revision=7, emode_bitmaps=True, base_currency_unit=10**8,
        reserves={a: _reserve(0, "0x" + "aa" * 20, emode=9), b: _reserve(1, "0x" + "bb" * 20)},
        symbols={a: "A", b: "B"}, sources={a: "0x" + "f1" * 20, b: None}, prices={a: 10**8},
        totals={a: (100, 40), b: (5, 0)},
        probes={"0x" + "f1" * 20: SourceProbe(latest_answer=10**8, description="A / USD")},
        emodes={2: EModeData(9500, 9700, 10100, None, "stable", collateral_bitmap=0b10)},
        user_configs={u1: 0b10, u2: 0b0100},  # u1: collateral in reserve 0; u2: borrows reserve 1
        user_emodes={u1: 0, u2: 2, u3: 0},
        balances={(u1, a): (60, 0, 0), (u1, b): (0, 0, 0), (u2, b): (7, 3, 0), (u3, a): (40, 0, 0)},
    )  # fmt: skip
    rows = AaveV3Indexer(raw.pool, None, name="spark").transform(raw, 77)
    markets = {m["market_id"]: m for m in rows["markets"]}
    collateral = {c["market_id"]: c for c in rows["market_collaterals"]}
    params = {(p["market_id"], p["param"]): p["value"] for p in rows["market_params"]}
    # v3.2+: membership from the bitmaps read (reserve 1 in category 2), not the deprecated bits.
    assert (params[a, "emode_category"], params[b, "emode_category"]) == (0, 2)
    assert (collateral[a]["oracle_kind"], collateral[b]["oracle_kind"]) == ("market", "unknown")
    assert (collateral[a]["oracle_price_raw"], collateral[b]["oracle_price_raw"], collateral[b]["oracle_price_scale"]) == (10**8, None, None)
    # A reserve prices its own debt too: the market's loan price is its source's answer.
    assert (markets[a]["loan_price_raw"], markets[a]["loan_price_scale"], markets[b]["loan_price_raw"]) == (10**8, 10**8, None)
    assert collateral[a]["collateral_token"] == a and collateral[a]["price_quote"] == "numeraire"
    # bps as exact WAD fractions: LTV 90 %, threshold 93 %, bonus 1 %.
    wads = (collateral[a]["max_ltv_wad"], collateral[a]["liquidation_threshold_wad"], collateral[a]["liquidation_incentive_wad"])
    assert wads == (9 * 10**17, 93 * 10**16, 101 * 10**16)
    assert markets[a]["protocol"] == "spark" and params[a, "protocol_revision"] == 7
    got = {(p["account"], p["market_id"]): (p["supply_amount"], p["debt_amount"]) for p in rows["positions"]}
    # u1/b is all zero; u3's configuration is unreadable, so its row cannot be completed.
    assert got == {(u1, a): (60, 0), (u2, b): (7, 3)}
    # u1 posts reserve a (its bit 1 is set); u2 supplies b without enabling it as collateral.
    assert [(c["account"], c["collateral_token"], c["amount"]) for c in rows["position_collaterals"]] == [(u1, a, 60)]
    assert [(r["account"], r["emode_category"]) for r in rows["accounts"]] == [(u1, 0), (u2, 2)]
    assert rows["emode_categories"][0]["category"] == 2
    for table, table_rows in rows.items():
        to_frame(table, table_rows)  # every row fits the schema


# -- devnet ---------------------------------------------------------------------------------------
async def _scan(net, block: int | None = None):
    """The Aave rows and the tokens table (what `loopscan.index` builds), as schema-checked frames."""
    async with devnet_context(net, block) as ctx:
        ix = AaveV3Indexer(net.manifest["contracts"]["aave_pool"], 0)
        rows = ix.transform(await ix.fetch(ctx), ctx.block)
        tokens = TokenIndexer({m["loan_token"] for m in rows["markets"]})
        rows.update(tokens.transform(await tokens.fetch(ctx), ctx.block))
        frames = {table: to_frame(table, table_rows) for table, table_rows in rows.items()}
        return _flat(frames), ctx.missing, ctx.block


def _flat(frames: dict) -> dict:
    """One row per reserve and per (account, reserve) again, as Aave has them: each reserve's one
    collateral row and its `market_params` beside it, each position's collateral beside it."""
    c = frames["market_collaterals"].drop(columns="block")
    params = frames["market_params"].pivot(index="market_id", columns="param", values="value")
    markets = frames["markets"].merge(c, on=["protocol_address", "market_id"]).merge(params, left_on="market_id", right_index=True)
    posted = frames["position_collaterals"].drop(columns=["block", "protocol"]).rename(columns={"amount": "collateral_amount"})
    positions = frames["positions"].merge(posted, on=["protocol_address", "market_id", "account"], how="left")
    positions["collateral_amount"] = [0 if pd.isna(x) else int(x) for x in positions["collateral_amount"]]
    return {**frames, "markets": markets, "positions": positions}


def _latest(net) -> int:
    return net.chain.block()["number"]


@pytest.mark.devnet
async def test_seeded_positions_reserves_and_oracle_kinds(susde):
    frames, missing, _ = await _scan(susde)
    assert missing == []
    tokens = {tid: t["address"].lower() for tid, t in susde.manifest["tokens"].items()}
    positions = {(p.account, p.market_id): p for p in frames["positions"].itertuples()}
    seeded = susde.manifest["positions"]["aave"]
    assert len(positions) == len(seeded)
    for s in seeded:
        p = positions[s["account"].lower(), tokens[s["asset"]]]
        supplied, borrowed = int(s.get("supplied", 0)), int(s.get("borrowed", 0))
        # Every seeded reserve has a liquidation threshold, so a first supply enables it as collateral.
        assert (p.supply_amount, p.collateral_amount, p.debt_amount) == (supplied, supplied, borrowed), s
        # The collateral a reserve's position posts is the reserve itself; a borrow-only row posts none.
        assert p.collateral_token == tokens[s["asset"]] if supplied else pd.isna(p.collateral_token)

    markets = frames["markets"].set_index("market_id")
    scenario = susde.scenario.aave
    bps = lambda x: int(Decimal(x) * 10_000)  # noqa: E731
    members = {a for e in scenario["emodes"] for a in e["assets"]}
    for r in scenario["reserves"]:
        m = markets.loc[tokens[r["asset"]]]
        assert (m.ltv_bps, m.liquidation_threshold_bps, m.liquidation_bonus_bps) == (
            bps(r["ltv"]), bps(r["liquidation_threshold"]), 10_000 + bps(r["liquidation_bonus"]),
        ), r  # fmt: skip
        assert m.emode_category == (1 if r["asset"] in members else 0)
        assert (m.protocol_revision, m.oracle_price_scale, m.oracle) == (1, 10**8, susde.manifest["feeds"][r["source"]]["address"].lower())
        mine = frames["positions"][frames["positions"].market_id == tokens[r["asset"]]]
        # One timestamp for all seeding: no interest yet, so the totals are the sums of the balances.
        assert (m.total_supply_assets, m.total_borrow_assets) == (sum(mine.supply_amount), sum(mine.debt_amount))
    kinds = {tid: markets.loc[tokens[tid]].oracle_kind for tid in ("USDC", "USDT", "USDe", "sUSDe")}
    assert kinds == {"USDC": "market", "USDT": "market", "USDe": "fixed", "sUSDe": "exchange_rate"}
    # USDe is priced as USDT: by the very same feed.
    assert markets.loc[tokens["USDe"]].oracle == markets.loc[tokens["USDT"]].oracle

    (e,) = scenario["emodes"]
    (c,) = frames["emode_categories"].itertuples()
    assert (c.category, c.ltv_bps, c.liquidation_threshold_bps, c.liquidation_bonus_bps, c.label) == (
        e["id"], bps(e["ltv"]), bps(e["liquidation_threshold"]), 10_000 + bps(e["liquidation_bonus"]), e["label"],
    )  # fmt: skip
    assert pd.isna(c.price_source)
    accounts = dict(zip(frames["accounts"].account, frames["accounts"].emode_category, strict=True))
    for step in (s for s in susde.scenario.steps if s.action == "aave.loop"):
        assert accounts[susde.manifest["accounts"][step.args["account"]].lower()] == int(step.args.get("emode", 0))


def _derive(frames) -> dict[str, tuple[int, int, int, int, int]]:
    """Per account (collateral, debt, avg LT, avg LTV, HF) in base currency from the rows alone,
    by `loopscan.protocols.aave_v3.maths.user_account_data` (GenericLogic.calculateUserAccountData). Balances
    are the tokens' own at the block, so they go in as scaled balances at an index of one ray."""
    decimals = dict(zip(frames["tokens"].address, frames["tokens"].decimals, strict=True))
    reserves = {
        m.market_id: Reserve(
            decimals=int(decimals[m.market_id]), price=m.oracle_price_raw, ltv=int(m.ltv_bps),
            liquidation_threshold=int(m.liquidation_threshold_bps), liquidation_bonus=int(m.liquidation_bonus_bps),
            emode_category=int(m.emode_category),
        )  # fmt: skip
        for m in frames["markets"].itertuples()
    }
    categories = {
        int(c.category): EModeCategory(int(c.ltv_bps), int(c.liquidation_threshold_bps), int(c.liquidation_bonus_bps))
        for c in frames["emode_categories"].itertuples()
    }
    out = {}
    for a in frames["accounts"].itertuples():
        mine = frames["positions"][frames["positions"].account == a.account]
        user = {
            p.market_id: UserReserve(scaled_a_token=p.supply_amount, scaled_variable_debt=p.debt_amount,
                                     use_as_collateral=p.collateral_amount > 0)
            for p in mine.itertuples()
        }  # fmt: skip
        emode = int(a.emode_category)
        d = user_account_data(reserves, user, 0, emode, categories.get(emode))
        out[a.account] = (d.total_collateral_base, d.total_debt_base, d.avg_liquidation_threshold, d.avg_ltv, d.health_factor)
    return out


def _supply(net, asset: str, who: str, amount: int) -> str:
    pool = aave_pool(net)
    account = net.chain.account(who)
    token = contract(net, net.manifest["tokens"][asset]["address"], "loopscan", "ScenarioToken")
    net.chain.send(token.functions.mint(account, amount), net.chain.deployer)
    net.chain.send(token.functions.approve(pool.address, amount), account)
    net.chain.send(pool.functions.supply(token.address, amount, account, 0), account, "Pool.supply")
    return account


@pytest.mark.devnet
@pytest.mark.parametrize("stage", ["seeded", "30 days later", "USDT feed at 0.85"])
async def test_account_health_from_the_rows_equals_get_user_account_data(susde, stage):
    if stage != "seeded":
        susde.chain.increase_time(86400 * 30)
        # A transaction touching the pool: USDT's indexes are stored, the others accrue in view.
        _supply(susde, "USDT", "late-supplier", 1_000 * 10**6)
    if stage == "USDT feed at 0.85":
        susde.apply("usdt-feed-down-15")
    block = _latest(susde)
    frames, missing, _ = await _scan(susde, block)
    assert missing == []
    derived = _derive(frames)
    assert len(derived) == 8 + (stage != "seeded")  # 3 lenders, 5 loopers, the late supplier
    pool = aave_pool(susde)
    for account, mine in derived.items():
        col, debt, _, lt, ltv, hf = pool.functions.getUserAccountData(to_checksum_address(account)).call(block_identifier=block)
        assert mine == (col, debt, lt, ltv, hf), account
    looper_c = susde.manifest["accounts"]["looper-c"].lower()
    if stage == "30 days later":
        assert derived[looper_c][1] > 200_000_000 * 10**8  # interest accrued on the USDC debt
    if stage == "USDT feed at 0.85":
        # sUSDe is priced by its exchange rate times the USDT feed: USDC debt is now underwater.
        assert derived[looper_c][4] < 10**18


@pytest.mark.devnet
async def test_an_atoken_received_without_a_supply_is_a_position(susde):
    pool = aave_pool(susde)
    a_usdt = susde.manifest["aave_reserves"]["USDT"]["a_token"]
    lender, receiver = susde.chain.account("usdt-lenders"), susde.chain.account("atoken-receiver")
    token = contract(susde, a_usdt, "loopscan", "ScenarioToken")  # an ERC-20 ABI is all it takes
    susde.chain.send(token.functions.transfer(receiver, 5 * 10**6), lender)
    frames, missing, _ = await _scan(susde, _latest(susde))
    assert missing == []
    (p,) = frames["positions"][frames["positions"].account == receiver.lower()].itertuples()
    # Receiving an aToken enables it as collateral (AToken._transfer → Pool.finalizeTransfer).
    assert (p.supply_amount, p.collateral_amount, p.debt_amount) == (5 * 10**6, 5 * 10**6, 0)
    assert pool.functions.getUserAccountData(receiver).call()[0] == 5 * 10**8


@pytest.mark.devnet
async def test_a_reverting_balance_read_is_missing_not_zero(susde):
    usdc = susde.manifest["tokens"]["USDC"]["address"].lower()
    a_usdc = susde.manifest["aave_reserves"]["USDC"]["a_token"].lower()
    susde.node.rpc("anvil_setCode", [a_usdc, "0x5f5ffd"])  # PUSH0 PUSH0 REVERT: every call reverts
    susde.node.rpc("evm_mine")
    frames, missing, block = await _scan(susde, _latest(susde))
    holders = {p["account"].lower() for p in susde.manifest["positions"]["aave"] if p["asset"] == "USDC"}
    reads = {(m["kind"], m["address"], m["key"], m["method"]) for m in missing}
    assert reads == {("market", a_usdc, usdc, "totalSupply()")} | {
        ("position", a_usdc, f"{usdc}:{h}", "balanceOf(address)") for h in holders
    }
    assert len(missing) == len(reads) and all(m["block"] == block and m["reason"] for m in missing)
    # Left out, never zero: no USDC position (not even looper-c's readable USDC debt), no USDC market.
    assert usdc not in set(frames["positions"].market_id) and usdc not in set(frames["markets"].market_id)
    assert len(frames["positions"]) == len(susde.manifest["positions"]["aave"]) - len(holders)
    others = {susde.manifest["tokens"][t]["address"].lower() for t in ("USDT", "USDe", "sUSDe")}
    assert set(frames["markets"].market_id) == others  # the other reserves are intact
