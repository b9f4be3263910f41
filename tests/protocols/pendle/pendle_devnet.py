"""A devnet with Pendle v2 and one PT-sUSDe market as thin as the Nov 2025 figure (selling 6M PT
costs about 2 %): 100M PT against SY worth 100M USDe, 90 days to expiry, sUSDe at 1.2 USDe."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from web3.contract import Contract

from loopscan.chains.deployments import Contract as Entry
from loopscan.chains.deployments import Deployments
from loopscan.devnet.build import Artifacts
from loopscan.devnet.chain import Chain
from loopscan.devnet.node import Anvil
from loopscan.model import ZERO_ADDRESS
from loopscan.protocols.base import ScanContext
from loopscan.protocols.morpho_blue.devnet import market_params
from loopscan.protocols.pendle.devnet import PendleCore, PendleMarket, add_market, deploy_pendle, provide_liquidity
from loopscan.protocols.pendle.devnet_feeds import linear_discount_oracle
from loopscan.protocols.pendle.maths import MarketState
from loopscan.rpc import RpcClient

E = 10**18
POOL_ASSETS = 100_000_000 * E  # USDe worth of each side
SELLER_PT = 100_000_000 * E
SUSDE_RATE = (12, 10)  # USDe per sUSDe: staking yield accrued before the market opened


@dataclass
class PendleNet:
    chain: Chain
    core: PendleCore
    market: PendleMarket
    usde: Contract
    susde: Contract
    seller: str  # holds SELLER_PT PT


def _mint_shares(chain: Chain, usde: Contract, susde: Contract, who: str, assets: int) -> int:
    chain.send(usde.functions.mint(who, assets), chain.deployer, "mint USDe")
    chain.send(usde.functions.approve(susde.address, assets), who, "approve(sUSDe)")
    before = susde.functions.balanceOf(who).call()
    chain.send(susde.functions.deposit(assets, who), who, "sUSDe.deposit")
    return susde.functions.balanceOf(who).call() - before


def deploy_market(node: Anvil) -> PendleNet:
    chain, artifacts = Chain(node), Artifacts()
    usde = chain.deploy(artifacts.compiled("loopscan", "ScenarioToken"), "USDe", "USDe", 18)
    susde = chain.deploy(artifacts.compiled("loopscan", "YieldVault"), usde.address, "Staked USDe", "sUSDe")
    core = deploy_pendle(chain, artifacts)
    market = add_market(chain, artifacts, core, susde.address, "SY Staked USDe", "SY-sUSDe")

    lp, seller = chain.account("pendle-lp"), chain.account("pendle-seller")
    # Seed the vault, then raise its share price as staking rewards do (a transfer of USDe in).
    seeded = _mint_shares(chain, usde, susde, chain.account("susde-holder"), 10 * POOL_ASSETS)
    num, den = SUSDE_RATE
    chain.send(usde.functions.mint(susde.address, seeded * (num - den) // den), chain.deployer, "sUSDe yield")
    shares = _mint_shares(chain, usde, susde, lp, 2 * POOL_ASSETS)
    provide_liquidity(chain, market, lp, shares // 2, shares // 2)

    shares = _mint_shares(chain, usde, susde, seller, SELLER_PT)  # 1 PT per asset unit
    chain.send(susde.functions.approve(market.sy.address, shares), seller, "approve(SY)")
    chain.send(market.sy.functions.deposit(market.yt.address, susde.address, shares, shares), seller, "SY → YT")
    chain.send(market.yt.functions.mintPY(seller, seller), seller, "YT.mintPY")
    return PendleNet(chain, core, market, usde, susde, seller)


def read_state(net: PendleNet) -> MarketState:
    """The market's state as a swap through the router would read it (`readState(router)`)."""
    s = net.market.market.functions.readState(net.core.router.address).call()
    total_pt, total_sy, _lp, _treasury, scalar_root, expiry, ln_fee, reserve_fee, last_ln = s
    return MarketState(total_pt, total_sy, scalar_root, expiry, ln_fee, reserve_fee, last_ln)


