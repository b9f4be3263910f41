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
    open_credit_account,
    supply,
)

USDC = 10**6
XUSD = 10**18
DOLLAR = 10**8  # the feeds' answer for $1 (8 decimals)
XUSD_LT_BPS = 9_000
QUOTA_RATE_BPS = 500
DEPOSIT = 50_000_000 * USDC
ACCOUNT_XUSD = 1_000_000 * XUSD
ACCOUNT_DEBT = 850_000 * USDC
ACCOUNT_QUOTA = 1_000_000 * USDC


@dataclass
class GearboxNet:
    chain: Chain
    gearbox: GearboxDeployment
    usdc: Contract
    xusd: Contract
    xusd_feed: Contract
    usdc_feed: Contract
    owner: str
    account: str  # the credit account opened at setup


def deploy_market(node: Anvil) -> GearboxNet:
    chain, artifacts = Chain(node), Artifacts()
    token_art, feed_art = artifacts.compiled("loopscan", "ScenarioToken"), artifacts.compiled("loopscan", "PriceFeed")
    keeper = chain.account("feed-keeper")
    usdc = chain.deploy(token_art, "USD Coin", "USDC", 6)
    xusd = chain.deploy(token_art, "Stream xUSD", "xUSD", 18)
    feeds = {
        name: chain.deploy(feed_art, 8, name, DOLLAR, keeper)
        for name in ("USDC / USD", "USDC / USD reserve", "xUSD / USD", "xUSD / USD reserve")
    }
    gearbox = deploy_gearbox(
        chain,
        artifacts,
        usdc.address,
        (feeds["USDC / USD"].address, feeds["USDC / USD reserve"].address),
        CreditManagerParams(
            name="USDC", min_debt=50_000 * USDC, max_debt=1_000_000 * USDC, pool_debt_limit=20_000_000 * USDC
        ),
    )
    add_collateral(
        chain,
        gearbox,
        Collateral(
            xusd.address,
            feeds["xUSD / USD"].address,
            feeds["xUSD / USD reserve"].address,
            XUSD_LT_BPS,
            quota_limit=10_000_000 * USDC,
            quota_rate_bps=QUOTA_RATE_BPS,
        ),
    )
    lender, owner = chain.account("gearbox-lender"), chain.account("gearbox-borrower")
    chain.send(usdc.functions.mint(lender, DEPOSIT), chain.deployer, "mint USDC")
    supply(chain, gearbox, usdc, lender, DEPOSIT)
    chain.send(xusd.functions.mint(owner, ACCOUNT_XUSD), chain.deployer, "mint xUSD")
    account = open_credit_account(chain, gearbox, owner, xusd, ACCOUNT_XUSD, ACCOUNT_DEBT, ACCOUNT_QUOTA)
    return GearboxNet(chain, gearbox, usdc, xusd, feeds["xUSD / USD"], feeds["USDC / USD"], owner, account)


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
