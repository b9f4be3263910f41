"""Plain web3 reads of the seeded contracts, independent of the seeder's own bookkeeping."""

from __future__ import annotations

from web3.logs import DISCARD

from loopscan.devnet.build import Artifacts

_AAVE = "@aave/core-v3/artifacts/contracts"
ERC20_ABI = [
    {"type": "function", "name": n, "stateMutability": "view", "inputs": i, "outputs": [{"type": o, "name": ""}]}
    for n, i, o in (
        ("balanceOf", [{"type": "address", "name": "a"}], "uint256"),
        ("totalSupply", [], "uint256"),
        ("decimals", [], "uint8"),
        ("symbol", [], "string"),
    )
]


def contract(net, address: str, unit: str, name: str):
    return net.chain.w3.eth.contract(address=address, abi=Artifacts().compiled(unit, name).abi)


def published(net, address: str, path: str):
    name = path.rsplit("/", 1)[-1]
    abi = Artifacts().published(f"{path}.sol/{name}.json").abi
    return net.chain.w3.eth.contract(address=address, abi=abi)


def morpho(net):
    return contract(net, net.manifest["contracts"]["morpho_blue"], "morpho-blue", "Morpho")


def aave_pool(net):
    return published(net, net.manifest["contracts"]["aave_pool"], f"{_AAVE}/protocol/pool/Pool")


def erc20(net, address: str):
    return net.chain.w3.eth.contract(address=address, abi=ERC20_ABI)


def market_params(net, market: str) -> tuple:
    m = net.manifest["morpho_markets"][market]
    tokens = net.manifest["tokens"]
    return (tokens[m["loan_token"]]["address"], tokens[m["collateral_token"]]["address"], m["oracle"], m["irm"], int(m["lltv"]))


VIRTUAL_SHARES, VIRTUAL_ASSETS = 10**6, 1


def to_assets_down(shares: int, total_assets: int, total_shares: int) -> int:
    """Morpho's SharesMathLib.toAssetsDown."""
    return shares * (total_assets + VIRTUAL_ASSETS) // (total_shares + VIRTUAL_SHARES)


def to_assets_up(shares: int, total_assets: int, total_shares: int) -> int:
    """Morpho's SharesMathLib.toAssetsUp."""
    d = total_shares + VIRTUAL_SHARES
    return (shares * (total_assets + VIRTUAL_ASSETS) + d - 1) // d


def fund(net, token: str, who: str, amount: int, spender: str) -> str:
    """Mint `amount` of a scenario token to the named account and approve `spender`; its address."""
    account = net.chain.account(who)
    t = contract(net, net.manifest["tokens"][token]["address"], "loopscan", "ScenarioToken")
    net.chain.send(t.functions.mint(account, amount), net.chain.deployer)
    net.chain.send(t.functions.approve(spender, 2**256 - 1), account)
    return account


# EventsLib's events are not in Morpho's ABI (solc 0.8.19 leaves library events out).
LIQUIDATE_EVENT = {
    "type": "event", "name": "Liquidate", "anonymous": False,
    "inputs": [{"name": n, "type": t, "indexed": i} for n, t, i in (
        ("id", "bytes32", True), ("caller", "address", True), ("borrower", "address", True),
        ("repaidAssets", "uint256", False), ("repaidShares", "uint256", False), ("seizedAssets", "uint256", False),
        ("badDebtAssets", "uint256", False), ("badDebtShares", "uint256", False),
    )],
}  # fmt: skip


def liquidate_event(net, receipt) -> dict:
    """The arguments of the one Morpho `Liquidate` event a receipt holds."""
    decoder = net.chain.w3.eth.contract(abi=[LIQUIDATE_EVENT]).events.Liquidate()
    (event,) = decoder.process_receipt(receipt, errors=DISCARD)
    return event.args
