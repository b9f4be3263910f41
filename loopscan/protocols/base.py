"""What every indexer shares: the scan context it reads through, and the one interface.

An indexer has two halves (cryo's collect-by-block): an async ``fetch`` that only reads —
through ``ScanContext``, at the pinned block — and returns raw answers, and a pure
``transform`` that turns them into model rows (``Rows``: table name → list of row dicts,
amounts as Python ints). Nothing in ``transform`` touches the network, so it is tested on
recorded answers.

A read that fails is never a zero: ``ScanContext.miss`` records it, the row that needed it
is left out, and the snapshot's ``missing`` table says what and why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from loopscan.chains import Deployments
from loopscan.rpc import BlockPin, Call, CallResult, InvalidAnswer, RpcClient, decode_answer, get_logs, multicall

__all__ = ["ScanContext", "Indexer", "Rows", "Progress", "merge_rows", "topic_address", "word_address"]

Rows = dict[str, list[dict[str, Any]]]
Progress = Callable[[str, int], None]  # (stage, units done) — drives the CLI's progress bars


def _no_progress(stage: str, done: int) -> None:
    return None


@dataclass
class ScanContext:
    """Everything an indexer may use to read the chain, all at `pin.number`."""

    client: RpcClient
    pin: BlockPin
    timestamp: int  # of the pinned block: interest is accrued up to it
    deployments: Deployments
    progress: Progress = _no_progress
    missing: list[dict[str, Any]] = field(default_factory=list)
    log_chunk_size: int = 50_000

    @property
    def block(self) -> int:
        return self.pin.number

    async def calls(self, calls: Sequence[Call]) -> list[CallResult]:
        """Many `eth_call`s through Multicall3 at the pinned block; one result per call."""
        return await multicall(self.client, calls, self.pin)

    async def logs(self, address: str | Sequence[str], topics: Sequence[Any], from_block: int | None) -> list[dict]:
        """Logs up to the pinned block, from `from_block` (a contract's deployment) or genesis."""
        return await get_logs(
            self.client, address, topics, from_block or 0, self.block, chunk_size=self.log_chunk_size
        )

    def answer(self, result: CallResult, kind: str, address: str, key: str | None, method: str,
               types: str | Sequence[str]) -> Any:  # fmt: skip
        """`result` decoded as `types` (`loopscan.rpc.decode_answer`), or None with the reason it
        cannot be (reverted, no data, wrong size, out of range) recorded as a `missing` row."""
        try:
            return decode_answer(result, address, method, types)
        except InvalidAnswer as exc:
            self.miss(kind, address, key, method, exc.reason)
            return None

    def miss(self, kind: str, address: str | None, key: str | None, method: str, reason: str | None) -> None:
        """Record a read that failed; the row that needed it is left out of the snapshot."""
        self.missing.append(
            {
                "block": self.block,
                "kind": kind,
                "address": address.lower() if address else None,
                "key": key,
                "method": method,
                "reason": reason or "reverted without a reason",
            }
        )


class Indexer(Protocol):
    """One protocol or venue. `fetch` reads (network), `transform` builds rows (pure)."""

    name: str

    async def fetch(self, ctx: ScanContext) -> Any: ...

    def transform(self, raw: Any, block: int) -> Rows: ...


def merge_rows(parts: Sequence[Rows]) -> Rows:
    """Concatenate the rows of several indexers table by table."""
    merged: Rows = defaultdict(list)
    for part in parts:
        for table, rows in part.items():
            merged[table].extend(rows)
    return dict(merged)


def topic_address(topic: str) -> str:
    """The address in an indexed event argument (a 32-byte topic), lowercase 0x-hex."""
    return "0x" + topic[-40:].lower()


def word_address(data: bytes, index: int = 0) -> str:
    """The address in the `index`-th 32-byte word of ABI data, lowercase 0x-hex."""
    return "0x" + data[32 * index + 12 : 32 * index + 32].hex()
