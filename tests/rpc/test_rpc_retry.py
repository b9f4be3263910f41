"""The retry policy, Retry-After parsing and the rate limiter, with no real time."""

from __future__ import annotations

import email.utils
import time

import pytest

from loopscan.rpc import errors
from loopscan.rpc.retry import RateLimiter, RetryPolicy, parse_retry_after

E = {"endpoint": "http://x", "method": "eth_call"}


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(initial_backoff=1.0, multiplier=2.0, max_backoff=5.0, jitter=0.5)
    for retry, top in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 5.0), (10, 5.0)]:
        waits = [policy.backoff(retry) for _ in range(200)]
        assert all(top * 0.5 <= w <= top for w in waits)
        assert len(set(waits)) > 1


def test_backoff_never_undercuts_retry_after() -> None:
    assert RetryPolicy(initial_backoff=0.01).backoff(0, retry_after=3.0) == 3.0


def test_should_retry_only_reads_and_passing_failures() -> None:
    policy = RetryPolicy(max_retry_after=10)
    passing = [
        errors.RpcTimeout("t", **E),
        errors.TransportError("dropped", **E),
        errors.TransportError("503", status=503, **E),
        errors.TransportError("408", status=408, **E),
        errors.RateLimited("429", retry_after=None, **E),
        errors.RateLimited("429", retry_after=10, **E),
        errors.BadResponse("garbled", **E),
    ]
    lasting = [
        errors.TransportError("401", status=401, **E),
        errors.RateLimited("429", retry_after=11, **E),
        errors.NodeError("x", code=-32000, message="x", **E),
        errors.HistoricalStateUnavailable("x", code=-32000, message="missing trie node", **E),
        errors.ExecutionReverted("x", reason="r", revert_data=b"", code=3, message="x", **E),
        errors.BatchTooLarge("x", code=-32603, message="EVM error OutOfGas", **E),
    ]
    assert all(policy.should_retry("eth_call", e) for e in passing)
    assert not any(policy.should_retry("eth_call", e) for e in lasting)
    assert not any(policy.should_retry("eth_sendRawTransaction", e) for e in passing)
    assert not any(policy.should_retry("eth_sendTransaction", e) for e in passing)


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    assert 100 < (parse_retry_after(later) or 0) <= 120
    assert parse_retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 9))


async def test_rate_limiter_spaces_calls() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, burst=1, clock=fake.clock, sleep=fake.sleep)
    for _ in range(4):
        await limiter.acquire()
    assert fake.slept == [0.1, 0.2, 0.3]


async def test_rate_limiter_burst_then_batch() -> None:
    fake = FakeTime()
    limiter = RateLimiter(10, clock=fake.clock, sleep=fake.sleep)  # burst defaults to one second's worth
    for _ in range(10):
        await limiter.acquire()
    assert fake.slept == []
    await limiter.acquire(20)  # a batch bigger than the burst waits its share, no deadlock
    assert fake.slept == [2.0]
    fake.now += 10  # idle time refills the bucket
    await limiter.acquire(5)
    assert fake.slept == [2.0]


def test_rate_limiter_refuses_a_non_positive_rate() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)
