"""Read one HTTP answer into a result or a typed error per call: pure, so recorded answers
test it without a node.

The order of checks is the order in which an answer can go wrong: the HTTP status, then the
body as JSON, then its shape (an object for one call, a list for a batch), then the ids
(each sent id answered exactly once), then each call's ``result`` or ``error``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .classify import classify_error
from .errors import BadResponse, BatchTooLarge, RateLimited, RpcError, TransportError

try:
    import orjson

    dumps = orjson.dumps
    loads = orjson.loads
except ImportError:  # orjson is optional; it only makes large batches cheaper to (de)serialise
    import json

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    loads = json.loads

__all__ = ["Sent", "Settled", "dumps", "loads", "read_response"]


@dataclass(frozen=True, slots=True)
class Sent:
    """One call inside an HTTP request: its position in the caller's list, its id, its method."""

    index: int
    id: int
    method: str


@dataclass
class Settled:
    """What one HTTP answer settled, by the caller's index."""

    results: dict[int, Any] = field(default_factory=dict)
    failures: dict[int, RpcError] = field(default_factory=dict)

    def fail_all(self, sent: Sequence[Sent], make: Callable[[str], RpcError]) -> Settled:
        for call in sent:
            self.failures[call.index] = make(call.method)
        return self


def read_response(
    sent: Sequence[Sent],
    status: int,
    retry_after: float | None,
    body: bytes,
    *,
    endpoint: str,
    excerpt: Callable[[bytes], str],
) -> Settled:
    """Settle every call in ``sent`` from one HTTP answer.

    ``sent`` has one element for a single (non-batch) request. ``excerpt`` renders part of a
    body for a message with the URL's secrets masked.
    """
    out = Settled()
    if status == 429:
        return out.fail_all(
            sent, lambda m: RateLimited("HTTP 429", method=m, endpoint=endpoint, retry_after=retry_after)
        )
    if status >= 500:
        detail = f"HTTP {status}: {excerpt(body)}"
        return out.fail_all(sent, lambda m: TransportError(detail, method=m, endpoint=endpoint, status=status))
    try:
        doc = loads(body)
    except ValueError:
        doc = None
        if status == 200:
            detail = f"not JSON ({len(body)} bytes): {excerpt(body)}"
            return out.fail_all(sent, lambda m: BadResponse(detail, method=m, endpoint=endpoint))
    if status != 200 and not _carries_rpc_error(doc):
        # Only a JSON-RPC error object says more than the status (QuickNode answers 413 with
        # its getLogs range error); anything else is judged by the status alone.
        detail = f"HTTP {status}: {excerpt(body)}"
        if status == 413:
            return out.fail_all(
                sent, lambda m: BatchTooLarge(detail, method=m, endpoint=endpoint, code=None, message=detail)
            )
        return out.fail_all(sent, lambda m: TransportError(detail, method=m, endpoint=endpoint, status=status))
    return _read_answers(sent, doc, body, endpoint, excerpt, out)


def _carries_rpc_error(doc: Any) -> bool:
    answers = doc if isinstance(doc, list) else [doc]
    return any(isinstance(a, dict) and isinstance(a.get("error"), dict) for a in answers)


def _read_answers(
    sent: Sequence[Sent], doc: Any, body: bytes, endpoint: str, excerpt: Callable[[bytes], str], out: Settled
) -> Settled:
    if isinstance(doc, dict) and doc.get("id") is None and isinstance(doc.get("error"), dict):
        # The node refused the request as a whole (geth "batch too large", anvil over 2 MB).
        return out.fail_all(sent, lambda m: classify_error(doc["error"], method=m, endpoint=endpoint))
    answers = [doc] if len(sent) == 1 and isinstance(doc, dict) else doc
    if not isinstance(answers, list) or not all(isinstance(a, dict) for a in answers):
        detail = f"wrong shape for {'a batch' if len(sent) > 1 else 'one call'}: {excerpt(body)}"
        return out.fail_all(sent, lambda m: BadResponse(detail, method=m, endpoint=endpoint))
    by_id: dict[Any, dict[str, Any]] = {}
    for answer in answers:
        answer_id = answer.get("id")
        if answer_id in by_id:
            detail = f"id {answer_id} answered twice"
            return out.fail_all(sent, lambda m: BadResponse(detail, method=m, endpoint=endpoint))
        by_id[answer_id] = answer
    strangers = set(by_id) - {call.id for call in sent}
    if strangers:
        detail = f"answers for ids never sent: {sorted(map(str, strangers))[:5]}"
        return out.fail_all(sent, lambda m: BadResponse(detail, method=m, endpoint=endpoint))
    for call in sent:
        answer = by_id.get(call.id)
        if answer is None:
            out.failures[call.index] = BadResponse(
                f"no answer for id {call.id} in the batch", method=call.method, endpoint=endpoint
            )
        elif answer.get("error") is not None:
            out.failures[call.index] = classify_error(answer["error"], method=call.method, endpoint=endpoint)
        elif "result" in answer:
            out.results[call.index] = answer["result"]
        else:
            out.failures[call.index] = BadResponse(
                f"neither result nor error: {str(answer):.200}", method=call.method, endpoint=endpoint
            )
    return out