def deployments(net: PendleNet, with_router: bool = True) -> Deployments:
    contracts = [Entry("pendle", "market_factory", net.core.market_factory.address, 0)]
    if with_router:
        contracts.append(Entry("pendle", "router", net.core.router.address))
    return Deployments("devnet", 31337, tuple(contracts), "pendle test deployments")


def read_at_latest(net: PendleNet, read):
    """Run `read(ctx)` (an async function of a `ScanContext`) at the devnet's latest block, as a
    scan would; its result and the context (for `missing` and the block)."""

    async def run():
        async with RpcClient(net.chain.node.url) as client:
            pin = await client.pin(None)
            header = await client.get_block(pin)
            ctx = ScanContext(client, pin, int(header["timestamp"], 16), deployments(net))
            return await read(ctx), ctx

    return asyncio.run(run())


USDC = 10**6
LLTV = 915 * 10**15
DISCOUNT = 12 * 10**16
COLLATERAL = 10_000_000 * E  # PT
DUMP = 30_000_000 * E  # PT sold into the market by others
LOAN_LTV = 91  # % of the oracle value borrowed


@dataclass
class PtLoop:
    morpho: Contract
    oracle: Contract
    params: tuple
    looper: str
    debt: int  # USDC units


def pt_loop_on_morpho(net, feed: Contract | None = None) -> PtLoop:
    """Morpho Blue with a PT-sUSDe/USDC market (no IRM: no interest moves the figures), 50M USDC
    supplied, and a looper holding COLLATERAL PT and owing LOAN_LTV % of its oracle value. The
    oracle's one feed is `feed` (a Pendle PT feed, answering in USDe), by default Spark's linear
    discount of DISCOUNT a year."""
    chain, artifacts, m = net.chain, Artifacts(), net.market
    owner, lender, looper = (chain.account(f"morpho-{who}") for who in ("owner", "lender", "looper"))
    morpho = chain.deploy(artifacts.compiled("morpho-blue", "Morpho"), owner)
    usdc = chain.deploy(artifacts.compiled("loopscan", "ScenarioToken"), "USD Coin", "USDC", 6)
    if feed is None:
        feed = linear_discount_oracle(chain, artifacts, net.core, m.pt.address, DISCOUNT)
    # PT priced at the feed's answer in USDe, USDe at $1 = 1 USDC: Morpho's 1e36 scale.
    oracle = chain.deploy(
        artifacts.compiled("loopscan", "MorphoFeedOracle"),
        (ZERO_ADDRESS, 0, feed.address, ZERO_ADDRESS, 18),
        (ZERO_ADDRESS, 0, ZERO_ADDRESS, ZERO_ADDRESS, 6),
    )
    params = market_params(usdc.address, m.pt.address, oracle.address, ZERO_ADDRESS, LLTV)
    chain.send(morpho.functions.enableIrm(ZERO_ADDRESS), owner)
    chain.send(morpho.functions.enableLltv(LLTV), owner)
    chain.send(morpho.functions.createMarket(params), owner)

    supply = 50_000_000 * USDC
    chain.send(usdc.functions.mint(lender, supply), chain.deployer)
    chain.send(usdc.functions.approve(morpho.address, supply), lender)
    chain.send(morpho.functions.supply(params, supply, 0, lender, b""), lender)
    chain.send(m.pt.functions.transfer(looper, COLLATERAL), net.seller)
    chain.send(m.pt.functions.approve(morpho.address, COLLATERAL), looper)
    chain.send(morpho.functions.supplyCollateral(params, COLLATERAL, looper, b""), looper)
    debt = COLLATERAL * oracle.functions.price().call() // 10**36 * LOAN_LTV // 100
    chain.send(morpho.functions.borrow(params, debt, 0, looper, looper), looper)
    return PtLoop(morpho, oracle, params, looper, debt)
