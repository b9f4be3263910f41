"""The solver's liquidation maths against the protocols' own contracts on the devnet.

Every prediction is made from what an indexer reads at the latest block, carried to the
timestamp of the block the liquidation will be mined in (blocks come every 12 s): Morpho and
Aave both accrue interest first thing in a liquidation, so a prediction that skipped it would
be off by the interest of one block. Then the contract decides, and the asserts are exact.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from devnet_helpers import fund, liquidate_event
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from loopscan.devnet.build import Artifacts
from loopscan.devnet.run import BLOCK_INTERVAL
from loopscan.protocols.aave_v3.liquidation import (
    liquidation_call,
    liquidation_call_v30,
    rules_for_revision,
)  # fmt: skip
from loopscan.protocols.aave_v3.maths import (
    EModeCategory,
    Reserve,
    UserReserve,
    percent_mul,
    user_account_data,
    variable_debt_balance,
)  # fmt: skip
from loopscan.protocols.morpho_blue.irm import adaptive_curve_irm_rate
from loopscan.protocols.morpho_blue.liquidation import full_liquidation_args, liquidate
from loopscan.protocols.morpho_blue.maths import (
    MarketState,
    PositionState,
    expected_market_balances,
    is_healthy,
)  # fmt: skip

pytestmark = pytest.mark.devnet
_ART = Artifacts()
_AAVE = "@aave/core-v3/artifacts/contracts"


def _compiled(net, address: str, unit: str, name: str):
    return net.chain.contract(address, _ART.compiled(unit, name).abi)


def _published(net, address: str, path: str):
    return net.chain.contract(address, _ART.published(f"{_AAVE}/{path}.sol/{path.rsplit('/', 1)[-1]}.json").abi)




def _set_answer(net, feed: str, answer: int) -> None:
    c = _compiled(net, net.manifest["feeds"][feed]["address"], "loopscan", "PriceFeed")
    net.chain.send(c.functions.setAnswer(answer), net.chain.account("feed-keeper"))


def _answer(net, feed: str, human: str) -> int:
    return int(Decimal(human).scaleb(net.manifest["feeds"][feed]["decimals"]))


def _mine(net, fn, sender: str) -> dict:
    """Send in the next block. Not `Chain.send`: its gas estimate runs on the latest block, 12 s
    earlier, which at the wei can disagree; a dry run in the pending block names any revert."""
    fn.call({"from": sender}, block_identifier="pending")
    receipt = net.chain.w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender, "gas": 3_000_000}))
    assert receipt["status"] == 1
    return receipt


def _timestamp(net, receipt) -> int:
    return net.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]


# -- Morpho Blue -----------------------------------------------------------------------------
class MorphoMarket:
    """What an indexer reads for one market and one borrower, at the latest block."""

    def __init__(self, net, market: str, borrower: str) -> None:
        info, tokens = net.manifest["morpho_markets"][market], net.manifest["tokens"]
        self.net, self.id, self.lltv = net, bytes.fromhex(info["id"][2:]), int(info["lltv"])
        self.morpho = _compiled(net, net.manifest["contracts"]["morpho_blue"], "morpho-blue", "Morpho")
        self.irm = _compiled(net, info["irm"], "morpho-periphery", "AdaptiveCurveIrm")
        self.oracle = _compiled(net, info["oracle"], "loopscan", "MorphoFeedOracle")
        self.params = (
            tokens[info["loan_token"]]["address"],
            tokens[info["collateral_token"]]["address"],
            info["oracle"],
            info["irm"],
            self.lltv,
        )
        self.borrower = net.manifest["accounts"][borrower]

    def market(self) -> MarketState:
        return MarketState(*self.morpho.functions.market(self.id).call())

    def position(self) -> PositionState:
        _, borrow_shares, collateral = self.morpho.functions.position(self.id, self.borrower).call()
        return PositionState(borrow_shares, collateral)

    def rate_at_target(self) -> int:
        return self.irm.functions.rateAtTarget(self.id).call()

    def price_for(self, feed: str):
        """MorphoFeedOracle.price() as a function of one feed's answer, the rest read now."""
        o, f = self.oracle.functions, self.net.manifest["feeds"][feed]["address"]
        feeds = [o.BASE_FEED_1().call(), o.BASE_FEED_2().call(), o.QUOTE_FEED_1().call(), o.QUOTE_FEED_2().call()]
        assert feeds.count(f) == 1 and f in feeds[:2], "the moved feed prices the collateral"

        def answer(address: str, moved: int) -> int:
            if address == f:
                return moved
            if int(address, 16) == 0:
                return 1
            return _compiled(self.net, address, "loopscan", "PriceFeed").functions.latestRoundData().call()[1]

        def rate(vault: str, sample: int) -> int:
            if int(vault, 16) == 0:
                return 1
            return _compiled(self.net, vault, "loopscan", "YieldVault").functions.convertToAssets(sample).call()

        base_rate = rate(o.BASE_VAULT().call(), o.BASE_VAULT_CONVERSION_SAMPLE().call())
        quote_rate = rate(o.QUOTE_VAULT().call(), o.QUOTE_VAULT_CONVERSION_SAMPLE().call())
        scale = o.SCALE_FACTOR().call()
        return lambda a: (
            scale
            * base_rate
            * answer(feeds[0], a)
            * answer(feeds[1], a)
            // (quote_rate * answer(feeds[2], a) * answer(feeds[3], a))
        )

    def liquidate_call(self, seized: int = 0, shares: int = 0):
        return self.morpho.functions.liquidate(self.params, self.borrower, seized, shares, b"")


