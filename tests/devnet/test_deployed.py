"""Every protocol contract is deployed from its package and answers as that protocol does."""

from __future__ import annotations

import pytest
from devnet_helpers import _AAVE, contract, morpho, published
from eth_abi import decode, encode
from eth_utils import keccak

pytestmark = pytest.mark.devnet

MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"


def test_morpho_stack_answers(stream):
    c = stream.manifest["contracts"]
    m = morpho(stream)
    assert m.functions.owner().call() == stream.manifest["accounts"]["morpho-owner"]
    assert m.functions.isIrmEnabled(c["adaptive_curve_irm"]).call()
    assert m.functions.isLltvEnabled(915 * 10**15).call() and m.functions.isLltvEnabled(86 * 10**16).call()
    irm = contract(stream, c["adaptive_curve_irm"], "morpho-periphery", "AdaptiveCurveIrm")
    assert irm.functions.MORPHO().call() == c["morpho_blue"]
    factory = contract(stream, c["metamorpho_factory"], "metamorpho", "MetaMorphoFactory")
    assert factory.functions.MORPHO().call() == c["morpho_blue"]
    vault = stream.manifest["metamorpho_vaults"]["cpUSDC"]["address"]
    assert factory.functions.isMetaMorpho(vault).call()
    allocator = contract(stream, c["public_allocator"], "morpho-periphery", "PublicAllocator")
    assert allocator.functions.MORPHO().call() == c["morpho_blue"]


def test_metamorpho_vault_has_real_caps_queue_and_timelock(stream):
    mm = stream.manifest["metamorpho_vaults"]["cpUSDC"]
    vault = contract(stream, mm["address"], "metamorpho", "MetaMorpho")
    assert vault.functions.timelock().call() == 86400  # MetaMorpho v1.0's minimum
    assert vault.functions.supplyQueueLength().call() == 3
    markets = stream.manifest["morpho_markets"]
    queue = [vault.functions.supplyQueue(i).call() for i in range(3)]
    assert ["0x" + q.hex() for q in queue] == [markets[m]["id"] for m in mm["markets"]]
    caps = [vault.functions.config(q).call()[0] for q in queue]
    assert caps == [60_000_000 * 10**6, 40_000_000 * 10**6, 30_000_000 * 10**6]
    assert vault.functions.totalAssets().call() == 120_000_000 * 10**6


def test_aave_pool_answers(susde):
    c = susde.manifest["contracts"]
    pool = published(susde, c["aave_pool"], f"{_AAVE}/protocol/pool/Pool")
    assert pool.functions.ADDRESSES_PROVIDER().call() == c["aave_pool_addresses_provider"]
    reserves = pool.functions.getReservesList().call()
    tokens = susde.manifest["tokens"]
    assert reserves == [tokens[t]["address"] for t in ("USDC", "USDT", "USDe", "sUSDe")]
    oracle = published(susde, c["aave_oracle"], f"{_AAVE}/misc/AaveOracle")
    # USDe is priced as USDT; sUSDe by its exchange rate (1.2) times the USDT feed.
    assert oracle.functions.getAssetPrice(tokens["USDe"]["address"]).call() == 10**8
    assert oracle.functions.getAssetPrice(tokens["sUSDe"]["address"]).call() == 120_000_000
    data = published(susde, c["aave_protocol_data_provider"], f"{_AAVE}/misc/AaveProtocolDataProvider")
    cfg = data.functions.getReserveConfigurationData(tokens["sUSDe"]["address"]).call()
    assert cfg[1:4] == [7200, 7500, 10850]  # ltv, liquidation threshold, bonus (bps)
    assert pool.functions.getEModeCategoryData(1).call()[:3] == (9000, 9200, 10300)


def test_uniswap_stack_answers(stream):
    c = stream.manifest["contracts"]
    peri = "@uniswap/v3-periphery/artifacts/contracts"
    factory = published(stream, c["uniswap_v3_factory"], "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory")
    assert factory.functions.feeAmountTickSpacing(100).call() == 1
    for key, path in (
        ("uniswap_v3_position_manager", f"{peri}/NonfungiblePositionManager"),
        ("uniswap_v3_swap_router", f"{peri}/SwapRouter"),
        ("uniswap_v3_quoter_v2", f"{peri}/lens/QuoterV2"),
    ):
        assert published(stream, c[key], path).functions.factory().call() == c["uniswap_v3_factory"]
    for pool in stream.manifest["uniswap_pools"].values():
        tokens = stream.manifest["tokens"]
        a, b = tokens[pool["token_a"]]["address"], tokens[pool["token_b"]]["address"]
        assert factory.functions.getPool(a, b, pool["fee"]).call() == pool["address"]


def test_multicall3_at_canonical_address_aggregates(minimal):
    w3 = minimal.chain.w3
    selector = keccak(text="aggregate3((address,bool,bytes)[])")[:4]
    usdc = minimal.manifest["tokens"]["USDC"]["address"]
    calls = [
        (usdc, True, keccak(text="decimals()")[:4]),
        (usdc, True, keccak(text="noSuchFunction()")[:4]),  # fails, reported, not dropped
    ]
    data = selector + encode(["(address,bool,bytes)[]"], [calls])
    (results,) = decode(["(bool,bytes)[]"], w3.eth.call({"to": MULTICALL3, "data": data}))
    assert results[0] == (True, encode(["uint8"], [6]))
    assert results[1][0] is False
