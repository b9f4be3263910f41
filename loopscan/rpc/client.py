"""``RpcClient``: the one async JSON-RPC client every read in loopscan goes through.

One gate for every HTTP request (the idea of cryo's ``permit_request``): an optional
calls-per-second limiter, then a semaphore bounding requests in flight, then the error
mapping (``response.py``). Payloads are built here rather than through web3.py, whose
middleware adds an ``eth_chainId`` round trip to every call.

Batches follow web3.py's ``sort_batch_response_by_response_ids``: ids come from a counter,
answers are matched back by id, and a missing or repeated id is a ``BadResponse``, never a
shifted result. When some calls of a batch fail in a way worth retrying, only those calls are
sent again.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

from .endpoint import check_url, mask_url, redact
from .errors import BatchTooLarge, NodeUnreachable, RateLimited, RpcError, RpcTimeout, TransportError
from .reads import BlockReads
from .response import Sent, Settled, dumps, read_response
from .retry import RateLimiter, RetryPolicy, parse_retry_after

__all__ = ["RpcCall", "RpcClient", "RpcStats"]

log = logging.getLogger(__name__)

RpcCall = tuple[str, Sequence[Any]]
"""One JSON-RPC call: ``(method, params)``."""


@dataclass
class RpcStats:
    """Counters for tests and scan reports: HTTP requests, JSON-RPC calls sent (re-sends
    included) and calls re-sent after a retryable failure."""

    http_requests: int = 0
    calls: int = 0
    retries: int = 0


class RpcClient(BlockReads):
    """Async JSON-RPC over HTTP: batching, retries of reads, a rate limit, typed errors.

    Use it as ``async with RpcClient(url) as client:``. ``max_body_bytes`` defaults below
    anvil's 2 MB request cap; ``requests_per_second`` counts JSON-RPC calls, as providers
    meter them. ``observer``, if set, is called with ``stats`` after every HTTP answer and every
    retry round (the CLI's progress line). The typed reads (``eth_call``, ``pin``, ``verify_pin``...) come from
    ``BlockReads``.

    Warning: a client belongs to the event loop it is first used in (its HTTP session and
    semaphore do); make one per ``asyncio.run``.
    """

    def __init__(
        self,
        url: str,
        *,
        max_concurrency: int = 16,
        requests_per_second: float | None = None,
        max_batch_size: int = 100,
        max_body_bytes: int = 1_500_000,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        headers: dict[str, str] | None = None,
        observer: Callable[[RpcStats], None] | None = None,
    ) -> None:
        check_url(url)  # a URL that cannot be a node's fails here, before any request
        self._url = url
        self.endpoint = mask_url(url)
        self.max_batch_size = max_batch_size
        self.max_body_bytes = max_body_bytes
        self.retry = retry
        self.stats = RpcStats()
        self.observer = observer
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._max_concurrency = max_concurrency
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._limiter = RateLimiter(requests_per_second) if requests_per_second else None
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"RpcClient({self.endpoint!r})"

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session; the client opens a new one if used again."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One JSON-RPC call: its ``result``, or its typed error raised."""
        return (await self.batch([(method, params)]))[0]

    async def batch(self, calls: Sequence[RpcCall], *, return_exceptions: bool = False) -> list[Any]:
        """The results of ``calls``, in order.

        Calls are packed into JSON-RPC batches of at most ``max_batch_size`` calls and
        ``max_body_bytes`` bytes, sent concurrently. A call whose failure is retryable under
        ``retry`` is sent again, together with the other failed calls only. With
        ``return_exceptions`` a failed call's slot holds its ``RpcError``; otherwise, once
        every call has settled, the failure of the first failed call is raised.
        """
        results: list[Any] = [None] * len(calls)
        errors: dict[int, RpcError] = {}
        pending: Sequence[int] = range(len(calls))
        for attempt in itertools.count():
            settled = await asyncio.gather(*(self._send(chunk) for chunk in self._pack(pending, calls)))
            failed: dict[int, RpcError] = {}
            for one in settled:
                for index, value in one.results.items():
                    results[index] = value
                failed.update(one.failures)
            again = [i for i in sorted(failed) if self.retry.should_retry(calls[i][0], failed[i])]
            if attempt >= self.retry.max_retries:
                again = []
            errors.update((i, e) for i, e in failed.items() if i not in again)
            if not again:
                break
            hints = [e.retry_after for i in again if isinstance(e := failed[i], RateLimited) and e.retry_after]
            delay = self.retry.backoff(attempt, max(hints, default=None))
            log.warning(
                "%s: retrying %d call(s) in %.2fs (retry %d of %d) after: %s",
                self.endpoint, len(again), delay, attempt + 1, self.retry.max_retries, failed[again[0]],
            )
            self.stats.retries += len(again)
            self._observe()
            await asyncio.sleep(delay)
            pending = again
        if errors and not return_exceptions:
            raise errors[min(errors)]
        for index, error in errors.items():
            results[index] = error
        return results

    def _pack(self, indices: Sequence[int], calls: Sequence[RpcCall]) -> list[list[tuple[Sent, bytes]]]:
        """Serialise each call with a fresh id and group them into HTTP requests."""
        chunks: list[list[tuple[Sent, bytes]]] = []
        chunk: list[tuple[Sent, bytes]] = []
        size = 2  # the batch's brackets
        for index in indices:
            method, params = calls[index]
            request_id = next(self._ids)
            body = dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)})
            if chunk and (len(chunk) >= self.max_batch_size or size + len(body) + 1 > self.max_body_bytes):
                chunks.append(chunk)
                chunk, size = [], 2
            chunk.append((Sent(index, request_id, method), body))
            size += len(body) + 1
        if chunk:
            chunks.append(chunk)
        return chunks

    async def _send(self, chunk: list[tuple[Sent, bytes]]) -> Settled:
        sent = [call for call, _ in chunk]
        if len(chunk) == 1 and len(chunk[0][1]) > self.max_body_bytes:
            # Refused here, without a round trip, so multicall can halve it like a node refusal.
            detail = f"request of {len(chunk[0][1])} bytes is over max_body_bytes={self.max_body_bytes}"
            return Settled().fail_all(
                sent, lambda m: BatchTooLarge(detail, method=m, endpoint=self.endpoint, code=None, message=detail)
            )
        payload = chunk[0][1] if len(chunk) == 1 else b"[" + b",".join(body for _, body in chunk) + b"]"
        try:
            status, retry_after, body = await self._post(payload, len(chunk))
        except _HttpFailure as failure:
            kind, detail = failure.kind, failure.detail
            return Settled().fail_all(sent, lambda m: kind(detail, method=m, endpoint=self.endpoint))
        return read_response(sent, status, retry_after, body, endpoint=self.endpoint, excerpt=self._excerpt)

    async def _post(self, payload: bytes, n_calls: int) -> tuple[int, float | None, bytes]:
        """The gate: rate limit, then the semaphore, then one POST; aiohttp errors translated."""
        if self._limiter is not None:
            await self._limiter.acquire(n_calls)
        async with self._semaphore:
            if self._session is None:
                self._session = aiohttp.ClientSession(
                    timeout=self._timeout, connector=aiohttp.TCPConnector(limit=self._max_concurrency)
                )
            self.stats.http_requests += 1
            self.stats.calls += n_calls
            try:
                # As a stream: aiohttp warns that a body over 1 MB sent as bytes may block the loop.
                async with self._session.post(
                    self._url, data=io.BytesIO(payload), headers=self._headers, allow_redirects=False
                ) as response:
                    body = await response.read()
                    return response.status, parse_retry_after(response.headers.get("Retry-After")), body
            # Not chained (`from None`): aiohttp's messages may hold the unmasked URL.
            except TimeoutError as exc:
                raise _HttpFailure(RpcTimeout, f"no answer in time ({self._describe(exc)})") from None
            except aiohttp.ClientConnectorError as exc:
                raise _HttpFailure(NodeUnreachable, f"connection failed before anything was sent ({self._describe(exc)})") from None
            except aiohttp.ClientError as exc:
                raise _HttpFailure(TransportError, f"connection failed ({self._describe(exc)})") from None
            finally:
                self._observe()

    def _observe(self) -> None:
        if self.observer is not None:
            self.observer(self.stats)

    def _describe(self, exc: BaseException) -> str:
        text = redact(str(exc), self._url)
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    def _excerpt(self, body: bytes, limit: int = 200) -> str:
        text = body[:limit].decode("utf-8", errors="replace")
        return redact(text, self._url) + ("…" if len(body) > limit else "")


class _HttpFailure(Exception):
    """The whole HTTP request failed; ``_send`` turns it into one error per call."""

    def __init__(self, kind: type[TransportError], detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
