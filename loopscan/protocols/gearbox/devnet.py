"""Deploy Gearbox v3.1 on the devnet from `@gearbox-protocol/core-v3@1.52.1`'s own sources.

One market: a pool with its interest model, quota keeper and rate keeper (`TumblerV3`), the price
oracle with main and reserve feeds, a credit manager with its facade and configurator, the
account factory, the bot list and a loss policy (`AliasedLossPolicyV3`, the package's only one);
then collateral tokens, each quoted with a rate and a limit and given its liquidation threshold.
Compiled with upstream's settings (`UNITS`). The address provider, ACL and
contracts register are not in the package: `contracts/gearbox/LoopscanGearboxRegister.sol` (ours)
stands in for them.

The order follows what the contracts check at each step: the quota keeper must name the pool
before the pool takes it, the tumbler reads the pool's quota keeper, the credit manager's first
configurator is whoever deploys it (it then hands over to `CreditConfiguratorV3`), and a
collateral token must have a price feed and be quoted before the configurator accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract
from web3.logs import DISCARD

from loopscan.devnet.build import Artifacts, CompileUnit
from loopscan.devnet.chain import Chain

__all__ = [
    "InterestModel",
    "CreditManagerParams",
    "Collateral",
    "GearboxDeployment",
    "deploy_gearbox",
    "add_collateral",
    "supply",
    "facade_call",
    "open_credit_account",
    "UNITS",
]

UNIT = "gearbox"
_SOURCES = "@gearbox-protocol/core-v3/contracts"
NO_VERSION_CONTROL = 0
# Chainlink heartbeats are a day at most; two days keeps devnet feeds fresh across test time jumps.
STALENESS_PERIOD = 2 * 86400

# Upstream's own compiler settings.
UNITS = (
    CompileUnit(
        name=UNIT,
        solc="solc0823",
        sources=tuple(
            f"{_SOURCES}/{path}.sol"
            for path in (
                "core/AliasedLossPolicyV3",
                "core/BotListV3",
                "core/DefaultAccountFactoryV3",
                "core/PriceOracleV3",
                "credit/CreditConfiguratorV3",
                "credit/CreditFacadeV3",
                "credit/CreditManagerV3",
                "pool/LinearInterestRateModelV3",
                "pool/PoolQuotaKeeperV3",
                "pool/PoolV3",
                "pool/TumblerV3",
            )
        ),
        via_ir=False,
        runs=1000,
        evm_version="shanghai",
        origin="@gearbox-protocol/core-v3@1.52.1 (Gearbox-protocol/core-v3 v1.52.1 @b038597d, foundry.toml: "
        "solc 0.8.23, shanghai, 1000 runs, bytecode_hash none), OpenZeppelin 4.9.6, @1inch/solidity-utils 2.4.0",
        # The sources import OpenZeppelin 4.x as `@openzeppelin/contracts/`; the project's own
        # contracts need 5.x under that name, so 4.9.6 is installed under an npm alias.
        remappings=("@openzeppelin/contracts/=@openzeppelin/contracts-v4/",),
        bytecode_hash="none",
    ),
)


def _key(text: str) -> bytes:
    """A Solidity `bytes32` string literal (Gearbox's address provider keys, `Constants.sol`)."""
    return text.encode().ljust(32, b"\0")


@dataclass(frozen=True)
class InterestModel:
    """`LinearInterestRateModelV3`'s constructor, in basis points."""

    u1_bps: int = 7_000
    u2_bps: int = 9_000
    base_bps: int = 0
    slope1_bps: int = 500
    slope2_bps: int = 1_000
    slope3_bps: int = 10_000
    borrowing_over_u2_forbidden: bool = False


@dataclass(frozen=True)
class CreditManagerParams:
    """`CreditManagerV3`'s constructor and the limits the configurator and the pool set.

    Amounts are raw units of the underlying. The fee defaults are those of Gearbox's v3 USDC
    managers (interest fee 25 %, liquidation fee 1.5 %, premium 4 %; expired 1 % and 2 %).
    """

    name: str
    min_debt: int
    max_debt: int
    pool_debt_limit: int
    max_enabled_tokens: int = 4
    fee_interest_bps: int = 2_500
    fee_liquidation_bps: int = 150
    liquidation_premium_bps: int = 400
    fee_liquidation_expired_bps: int = 100
    liquidation_premium_expired_bps: int = 200


@dataclass(frozen=True)
class Collateral:
    """A collateral token: its feeds (8-decimal, Chainlink-like), LT and quota terms."""

    token: str
    price_feed: str
    reserve_price_feed: str
    lt_bps: int
    quota_limit: int  # raw units of the underlying: the most all accounts together may quote
    quota_rate_bps: int  # yearly quota interest


@dataclass
class GearboxDeployment:
    register: Contract
    price_oracle: Contract
    interest_model: Contract
    pool: Contract
    quota_keeper: Contract
    rate_keeper: Contract
    account_factory: Contract
    bot_list: Contract
    loss_policy: Contract
    credit_manager: Contract
    credit_facade: Contract
    credit_configurator: Contract
    multicall_abi: list  # ICreditFacadeV3Multicall: the calls an account's multicall may hold
    admin: str
    treasury: str
    staleness: int = STALENESS_PERIOD  # seconds a feed answer stays usable, for every feed it sets

    def addresses(self) -> dict[str, str]:
        names = (
            "register", "price_oracle", "interest_model", "pool", "quota_keeper", "rate_keeper",
            "account_factory", "bot_list", "loss_policy", "credit_manager", "credit_facade",
            "credit_configurator",
        )  # fmt: skip
        return {f"gearbox_{name}": getattr(self, name).address for name in names}


def deploy_gearbox(
    chain: Chain,
    artifacts: Artifacts,
    underlying: str,
    underlying_feeds: tuple[str, str],
    credit_manager: CreditManagerParams,
    interest_model: InterestModel = InterestModel(),
    staleness: int = STALENESS_PERIOD,
    pool_symbol: str = "dLP",
) -> GearboxDeployment:
    """A Gearbox v3.1 market lending `underlying`, priced by (main, reserve) `underlying_feeds`,
    whose answers the price oracle takes for `staleness` seconds after they are posted; its pool's
    shares are `pool_symbol` (mainnet's USDC pool: dUSDCV3)."""
    admin = chain.account("gearbox-admin")
    treasury = chain.account("gearbox-treasury")

    def deploy(name: str, *args, sender: str | None = None) -> Contract:
        return chain.deploy(artifacts.compiled(UNIT, name), *args, sender=sender)

    def send(call, what: str) -> None:
        chain.send(call, admin, what)

    register = chain.deploy(artifacts.compiled("loopscan", "LoopscanGearboxRegister"), admin)
    # The bot list and account factory are owned by the instance manager; no price feed store
    # exists here (on-demand price updates and alias feeds are not used), so that key names the
    # register itself, where any call meant for a store reverts.
    for key, value in (("INSTANCE_MANAGER_PROXY", admin), ("PRICE_FEED_STORE", register.address)):
        chain.send(
            register.functions.setAddress(_key(key), NO_VERSION_CONTROL, value), chain.deployer, f"register {key}"
        )

    oracle = deploy("PriceOracleV3", register.address)
    _set_feeds(chain, oracle, admin, underlying, *underlying_feeds, staleness)
    m = interest_model
    irm = deploy(
        "LinearInterestRateModelV3",
        m.u1_bps, m.u2_bps, m.base_bps, m.slope1_bps, m.slope2_bps, m.slope3_bps, m.borrowing_over_u2_forbidden,
    )  # fmt: skip
    pool = deploy(
        "PoolV3", register.address, register.address, underlying, treasury, irm.address, 2**256 - 1,
        f"Gearbox devnet {credit_manager.name}", pool_symbol,
    )  # fmt: skip
    quota_keeper = deploy("PoolQuotaKeeperV3", pool.address)
    send(pool.functions.setPoolQuotaKeeper(quota_keeper.address), "PoolV3.setPoolQuotaKeeper")
    # Epoch length 0: every `updateRates` reaches the quota keeper (a longer epoch would silently
    # skip the update that gives a newly added token its first rate).
    rate_keeper = deploy("TumblerV3", pool.address, 0)
    send(quota_keeper.functions.setGauge(rate_keeper.address), "PoolQuotaKeeperV3.setGauge")
    chain.send(register.functions.addPool(pool.address), chain.deployer, "register.addPool")

    account_factory = deploy("DefaultAccountFactoryV3", register.address)
    bot_list = deploy("BotListV3", register.address)
    loss_policy = deploy("AliasedLossPolicyV3", pool.address, register.address)

    p = credit_manager
    manager = deploy(
        "CreditManagerV3", pool.address, account_factory.address, oracle.address, p.max_enabled_tokens,
        p.fee_interest_bps, p.fee_liquidation_bps, p.liquidation_premium_bps, p.fee_liquidation_expired_bps,
        p.liquidation_premium_expired_bps, p.name,
        sender=admin,
    )  # fmt: skip
    facade = deploy(
        "CreditFacadeV3", register.address, manager.address, loss_policy.address, bot_list.address,
        "0x" + "00" * 20, "0x" + "00" * 20, False,  # no WETH gateway, no degen NFT, not expirable
    )  # fmt: skip
    send(manager.functions.setCreditFacade(facade.address), "CreditManagerV3.setCreditFacade")
    configurator = deploy("CreditConfiguratorV3", manager.address)
    send(manager.functions.setCreditConfigurator(configurator.address), "CreditManagerV3.setCreditConfigurator")

    chain.send(register.functions.addCreditManager(manager.address), chain.deployer, "register.addCreditManager")
    send(account_factory.functions.addCreditManager(manager.address), "DefaultAccountFactoryV3.addCreditManager")
    send(quota_keeper.functions.addCreditManager(manager.address), "PoolQuotaKeeperV3.addCreditManager")
    send(
        pool.functions.setCreditManagerDebtLimit(manager.address, p.pool_debt_limit), "PoolV3.setCreditManagerDebtLimit"
    )
    send(configurator.functions.setDebtLimits(p.min_debt, p.max_debt), "CreditConfiguratorV3.setDebtLimits")

    return GearboxDeployment(
        register, oracle, irm, pool, quota_keeper, rate_keeper, account_factory, bot_list, loss_policy,
        manager, facade, configurator, artifacts.compiled(UNIT, "ICreditFacadeV3Multicall").abi, admin, treasury,
        staleness,
    )  # fmt: skip


def _set_feeds(chain: Chain, oracle: Contract, admin: str, token: str, main: str, reserve: str, staleness: int) -> None:
    """Main and reserve feeds: without a reserve feed the safe price is 0 (`PriceOracleV3.
    _getSafePrice`) and every collateral check after a withdrawal fails."""
    chain.send(oracle.functions.setPriceFeed(token, main, staleness), admin, f"setPriceFeed({token})")
    chain.send(oracle.functions.setReservePriceFeed(token, reserve, staleness), admin, f"setReservePriceFeed({token})")


def add_collateral(chain: Chain, gearbox: GearboxDeployment, collateral: Collateral) -> None:
    """Price, quote and enable one collateral token in the market's credit manager."""
    admin, c = gearbox.admin, collateral
    _set_feeds(chain, gearbox.price_oracle, admin, c.token, c.price_feed, c.reserve_price_feed, gearbox.staleness)
    keeper = gearbox.rate_keeper.functions
    chain.send(keeper.addToken(c.token), admin, f"TumblerV3.addToken({c.token})")
    chain.send(keeper.setRate(c.token, c.quota_rate_bps), admin, f"TumblerV3.setRate({c.token})")
    chain.send(keeper.updateRates(), admin, "TumblerV3.updateRates")
    chain.send(gearbox.quota_keeper.functions.setTokenLimit(c.token, c.quota_limit), admin, f"setTokenLimit({c.token})")
    chain.send(
        gearbox.credit_configurator.functions.addCollateralToken(c.token, c.lt_bps),
        admin,
        f"CreditConfiguratorV3.addCollateralToken({c.token})",
    )


def supply(chain: Chain, gearbox: GearboxDeployment, token: Contract, lender: str, amount: int) -> None:
    """Deposit `amount` of the underlying (already held by `lender`) into the pool."""
    chain.send(token.functions.approve(gearbox.pool.address, amount), lender, "approve(pool)")
    chain.send(gearbox.pool.functions.deposit(amount, lender), lender, "PoolV3.deposit")


def facade_call(gearbox: GearboxDeployment, fn: str, *args) -> tuple[str, bytes]:
    """One `MultiCall` to the facade itself (`ICreditFacadeV3Multicall.<fn>`)."""
    facade = gearbox.credit_facade
    encoder = facade.w3.eth.contract(address=facade.address, abi=gearbox.multicall_abi)
    return (facade.address, bytes.fromhex(encoder.encode_abi(fn, args=list(args))[2:]))


def open_credit_account(
    chain: Chain,
    gearbox: GearboxDeployment,
    owner: str,
    collaterals: list[tuple[Contract, int, int]],
    debt: int,
    keep: int = 0,
) -> str:
    """Open an account holding each (token, amount, quota) of `collaterals`, owing `debt`.

    All but `keep` of the borrowed underlying is withdrawn to `owner` in the same multicall, as a
    leveraged buyer spends it, so the account's value rests on its collateral. `owner` holds
    every `amount`.
    """
    underlying = gearbox.credit_manager.functions.underlying().call()
    calls = []
    for token, amount, _ in collaterals:
        chain.send(token.functions.approve(gearbox.credit_manager.address, amount), owner, "approve(credit manager)")
        calls.append(facade_call(gearbox, "addCollateral", token.address, amount))
    calls.append(facade_call(gearbox, "increaseDebt", debt))
    calls += [facade_call(gearbox, "updateQuota", token.address, quota, quota) for token, _, quota in collaterals]
    if debt > keep:
        calls.append(facade_call(gearbox, "withdrawCollateral", underlying, debt - keep, owner))
    receipt = chain.send(gearbox.credit_facade.functions.openCreditAccount(owner, calls, 0), owner, "openCreditAccount")
    opened = gearbox.credit_facade.events.OpenCreditAccount().process_receipt(receipt, errors=DISCARD)
    return opened[0]["args"]["creditAccount"]
