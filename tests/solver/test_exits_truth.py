"""The chain is the truth for a split sale: on the stream-2025 devnet, deUSD gets a second,
shallower Uniswap v3 pool (fee 0.05 %, minted here through the NonfungiblePositionManager, as an
LP would), the scan reads both as deUSD's exit, and what the split says each pool takes and pays
is what QuoterV2 and real SwapRouter swaps of the same parts do, to the wei: one sale split by
greedy slices, and the sale down to a price that the depth table reports."""

from __future__ import annotations

import asyncio

import pytest
from dex_conftest import _CORE, _PERI, DexPool, _published
from test_swap_truth import check_exact_input

from loopscan.chains import from_devnet_manifest
from loopscan.protocols.uniswap_v3.swap import price_of
from loopscan.scanner import index_async
from loopscan.solver import Book, build_book
from loopscan.solver.depth import absorbable

pytestmark = pytest.mark.devnet

TOKEN, QUOTE, FEE, SEEDED = "deUSD", "USDC", 500, "deUSD/USDC"


def second_pool(net) -> DexPool:
    """A deUSD/USDC pool at fee 500 beside the seeded one (fee 100), at the same price, holding a
    quarter million of each within ±0.5 % of it."""
    w3, contracts = net.chain.w3, net.manifest["contracts"]
    seeded = _published(w3, net.manifest["uniswap_pools"][SEEDED]["address"], f"{_CORE}/UniswapV3Pool")
    token0, token1 = seeded.functions.token0().call(), seeded.functions.token1().call()
    sqrt_price, tick = seeded.functions.slot0().call()[:2]
    manager = _published(w3, contracts["uniswap_v3_position_manager"], f"{_PERI}/NonfungiblePositionManager")
    net.chain.send(
        manager.functions.createAndInitializePoolIfNecessary(token0, token1, FEE, sqrt_price), net.chain.deployer
    )
    factory = _published(w3, contracts["uniswap_v3_factory"], f"{_CORE}/UniswapV3Factory")
    pool = _published(w3, factory.functions.getPool(token0, token1, FEE).call(), f"{_CORE}/UniswapV3Pool")
    by_address = {t["address"]: tid for tid, t in net.manifest["tokens"].items()}
    dex = DexPool(
        net, "deUSD/USDC-5bp", pool, (by_address[token0], by_address[token1]),
        quoter=_published(w3, contracts["uniswap_v3_quoter_v2"], f"{_PERI}/lens/QuoterV2"),
        router=_published(w3, contracts["uniswap_v3_swap_router"], f"{_PERI}/SwapRouter"),
        manager=manager, trader=net.chain.account("dex-trader"),
    )  # fmt: skip
    spacing = pool.functions.tickSpacing().call()
    amounts = [250_000 * 10 ** dex.decimals(i) for i in (0, 1)]
    dex.add_position((tick - 50) // spacing * spacing, (tick + 50) // spacing * spacing + spacing, *amounts)
    return dex


def two_pools(net) -> tuple[Book, str, dict[str, DexPool]]:
    """The devnet with deUSD's second pool, scanned now: the Book, deUSD's address, and both
    pools by address (the scenario's own one with the same periphery and trader)."""
    shallow = second_pool(net)
    pool = _published(net.chain.w3, net.manifest["uniswap_pools"][SEEDED]["address"], f"{_CORE}/UniswapV3Pool")
    deep = DexPool(
        net, SEEDED, pool, shallow.token_ids, shallow.quoter, shallow.router, shallow.manager, shallow.trader
    )
    block = net.chain.w3.eth.block_number
    snap = asyncio.run(index_async(net.url, deployments=from_devnet_manifest(net.manifest), block=block))
    by_pool = {d.pool.address.lower(): d for d in (deep, shallow)}
    token = net.manifest["tokens"][TOKEN]["address"].lower()
    book = build_book(snap)
    assert {v.address for v in book.exits[token].venues} == set(by_pool)
    return book, token, by_pool


def test_a_split_sale_is_the_sum_of_real_swaps_of_its_parts(stream):
    book, token, by_pool = two_pools(stream)
    exit_ = book.exits[token]
    decimals = exit_.decimals

    # One sale of 1.5M deUSD, greedy slices across both pools: each part is one exact-input swap.
    parts = exit_.split(1_500_000 * 10**decimals)
    assert all(p > 0 for p in parts), "the sale is large enough to reach the shallow pool"
    said = sum(v.quote_out(p) for v, p in zip(exit_.venues, parts, strict=True))
    quoted = paid = 0
    for venue, part in zip(exit_.venues, parts, strict=True):
        dex = by_pool[venue.address]
        out, sqrt_after, _, _ = dex.quote_exact_input(venue.token_is_0, part)
        after = float(price_of(sqrt_after) if venue.token_is_0 else 1 / price_of(sqrt_after))
        assert (out, after) == (venue.quote_out(part), venue.marginal_after(part))
        quoted += out
        spent, received = dex.router_swap(venue.token_is_0, part)
        assert spent == part
        paid += received
    assert quoted == paid == said
    alone = exit_.venues[0].quote_out(sum(parts))
    print(f"\n1.5M deUSD split {[p / 10**decimals for p in parts]} deUSD: {said} USDC units (QuoterV2 and SwapRouter"
          f" the same); the deeper pool alone would pay {alone}")  # fmt: skip
    # Both pools end within one slice of the same price, the split's price is the best of them.
    size = -(-sum(parts) // 100)
    final = [exit_.relative(k, p) for k, p in enumerate(parts)]
    assert all(exit_.relative(k, p - size) >= max(final) for k, p in enumerate(parts))


def test_absorbable_depth_across_two_pools_is_real_swaps(stream):
    book, token, by_pool = two_pools(stream)
    exit_ = book.exits[token]
    level = 0.002  # both pools hold depth within 0.2 % of the price
    sales = exit_.sale_to(1.0 - level)
    usd = 0.0
    for venue, pin, weight, (sold, received) in zip(exit_.venues, exit_.pins, exit_.weights, sales, strict=True):
        assert sold > 0
        sale = venue.swap_to(pin * (1.0 - level) / weight)
        before = stream.snapshot()
        mine = check_exact_input(by_pool[venue.address], venue.token_is_0, sold, sale.sqrt_price_x96_after)
        stream.revert(before)
        assert (mine.amount0, mine.amount1) == (sale.amount0, sale.amount1)
        assert received == -(mine.amount1 if venue.token_is_0 else mine.amount0)
        usd += received / 10**venue.quote_decimals * book.p0[venue.quote]
    assert absorbable(book, token, level) == (sum(s for s, _ in sales) / 10**exit_.decimals, usd)
