"""Typed reads at an explicit block, and the block pin that keeps a scan on one chain state.

A scan reads thousands of contracts; if "latest" moved between reads, the snapshot would mix
blocks and the solver would see positions that never coexisted. So the block is chosen once
(``pin``), every read names it, and ``verify_pin`` checks at the end that it is still
canonical. ``"latest"`` appears in one place only: choosing the pin.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import BadResponse, ReorgDetected
from .routes import Route, detect_route

__all__ = ["BlockPin", "BlockReads", "BlockRef", "block_tag"]


@dataclass(frozen=True, slots=True)
class BlockPin:
    """The block a scan reads at: its number and the hash it had when chosen."""

    number: int
    hash: str

    @property
    def tag(self) -> str:
        return hex(self.number)


BlockRef = int | BlockPin


def block_tag(block: BlockRef) -> str:
    """The hex block number for a JSON-RPC call; tags like ``"latest"`` are refused on purpose."""
    if isinstance(block, BlockPin):
        return block.tag
    if isinstance(block, int) and not isinstance(block, bool) and block >= 0:
        return hex(block)
    raise TypeError(f"a read needs an explicit block number or BlockPin, got {block!r}")


def _hex_bytes(value: Any, method: str, endpoint: str) -> bytes:
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise BadResponse(f"expected hex data, got {str(value):.100}", method=method, endpoint=endpoint)


def _hex_int(value: Any, method: str, endpoint: str) -> int:
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise BadResponse(f"expected a hex quantity, got {str(value):.100}", method=method, endpoint=endpoint)


class BlockReads:
    """Typed reads mixed into ``RpcClient``; everything goes through its ``request``."""

    endpoint: str
    block_pin: BlockPin | None = None
    pin_gas_limit: int | None = None  # the pinned block's gas limit
    request: Callable[..., Awaitable[Any]]
    _routes: dict[str, Route] | None = None

    async def multicall_route(self, tag: str) -> Route:
        """How contract reads at block ``tag`` travel (``routes``): found once per block."""
        if self._routes is None:
            self._routes = {}
        if tag not in self._routes:
            self._routes[tag] = await detect_route(self, tag)
        return self._routes[tag]

    def call_gas(self, tag: str) -> int:
        """The gas an ``eth_call`` at block ``tag`` may spend: the pinned block's gas limit (what
        anvil gives a call that names no gas, and geth and erigon up to their 50M default
        ``rpc.gascap``), at most 50M; 25M, under every common cap, for another block."""
        if self.block_pin is not None and self.block_pin.tag == tag and self.pin_gas_limit:
            return min(self.pin_gas_limit, 50_000_000)
        return 25_000_000

    async def block_number(self) -> int:
        """The node's head block number."""
        return _hex_int(await self.request("eth_blockNumber"), "eth_blockNumber", self.endpoint)

    async def chain_id(self) -> int:
        """The chain id, to check a scan reads the chain it was configured for."""
        return _hex_int(await self.request("eth_chainId"), "eth_chainId", self.endpoint)

    async def get_block(self, block: BlockRef, *, full_transactions: bool = False) -> dict[str, Any] | None:
        """The block object, or ``None`` when the node does not know that block."""
        result = await self.request("eth_getBlockByNumber", [block_tag(block), full_transactions])
        if result is not None and not isinstance(result, dict):
            raise BadResponse(f"expected a block, got {str(result):.100}", method="eth_getBlockByNumber",
                              endpoint=self.endpoint)
        return result

    async def eth_call(self, to: str, data: bytes | str, block: BlockRef) -> bytes:
        """``eth_call`` at ``block``; a revert raises ``ExecutionReverted`` with its reason."""
        payload = data if isinstance(data, str) else "0x" + data.hex()
        result = await self.request("eth_call", [{"to": to, "data": payload}, block_tag(block)])
        return _hex_bytes(result, "eth_call", self.endpoint)

    async def get_balance(self, address: str, block: BlockRef) -> int:
        result = await self.request("eth_getBalance", [address, block_tag(block)])
        return _hex_int(result, "eth_getBalance", self.endpoint)

    async def get_code(self, address: str, block: BlockRef) -> bytes:
        result = await self.request("eth_getCode", [address, block_tag(block)])
        return _hex_bytes(result, "eth_getCode", self.endpoint)

    async def get_storage_at(self, address: str, slot: int, block: BlockRef) -> int:
        """The storage word at ``slot`` as an unsigned integer."""
        result = await self.request("eth_getStorageAt", [address, hex(slot), block_tag(block)])
        return _hex_int(result, "eth_getStorageAt", self.endpoint)

    async def pin(self, block: int | None = None) -> BlockPin:
        """Choose the block the scan reads at (the head if ``None``), record its hash, keep it
        as ``block_pin`` for ``verify_pin``, and find how reads travel there (Multicall3, or
        without it: ``routes``)."""
        number = await self.block_number() if block is None else block
        found = await self.get_block(number)
        if found is None or not isinstance(found.get("hash"), str):
            raise BadResponse(f"block {number} not found", method="eth_getBlockByNumber", endpoint=self.endpoint)
        self.block_pin = BlockPin(number, found["hash"])
        gas_limit = found.get("gasLimit")
        self.pin_gas_limit = _hex_int(gas_limit, "eth_getBlockByNumber", self.endpoint) if gas_limit is not None else None
        await self.multicall_route(self.block_pin.tag)
        return self.block_pin

    async def verify_pin(self, pin: BlockPin | None = None) -> None:
        """Re-read the pinned block's hash; raise ``ReorgDetected`` if it changed or vanished."""
        pin = pin or self.block_pin
        if pin is None:
            raise ValueError("no block pinned: call pin() first")
        found = await self.get_block(pin.number)
        actual = found.get("hash") if found else None
        if actual != pin.hash:
            raise ReorgDetected(method="eth_getBlockByNumber", endpoint=self.endpoint, block=pin.number,
                                expected_hash=pin.hash, actual_hash=actual)
