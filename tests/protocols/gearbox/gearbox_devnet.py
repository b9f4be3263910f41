"""A devnet with one Gearbox v3.1 market: a USDC pool, an xUSD collateral, one credit account."""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError

from loopscan.devnet.build import Artifacts
from loopscan.devnet.chain import Chain, TxReverted
from loopscan.devnet.node import Anvil
from loopscan.protocols.gearbox.devnet import (
    Collateral,
    CreditManagerParams,
    GearboxDeployment,
    add_collateral,
    deploy_gearbox,
    facade_call,
    open_credit_account,
    supply,
)

USDC = 10**6
XUSD = 10**18
DOLLAR = 10**8  # the feeds' answer for $1 (8 decimals)
LIQUIDATE = "liquidateCreditAccount(address,address,(address,bytes)[])"  # overloaded: no loss policy data
XUSD_LT_BPS = 9_000
QUOTA_RATE_BPS = 500
DEPOSIT = 50_000_000 * USDC
ACCOUNT_XUSD = 1_000_000 * XUSD
ACCOUNT_DEBT = 850_000 * USDC
ACCOUNT_QUOTA = 1_000_000 * USDC
# A second account over several collaterals: xUSD capped by its quota (400k × 0.9 > 300k), sdeUSD
# under its quota, and some borrowed USDC kept on the account (weighted at 1 − 4 % − 1.5 %).
SDEUSD_LT_BPS = 8_500
MIXED = {"xUSD": (400_000 * XUSD, 300_000 * USDC), "sdeUSD": (500_000 * XUSD, 600_000 * USDC)}
MIXED_DEBT = 700_000 * USDC
MIXED_KEEP = 50_000 * USDC


@dataclass
class GearboxNet:
    chain: Chain
    gearbox: GearboxDeployment
    usdc: Contract
    xusd: Contract
    sdeusd: Contract
    feeds: dict[str, Contract]  # main feeds by token symbol
    account: str  # xUSD only, opened at setup
    mixed_account: str  # MIXED, opened at setup


def deploy_market(node: Anvil) -> GearboxNet:
    chain, artifacts = Chain(node), Artifacts()
    token_art, feed_art = artifacts.compiled("loopscan", "ScenarioToken"), artifacts.compiled("loopscan", "PriceFeed")
    keeper = chain.account("feed-keeper")
    usdc = chain.deploy(token_art, "USD Coin", "USDC", 6)
    xusd = chain.deploy(token_art, "Stream xUSD", "xUSD", 18)
    sdeusd = chain.deploy(token_art, "Staked deUSD", "sdeUSD", 18)
    feeds = {
        (symbol, kind): chain.deploy(feed_art, 8, f"{symbol} / USD {kind}", DOLLAR, keeper)
        for symbol in ("USDC", "xUSD", "sdeUSD")
        for kind in ("main", "reserve")
    }
    gearbox = deploy_gearbox(
        chain,
        artifacts,
        usdc.address,
        (feeds["USDC", "main"].address, feeds["USDC", "reserve"].address),
        CreditManagerParams(
            name="USDC", min_debt=50_000 * USDC, max_debt=1_000_000 * USDC, pool_debt_limit=20_000_000 * USDC
        ),
    )
    for token, lt, rate in ((xusd, XUSD_LT_BPS, QUOTA_RATE_BPS), (sdeusd, SDEUSD_LT_BPS, 300)):
        symbol = token.functions.symbol().call()
        main, reserve = feeds[symbol, "main"].address, feeds[symbol, "reserve"].address
        add_collateral(chain, gearbox, Collateral(token.address, main, reserve, lt, 10_000_000 * USDC, rate))
    lender, owner, other = (chain.account(f"gearbox-{who}") for who in ("lender", "borrower", "mixed-borrower"))
    chain.send(usdc.functions.mint(lender, DEPOSIT), chain.deployer, "mint USDC")
    supply(chain, gearbox, usdc, lender, DEPOSIT)
    chain.send(xusd.functions.mint(owner, ACCOUNT_XUSD), chain.deployer, "mint xUSD")
    account = open_credit_account(chain, gearbox, owner, [(xusd, ACCOUNT_XUSD, ACCOUNT_QUOTA)], ACCOUNT_DEBT)
    mixed = []
    for token in (xusd, sdeusd):
        amount, quota = MIXED[token.functions.symbol().call()]
        chain.send(token.functions.mint(other, amount), chain.deployer, "mint")
        mixed.append((token, amount, quota))
    mixed_account = open_credit_account(chain, gearbox, other, mixed, MIXED_DEBT, keep=MIXED_KEEP)
    main_feeds = {symbol: feed for (symbol, kind), feed in feeds.items() if kind == "main"}
    return GearboxNet(chain, gearbox, usdc, xusd, sdeusd, main_feeds, account, mixed_account)


def send_at(chain: Chain, call, sender: str, timestamp: int, what: str) -> dict:
    """Mine `call` in a block at `timestamp`, estimating gas against that same block.

    `Chain.send` lets web3 estimate gas at the latest block, whose earlier timestamp accrues less
    interest: an account liquidatable at `timestamp` can look healthy there. The pending block
    takes the timestamp set with `evm_setNextBlockTimestamp`.
    """
    chain.node.rpc("evm_setNextBlockTimestamp", [timestamp])
    try:
        gas = call.estimate_gas({"from": sender}, block_identifier="pending")
    except (ContractLogicError, ContractCustomError) as exc:
        raise TxReverted(what, chain.decode_revert(exc)) from None
    receipt = chain.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender, "gas": gas}))
    assert receipt["status"] == 1 and chain.block()["timestamp"] == timestamp
    return receipt


def set_prices(net: GearboxNet, prices: dict[str, int], t: int) -> None:
    """Main feeds answer `prices` (by symbol, the rest $1) from a block at time `t`. Every feed is
    re-posted: they go stale after `STALENESS_PERIOD`, and the tests jump weeks ahead."""
    keeper = net.chain.account("feed-keeper")
    net.chain.node.rpc("evm_setNextBlockTimestamp", [t])
    for symbol, feed in net.feeds.items():
        net.chain.send(feed.functions.setAnswer(prices.get(symbol, DOLLAR)), keeper, f"setAnswer({symbol})")


def liquidate(net: GearboxNet, account: str, liquidator: str, usdc_in: int, t: int) -> dict:
    """Liquidate `account` at time `t`: pay `usdc_in` into it, take all its xUSD and sdeUSD."""
    g = net.gearbox
    # Mined before `t`, at the next second: a call pinned to `t` (`evm_setNextBlockTimestamp`)
    # leaves the next block at t, and on a busy machine the one after at t + 1, after which the
    # liquidation itself could not be mined at `t`.
    for call, sender, what in ((net.usdc.functions.mint(liquidator, usdc_in), net.chain.deployer, "mint USDC"),
                               (net.usdc.functions.approve(g.credit_manager.address, usdc_in), liquidator, "approve")):  # fmt: skip
        net.chain.node.rpc("evm_setNextBlockTimestamp", [min(net.chain.block()["timestamp"] + 1, t)])
        net.chain.send(call, sender, what)
    calls = [facade_call(g, "addCollateral", net.usdc.address, usdc_in)]
    for token in (net.xusd, net.sdeusd):
        balance = token.functions.balanceOf(account).call()
        if balance:
            calls.append(facade_call(g, "withdrawCollateral", token.address, balance, liquidator))
    fn = g.credit_facade.get_function_by_signature(LIQUIDATE)
    return send_at(net.chain, fn(account, liquidator, calls), liquidator, t, "liquidateCreditAccount")
