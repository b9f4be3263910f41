"""Every seeded position, share price and pool reads back on chain as the scenario says.

The expected values below are derived from the scenario files by hand (see their comments);
the manifest's `positions` are the seeder's own record, checked here against the contracts.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from devnet_helpers import (
    aave_pool,
    contract,
    erc20,
    morpho,
    published,
    to_assets_down,
    to_assets_up,
)

from loopscan.protocols.uniswap_v3.devnet import sqrt_price_x96

pytestmark = pytest.mark.devnet

M = 10**6  # one USDC, and the "million" of the scenario comments in USDC units is M * 10**6


@pytest.mark.parametrize("scenario", ["stream", "minimal"])
def test_morpho_positions_read_back(scenario, request):
    net = request.getfixturevalue(scenario)
    m = morpho(net)
    block = net.manifest["block"]
    for p in net.manifest["positions"]["morpho"]:
        market = net.manifest["morpho_markets"][p["market"]]
        supply_shares, borrow_shares, collateral = m.functions.position(market["id"], p["account"]).call(
            block_identifier=block
        )
        tsa, tss, tba, tbs, _, _ = m.functions.market(market["id"]).call(block_identifier=block)
        assert collateral == int(p.get("collateral", 0)), p
        # Shares round against the user by at most one unit of assets (SharesMathLib).
        debt = int(p.get("borrow_assets", 0))
        assert to_assets_down(borrow_shares, tba, tbs) <= debt <= to_assets_up(borrow_shares, tba, tbs), p
        supply = int(p.get("supply_assets", 0))
        assert to_assets_down(supply_shares, tsa, tss) <= supply <= to_assets_up(supply_shares, tsa, tss), p


def test_stream_magnitudes(stream):
    t = stream.manifest["tokens"]
    usdc = erc20(stream, t["USDC"]["address"])
    xusd = contract(stream, t["xUSD"]["address"], "loopscan", "OpaqueVault")
    # 80M at 1.00, marked to 1.27; later deposits at 1.27; 210M sent off chain and marked 231.6M.
    assert xusd.functions.offchainAssets().call() == 231_600_000 * M
    assert usdc.functions.balanceOf(xusd.address).call() == 21_740_000 * M
    assert xusd.functions.totalAssets().call() == 253_340_000 * M
    assert xusd.functions.convertToAssets(10**6).call() == 1_270_000  # $1.27 per xUSD
    deusd = contract(stream, t["deUSD"]["address"], "loopscan", "BackedStablecoin")
    assert deusd.functions.totalSupply().call() == 104_600_000 * 10**18
    assert usdc.functions.balanceOf(deusd.address).call() == 36_600_000 * M  # 104.6M - 68M lent
    market = stream.manifest["morpho_markets"]["xUSD/USDC-86"]
    assert ["0x" + i.hex() for i in deusd.functions.lentMarkets().call()] == [market["id"]]
    tsa, _, tba, _, _, _ = morpho(stream).functions.market(market["id"]).call()
    assert tsa == tba == 68_000_000 * M  # Stream's private market is 100 % utilised
    sdeusd = contract(stream, t["sdeUSD"]["address"], "loopscan", "YieldVault")
    assert sdeusd.functions.convertToAssets(10**18).call() // 10**12 == 1_075_000  # 43/40


def test_oracle_kinds_price_what_they_say(stream):
    o = stream.manifest["morpho_oracles"]
    price = lambda oid: contract(stream, o[oid]["address"], "loopscan", "MorphoFeedOracle").functions.price().call()  # noqa: E731
    # Morpho's scale: 1e36 x loan units per collateral unit; xUSD and USDC both have 6 decimals.
    assert price("xUSD market") == 127 * 10**34
    # The book oracle: SCALE_FACTOR (1e36 / 1e18 sample) x OZ ERC-4626 convertToAssets(1e18),
    # which is 1e18 x (assets + 1) / (supply + 1), rounded down.
    xusd = contract(stream, stream.manifest["tokens"]["xUSD"]["address"], "loopscan", "OpaqueVault")
    assets, supply = xusd.functions.totalAssets().call(), xusd.functions.totalSupply().call()
    assert price("xUSD book") == 10**18 * (10**18 * (assets + 1) // (supply + 1))
    assert price("sdeUSD book") == price("sdeUSD market") == 1_075_000 * 10**18  # 1.075e36 / 1e12


def test_aave_positions_read_back(susde):
    pool = aave_pool(susde)
    tokens = susde.manifest["tokens"]
    reserves = susde.manifest["aave_reserves"]
    for p in susde.manifest["positions"]["aave"]:
        r = reserves[p["asset"]]
        assert erc20(susde, r["a_token"]).functions.balanceOf(p["account"]).call() == int(p.get("supplied", 0)), p
        assert erc20(susde, r["variable_debt_token"]).functions.balanceOf(p["account"]).call() == int(p.get("borrowed", 0)), p
    # looper-c: 5x on $50M: 250M USDe staked at 1.2 = 208,333,333.33 sUSDe worth $250M (less
    # the share rounding), against $200M of USDC; e-mode LT 92 %: HF 1.15.
    looper = susde.manifest["accounts"]["looper-c"]
    col, debt, _, lt, ltv, hf = pool.functions.getUserAccountData(looper).call()
    shares = 250_000_000 * 10**18 * 10 // 12
    assert col == shares * 120_000_000 // 10**18 == 249_999_999_99999999
    assert (debt, lt, ltv) == (200_000_000 * 10**8, 9200, 9000)
    # Aave's rounding: percentMul and wadDiv both round half up.
    assert hf == ((col * 9200 + 5000) // 10000 * 10**18 + debt // 2) // debt
    susde_vault = contract(susde, tokens["sUSDe"]["address"], "loopscan", "YieldVault")
    assert susde_vault.functions.convertToAssets(10**18).call() == 12 * 10**17


@pytest.mark.parametrize("scenario", ["stream", "susde", "minimal"])
def test_pools_read_back(scenario, request):
    net = request.getfixturevalue(scenario)
    scenario_pools = net.scenario.pools
    tokens = net.manifest["tokens"]
    for pid, pool in net.manifest["uniswap_pools"].items():
        contract_ = published(net, pool["address"], "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool")
        sqrt_price, tick, *_ = contract_.functions.slot0().call()
        a, b = tokens[pool["token_a"]], tokens[pool["token_b"]]
        price = Fraction(scenario_pools[pid]["price"])
        if int(a["address"], 16) < int(b["address"], 16):
            raw = price * Fraction(10 ** b["decimals"], 10 ** a["decimals"])
        else:
            raw = (1 / price) * Fraction(10 ** a["decimals"], 10 ** b["decimals"])
        assert sqrt_price == sqrt_price_x96(raw)
        in_range = [p for p in net.manifest["positions"]["uniswap"] if p["pool"] == pid and p["tick_lower"] <= tick < p["tick_upper"]]
        assert in_range, f"{pid}: no seeded liquidity around the price"
        assert contract_.functions.liquidity().call() == sum(int(p["liquidity"]) for p in in_range)


def test_state_is_the_same_on_every_start(minimal_session):
    """A fresh deploy and seed ends at the very block the cached state restores."""
    from loopscan import devnet

    with devnet.start("minimal", use_cache=False) as fresh:
        for key in ("block", "block_hash", "timestamp", "contracts", "tokens", "positions", "accounts"):
            assert fresh.manifest[key] == minimal_session.manifest[key], key