def _highest_liquidatable_answer(
    pos: PositionState, market: MarketState, price_of, lltv: int, healthy_answer: int
) -> int:
    """Bisection on the feed's answer for the last one at which `is_healthy` says liquidatable."""
    lo, hi = 1, healthy_answer
    assert not is_healthy(pos.collateral, pos.borrow_shares, market, price_of(lo), lltv)
    assert is_healthy(pos.collateral, pos.borrow_shares, market, price_of(hi), lltv)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if is_healthy(pos.collateral, pos.borrow_shares, market, price_of(mid), lltv) else (mid, hi)
    return lo


LOOPERS = [
    ("xUSD/USDC-91.5", "looper-1", "xUSD/USD"),
    ("xUSD/USDC-91.5", "looper-2", "xUSD/USD"),
    ("sdeUSD/USDC-86", "looper-3", "deUSD/USD"),
]


@pytest.mark.parametrize("market, borrower, feed", LOOPERS)
def test_is_healthy_flips_exactly_where_morpho_liquidate_starts_succeeding(stream, market, borrower, feed):
    m = MorphoMarket(stream, market, borrower)
    liquidator = fund(stream, "USDC", "liquidator", 10**9 * 10**6, m.morpho.address)
    state, pos, price_of = m.market(), m.position(), m.price_for(feed)
    t = stream.chain.block()["timestamp"] + 2 * BLOCK_INTERVAL  # the feed moves, then the liquidation
    accrued = expected_market_balances(state, m.rate_at_target(), t)
    lo = _highest_liquidatable_answer(pos, accrued, price_of, m.lltv, _answer(stream, feed, "1.5"))
    # 24 s of interest move the boundary by a unit or two of the feed: accruing is not optional.
    assert _highest_liquidatable_answer(pos, state, price_of, m.lltv, lo + 1) < lo
    seized = 10**6  # a sliver of collateral

    snapshot = stream.snapshot()
    _set_answer(stream, feed, lo + 1)  # one unit of the feed's last digit above: healthy
    assert m.oracle.functions.price().call() == price_of(lo + 1)
    pending = stream.chain.w3.eth.get_block("pending")["timestamp"]
    assert pending == t
    with pytest.raises(ContractLogicError, match="position is healthy"):
        m.liquidate_call(seized).call({"from": liquidator}, block_identifier="pending")
    stream.revert(snapshot)

    _set_answer(stream, feed, lo)  # the boundary our maths computed: liquidatable
    receipt = _mine(stream, m.liquidate_call(seized), liquidator)
    assert _timestamp(stream, receipt) == t
    predicted = liquidate(accrued, pos, price_of(lo), m.lltv, seized_assets=seized)
    event = liquidate_event(stream, receipt)
    assert (event.seizedAssets, event.repaidShares, event.repaidAssets) == (
        predicted.seized_assets, predicted.repaid_shares, predicted.repaid_assets,
    )  # fmt: skip


