"""Devnet fixtures and plain-web3 helpers for the swap-maths truth tests (`test_swap_truth.py`).

Import the fixtures into a test module (`from dex_conftest import dex_pool_fixture`, which
registers `dex_pool`); `tests/solver/
conftest.py` belongs to another engineer. The devnets themselves are the shared session ones of
`tests/conftest.py` (`minimal_session`, `stream_session`, `susde_session`): one node per
scenario per session; each test here runs between its own snapshot and revert.

The pool reader walks the tick bitmap word by word with batched `eth_call`s pinned to one block,
as the Uniswap v3 indexer will; until it exists, this is the only reader of pool ticks.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests
from eth_utils import keccak
from web3.contract import Contract

from loopscan.devnet.build import Artifacts
from loopscan.protocols.uniswap_v3.maths import MAX_TICK, MIN_TICK
from loopscan.protocols.uniswap_v3.swap import PoolState

__all__ = ["DexPool", "dex_pool_fixture", "fetch_pool_state", "POOLS", "BLOCK_GAS", "QUOTE_GAS"]

_CORE = "@uniswap/v3-core/artifacts/contracts"
_PERI = "@uniswap/v3-periphery/artifacts/contracts"
MAX_UINT = 2**256 - 1
DEADLINE = 2**63
# A quote is an eth_call, so it may use more gas than a block holds: selling a 1-bp pool down to
# MIN_TICK walks ~4,400 empty bitmap words (33.5M gas), which no 30M-gas block can execute.
QUOTE_GAS = 10**9
BLOCK_GAS = 30_000_000

# (session fixture of tests/conftest.py, pool id in the scenario)
POOLS = [
    ("minimal_session", "WETH/USDC-5bp"),
    ("stream_session", "xUSD/USDC"),
    ("stream_session", "deUSD/USDC"),
    ("susde_session", "USDe/USDT"),
]


def _fn(name: str, inputs: list[str], outputs: list[str], mutability: str = "nonpayable") -> dict:
    return {
        "type": "function", "name": name, "stateMutability": mutability,
        "inputs": [{"type": t, "name": f"a{i}"} for i, t in enumerate(inputs)],
        "outputs": [{"type": t, "name": f"r{i}"} for i, t in enumerate(outputs)],
    }  # fmt: skip


# Just what funding a trader needs, for every token kind the scenarios have.
TOKEN_ABI = [
    _fn("balanceOf", ["address"], ["uint256"], "view"),
    _fn("approve", ["address", "uint256"], ["bool"]),
    _fn("mint", ["address", "uint256"], []),  # ScenarioToken, owner only
    _fn("previewMint", ["uint256"], ["uint256"], "view"),  # ERC-4626
    _fn("mint", ["uint256", "address"], ["uint256"]),  # ERC-4626 shares, BackedStablecoin from reserve
]


def _published(w3, address: str, path: str) -> Contract:
    name = path.rsplit("/", 1)[-1]
    return w3.eth.contract(address=address, abi=Artifacts().published(f"{path}.sol/{name}.json").abi)


def _eth_calls(w3, to: str, datas: list[bytes], block: int, chunk: int = 2000) -> list[bytes]:
    """Many `eth_call`s to one contract in JSON-RPC batches, answers in request order.

    Raw payloads, not web3's contract functions: encoding through web3 costs ~2 ms a call, and a
    1-bp pool has ~7,000 bitmap words.
    """
    out: list[bytes] = []
    for start in range(0, len(datas), chunk):
        part = datas[start : start + chunk]
        payload = [
            {"jsonrpc": "2.0", "id": k, "method": "eth_call", "params": [{"to": to, "data": "0x" + d.hex()}, hex(block)]}
            for k, d in enumerate(part)
        ]
        answers = {a["id"]: a for a in requests.post(w3.provider.endpoint_uri, json=payload, timeout=120).json()}
        for k in range(len(part)):
            if "result" not in answers.get(k, {}):
                raise AssertionError(f"eth_call {start + k} to {to} failed: {answers.get(k)}")
            out.append(bytes.fromhex(answers[k]["result"][2:]))
    return out


def _word(value: int) -> bytes:
    return (value % 2**256).to_bytes(32, "big")


def _signed(word: bytes) -> int:
    value = int.from_bytes(word, "big")
    return value - 2**256 if value >= 2**255 else value


def fetch_pool_state(pool: Contract, block: int | None = None) -> PoolState:
    """A pool's `PoolState` at one block: slot0, liquidity, fee, spacing, then every word of the
    tick bitmap and `ticks(t)` for each set bit (liquidityNet, and `initialized` as a check)."""
    w3 = pool.w3
    block = w3.eth.block_number if block is None else block
    slot0 = pool.functions.slot0().call(block_identifier=block)
    liquidity = pool.functions.liquidity().call(block_identifier=block)
    fee = pool.functions.fee().call(block_identifier=block)
    spacing = pool.functions.tickSpacing().call(block_identifier=block)
    words = list(range((MIN_TICK // spacing) >> 8, ((MAX_TICK // spacing) >> 8) + 1))
    bitmap_sel, ticks_sel = keccak(text="tickBitmap(int16)")[:4], keccak(text="ticks(int24)")[:4]
    bitmaps = _eth_calls(w3, pool.address, [bitmap_sel + _word(w) for w in words], block)
    ticks = [
        (w * 256 + bit) * spacing for w, raw in zip(words, bitmaps, strict=True) for bit in range(256) if int.from_bytes(raw, "big") >> bit & 1
    ]
    infos = _eth_calls(w3, pool.address, [ticks_sel + _word(t) for t in ticks], block)
    # Tick.Info: liquidityGross, liquidityNet, ..., initialized (the 8th word)
    assert all(info[7 * 32 : 8 * 32] == _word(1) for info in infos), "a bitmap bit without an initialized tick"
    return PoolState(slot0[0], slot0[1], liquidity, fee, spacing, {t: _signed(info[32:64]) for t, info in zip(ticks, infos, strict=True)})


@dataclass
class DexPool:
    """One seeded pool on a running devnet, with a funded trader and the periphery contracts."""

    net: object
    pid: str
    pool: Contract
    token_ids: tuple[str, str]  # manifest ids of token0, token1
    quoter: Contract
    router: Contract
    manager: Contract
    trader: str
    _read: tuple[int, PoolState] | None = None

    @property
    def w3(self):
        return self.net.chain.w3

    def address(self, index: int) -> str:
        return self.net.manifest["tokens"][self.token_ids[index]]["address"]

    def decimals(self, index: int) -> int:
        return self.net.manifest["tokens"][self.token_ids[index]]["decimals"]

    def token(self, tid: str) -> Contract:
        return self.w3.eth.contract(address=self.net.manifest["tokens"][tid]["address"], abi=TOKEN_ABI)

    def balance(self, index: int, who: str | None = None) -> int:
        return self.token(self.token_ids[index]).functions.balanceOf(who or self.trader).call()

    def state(self) -> PoolState:
        """The pool now (read once per block: every transaction mines one)."""
        block = self.w3.eth.block_number
        if self._read is None or self._read[0] != block:
            self._read = (block, fetch_pool_state(self.pool, block))
        return self._read[1]

    def fund(self, tid: str, amount: int, who: str | None = None) -> None:
        """Give `who` (the trader) at least `amount` of a token, the way a user would get it:
        mint a base token, deposit into a vault (ERC-4626 `mint`), mint a backed stablecoin."""
        who, chain, spec = who or self.trader, self.net.chain, self.net.manifest["tokens"][tid]
        token = self.token(tid)
        if spec["kind"] == "base":
            chain.send(token.functions.mint(who, amount), chain.deployer)
            return
        underlying = self.token(spec["underlying"])
        if spec["kind"] == "backed_stablecoin":
            scale = 10 ** (spec["decimals"] - self.net.manifest["tokens"][spec["underlying"]]["decimals"])
            reserve = -(-amount // scale)
            self.fund(spec["underlying"], reserve, who)
            chain.send(underlying.functions.approve(token.address, MAX_UINT), who)
            chain.send(token.get_function_by_signature("mint(uint256,address)")(reserve, who), who)
            return
        assets = token.functions.previewMint(amount).call()  # vault shares: ERC-4626 mint
        self.fund(spec["underlying"], assets, who)
        chain.send(underlying.functions.approve(token.address, MAX_UINT), who)
        chain.send(token.get_function_by_signature("mint(uint256,address)")(amount, who), who)

    def add_position(self, tick_lower: int, tick_upper: int, amount0: int, amount1: int) -> None:
        """Mint an LP position through the NonfungiblePositionManager, as an LP would."""
        lp = self.net.chain.account("dex-lp")
        for i, amount in enumerate((amount0, amount1)):
            self.fund(self.token_ids[i], amount, lp)
            self.net.chain.send(self.token(self.token_ids[i]).functions.approve(self.manager.address, MAX_UINT), lp)
        params = (self.address(0), self.address(1), self.pool.functions.fee().call(), tick_lower, tick_upper,
                  amount0, amount1, 0, 0, lp, DEADLINE)  # fmt: skip
        self.net.chain.send(self.manager.functions.mint(params), lp, "NonfungiblePositionManager.mint")

    def _pair(self, zero_for_one: bool) -> tuple[str, str]:
        return (self.address(0), self.address(1)) if zero_for_one else (self.address(1), self.address(0))

    def quote_exact_input(self, zero_for_one: bool, amount: int, limit: int = 0) -> tuple:
        """QuoterV2.quoteExactInputSingle: (amountOut, sqrtPriceX96After, initializedTicksCrossed, gas)."""
        t_in, t_out = self._pair(zero_for_one)
        fee = self.pool.functions.fee().call()
        call = self.quoter.functions.quoteExactInputSingle((t_in, t_out, amount, fee, limit))
        return tuple(call.call({"gas": QUOTE_GAS}))

    def quote_exact_output(self, zero_for_one: bool, amount: int, limit: int = 0) -> tuple:
        """QuoterV2.quoteExactOutputSingle: (amountIn, sqrtPriceX96After, initializedTicksCrossed, gas)."""
        t_in, t_out = self._pair(zero_for_one)
        fee = self.pool.functions.fee().call()
        call = self.quoter.functions.quoteExactOutputSingle((t_in, t_out, amount, fee, limit))
        return tuple(call.call({"gas": QUOTE_GAS}))

    def router_swap(self, zero_for_one: bool, amount: int, limit: int = 0, *, fund: int | None = None) -> tuple[int, int]:
        """A real swap through SwapRouter (exact input if `amount` > 0, exact output if < 0);
        returns what the trader paid and received, from its balances."""
        i_in = 0 if zero_for_one else 1
        t_in, t_out = self._pair(zero_for_one)
        fee = self.pool.functions.fee().call()
        self.fund(self.token_ids[i_in], fund if fund is not None else abs(amount))
        self.net.chain.send(self.token(self.token_ids[i_in]).functions.approve(self.router.address, MAX_UINT), self.trader)
        before = self.balance(i_in), self.balance(1 - i_in)
        if amount > 0:
            call = self.router.functions.exactInputSingle((t_in, t_out, fee, self.trader, DEADLINE, amount, 0, limit))
        else:
            call = self.router.functions.exactOutputSingle((t_in, t_out, fee, self.trader, DEADLINE, -amount, MAX_UINT, limit))
        self.net.chain.send(call, self.trader, "SwapRouter swap")
        return before[0] - self.balance(i_in), self.balance(1 - i_in) - before[1]


@pytest.fixture(name="dex_pool", params=POOLS, ids=[pid for _, pid in POOLS])
def dex_pool_fixture(request):
    """Each seeded Uniswap v3 pool in turn, on its scenario's shared devnet, reverted afterwards."""
    session, pid = request.param
    net = request.getfixturevalue(session)
    snapshot = net.snapshot()
    try:
        w3, contracts = net.chain.w3, net.manifest["contracts"]
        spec = net.manifest["uniswap_pools"][pid]
        pool = _published(w3, spec["address"], f"{_CORE}/UniswapV3Pool")
        by_address = {t["address"]: tid for tid, t in net.manifest["tokens"].items()}
        token_ids = (by_address[pool.functions.token0().call()], by_address[pool.functions.token1().call()])
        yield DexPool(
            net, pid, pool, token_ids,
            quoter=_published(w3, contracts["uniswap_v3_quoter_v2"], f"{_PERI}/lens/QuoterV2"),
            router=_published(w3, contracts["uniswap_v3_swap_router"], f"{_PERI}/SwapRouter"),
            manager=_published(w3, contracts["uniswap_v3_position_manager"], f"{_PERI}/NonfungiblePositionManager"),
            trader=net.chain.account("dex-trader"),
        )  # fmt: skip
    finally:
        net.revert(snapshot)
