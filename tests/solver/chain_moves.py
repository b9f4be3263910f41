"""What the solver's truth tests do to a devnet with its real contracts: move a feed, liquidate a
position (a sliver, or all of it), sell into a Uniswap v3 pool, and read who is open.

Plain web3 against the deployed contracts (Morpho Blue, Aave v3's Pool, Gearbox's credit facade,
Uniswap's SwapRouter): the solver's own code decides nothing here.
"""

from __future__ import annotations

from decimal import Decimal

from devnet_helpers import (
    aave_pool,
    contract,
    erc20,
    liquidate_event,
    market_params,
    morpho,
    to_assets_up,
)

from loopscan.devnet.build import Artifacts

__all__ = [
    "feed_answer", "scale_feed", "open_positions", "morpho_position", "liquidate", "liquidate_all",
    "liquidate_credit_account", "credit_account_position", "HEALTHY",
]  # fmt: skip

# What a protocol's `liquidate` of a healthy position reverts with: Morpho's ErrorsLib message,
# Aave v3's Errors.HEALTH_FACTOR_NOT_BELOW_THRESHOLD, Gearbox's facade's custom error.
HEALTHY = r"position is healthy|'?45'?|CreditAccountNotLiquidatableException\(\)"
LIQUIDATE_CREDIT_ACCOUNT = "liquidateCreditAccount(address,address,(address,bytes)[])"  # overloaded: no loss policy data
_PERI = "@uniswap/v3-periphery/artifacts/contracts"
_DEADLINE = 2**63


def _feed(net, feed: str):
    return contract(net, net.manifest["feeds"][feed]["address"], "loopscan", "PriceFeed")


def feed_answer(net, feed: str) -> int:
    """The feed's answer now, in its own decimals."""
    return _feed(net, feed).functions.latestRoundData().call()[1]


def scale_feed(net, feed: str, factor: float) -> int:
    """Move the feed to `factor` × its answer now (rounded down, as the decimal product is);
    returns the new answer."""
    answer = int(Decimal(feed_answer(net, feed)) * Decimal(str(factor)))
    net.chain.send(_feed(net, feed).functions.setAnswer(answer), net.chain.account("feed-keeper"))
    return answer


def _morpho_market(net, key: str) -> str:
    """The scenario's name of a Morpho market, from the solver's key `<morpho>:<market id>`."""
    market_id = key.split(":")[1]
    return next(n for n, m in net.manifest["morpho_markets"].items() if m["id"] == market_id)


def _debt_of(net, asset: str, account: str) -> int:
    """An Aave account's variable debt in one reserve, from its debt token."""
    return erc20(net, net.manifest["aave_reserves"][asset]["variable_debt_token"]).functions.balanceOf(account).call()


def open_positions(net) -> set[tuple[str, str]]:
    """Every position with debt on chain now, keyed as the solver keys them: (`<morpho>:<id>`,
    account) for a Morpho market, (Aave pool, account) for an Aave account, lower case. The
    accounts to look at are the manifest's; whether each owes anything is read from the chain."""
    found = set()
    blue = morpho(net)
    for p in net.manifest["positions"].get("morpho", []):
        m = net.manifest["morpho_markets"][p["market"]]
        if blue.functions.position(m["id"], p["account"]).call()[1] > 0:
            found.add((f"{blue.address}:{m['id']}".lower(), p["account"].lower()))
    for p in net.manifest["positions"].get("aave", []):
        if "borrowed" in p and _debt_of(net, p["asset"], p["account"]) > 0:
            found.add((net.manifest["contracts"]["aave_pool"].lower(), p["account"].lower()))
    for p in net.manifest["positions"].get("gearbox", []):
        manager = _credit_manager(net)
        if manager.functions.creditAccountInfo(p["credit_account"]).call()[0] > 0:
            found.add((f"{manager.address}:{manager.address}".lower(), p["credit_account"].lower()))
    return found


def _credit_manager(net):
    return contract(net, net.manifest["contracts"]["gearbox_credit_manager"], "gearbox", "CreditManagerV3")


def credit_account_position(net, account: str) -> tuple[int, dict[str, int]]:
    """(what the pool is owed: debt and interest, accrued to the latest block; each collateral
    token's balance, by address) of a Gearbox credit account, in token units."""
    manager = _credit_manager(net)
    borrower = net.chain.w3.to_checksum_address(account)
    cdd = manager.functions.calcDebtAndCollateral(borrower, 3).call()  # DEBT_COLLATERAL
    count = manager.functions.collateralTokensCount().call()
    tokens = [manager.functions.collateralTokenByMask(1 << i).call()[0] for i in range(count)]
    return cdd[0] + cdd[4], {t.lower(): erc20(net, t).functions.balanceOf(borrower).call() for t in tokens}


