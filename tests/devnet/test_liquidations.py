"""The scenarios are live: moving an oracle past a position's threshold makes the protocol's own
liquidation succeed where it reverted just before."""

from __future__ import annotations

from decimal import Decimal

import pytest
from devnet_helpers import aave_pool, contract, fund, market_params, morpho
from web3.logs import DISCARD

from loopscan.devnet.chain import TxReverted

pytestmark = pytest.mark.devnet




def _set_feed(net, feed: str, answer: str) -> None:
    f = net.manifest["feeds"][feed]
    c = contract(net, f["address"], "loopscan", "PriceFeed")
    value = int(Decimal(answer).scaleb(f["decimals"]))
    net.chain.send(c.functions.setAnswer(value), net.chain.account("feed-keeper"))


def _morpho_liquidate(net, market: str, borrower: str, seized: int):
    m = morpho(net)
    liquidator = fund(net, "USDC", "liquidator", 10**9 * 10**6, m.address)
    fn = m.functions.liquidate(market_params(net, market), net.manifest["accounts"][borrower], seized, 0, b"")
    return net.chain.send(fn, liquidator, "Morpho.liquidate")


def test_morpho_liquidation_opens_when_the_market_oracle_crosses_lltv(stream):
    # looper-1: 23,622,047.244094 xUSD against 24M USDC, LLTV 91.5 %:
    # liquidatable below 24e6 / (23.622047244094e6 * 0.915) = 1.11037 USD per xUSD.
    seized = 10**6 * 10**6
    _set_feed(stream, "xUSD/USD", "1.1104")
    with pytest.raises(TxReverted, match="position is healthy"):
        _morpho_liquidate(stream, "xUSD/USDC-91.5", "looper-1", seized)
    _set_feed(stream, "xUSD/USD", "1.1103")
    before = morpho(stream).functions.position(
        stream.manifest["morpho_markets"]["xUSD/USDC-91.5"]["id"], stream.manifest["accounts"]["looper-1"]
    ).call()[2]
    _morpho_liquidate(stream, "xUSD/USDC-91.5", "looper-1", seized)
    after = morpho(stream).functions.position(
        stream.manifest["morpho_markets"]["xUSD/USDC-91.5"]["id"], stream.manifest["accounts"]["looper-1"]
    ).call()[2]
    assert before - after == seized


def test_book_value_market_ignores_the_market_price_but_not_a_writedown(stream):
    # Stream's treasury borrows on a market priced by xUSD's exchange rate: a market crash of
    # xUSD does not open it to liquidation (hidden bad debt); the manager's write-down does.
    seized = 10**6 * 10**6
    _set_feed(stream, "xUSD/USD", "0.50")
    with pytest.raises(TxReverted, match="position is healthy"):
        _morpho_liquidate(stream, "xUSD/USDC-86", "stream-treasury", seized)
    stream.apply("writedown")
    xusd = contract(stream, stream.manifest["tokens"]["xUSD"]["address"], "loopscan", "OpaqueVault")
    assert xusd.functions.totalAssets().call() == (253_340_000 - 93_000_000) * 10**6
    _morpho_liquidate(stream, "xUSD/USDC-86", "stream-treasury", seized)


def _aave_liquidate(net, borrower: str, cover: int):
    pool = aave_pool(net)
    liquidator = fund(net, "USDC", "liquidator", 10**9 * 10**6, pool.address)
    t = net.manifest["tokens"]
    fn = pool.functions.liquidationCall(
        t["sUSDe"]["address"], t["USDC"]["address"], net.manifest["accounts"][borrower], cover, False
    )
    return net.chain.send(fn, liquidator, "Pool.liquidationCall")


def test_aave_liquidation_opens_when_the_feed_crosses_the_threshold(susde):
    # looper-c: sUSDe priced at 1.2 x the USDT feed, USDC debt, HF 1.15 at a feed of 1:
    # liquidatable below 1 / 1.15 = 0.869565.
    cover = 10**6 * 10**6
    _set_feed(susde, "USDT/USD", "0.8696")
    with pytest.raises(TxReverted, match="'?45'?"):  # Errors.HEALTH_FACTOR_NOT_BELOW_THRESHOLD
        _aave_liquidate(susde, "looper-c", cover)
    _set_feed(susde, "USDT/USD", "0.8695")
    receipt = _aave_liquidate(susde, "looper-c", cover)
    (event,) = aave_pool(susde).events.LiquidationCall().process_receipt(receipt, errors=DISCARD)
    assert event["args"]["user"] == susde.manifest["accounts"]["looper-c"]
    assert event["args"]["debtToCover"] == cover
