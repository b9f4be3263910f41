"""The `pendle` indexer on the devnet: markets found from the factory's logs, read as the contracts
answer them (checked against plain web3 calls), turned into valid snapshot rows, and the swap maths
fed with what it read prices the market's next sale to the wei."""

from __future__ import annotations

from pendle_devnet import E, deployments, read_at_latest

from loopscan.model import ZERO_ADDRESS
from loopscan.model.frames import to_frame, validate_frame
from loopscan.protocols import registry
from loopscan.protocols.pendle.devnet import sell_pt
from loopscan.protocols.pendle.indexer import plan
from loopscan.protocols.pendle.maths import swap_exact_pt_for_sy
from loopscan.protocols.tokens import TokenIndexer


def _fetch(net, indexers):
    async def read(ctx):
        return [await ix.fetch(ctx) for ix in indexers]

    return read_at_latest(net, read)


def test_markets_are_read_as_the_contracts_answer(pendle_net):
    (ix,) = plan(deployments(pendle_net), "pendle")
    assert ix.router == pendle_net.core.router.address.lower()
    (raw,), ctx = _fetch(pendle_net, [ix])
    m = pendle_net.market
    assert not ctx.missing and list(raw.markets) == [m.market.address.lower()]
    read = raw.markets[m.market.address.lower()]
    assert (read.pt, read.sy, read.yt) == (m.pt.address.lower(), m.sy.address.lower(), m.yt.address.lower())
    state = m.market.functions.readState(pendle_net.core.router.address).call()
    assert (read.state.total_pt, read.state.total_sy, read.total_lp) == (state[0], state[1], state[2])
    assert (read.state.scalar_root, read.state.expiry, read.state.ln_fee_rate_root) == (
        143 * 10**16,
        m.expiry,
        state[6],
    )
    assert (read.state.reserve_fee_percent, read.state.last_ln_implied_rate) == (80, state[8])
    assert read.initial_anchor == 10_283 * 10**14
    assert (
        read.sy_exchange_rate
        == m.sy.functions.exchangeRate().call()
        == pendle_net.susde.functions.convertToAssets(E).call()
    )
    assert read.py_index_stored == m.yt.functions.pyIndexStored().call()

    rows = ix.transform(raw, ctx.block)
    for table, table_rows in rows.items():
        validate_frame(table, to_frame(table, table_rows))
    (pool,) = rows["pools"]
    assert (pool["venue"], pool["token0"], pool["token1"], pool["fee_raw"]) == ("pendle", read.pt, read.sy, state[6])
    assert [c["balance"] for c in rows["pool_coins"]] == [state[0], state[1]]
    params = {p["param"]: p["value"] for p in rows["market_params"]}
    assert params["last_ln_implied_rate"] == state[8] and params["expiry"] == m.expiry
    registry.check_names([pool["venue"]], "pendle rows")
    # The SY as a vault over sUSDe: it holds one sUSDe share per SY.
    held = pendle_net.susde.functions.balanceOf(m.sy.address).call()
    (vault,) = rows["vaults"]
    assert (vault["vault"], vault["asset"], vault["kind"]) == (read.sy, pendle_net.susde.address.lower(), "pendle_sy")
    assert (vault["total_assets"], vault["total_supply"], vault["opaque_assets"]) == (held, m.sy.functions.totalSupply().call(), 0)
    assert [(h["holder"], h["token"], h["amount"]) for h in rows["holdings"]] == [(read.sy, vault["asset"], held)]
    assert params["pin_timestamp"] == ctx.timestamp

    # What was read is enough to price the next sale to the wei.
    sale = sell_pt(pendle_net.chain, m, pendle_net.seller, 6_000_000 * E)
    ours = swap_exact_pt_for_sy(read.state, read.py_index, 6_000_000 * E, sale.timestamp)
    assert ours.net_sy_out == sale.net_sy_out


def test_without_a_router_the_market_fee_is_read(pendle_net):
    (ix,) = plan(deployments(pendle_net, with_router=False), "pendle")
    assert ix.router == ZERO_ADDRESS
    (raw,), _ = _fetch(pendle_net, [ix])
    (read,) = raw.markets.values()
    assert read.state.ln_fee_rate_root == pendle_net.market.market.functions.getNonOverrideLnFeeRateRoot().call()


def test_a_market_whose_reads_fail_is_left_out_with_missing_rows(pendle_net):
    # An SY without code (what a broken or hostile SY looks like to a reader) answers nothing: the
    # market cannot be priced, so it is left out and the failed read is a `missing` row.
    sy = pendle_net.market.sy.address
    pendle_net.chain.node.rpc("anvil_setCode", [sy, "0x"])
    (ix,) = plan(deployments(pendle_net), "pendle")
    (raw,), ctx = _fetch(pendle_net, [ix])
    assert raw.markets == {}
    assert [(r["kind"], r["address"], r["method"]) for r in ctx.missing] == [("pool", sy.lower(), "exchangeRate()")]


def test_the_pt_is_classified_pt_and_the_yt_is_not(pendle_net):
    m = pendle_net.market
    addresses = [m.pt.address.lower(), m.yt.address.lower(), m.sy.address.lower()]
    (raw,), ctx = _fetch(pendle_net, [TokenIndexer(addresses)])
    kinds = {row["address"]: row["kind"] for row in TokenIndexer(addresses).transform(raw, ctx.block)["tokens"]}
    assert kinds == {addresses[0]: "pt", addresses[1]: "base", addresses[2]: "base"}
