"""What every indexer shares: the scan context it reads through, and the one interface.

An indexer has two halves (cryo's collect-by-block): an async ``fetch`` that only reads —
through ``ScanContext``, at the pinned block — and returns raw answers, and a pure
``transform`` that turns them into model rows (``Rows``: table name → list of row dicts,
amounts as Python ints). Nothing in ``transform`` touches the network, so it is tested on
recorded answers.

Reads go out in rounds (``ScanContext.read_round``: one Multicall3 batch of ``Read``s, answers by
key). A read that fails is never a zero: taking its answer checks it (reverted, no data, wrong
size, out of range, undecodable), ``ScanContext.miss`` records why, the row that needed it is
left out, and the snapshot's ``missing`` table says what and why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from eth_abi.exceptions import DecodingError

from loopscan.chains import Deployments
from loopscan.rpc import (
    BlockPin,
    Call,
    CallResult,
    InvalidAnswer,
    LogCache,
    RpcClient,
    answer_value,
    checked_data,
    decode_answer,
    decode_answers,
    encode_call,
    encode_calls,
    failure_reason,
    get_logs,
    multicall,
)

__all__ = ["ScanContext", "Read", "ReadMany", "Answers", "read", "read_many", "dynamic", "Indexer", "Rows", "Progress", "merge_rows",
           "topic_address", "word_address"]  # fmt: skip

Rows = dict[str, list[dict[str, Any]]]
Progress = Callable[[str, int], None]  # (stage, units done) — drives the CLI's progress bars
K = TypeVar("K", bound=Hashable)
Decoding = str | Sequence[str] | Callable[[bytes], Any]
"""Static ABI type(s), checked whole (one word each, in range: `loopscan.rpc.decode_answer`), or a
decoder of the answer's bytes that raises `InvalidAnswer`, `ValueError` or eth_abi's errors."""


@dataclass(frozen=True, slots=True)
class Read:
    """One call of a round, and how its answer is checked and recorded if unusable."""

    kind: str  # the `missing` row's kind: market, position, oracle, ...
    target: str
    method: str  # named in the `missing` row: the signature, or a label for it
    data: bytes  # calldata
    types: Decoding = "uint256"
    key: str | None = None  # the `missing` row's key
    address: str | None = None  # the `missing` row's address where not the target's


def read(kind: str, target: str, signature: str, *args: Any, types: Decoding = "uint256", key: str | None = None) -> Read:
    """A `Read` of `signature(*args)` on `target`, named by its signature."""
    return Read(kind, target, signature, encode_call(signature, *args), types, key)


@dataclass(frozen=True, slots=True)
class ReadMany:
    """Same-shape reads: one method and answer layout (integer words), a target, calldata and
    `missing` key each. Encoded and decoded as one batch (`read_many`, `rpc.decode_answers`), so a
    read costs no object of its own; taking it from `Answers` gives the values in order."""

    kind: str
    targets: Sequence[str]
    method: str
    datas: Sequence[bytes]
    types: str | tuple[str, ...]
    keys: Sequence[str | None]

    def __len__(self) -> int:
        return len(self.datas)


def read_many(kind: str, targets: str | Sequence[str], signature: str, rows: Sequence[Sequence[Any]], *,
              types: str | tuple[str, ...] = "uint256", keys: Sequence[str | None]) -> ReadMany:  # fmt: skip
    """`read(kind, target, signature, *row, types=types, key=key)` for every row, as one `ReadMany`
    (`targets`: one contract for all, or one per row)."""
    datas = encode_calls(signature, rows)
    targets = [targets] * len(datas) if isinstance(targets, str) else targets
    if not len(targets) == len(keys) == len(datas):
        raise ValueError(f"{signature}: {len(datas)} rows, {len(targets)} targets, {len(keys)} keys")
    return ReadMany(kind, targets, signature, datas, types, keys)


def dynamic(kind: str | Sequence[str]) -> Callable[[bytes], Any]:
    """A decoder of a struct or dynamic answer (Comet's and the EVK's getters: `rpc.answer_value`)."""

    def decode(data: bytes) -> Any:
        result = CallResult(True, data)
        if (value := answer_value(result, kind)) is None:
            raise InvalidAnswer(failure_reason(result) or "answered no data")
        return value

    return decode


class Answers(Generic[K]):
    """The answers of one round by key. Taking one checks it; an unusable one is None and a
    `missing` row, recorded when taken, so a read the indexer ends up not needing is no miss."""

    def __init__(self, ctx: ScanContext, reads: Mapping[K, Read | ReadMany], results: Sequence[CallResult]) -> None:
        self._ctx = ctx
        self._got: dict[K, tuple[Any, Any]] = {}
        at = 0
        for key, r in reads.items():
            if isinstance(r, ReadMany):
                self._got[key] = (r, results[at : at + len(r)])
                at += len(r)
            else:
                self._got[key] = (r, results[at])
                at += 1
        if at != len(results):
            raise ValueError(f"{len(results)} answers for {at} reads")

    def __getitem__(self, key: K) -> Any:
        r, result = self._got[key]
        if isinstance(r, ReadMany):
            return self._take_many(r, result)
        try:
            return checked(result, r.target, r.method, r.types)
        except InvalidAnswer as exc:
            self._ctx.miss(r.kind, r.address or r.target, r.key, r.method, exc.reason)
            return None

    def _take_many(self, r: ReadMany, results: Sequence[CallResult]) -> list[Any]:
        """The values of a `ReadMany`, None where unusable, each of those a `missing` row, in order."""
        values, reasons = decode_answers(results, r.targets, r.method, r.types)
        for index, reason in reasons.items():
            self._ctx.miss(r.kind, r.targets[index], r.keys[index], r.method, reason)
        return values

    def each(self, keys: Iterable[K]) -> list[Any] | None:
        """The answers of `keys` in order, or None at the first unusable one (only it recorded):
        one miss per row that needed them all."""
        values = []
        for key in keys:
            if (value := self[key]) is None:
                return None
            values.append(value)
        return values

    def unrecorded(self, key: K) -> Any:
        """The answer checked and decoded the same way, or None with nothing recorded: for an
        indexer that records the failure itself, in words that say what it meant for the row."""
        r, result = self._got[key]
        try:
            return checked(result, r.target, r.method, r.types)
        except InvalidAnswer:
            return None

    def result(self, key: K) -> CallResult:
        """The raw answer of a probe: whether a contract answers is the information, a failure no miss."""
        return self._got[key][1]


def checked(result: CallResult, address: str, method: str, types: Decoding) -> Any:
    """`result` decoded as `types`; `InvalidAnswer` with the reason it cannot be (reverted, no data,
    wrong size, out of range, undecodable)."""
    try:
        if callable(types):
            return types(checked_data(result, address, method))
        return decode_answer(result, address, method, types)
    except InvalidAnswer:
        raise
    except ValueError as exc:  # the decoder's own check, e.g. a struct of the wrong size
        raise InvalidAnswer(str(exc), contract=address, method=method) from None
    except (DecodingError, OverflowError) as exc:
        raise InvalidAnswer(f"undecodable answer: {exc}", contract=address, method=method) from None


LOG_PIECES = 8  # a short range is cut into this many chunks
LOG_IN_FLIGHT = 2  # of which this many are sent at a time
LOG_MIN_CHUNK = 16  # blocks: below that, more requests cost more than the overlap saves


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
    log_cache: LogCache | None = None  # logs shared with other pins of the same history (a backtest)

    @property
    def block(self) -> int:
        return self.pin.number

    async def calls(self, calls: Sequence[Call]) -> list[CallResult]:
        """Many `eth_call`s through Multicall3 at the pinned block; one result per call."""
        return await multicall(self.client, calls, self.pin)

    async def logs(self, address: str | Sequence[str], topics: Sequence[Any], from_block: int | None) -> list[dict]:
        """Logs up to the pinned block, from `from_block` (a contract's deployment) or genesis;
        through `log_cache` when there is one.

        A range shorter than `LOG_PIECES` chunks is cut into that many (of at least
        `LOG_MIN_CHUNK` blocks), `LOG_IN_FLIGHT` sent at a time, so that each answer is parsed
        while the node works on the next: one range in one request would leave the node idle
        while its answer is parsed, and the scan idle while the node builds it. Two in flight
        are enough for that, and leave the client's other slots to the read rounds."""
        read = get_logs if self.log_cache is None else self.log_cache.get_logs
        start = from_block or 0
        span = self.block - start + 1
        options = {"chunk_size": self.log_chunk_size}
        if span < LOG_PIECES * self.log_chunk_size:
            options = {"chunk_size": max(LOG_MIN_CHUNK, -(-span // LOG_PIECES)), "concurrency": LOG_IN_FLIGHT}
        return await read(self.client, address, topics, start, self.block, **options)

    async def read_round(self, reads: Mapping[K, Read | ReadMany]) -> Answers[K]:
        """One round of reads through Multicall3 at the pinned block, its answers by the same keys
        (a `ReadMany`'s: its values in order)."""
        calls: list[Call] = []
        for r in reads.values():
            if isinstance(r, ReadMany):
                calls += map(Call._make, zip(r.targets, r.datas, strict=True))
            else:
                calls.append(Call(r.target, r.data))
        return Answers(self, reads, await self.calls(calls))

    def answer(self, result: CallResult, kind: str, address: str, key: str | None, method: str,
               types: Decoding) -> Any:  # fmt: skip
        """`result` decoded as `types`, or None with the reason it cannot be (reverted, no data,
        wrong size, out of range, undecodable) recorded as a `missing` row."""
        try:
            return checked(result, address, method, types)
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
