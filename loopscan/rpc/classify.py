"""Turn a JSON-RPC error object into the typed error it stands for.

Nodes and providers say the same thing in different words, and the same code means different
things (Infura's -32005 is both "rate exceeded" and "more than 10000 results"). Each rule below
is one known wording: the codes it comes with and a regular expression anchored on that
wording, never a loose substring such as "range" or "limit", so an unknown error stays a plain
``NodeError`` and surfaces instead of being mistaken for one the code knows how to recover
from. Each rule names its source; add new ones the same way, with a recorded answer in
``tests/rpc/data/provider_errors.json``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .abi import decode_revert
from .errors import (
    BatchTooLarge,
    ExecutionReverted,
    HistoricalStateUnavailable,
    LogRangeTooLarge,
    NodeError,
    RateLimited,
    RpcError,
)

__all__ = ["classify_error"]

@dataclass(frozen=True)
class _Rule:
    codes: frozenset[int] | None  # None: the wording alone identifies it
    pattern: re.Pattern[str]
    check: Callable[[re.Match[str]], bool]

    def matches(self, code: int | None, message: str) -> bool:
        if self.codes is not None and code not in self.codes:
            return False
        found = self.pattern.search(message)
        return found is not None and self.check(found)


def _rule(codes: set[int] | None, pattern: str, check: Callable[[re.Match[str]], bool] | None = None) -> _Rule:
    codes_set = None if codes is None else frozenset(codes)
    return _Rule(codes_set, re.compile(pattern, re.IGNORECASE), check or (lambda _: True))


_RATE_LIMIT = (
    _rule({429}, r"^"),  # Alchemy: code 429 "Your app has exceeded its compute units per second capacity..."
    _rule({-32005}, r"^project ID request rate exceeded|^daily request count exceeded"),  # Infura
    _rule({-32007}, r"^request limit reached"),  # QuickNode
    _rule({-32005, -32016}, r"^rate limit exceeded|^too many requests"),  # erigon / public RPCs
)

_LOG_RANGE = (
    _rule({-32005, -32000}, r"^query returned more than \d+ results"),  # Infura, geth-based
    _rule({-32602, -32600}, r"^log response size exceeded"),  # Alchemy
    _rule({-32600, -32602}, r"you can make eth_getLogs requests with up to a \d+ block range"),  # Alchemy
    _rule({-32602, -32000}, r"^query exceeds max results \d+"),  # reth
    _rule({-32602, -32000}, r"^query exceeds max block range \d+"),  # reth
    _rule({-32602}, r"^range \d+ exceeds limit of \d+"),  # Infura (live API)
    _rule({-32000, -32602, -32600}, r"^exceed maximum block range: \d+"),  # BSC and publicnode (geth forks)
    _rule({-32000, -32602, -32603}, r"^block range is too wide"),  # Frontier / Moonbeam
    _rule({-32000}, r"^block range is bigger than maxBlockRange"),  # Scroll l2geth
    _rule({-32614}, r"^eth_getLogs is limited to a [\d,]+ range"),  # QuickNode
    _rule({-32012}, r"^requested range too large"),  # public RPC gateways
)

_HISTORICAL = (
    _rule({-32000}, r"^missing trie node [0-9a-f]+"),  # geth hash scheme (and QuickNode)
    _rule({-32000}, r"^historical state [0-9a-fx]+ is not available"),  # geth path scheme
    _rule({-32000}, r"^header not found$"),  # geth / erigon without that block's state
    _rule(None, r"^state at block #?\d+ is pruned"),  # reth ProviderError::StateAtBlockPruned
    _rule(None, r"^project ID does not have access to archive state"),  # Infura
    _rule(  # anvil --prune-history: a block *below* the head is pruned; above it is the future
        {-32602},
        r"^BlockOutOfRangeError: block height is (\d+) but requested was (\d+)",
        lambda m: int(m.group(2)) < int(m.group(1)),
    ),
)

_TOO_LARGE = (
    _rule({-32603}, r"^EVM error OutOfGas$"),  # anvil
    _rule({-32000, -32015}, r"^out of gas"),  # geth, reth, nethermind
    _rule({-32000}, r"^gas required exceeds allowance"),  # geth gas cap
    _rule({-32003}, r"^response too large$"),  # geth --rpc.batch-response-max-size
    _rule({-32020}, r"^backend response too large"),  # Base public node
    _rule({-32600}, r"^batch too large$"),  # geth --rpc.batch-request-limit
)


def _match(rules: tuple[_Rule, ...], code: int | None, message: str) -> bool:
    return any(rule.matches(code, message) for rule in rules)


# Where the node names the block it no longer holds (anvil, reth), the message says which.
_PRUNED_BLOCK = re.compile(r"requested was (\d+)|state at block #?(\d+)", re.IGNORECASE)


def _historical_detail(detail: str, message: str) -> str:
    found = _PRUNED_BLOCK.search(message)
    block = f" at block {found.group(1) or found.group(2)}" if found else ""
    return f"historical state unavailable{block} on this node (an archive node keeps it): {detail}"


def _revert_data(data: Any) -> bytes | None:
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None


def classify_error(error: Any, *, method: str, endpoint: str) -> RpcError:
    """The typed error for one JSON-RPC ``error`` object answered to ``method``.

    ``endpoint`` must already be masked. A malformed error object still becomes a
    ``NodeError``, with the object kept in ``raw``.
    """
    if not isinstance(error, dict):
        return NodeError(f"malformed error object {error!r:.200}", method=method, endpoint=endpoint,
                         code=None, message=str(error), raw=error)
    code = error.get("code") if isinstance(error.get("code"), int) else None
    message = str(error.get("message", ""))
    data = error.get("data")
    detail = f"[{code}] {message}"
    fields = dict(method=method, endpoint=endpoint, code=code, message=message, data=data, raw=error)

    if _match(_RATE_LIMIT, code, message):
        return RateLimited(detail, method=method, endpoint=endpoint)
    if method == "eth_getLogs" and _match(_LOG_RANGE, code, message):
        return LogRangeTooLarge(detail, **fields)
    if _match(_HISTORICAL, code, message):
        return HistoricalStateUnavailable(_historical_detail(detail, message), **fields)
    revert = _revert_data(data)
    if code == 3 or (code in (-32000, -32015) and message.startswith("execution reverted")):
        # geth and anvil: code 3 with the revert bytes in data; older nodes: -32000 and no data.
        reason = decode_revert(revert) if revert is not None else message
        if revert is not None:  # the node's own rendering may hold raw bytes; ours is readable
            detail = f"[{code}] execution reverted: {reason}"
        return ExecutionReverted(detail, reason=reason, revert_data=revert or b"", **fields)
    if _match(_TOO_LARGE, code, message):
        return BatchTooLarge(detail, **fields)
    return NodeError(detail, **fields)
