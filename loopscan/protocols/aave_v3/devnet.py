"""Deploy an Aave v3 pool from `@aave/core-v3`'s published artifacts (the v3.0.x code line).

The order follows what a real market deployment does: addresses provider, ACL, the logic
libraries linked into `Pool` and `PoolConfigurator`, the proxies the provider creates, the
oracle, the data provider, then the reserves through the configurator. Spark runs this same
code; the scenario's parameters decide what it looks like.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from web3.contract import Contract

from loopscan.devnet.build import Artifacts, link
from loopscan.devnet.chain import Chain
from loopscan.model import ZERO_ADDRESS

__all__ = ["AaveDeployment", "deploy_aave", "add_reserves", "add_emode", "RAY", "BPS"]

RAY = 10**27
BPS = 10_000
_ART = "@aave/core-v3/artifacts/contracts"
_LIBS = ("BorrowLogic", "BridgeLogic", "EModeLogic", "LiquidationLogic", "PoolLogic", "SupplyLogic")
# Aave's own base currency is USD with 8 decimals (as on mainnet).
BASE_CURRENCY_UNIT = 10**8


def _artifact(artifacts: Artifacts, path: str):
    name = path.rsplit("/", 1)[-1]
    return artifacts.published(f"{_ART}/{path}.sol/{name}.json")


@dataclass
class AaveDeployment:
    provider: Contract
    pool: Contract
    configurator: Contract
    oracle: Contract
    data_provider: Contract
    admin: str
    treasury: str
    reserves: dict[str, dict[str, str]] = field(default_factory=dict)  # asset -> aToken, debt tokens

    @classmethod
    def attach(cls, chain: Chain, artifacts: Artifacts, contracts: dict[str, str], admin: str, treasury: str) -> AaveDeployment:
        """The deployment at the addresses a manifest lists."""

        def at(key: str, path: str) -> Contract:
            return chain.contract(contracts[key], _artifact(artifacts, path).abi)

        return cls(
            at("aave_pool_addresses_provider", "protocol/configuration/PoolAddressesProvider"),
            at("aave_pool", "protocol/pool/Pool"),
            at("aave_pool_configurator", "protocol/pool/PoolConfigurator"),
            at("aave_oracle", "misc/AaveOracle"),
            at("aave_protocol_data_provider", "misc/AaveProtocolDataProvider"),
            admin,
            treasury,
        )

    def addresses(self) -> dict[str, str]:
        return {
            "aave_pool_addresses_provider": self.provider.address,
            "aave_pool": self.pool.address,
            "aave_pool_configurator": self.configurator.address,
            "aave_oracle": self.oracle.address,
            "aave_protocol_data_provider": self.data_provider.address,
        }


def deploy_aave(chain: Chain, artifacts: Artifacts, assets: list[str], sources: list[str]) -> AaveDeployment:
    """A full pool with the oracle pointed at `sources` for `assets`; reserves come next."""
    admin = chain.account("aave-admin")
    treasury = chain.account("aave-treasury")
    provider = chain.deploy(
        _artifact(artifacts, "protocol/configuration/PoolAddressesProvider"), "loopscan devnet", admin
    )
    chain.send(provider.functions.setACLAdmin(admin), admin, "setACLAdmin")
    acl = chain.deploy(_artifact(artifacts, "protocol/configuration/ACLManager"), provider.address)
    chain.send(provider.functions.setACLManager(acl.address), admin, "setACLManager")
    chain.send(acl.functions.addPoolAdmin(admin), admin, "addPoolAdmin")
    chain.send(acl.functions.addRiskAdmin(admin), admin, "addRiskAdmin")

    libraries: dict[str, str] = {}
    for lib in _LIBS:
        art = _artifact(artifacts, f"protocol/libraries/logic/{lib}")
        libraries[lib] = chain.deploy(art).address
    flash = _artifact(artifacts, "protocol/libraries/logic/FlashLoanLogic")
    libraries["FlashLoanLogic"] = chain.deploy(flash, bytecode=link(flash, libraries)).address

    pool_art = _artifact(artifacts, "protocol/pool/Pool")
    pool_impl = chain.deploy(pool_art, provider.address, bytecode=link(pool_art, libraries))
    chain.send(pool_impl.functions.initialize(provider.address), admin, "Pool.initialize (implementation)")
    chain.send(provider.functions.setPoolImpl(pool_impl.address), admin, "setPoolImpl")
    pool = chain.contract(provider.functions.getPool().call(), pool_art.abi)

    cfg_lib = _artifact(artifacts, "protocol/libraries/logic/ConfiguratorLogic")
    cfg_art = _artifact(artifacts, "protocol/pool/PoolConfigurator")
    cfg_impl = chain.deploy(
        cfg_art, bytecode=link(cfg_art, {"ConfiguratorLogic": chain.deploy(cfg_lib).address})
    )
    chain.send(provider.functions.setPoolConfiguratorImpl(cfg_impl.address), admin, "setPoolConfiguratorImpl")
    configurator = chain.contract(provider.functions.getPoolConfigurator().call(), cfg_art.abi)

    oracle = chain.deploy(
        _artifact(artifacts, "misc/AaveOracle"),
        provider.address,
        assets,
        sources,
        ZERO_ADDRESS,
        ZERO_ADDRESS,  # base currency: USD, marked by the zero address as on mainnet
        BASE_CURRENCY_UNIT,
    )
    chain.send(provider.functions.setPriceOracle(oracle.address), admin, "setPriceOracle")
    data_provider = chain.deploy(_artifact(artifacts, "misc/AaveProtocolDataProvider"), provider.address)
    chain.send(provider.functions.setPoolDataProvider(data_provider.address), admin, "setPoolDataProvider")
    # Errors are raised as numeric strings by Aave (e.g. '45'); register the tokens' ABIs anyway.
    return AaveDeployment(provider, pool, configurator, oracle, data_provider, admin, treasury)


def add_reserves(chain: Chain, artifacts: Artifacts, aave: AaveDeployment, reserves: list[dict]) -> None:
    """Initialise and configure reserves. Each dict has: address, symbol, decimals, ltv_bps,
    lt_bps, bonus_bps (Aave's form: 10500 = 5 % bonus), borrowable, reserve_factor_bps,
    and the rate strategy in rays."""
    pool = aave.pool.address
    a_impl = chain.deploy(_artifact(artifacts, "protocol/tokenization/AToken"), pool)
    s_impl = chain.deploy(_artifact(artifacts, "protocol/tokenization/StableDebtToken"), pool)
    v_impl = chain.deploy(_artifact(artifacts, "protocol/tokenization/VariableDebtToken"), pool)
    strategy_art = _artifact(artifacts, "protocol/pool/DefaultReserveInterestRateStrategy")
    inputs = []
    for r in reserves:
        strategy = chain.deploy(
            strategy_art,
            aave.provider.address,
            r["optimal_usage_ray"],
            r["base_rate_ray"],
            r["slope1_ray"],
            r["slope2_ray"],
            0, 0, 0, 0, 0,  # stable-rate borrowing is off on the devnet, as on mainnet today
        )  # fmt: skip
        sym = r["symbol"]
        inputs.append(
            (
                a_impl.address, s_impl.address, v_impl.address, r["decimals"], strategy.address,
                r["address"], aave.treasury, ZERO_ADDRESS,
                f"Aave devnet {sym}", f"a{sym}", f"Aave devnet Variable Debt {sym}", f"variableDebt{sym}",
                f"Aave devnet Stable Debt {sym}", f"stableDebt{sym}", b"",
            )
        )  # fmt: skip
    chain.send(aave.configurator.functions.initReserves(inputs), aave.admin, "PoolConfigurator.initReserves")
    for r in reserves:
        cfg = aave.configurator.functions
        if r["lt_bps"]:
            chain.send(
                cfg.configureReserveAsCollateral(r["address"], r["ltv_bps"], r["lt_bps"], r["bonus_bps"]),
                aave.admin,
                f"configureReserveAsCollateral({r['symbol']})",
            )
        if r["borrowable"]:
            chain.send(cfg.setReserveBorrowing(r["address"], True), aave.admin, f"setReserveBorrowing({r['symbol']})")
        chain.send(
            cfg.setReserveFactor(r["address"], r["reserve_factor_bps"]), aave.admin, f"setReserveFactor({r['symbol']})"
        )
        data = aave.pool.functions.getReserveData(r["address"]).call()
        aave.reserves[r["address"]] = {"a_token": data[8], "stable_debt_token": data[9], "variable_debt_token": data[10]}


def add_emode(chain: Chain, aave: AaveDeployment, category: int, ltv_bps: int, lt_bps: int, bonus_bps: int,
              label: str, assets: list[str]) -> None:  # fmt: skip
    cfg = aave.configurator.functions
    chain.send(
        cfg.setEModeCategory(category, ltv_bps, lt_bps, bonus_bps, ZERO_ADDRESS, label),
        aave.admin,
        f"setEModeCategory({category})",
    )
    for asset in assets:
        chain.send(cfg.setAssetEModeCategory(asset, category), aave.admin, f"setAssetEModeCategory({asset})")
