"""A `ScanContext` answered from a table instead of a node: for the protocols that cannot be
deployed on the devnet, whose indexers are tested on answers the test encodes from the published
ABIs (with eth_abi, independently of the indexer's own decoding).

Every `eth_call` not in the table reverts, as a missing function does on chain; `calls` records
what was asked so a test can see that nothing was read twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi import encode

from loopscan.chains import Deployments
from loopscan.protocols.base import ScanContext
from loopscan.rpc import BlockPin, Call, CallResult, encode_call

__all__ = ["EncodedChain", "REVERT"]

REVERT = CallResult(False, b"", "reverted without data")


class EncodedChain(ScanContext):
    def __init__(self, timestamp: int, block: int = 100) -> None:
        super().__init__(None, BlockPin(block, "0x" + "00" * 32), timestamp, Deployments("test", 1, (), "test"))  # type: ignore[arg-type]
        self.answers: dict[tuple[str, bytes], CallResult] = {}
        self.event_logs: list[dict] = []
        self.asked: list[Call] = []

    def answer(
        self, target: str, signature: str, args: Sequence[Any], types: Sequence[str], values: Sequence[Any]
    ) -> None:
        """`target.signature(*args)` answers `values` ABI-encoded as `types` (static word arguments)."""
        self.answers[(target.lower(), encode_call(signature, *args))] = CallResult(
            True, encode(list(types), list(values))
        )

    def revert(self, target: str, signature: str, *args: Any, reason: str = "reverted without data") -> None:
        self.answers[(target.lower(), encode_call(signature, *args))] = CallResult(False, b"", reason)

    async def calls(self, calls: Sequence[Call]) -> list[CallResult]:
        self.asked += calls
        return [self.answers.get((c.target.lower(), c.data), REVERT) for c in calls]

    async def logs(self, address: str | Sequence[str], topics: Sequence[Any], from_block: int | None) -> list[dict]:
        wanted = {address.lower()} if isinstance(address, str) else {a.lower() for a in address}
        return [
            log for log in self.event_logs
            if log["address"].lower() in wanted and int(log["blockNumber"], 16) <= self.block
            and all(t is None or (log["topics"][k] in t if isinstance(t, list) else log["topics"][k] == t)
                    for k, t in enumerate(topics))
        ]  # fmt: skip