def liquidate_credit_account(net, account: str, who: str = "liquidator") -> tuple[dict, dict[str, int]]:
    """Gearbox's `liquidateCreditAccount` of a whole account (reverts if it is not liquidatable):
    the liquidator pays in twice the debt in the underlying (the facade returns what is not
    needed) and withdraws every collateral token the account holds; `who` names the liquidator.
    Returns the receipt and what the liquidator took, by token address."""
    chain, manager = net.chain, _credit_manager(net)
    facade = contract(net, net.manifest["contracts"]["gearbox_credit_facade"], "gearbox", "CreditFacadeV3")
    chain.register_errors(facade.abi)  # a devnet loaded from its cache deployed nothing this session
    encoder = chain.w3.eth.contract(address=facade.address, abi=Artifacts().compiled("gearbox", "ICreditFacadeV3Multicall").abi)

    def call(fn: str, *args) -> tuple[str, bytes]:
        return facade.address, bytes.fromhex(encoder.encode_abi(fn, args=list(args))[2:])

    underlying = manager.functions.underlying().call()
    loan = next(t for t, v in net.manifest["tokens"].items() if v["address"].lower() == underlying.lower())
    liquidator = _funded_liquidator(net, loan, manager.address, who)
    borrower = chain.w3.to_checksum_address(account)
    count = manager.functions.collateralTokensCount().call()
    tokens = [manager.functions.collateralTokenByMask(1 << i).call()[0] for i in range(1, count)]  # mask 1: the underlying
    held = {t: erc20(net, t).functions.balanceOf(borrower).call() for t in tokens}
    calls = [call("addCollateral", underlying, 2 * manager.functions.creditAccountInfo(borrower).call()[0] + 10**6)]
    calls += [call("withdrawCollateral", t, amount, liquidator) for t, amount in held.items() if amount]
    fn = facade.get_function_by_signature(LIQUIDATE_CREDIT_ACCOUNT)(borrower, liquidator, calls)
    return chain.send(fn, liquidator, "liquidateCreditAccount"), {t: a for t, a in held.items() if a}


def morpho_position(net, key: str, account: str) -> tuple[int, int]:
    """(debt, collateral) of a Morpho position at the latest block, in token units: its borrow
    shares in assets rounded up, as Morpho's health check does, at the market's stored totals
    (interest since the market's last update not accrued)."""
    blue = morpho(net)
    market_id = net.manifest["morpho_markets"][_morpho_market(net, key)]["id"]
    _, shares, collateral = blue.functions.position(market_id, net.chain.w3.to_checksum_address(account)).call()
    _, _, borrow_assets, borrow_shares, _, _ = blue.functions.market(market_id).call()
    return to_assets_up(shares, borrow_assets, borrow_shares), collateral


def _funded_liquidator(net, loan: str, spender: str, who: str = "liquidator") -> str:
    liquidator = net.chain.account(who)
    token = contract(net, net.manifest["tokens"][loan]["address"], "loopscan", "ScenarioToken")
    net.chain.send(token.functions.mint(liquidator, 10**36), net.chain.deployer)
    net.chain.send(token.functions.approve(spender, 2**256 - 1), liquidator)
    return liquidator


def liquidate(net, key: str, account: str) -> dict:
    """The protocol's own liquidation of a sliver of the position (reverts if it is healthy):
    Morpho seizes 1,000 units of collateral; Aave repays 1,000 units of the account's debt
    against its collateral; Gearbox liquidates whole accounts only (`liquidate_credit_account`).
    Returns the receipt."""
    w3 = net.chain.w3
    borrower = w3.to_checksum_address(account)
    if key.split(":")[0] == net.manifest["contracts"].get("gearbox_credit_manager", "").lower():
        return liquidate_credit_account(net, account)[0]
    if ":" in key:
        name = _morpho_market(net, key)
        loan = net.manifest["morpho_markets"][name]["loan_token"]
        liquidator = _funded_liquidator(net, loan, net.manifest["contracts"]["morpho_blue"])
        fn = morpho(net).functions.liquidate(market_params(net, name), borrower, 1000, 0, b"")
    else:
        pool = aave_pool(net)
        mine = [p for p in net.manifest["positions"]["aave"] if p["account"].lower() == account.lower()]
        (loan,) = [p["asset"] for p in mine if "borrowed" in p and _debt_of(net, p["asset"], borrower) > 0]
        (collateral,) = [p["asset"] for p in mine if "supplied" in p]  # the scenarios' loopers: one of each
        liquidator = _funded_liquidator(net, loan, pool.address)
        tokens = net.manifest["tokens"]
        fn = pool.functions.liquidationCall(
            tokens[collateral]["address"], tokens[loan]["address"], borrower, 1000, False
        )
    return net.chain.send(fn, liquidator, "liquidate")


def liquidate_all(net, key: str, account: str) -> tuple[dict, int]:
    """Seize all of a Morpho position's collateral in one liquidation; Morpho writes off the debt
    left (`badDebtAssets`). Reverts (Morpho's subtraction underflows) where the collateral, with
    the incentive, repays more than the debt. Returns the Liquidate event's arguments and the
    collateral the position held."""
    name = _morpho_market(net, key)
    blue, params = morpho(net), market_params(net, name)
    borrower = net.chain.w3.to_checksum_address(account)
    collateral = blue.functions.position(net.manifest["morpho_markets"][name]["id"], borrower).call()[2]
    liquidator = _funded_liquidator(net, net.manifest["morpho_markets"][name]["loan_token"], blue.address)
    receipt = net.chain.send(blue.functions.liquidate(params, borrower, collateral, 0, b""), liquidator, "liquidate")
    return liquidate_event(net, receipt), collateral
