"""The rpc tests' bare anvil and what they read from it (imported by the tests and conftest)."""


from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopscan.devnet.multicall3 import place_multicall3
from loopscan.devnet.node import Anvil as Node
from loopscan.devnet.node import free_port  # noqa: F401  (used by the tests)

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
DATA = Path(__file__).parent / "data"

MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
REVERTER = "0x000000000000000000000000000000000000bad0"
BURNER = "0x000000000000000000000000000000000000b0b0"
EMITTER = "0x000000000000000000000000000000000000e111"
IDENTITY = "0x0000000000000000000000000000000000000004"  # precompile: returns its input
SENDER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's first unlocked account

REVERTER_CODE = "0x365f5f37365ffd"  # CALLDATACOPY(0, 0, size); REVERT(0, size)
# PUSH0 CALLDATALOAD; loop: JUMPDEST DUP1 ISZERO PUSH1 end JUMPI PUSH1 1 SWAP1 SUB PUSH1 loop JUMP;
# end: JUMPDEST PUSH0 CALLDATALOAD PUSH0 MSTORE PUSH1 32 PUSH0 RETURN
BURNER_CODE = "0x5f355b8015600f5760019003600256" + "5b5f355f5260205ff3"
# CALLDATACOPY(0, 0, size); LOG1(offset 32, size - 32, topic = calldata[0:32]); STOP
EMITTER_CODE = "0x365f5f375f35602036036020a100"

TOPIC_A = "0x" + "aa" * 32
TOPIC_B = "0x" + "bb" * 32


def raw_rpc(url: str, method: str, params: list[Any]) -> Any:
    """A plain synchronous call, for building state outside the code under test."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


@dataclass(frozen=True)
class Anvil:
    url: str
    log_from: int  # first block of the log-emitting stretch
    log_to: int  # last block of it


def start_anvil(*args: str) -> tuple[Node, str]:
    """A bare anvil (no devnet deployment) on a free port, with extra command-line `args`."""
    node = Node(extra_args=args).start()
    return node, node.url


def stop_anvil(node: Node) -> None:
    node.stop()


def seed(node: Node) -> Anvil:
    url = node.url
    place_multicall3(node)
    raw_rpc(url, "anvil_setCode", [REVERTER, REVERTER_CODE])
    raw_rpc(url, "anvil_setCode", [BURNER, BURNER_CODE])
    raw_rpc(url, "anvil_setCode", [EMITTER, EMITTER_CODE])
    raw_rpc(url, "anvil_mine", ["0x5"])
    log_from = int(raw_rpc(url, "eth_blockNumber", []), 16) + 1
    raw_rpc(url, "evm_setAutomine", [False])
    for i in range(30):
        for j in range(1 + i % 3):  # one to three logs in a block
            topic = TOPIC_A if (i + j) % 2 == 0 else TOPIC_B
            data = topic + f"{i:064x}{j:064x}"
            raw_rpc(url, "eth_sendTransaction", [{"from": SENDER, "to": EMITTER, "data": data, "gas": "0x20000"}])
        raw_rpc(url, "evm_mine", [])
        raw_rpc(url, "anvil_mine", [hex(7 + 13 * (i % 7))])  # uneven gaps of empty blocks
    raw_rpc(url, "evm_setAutomine", [True])
    log_to = int(raw_rpc(url, "eth_blockNumber", []), 16)
    return Anvil(url, log_from, log_to)
