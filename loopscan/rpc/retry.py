"""When to retry, how long to wait, and how fast to send: configured once, per client.

Only reads are retried. A read asked twice gives the same answer at a pinned block; a write
asked twice may be executed twice. The allowlist names the reads the project uses (the idea
of web3.py's ``REQUEST_RETRY_ALLOWLIST``); anything not on it is sent once, whatever fails.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .errors import BadResponse, NodeUnreachable, RateLimited, RpcError, RpcTimeout, TransportError

__all__ = ["READ_METHODS", "RateLimiter", "RetryPolicy", "parse_retry_after"]

READ_METHODS = frozenset(
    {
        "eth_blockNumber",
        "eth_call",
        "eth_chainId",
        "eth_estimateGas",
        "eth_feeHistory",
        "eth_gasPrice",
        "eth_getBalance",
        "eth_getBlockByHash",
        "eth_getBlockByNumber",
        "eth_getBlockReceipts",
        "eth_getCode",
        "eth_getLogs",
        "eth_getProof",
        "eth_getStorageAt",
        "eth_getTransactionByHash",
        "eth_getTransactionCount",
        "eth_getTransactionReceipt",
        "net_version",
        "web3_clientVersion",
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for idempotent reads.

    The n-th retry waits ``min(max_backoff, initial_backoff * multiplier**n)`` scaled by a
    random factor in ``[1 - jitter, 1]`` (so clients that failed together do not retry
    together), and never less than the server's ``Retry-After``. A ``Retry-After`` longer
    than ``max_retry_after`` is not waited for: the ``RateLimited`` error is raised.
    """

    max_retries: int = 5
    initial_backoff: float = 0.25
    multiplier: float = 2.0
    max_backoff: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    methods: frozenset[str] = READ_METHODS

    def backoff(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier**retry)
        return max(retry_after or 0.0, base * random.uniform(1.0 - self.jitter, 1.0))

    def should_retry(self, method: str, error: RpcError) -> bool:
        """A failure is retried when the method is a read and the failure may pass: a
        timeout, a dropped connection, a 5xx, a rate limit with a bearable wait, or a
        garbled answer (a truncated body looks like one). Not when no connection could be made:
        nothing was sent, and a refused port or unknown host does not pass in a backoff's time."""
        if method not in self.methods or isinstance(error, NodeUnreachable):
            return False
        if isinstance(error, RateLimited):
            return error.retry_after is None or error.retry_after <= self.max_retry_after
        if isinstance(error, RpcTimeout | BadResponse):
            return True
        if isinstance(error, TransportError):
            return error.status is None or error.status == 408 or error.status >= 500
        return False


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds, from delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RateLimiter:
    """Spaces JSON-RPC calls to at most ``rate`` per second, allowing bursts of ``burst``.

    Providers meter calls, not HTTP requests, so a batch of n calls takes n tokens. It keeps
    the theoretical arrival time of the next call (the GCRA form of a token bucket), so a
    batch larger than ``burst`` waits for its share instead of deadlocking. ``clock`` and
    ``sleep`` are injectable so tests need no real time.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, rate if burst is None else burst)
        self._clock = clock
        self._sleep = sleep
        self._next = clock()

    async def acquire(self, n: int = 1) -> None:
        """Wait until ``n`` calls may be sent."""
        now = self._clock()
        self._next = max(self._next, now) + n / self.rate
        wait = self._next - now - self.burst / self.rate
        if wait > 0:
            await self._sleep(wait)
