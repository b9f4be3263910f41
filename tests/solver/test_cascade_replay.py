"""Truth 4: a cascade replayed on chain ends at the solver's fixed point.

The replay does what the solver assumes, with the real contracts: sell the token into its pool
down to (1 − δ) and set its feed there; then, round after round, liquidate every liquidatable
Morpho position (worst health first, each wholly, as `full_liquidation_args` says), redeem the
seized shares at book from their vault's idle assets, sell the rest into the pool through the
SwapRouter, and reset the feed to the pool's price after every sale. Block timestamps are frozen
meanwhile, so no interest accrues between the snapshot and the end of the replay.

Compared: the same positions are liquidated; the realised bad debt of each market and the
token's final price agree within 1e-4 relative (or within $1 / 1e-6 of the start when near
zero). Why that tolerance: the solver runs in floats from the snapshot while the chain rounds
every liquidation to the wei and the feed to 8 decimals; the pools themselves are priced with
the same exact swap maths on both sides.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from devnet_helpers import contract, market_params, morpho, published

from loopscan.chains import from_devnet_manifest
from loopscan.protocols.morpho_blue.liquidation import full_liquidation_args
from loopscan.protocols.morpho_blue.maths import MarketState, PositionState, is_healthy
from loopscan.protocols.uniswap_v3.swap import price_of
from loopscan.scanner import index_async
from loopscan.solver import Solver, build_book
from loopscan.solver.shock import Shock, shock_sale

pytestmark = pytest.mark.devnet

_PERI = "@uniswap/v3-periphery/artifacts/contracts"
MIN_SQRT, MAX_SQRT = 4295128739, 1461446703485210103287273052203988822378723970342
CASES = [("stream", "xUSD", "xUSD/USD", "xUSD/USDC"), ("minimal", "WETH", "ETH/USD", "WETH/USDC-5bp")]


class Replay:
    def __init__(self, net, token: str, feed: str, pool: str) -> None:
        self.net, self.m = net, net.manifest
        self.token = self.m["tokens"][token]
        self.feed = contract(net, self.m["feeds"][feed]["address"], "loopscan", "PriceFeed")
        self.feed_decimals = self.m["feeds"][feed]["decimals"]
        self.pool_info = self.m["uniswap_pools"][pool]
        self.pool = published(net, self.pool_info["address"], "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool")
        quote_id = self.pool_info["token_b"] if self.pool_info["token_a"] == token else self.pool_info["token_a"]
        self.quote = self.m["tokens"][quote_id]
        self.router = published(net, self.m["contracts"]["uniswap_v3_swap_router"], f"{_PERI}/SwapRouter")
        self.liquidator = net.chain.account("replay-liquidator")
        self.morpho = morpho(net)
        for tid in {t for t in self.m["tokens"] if self.m["tokens"][t]["kind"] == "base"}:
            t = contract(net, self.m["tokens"][tid]["address"], "loopscan", "ScenarioToken")
            net.chain.send(t.functions.mint(self.liquidator, 10**33), net.chain.deployer)
            net.chain.send(t.functions.approve(self.morpho.address, 2**256 - 1), self.liquidator)
        self.share = contract(net, self.token["address"], "loopscan", "ScenarioToken")  # ERC-20 view of the token
        net.chain.send(self.share.functions.approve(self.router.address, 2**256 - 1), self.liquidator)
        if self.token["kind"] != "base":
            # Shares for the shock's sale come from a holder: minting them would change the vault.
            holder = net.chain.account("xusd-depositors")
            net.chain.send(self.share.functions.transfer(self.liquidator, self.share.functions.balanceOf(holder).call()), holder)

    no_bid = False

    def pool_price(self) -> Fraction:
        """The pool's price of the token in quote tokens (whole tokens); 0 once no bid is left."""
        if self.no_bid:
            return Fraction(0)
        raw = price_of(self.pool.functions.slot0().call()[0])
        token_is_0 = int(self.token["address"], 16) < int(self.quote["address"], 16)
        ratio = raw if token_is_0 else 1 / raw
        return ratio * Fraction(10 ** self.token["decimals"], 10 ** self.quote["decimals"])

    def set_feed(self, price: Fraction) -> None:
        self.net.chain.send(self.feed.functions.setAnswer(int(price * 10**self.feed_decimals)), self.net.chain.account("feed-keeper"))

    def sell(self, amount: int) -> None:
        """Sell into the pool, down to at most a millionth of the price: an unbounded sale through
        a range without liquidity walks every bitmap word to the price limit, which can exceed a
        block's 30M gas; below a millionth both sides count as 'collapsed' (abs 1e-6)."""
        if amount <= 0:
            return
        sqrt_price = self.pool.functions.slot0().call()[0]
        token_is_0 = int(self.token["address"], 16) < int(self.quote["address"], 16)
        limit = max(sqrt_price // 1000, MIN_SQRT + 1) if token_is_0 else min(sqrt_price * 1000, MAX_SQRT - 1)
        params = (self.token["address"], self.quote["address"], self.pool_info["fee"], self.liquidator, 2**63, amount, 0, limit)
        if self.pool.functions.liquidity().call() == 0:
            # No liquidity left on that side: the SwapRouter refuses swaps "entirely within
            # 0-liquidity regions", so nothing trades and there is no bid — what the solver
            # prices as a collapse to the pool's price limit.
            self.no_bid = True
            return
        self.net.chain.send(self.router.functions.exactInputSingle(params), self.liquidator, "SwapRouter.exactInputSingle")

    def exit(self, seized: int) -> None:
        """Redeem at book what the vault's idle assets pay, sell the rest."""
        if self.token["kind"] in ("opaque_vault", "erc4626_vault"):
            vault = contract(self.net, self.token["address"], "loopscan", "OpaqueVault")
            asset = contract(self.net, self.quote["address"], "loopscan", "ScenarioToken")
            idle = asset.functions.balanceOf(vault.address).call()
            redeemable = min(seized, vault.functions.convertToShares(idle).call())
            if redeemable:
                self.net.chain.send(vault.functions.redeem(redeemable, self.liquidator, self.liquidator), self.liquidator, "redeem")
            seized -= redeemable
        self.sell(seized)

    def candidates(self) -> list[tuple[float, str, str, dict]]:
        out = []
        for name, mk in self.m["morpho_markets"].items():
            if mk["collateral_token"] != next(t for t, v in self.m["tokens"].items() if v is self.token):
                continue
            params = market_params(self.net, name)
            state = MarketState(*self.morpho.functions.market(mk["id"]).call())
            price = contract(self.net, mk["oracle"], "loopscan", "MorphoFeedOracle").functions.price().call()
            for p in self.m["positions"]["morpho"]:
                if p["market"] != name:
                    continue
                _, shares, collateral = self.morpho.functions.position(mk["id"], p["account"]).call()
                pos = PositionState(shares, collateral)
                if shares and not is_healthy(collateral, shares, state, price, int(mk["lltv"])):
                    # At a zero price Morpho still liquidates: all collateral for nothing, the debt
                    # written off (blue-sdk's helper, which this mirrors, declines at price 0).
                    args = full_liquidation_args(pos, state, price, int(mk["lltv"])) if price else {"seized_assets": collateral}
                    health = collateral * price * int(mk["lltv"]) / (shares * state.total_borrow_assets / state.total_borrow_shares) if state.total_borrow_shares else 0
                    out.append((health, mk["id"], p["account"], {"params": params, "args": args}))
        return sorted(out)

    def liquidate(self, market_id: str, account: str, how: dict) -> None:
        before = self.morpho.functions.position(market_id, account).call()[2]
        args = how["args"]
        fn = self.morpho.functions.liquidate(how["params"], account, args.get("seized_assets", 0), args.get("repaid_shares", 0), b"")
        self.net.chain.send(fn, self.liquidator, "Morpho.liquidate")
        self.exit(before - self.morpho.functions.position(market_id, account).call()[2])


@pytest.mark.parametrize(("scenario", "token", "feed", "pool"), CASES, ids=[c[0] for c in CASES])
async def test_cascade_replayed_on_chain_ends_at_the_fixed_point(scenario, token, feed, pool, request):
    net = request.getfixturevalue(scenario)
    snap = await index_async(net.url, deployments=from_devnet_manifest(net.manifest), block=net.manifest["block"])
    solver = Solver(build_book(snap))
    address = net.manifest["tokens"][token]["address"].lower()
    delta = solver.first_liquidation("depeg", address) + 2e-4
    predicted = solver.cascade("depeg", address, delta)
    net.node.rpc("anvil_setBlockTimestampInterval", [0])  # no interest accrues during the replay
    try:
        replay = Replay(net, token, feed, pool)
        supply_before = {mk["id"]: morpho(net).functions.market(mk["id"]).call()[0] for mk in net.manifest["morpho_markets"].values()}
        start = replay.pool_price()
        assert start > 0
        replay.sell(sum(shock_sale(solver.book, Shock("depeg", address, round(delta, 6)))))  # one venue: its part
        replay.set_feed(Fraction(net.scenario.feeds[feed]["answer"]) * Fraction(1 - round(delta, 6)).limit_denominator(10**8))
        liquidated = []
        while True:
            candidates = replay.candidates()
            if not candidates:
                break
            for _, market_id, account, how in candidates:
                if any(c[1] == market_id and c[2] == account for c in replay.candidates()):
                    replay.liquidate(market_id, account, how)
                    liquidated.append((market_id, account.lower()))
                    replay.set_feed(replay.pool_price() * Fraction(net.scenario.feeds[feed]["answer"]) / start)
        final = replay.pool_price() / start
    finally:
        net.node.rpc("anvil_setBlockTimestampInterval", [12])
    solved = {(key.split(":")[1], account) for key, account in zip(predicted.liquidations["market"], predicted.liquidations["account"], strict=True)}
    assert set(liquidated) == solved and liquidated
    for mk in net.manifest["morpho_markets"].values():
        chain_bad = (supply_before[mk["id"]] - morpho(net).functions.market(mk["id"]).call()[0]) / 10 ** net.manifest["tokens"][mk["loan_token"]]["decimals"]
        key = f"{net.manifest['contracts']['morpho_blue'].lower()}:{mk['id']}"
        solver_bad = float(predicted.liquidations.loc[predicted.liquidations["market"] == key, "bad_debt"].sum())
        assert chain_bad == pytest.approx(solver_bad, rel=1e-4, abs=1.0), mk["id"]
    solver_final = predicted.prices[address] / solver.book.p0[address]
    assert float(final) == pytest.approx(solver_final, rel=1e-4, abs=1e-6)
