"""Pendle's PT price feeds on the devnet, as lenders use them (see `oracles` for what each answers).

`PendleChainlinkOracleFactory` (34,619 bytes of runtime) is over the code size limit, so the TWAP
feed (`PendleChainlinkOracle`) is deployed directly, after what that factory checks: the market
keeps enough observations for the window (`PendlePYLpOracle.getOracleState`).
"""

from __future__ import annotations

from web3.contract import Contract
from web3.logs import DISCARD

from loopscan.devnet.build import Artifacts
from loopscan.devnet.chain import Chain
from loopscan.protocols.pendle.devnet import PendleCore, PendleMarket, published

__all__ = ["PT_TO_ASSET", "linear_discount_oracle", "twap_oracle"]

PT_TO_ASSET = 1  # PendleOracleType (interfaces/IPChainlinkOracle.sol): PT_TO_SY, PT_TO_ASSET, LP_TO_SY, LP_TO_ASSET


def linear_discount_oracle(
    chain: Chain, artifacts: Artifacts, core: PendleCore, pt: str, base_discount_per_year: int
) -> Contract:
    """Spark's linear-discount PT feed, made by Pendle's factory: 1 − discount × time left / year."""
    factory = core.linear_discount_factory
    receipt = chain.send(factory.functions.createWithPt(pt, base_discount_per_year), chain.deployer, "createWithPt")
    oracle = factory.events.OracleCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]["oracle"]
    return chain.contract(oracle, published(artifacts, "PendleSparkLinearDiscountOracle").abi)


def twap_oracle(chain: Chain, artifacts: Artifacts, core: PendleCore, market: PendleMarket, window: int,
                kind: int = PT_TO_ASSET) -> Contract:  # fmt: skip
    """Pendle's Chainlink-compatible TWAP feed of `market` over `window` seconds. The market is first
    made to keep enough observations, and time is moved past one window so its oldest observation
    covers it: both are what `PendleChainlinkOracleFactory.createOracle` checks."""
    oracle_state = core.py_lp_oracle.functions.getOracleState(market.market.address, window)
    needs_more, cardinality, _ = oracle_state.call()
    if needs_more:
        call = market.market.functions.increaseObservationsCardinalityNext(cardinality)
        chain.send(call, chain.deployer, "increaseObservationsCardinalityNext")
    if not oracle_state.call()[2]:
        chain.increase_time(window + 1)
    return chain.deploy(published(artifacts, "PendleChainlinkOracle"), market.market.address, window, kind)
