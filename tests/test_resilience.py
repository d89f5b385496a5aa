"""Retry policy, token bucket, circuit breaker and the call wrapper."""

from __future__ import annotations

import threading
import time

import pytest

from tradedata.adapters.resilience import (
    CircuitBreaker,
    RetryPolicy,
    TokenBucket,
    call_with_resilience,
)
from tradedata.errors import (
    ProviderUnavailableError,
    RateLimitError,
    SymbolNotFoundError,
    TemporaryProviderError,
)


def test_retry_policy_backoff_grows_and_gives_up() -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=10.0)
    err = TemporaryProviderError("503")
    delays = [policy.delay(a, err, 0.999) for a in (1, 2, 3)]
    assert delays == pytest.approx([1.0, 2.0, 4.0], rel=1e-3)
    assert policy.delay(4, err, 0.5) is None
    assert policy.delay(1, SymbolNotFoundError("x"), 0.5) is None


def test_retry_policy_jitter_in_half_to_full_range() -> None:
    policy = RetryPolicy(base_delay=2.0)
    err = TemporaryProviderError("x")
    assert policy.delay(1, err, 0.0) == pytest.approx(1.0)
    assert policy.delay(1, err, 0.5) == pytest.approx(1.5)


def test_retry_after_is_a_floor() -> None:
    policy = RetryPolicy(base_delay=0.1)
    assert policy.delay(1, RateLimitError("429", retry_after=7), 0.0) == 7


def test_token_bucket_paces_to_rate() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock[0] += s

    bucket = TokenBucket(capacity=10, rate=5, clock=lambda: clock[0], sleep=sleep)
    for _ in range(10):
        assert bucket.acquire(1) == 0
    waited = bucket.acquire(5)
    assert waited == pytest.approx(1.0)
    assert sum(slept) == pytest.approx(1.0)


def test_token_bucket_shared_by_threads_never_exceeds_budget() -> None:
    bucket = TokenBucket(capacity=5, rate=50)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            bucket.acquire(1)
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    # 40 tokens: 5 at once, 35 more at 50/s -> at least 0.7 s
    assert elapsed >= 0.65


def test_circuit_breaker_opens_and_half_opens() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, reset_after=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10.0
    assert breaker.state == "half-open" and breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"


def test_call_with_resilience_retries_then_succeeds() -> None:
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise TemporaryProviderError("502")
        return "ok"

    slept: list[float] = []
    out = call_with_resilience(
        flaky, name="p", policy=RetryPolicy(base_delay=0.01), sleep=slept.append
    )
    assert out == "ok" and calls["n"] == 3 and len(slept) == 2


def test_call_with_resilience_raises_permanent_errors_at_once() -> None:
    calls = {"n": 0}

    def missing() -> None:
        calls["n"] += 1
        raise SymbolNotFoundError("nope")

    with pytest.raises(SymbolNotFoundError):
        call_with_resilience(missing, name="p", policy=RetryPolicy(), sleep=lambda s: None)
    assert calls["n"] == 1


def test_breaker_opens_after_failed_operations_and_blocks_calls() -> None:
    breaker = CircuitBreaker(threshold=2, reset_after=60)

    def down() -> None:
        raise TemporaryProviderError("down")

    policy = RetryPolicy(max_attempts=2, base_delay=0.0)
    for _ in range(2):
        with pytest.raises(TemporaryProviderError):
            call_with_resilience(
                down, name="p", policy=policy, breaker=breaker, sleep=lambda s: None
            )
    with pytest.raises(ProviderUnavailableError, match="circuit open"):
        call_with_resilience(down, name="p", policy=policy, breaker=breaker, sleep=lambda s: None)