@pytest.mark.parametrize(
    "answer, how",
    [("1.05", "half the shares"), ("1.05", "a million xUSD"), ("0.5", "everything (bad debt)")],
)
def test_liquidate_moves_exactly_what_we_predict(stream, answer, how):
    m = MorphoMarket(stream, "xUSD/USDC-91.5", "looper-1")
    liquidator = fund(stream, "USDC", "liquidator", 10**9 * 10**6, m.morpho.address)
    _set_answer(stream, "xUSD/USD", _answer(stream, "xUSD/USD", answer))
    state, pos, rate_at_target, price = m.market(), m.position(), m.rate_at_target(), m.oracle.functions.price().call()
    t = stream.chain.block()["timestamp"] + BLOCK_INTERVAL
    accrued = expected_market_balances(state, rate_at_target, t)
    assert accrued.total_borrow_assets > state.total_borrow_assets  # a block of interest counts
    args = {
        "half the shares": {"repaid_shares": pos.borrow_shares // 2},
        "a million xUSD": {"seized_assets": 10**6 * 10**6},
        "everything (bad debt)": full_liquidation_args(pos, accrued, price, m.lltv),
    }[how]
    predicted = liquidate(accrued, pos, price, m.lltv, **args)

    receipt = _mine(stream, m.liquidate_call(args.get("seized_assets", 0), args.get("repaid_shares", 0)), liquidator)
    assert _timestamp(stream, receipt) == t
    event = liquidate_event(stream, receipt)
    assert (event.repaidAssets, event.repaidShares, event.seizedAssets) == (
        predicted.repaid_assets, predicted.repaid_shares, predicted.seized_assets,
    )  # fmt: skip
    assert (event.badDebtAssets, event.badDebtShares) == (predicted.bad_debt_assets, predicted.bad_debt_shares)
    assert m.position() == predicted.position
    assert m.market() == predicted.market  # totals after interest, liquidation and bad debt; lastUpdate = t
    elapsed = t - state.last_update
    assert (
        m.rate_at_target()
        == adaptive_curve_irm_rate(state.total_supply_assets, state.total_borrow_assets, rate_at_target, elapsed)[1]
    )
    if how.startswith("everything"):
        assert predicted.bad_debt_assets > 0 and predicted.position == PositionState(0, 0)
        # The lenders' loss: supply assets fall by the bad debt, supply shares do not move.
        assert m.market().total_supply_assets == accrued.total_supply_assets - predicted.bad_debt_assets
        assert m.market().total_supply_shares == accrued.total_supply_shares


# -- Aave v3.0 -------------------------------------------------------------------------------
def _bits(word: int, start: int, width: int) -> int:
    return (word >> start) & ((1 << width) - 1)


class AavePool:
    """Reserves, prices, e-mode and one user's balances, read as an indexer would."""

    def __init__(self, net) -> None:
        c = net.manifest["contracts"]
        self.net = net
        self.pool = _published(net, c["aave_pool"], "protocol/pool/Pool")
        self.oracle = _published(net, c["aave_oracle"], "misc/AaveOracle")
        self.configurator = _published(net, c["aave_pool_configurator"], "protocol/pool/PoolConfigurator")
        self.assets = self.pool.functions.getReservesList().call()
        self.data = {a: self.pool.functions.getReserveData(a).call() for a in self.assets}

    def token(self, asset: str, index: int, path: str):
        return _published(self.net, self.data[asset][index], path)

    def reserves(self) -> dict[str, Reserve]:
        out = {}
        for a, d in self.data.items():
            cfg = d[0][0]  # ReserveConfiguration bit layout: LTV 0-15, LT 16-31, bonus 32-47,
            out[a] = Reserve(  # decimals 48-55, liquidation protocol fee 152-167, e-mode 168-175
                _bits(cfg, 48, 8), self.oracle.functions.getAssetPrice(a).call(), _bits(cfg, 0, 16), _bits(cfg, 16, 16),
                _bits(cfg, 32, 16), _bits(cfg, 152, 16), _bits(cfg, 168, 8), d[1], d[2], d[3], d[4], d[6],
            )  # fmt: skip
        return out

    def user(self, who: str) -> tuple[dict[str, UserReserve], int, EModeCategory | None]:
        config = self.pool.functions.getUserConfiguration(who).call()[0]
        user = {}
        for a, d in self.data.items():
            borrowing, collateral = _bits(config, 2 * d[7], 1), _bits(config, 2 * d[7] + 1, 1)
            if borrowing or collateral:
                scaled = self.token(a, 8, "protocol/tokenization/AToken").functions.scaledBalanceOf(who).call()
                debt = (
                    self.token(a, 10, "protocol/tokenization/VariableDebtToken").functions.scaledBalanceOf(who).call()
                )
                stable = self.token(a, 9, "protocol/tokenization/StableDebtToken").functions.balanceOf(who).call()
                user[a] = UserReserve(scaled, debt if borrowing else 0, stable, bool(collateral))
        emode = self.pool.functions.getUserEMode(who).call()
        category = None
        if emode:
            ltv, lt, bonus, source, _ = self.pool.functions.getEModeCategoryData(emode).call()
            price = self.oracle.functions.getAssetPrice(source).call() if int(source, 16) else None
            category = EModeCategory(ltv, lt, bonus, price)
        return user, emode, category


@pytest.mark.parametrize("usdt", ["0.85", "0.825", "0.50"])
def test_aave_v30_liquidation_call_matches_the_event_to_the_wei(susde, usdt):
    # looper-c: 250M USD of sUSDe (priced 1.2 x the USDT feed) against 200M USDC, e-mode 1
    # (LT 92 %, bonus 3 %). USDT at 0.85: HF 0.9775, close factor 50 %; at 0.825: HF 0.949,
    # 100 %, and the collateral (1.031 x the debt) still covers debt + bonus; at 0.50 it does not.
    tokens, who = susde.manifest["tokens"], susde.manifest["accounts"]["looper-c"]
    s_usde, usdc = tokens["sUSDe"]["address"], tokens["USDC"]["address"]
    aave = AavePool(susde)
    revision = aave.pool.functions.POOL_REVISION().call()
    assert rules_for_revision(revision) is liquidation_call_v30  # @aave/core-v3 1.19.3: revision 1
    liquidator = fund(susde, "USDC", "liquidator", 10**12 * 10**6, aave.pool.address)
    susde.chain.send(
        aave.configurator.functions.setLiquidationProtocolFee(s_usde, 1000), susde.chain.account("aave-admin")
    )
    _set_answer(susde, "USDT/USD", _answer(susde, "USDT/USD", usdt))
    aave = AavePool(susde)  # re-read after the configuration and the price moved
    reserves, (user, emode, category) = aave.reserves(), aave.user(who)
    t = susde.chain.block()["timestamp"] + BLOCK_INTERVAL

    # getUserAccountData in the pending block (timestamp t) equals ours at t.
    ours = user_account_data(reserves, user, t, emode, category)
    theirs = aave.pool.functions.getUserAccountData(who).call(block_identifier="pending")
    assert (theirs[0], theirs[1], theirs[3], theirs[4], theirs[5]) == (
        ours.total_collateral_base, ours.total_debt_base, ours.avg_liquidation_threshold, ours.avg_ltv, ours.health_factor,
    )  # fmt: skip
    predicted = liquidation_call(revision, reserves, user, s_usde, usdc, 2**256 - 1, t, emode=emode, category=category)

    a_token = aave.token(s_usde, 8, "protocol/tokenization/AToken")
    debt_token = aave.token(usdc, 10, "protocol/tokenization/VariableDebtToken")
    fn = aave.pool.functions.liquidationCall(s_usde, usdc, who, 2**256 - 1, False)
    receipt = _mine(susde, fn, liquidator)
    assert _timestamp(susde, receipt) == t
    (event,) = aave.pool.events.LiquidationCall().process_receipt(receipt, errors=DISCARD)
    assert (event.args.debtToCover, event.args.liquidatedCollateralAmount) == (
        predicted.debt_repaid, predicted.collateral_to_liquidator,
    )  # fmt: skip
    treasury = a_token.functions.RESERVE_TREASURY_ADDRESS().call()
    fees = [
        e.args.value
        for e in a_token.events.Transfer().process_receipt(receipt, errors=DISCARD)
        if e.args["from"] == who and e.args.to == treasury
    ]
    assert fees == [predicted.protocol_fee] and predicted.protocol_fee > 0
    # The contract's own bookkeeping: scaled balances burned / moved, and the new borrow index.
    assert (
        user[s_usde].scaled_a_token - a_token.functions.scaledBalanceOf(who).call()
        == predicted.scaled_collateral_out + predicted.scaled_fee_out
    )
    assert (
        user[usdc].scaled_variable_debt - debt_token.functions.scaledBalanceOf(who).call()
        == predicted.scaled_variable_debt_burned
    )
    debt = variable_debt_balance(user[usdc].scaled_variable_debt, reserves[usdc], t)
    if usdt == "0.85":  # HF above 0.95: half the debt, and the liquidator asked for more
        assert predicted.health_factor > 95 * 10**16 and predicted.debt_repaid == percent_mul(debt, 5000)
    elif usdt == "0.825":  # HF below 0.95: the whole debt
        assert predicted.health_factor <= 95 * 10**16 and predicted.debt_repaid == debt
    else:  # the collateral falls short: all of it goes, debt remains (no deficit before v3.3)
        assert predicted.collateral_disabled and predicted.debt_repaid < debt and not predicted.deficits
