"""Send the devnet's deployment and seeding transactions, and explain the ones that revert.

This is the one place in loopscan that signs and sends transactions, and only to the devnet's
own anvil: every sender is an account anvil impersonates (`--auto-impersonate` is not used;
each named account is impersonated and funded explicitly, so a typo cannot send from a random
address).
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    ContractPanicError,
    Web3RPCError,
)

from loopscan.devnet.build import Artifact
from loopscan.devnet.node import Anvil

__all__ = ["Chain", "TxReverted", "named_account"]

_ONE_MILLION_ETH = hex(10**24)


def named_account(name: str) -> str:
    """The devnet address of a scenario's named account: the same on every run and every machine."""
    return to_checksum_address(keccak(text=f"loopscan.devnet.account:{name}")[12:])


@dataclass
class TxReverted(Exception):
    """A transaction the devnet sent reverted; `reason` is decoded as far as the ABIs allow."""

    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what} reverted: {self.reason}"


class Chain:
    """A web3 connection to the devnet's anvil with deterministic senders.

    `deployer` is the fixed account that deploys every contract, so addresses depend only on
    the order of deployment, which the scenario fixes.
    """

    def __init__(self, node: Anvil) -> None:
        self.node = node
        self.w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 120}))
        self.accounts: dict[str, str] = {}  # every named account used so far, name -> address
        self._funded: set[str] = set()
        self._errors: dict[bytes, tuple[str, list[str]]] = {}
        self.deployer = self.account("deployer")

    def account(self, name: str) -> str:
        """The address of `name`, impersonated and funded with ETH for gas."""
        address = self.accounts.setdefault(name, named_account(name))
        if address not in self._funded:
            self.node.rpc("anvil_impersonateAccount", [address])
            self.node.rpc("anvil_setBalance", [address, _ONE_MILLION_ETH])
            self._funded.add(address)
        return address

    def forget_funding(self) -> None:
        """After `evm_revert` an account funded since the snapshot has no ETH again."""
        self._funded.clear()

    def register_errors(self, abi: list) -> None:
        """Learn the custom errors of an ABI so that reverts using them can be named."""
        for item in abi:
            if item.get("type") != "error":
                continue
            types = [_abi_type(inp) for inp in item["inputs"]]
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            self._errors[selector] = (item["name"], types)

    def contract(self, address: str, abi: list) -> Contract:
        self.register_errors(abi)
        return self.w3.eth.contract(address=to_checksum_address(address), abi=abi)

    def deploy(self, artifact: Artifact, *args, bytecode: str | None = None, sender: str | None = None) -> Contract:
        self.register_errors(artifact.abi)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode="0x" + (bytecode or artifact.bytecode))
        receipt = self._send(factory.constructor(*args), sender or self.deployer, f"deploying {artifact.name}")
        return self.contract(receipt["contractAddress"], artifact.abi)

    def send(self, call, sender: str, what: str | None = None) -> dict:
        """Send a contract function call from `sender`; raise `TxReverted` naming what failed."""
        return self._send(call, sender, what or f"{call.fn_name}")

    def _send(self, call, sender: str, what: str) -> dict:
        tx = {"from": sender}
        try:
            tx_hash = call.transact(tx)  # estimates gas first, which surfaces the revert reason
        except (ContractLogicError, ContractCustomError, ContractPanicError, Web3RPCError) as exc:
            raise TxReverted(what, self.decode_revert(exc)) from None
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise TxReverted(what, "status 0 (out of gas or revert without data)")
        return receipt

    def decode_revert(self, exc: Exception) -> str:
        data = getattr(exc, "data", None)
        if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
            raw = bytes.fromhex(data[2:])
            known = self._errors.get(raw[:4])
            if known is not None:
                name, types = known
                try:
                    values = abi_decode(types, raw[4:]) if types else ()
                except Exception:  # undecodable arguments: the error's name is still the news
                    values = ("<undecodable>",)
                return f"{name}({', '.join(map(str, values))})"
        message = getattr(exc, "message", None) or str(exc)
        return message.removeprefix("execution reverted: ")

    # -- node conveniences -----------------------------------------------------------------
    def increase_time(self, seconds: int) -> None:
        """Mine a block `seconds` after the latest (explicitly: a fixed block-timestamp interval
        would override `evm_increaseTime`)."""
        self.node.rpc("evm_setNextBlockTimestamp", [self.block()["timestamp"] + seconds])
        self.node.rpc("evm_mine")

    def block(self) -> dict:
        return self.w3.eth.get_block("latest")


def _abi_type(inp: dict) -> str:
    """The canonical type of an ABI input, tuples (and arrays of them) spelled out."""
    if not inp["type"].startswith("tuple"):
        return inp["type"]
    inner = ",".join(_abi_type(c) for c in inp["components"])
    return f"({inner}){inp['type'][len('tuple'):]}"
