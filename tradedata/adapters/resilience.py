"""Retry, rate limiting and circuit breaking, shared by every provider.

* :class:`RetryPolicy` decides, as a pure function of the attempt number and the error, whether
  and how long to wait before trying again (exponential backoff with full jitter, a server's
  ``Retry-After`` honoured).
* :class:`TokenBucket` paces requests by weight; :func:`shared_bucket` hands every client of the
  same provider (or exchange) the same bucket, so concurrent requests share one budget.
* :class:`CircuitBreaker` stops calling a provider that keeps failing, and lets one trial call
  through after a cool-down.
* :func:`call_with_resilience` ties the three together around one request.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tradedata import metrics
from tradedata.deadline import check_deadline, current_deadline
from tradedata.errors import (
    ProviderUnavailableError,
    RateLimitError,
    TemporaryProviderError,
)
from tradedata.redact import connection_refused

__all__ = [
    "CircuitBreaker",
    "LoopbackRetryPolicy",
    "RetryPolicy",
    "TokenBucket",
    "breaker_states",
    "call_with_resilience",
    "is_loopback_url",
    "shared_breaker",
    "shared_bucket",
]

T = TypeVar("T")

log = logging.getLogger("tradedata.providers")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter for temporary errors.

    ``delay(attempt, error, u)`` is pure: ``u`` is a number in [0, 1) drawn by the caller.
    """

    max_attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 30.0

    def delay(self, attempt: int, error: BaseException, u: float) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up.

        ``attempt`` counts from 1 (the attempt that just failed). Only
        :class:`TemporaryProviderError` (and its :class:`RateLimitError`) is retried; a
        rate-limit answer's ``retry_after`` is a floor on the wait.
        """
        if not isinstance(error, TemporaryProviderError) or attempt >= self.max_attempts:
            return None
        backoff = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        wait = backoff * (0.5 + 0.5 * u)
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            wait = max(wait, float(error.retry_after))
        return wait


def is_loopback_url(url: str | None) -> bool:
    """True when ``url`` points at this machine (``localhost``, ``127.x.x.x``, ``::1``)."""
    if not url:
        return False
    from urllib.parse import urlsplit

    host = (urlsplit(str(url)).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass(frozen=True)
class LoopbackRetryPolicy(RetryPolicy):
    """The policy for a provider on this machine: a refused connection is final at once.

    Nothing listens on that port (a simulator or fake that is not running), so waiting and
    asking again only delays the failure.
    """

    def delay(self, attempt: int, error: BaseException, u: float) -> float | None:
        """As :meth:`RetryPolicy.delay`, but None for a refused connection."""
        if connection_refused(error):
            return None
        return super().delay(attempt, error, u)


class TokenBucket:
    """A thread-safe token bucket: ``capacity`` tokens, refilled at ``rate`` tokens per second."""

    def __init__(
        self,
        capacity: float,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if capacity <= 0 or rate <= 0:
            raise ValueError("capacity and rate must be positive")
        self.capacity = float(capacity)
        self.rate = float(rate)
        self._tokens = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds callers spent waiting

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self, weight: float = 1.0) -> float:
        """Take ``weight`` tokens now (possibly going into debt); return seconds to wait."""
        with self._lock:
            self._refill()
            self._tokens -= weight
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def wait_time(self, weight: float = 1.0) -> float:
        """Seconds :meth:`acquire` would wait now for ``weight`` tokens (nothing is taken)."""
        with self._lock:
            self._refill()
            short = weight - self._tokens
            return 0.0 if short <= 0 else short / self.rate

    def acquire(self, weight: float = 1.0) -> float:
        """Block until ``weight`` tokens are available; return the seconds waited."""
        wait = self.reserve(weight)
        if wait > 0:
            self._sleep(wait)
            with self._lock:
                self.waited += wait
        return wait

    def penalize(self, seconds: float) -> None:
        """Empty the bucket for ``seconds`` (after a server said 'slow down')."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0) - seconds * self.rate


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failed operations; half-opens after ``reset_after``.

    An operation fails when it still fails after its retries, so a provider that answers
    most requests is never cut off by a burst of transient errors.
    """

    def __init__(
        self,
        threshold: int = 3,
        reset_after: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.reset_after = reset_after
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half-open"``."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._clock() - self._opened_at >= self.reset_after:
                return "half-open"
            return "open"

    def allow(self) -> bool:
        """True when a call may go through now."""
        return self.state != "open"

    def record_success(self) -> None:
        """A call succeeded: close the circuit."""
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def record_failure(self) -> None:
        """A call failed: open the circuit at the threshold (or again, if half-open)."""
        with self._lock:
            self._failures += 1
            if self._failures >= self.threshold:
                self._opened_at = self._clock()


_registry_lock = threading.Lock()
_buckets: dict[str, TokenBucket] = {}
_breakers: dict[str, CircuitBreaker] = {}


def shared_bucket(key: str, capacity: float, rate: float) -> TokenBucket:
    """The process-wide bucket for ``key`` (created with ``capacity``/``rate`` on first use)."""
    with _registry_lock:
        bucket = _buckets.get(key)
        if bucket is None or bucket.capacity != capacity or bucket.rate != rate:
            bucket = _buckets[key] = TokenBucket(capacity, rate)
        return bucket


def breaker_states() -> dict[str, str]:
    """The state of every circuit breaker in this process, by key (``provider@url``)."""
    with _registry_lock:
        breakers = dict(_breakers)
    return {key: breaker.state for key, breaker in sorted(breakers.items())}


def shared_breaker(key: str, threshold: int = 3, reset_after: float = 60.0) -> CircuitBreaker:
    """The process-wide circuit breaker for ``key``."""
    with _registry_lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = _breakers[key] = CircuitBreaker(threshold, reset_after)
        return breaker


@dataclass
class CallStats:
    """Counters one provider keeps about its calls (for tests, benchmarks and the CLI)."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    failures: int = 0
    waited: float = 0.0
    errors: list[str] = field(default_factory=list)


def _fits_deadline(name: str, wait: float, reason: str) -> None:
    """Raise :class:`DeadlineExceededError` when waiting ``wait`` s would pass the deadline."""
    deadline = current_deadline()
    if deadline is not None and wait > 0 and wait >= deadline.remaining():
        raise deadline.error(f"{name}: no time left to wait {wait:.3g}s for {reason}")


def call_with_resilience(
    fn: Callable[[], T],
    *,
    name: str,
    policy: RetryPolicy,
    breaker: CircuitBreaker | None = None,
    bucket: TokenBucket | None = None,
    weight: float = 1.0,
    stats: CallStats | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Call ``fn`` with pacing, retries and the circuit breaker.

    Raises :class:`ProviderUnavailableError` while the breaker is open, the last error when
    retries run out, and any non-temporary error at once. With an overall deadline in force
    (:mod:`tradedata.deadline`), :class:`DeadlineExceededError` when it passed before an
    attempt, or when a retry or rate-limit wait would end after it.
    """
    rng = rng or random.Random()
    stats = stats if stats is not None else CallStats()
    attempt = 0
    while True:
        attempt += 1
        if breaker is not None and not breaker.allow():
            raise ProviderUnavailableError(
                f"{name} is failing repeatedly; not calling it for now (circuit open)",
                provider=name,
            )
        check_deadline(f"{name}: stopped before attempt {attempt}")
        if bucket is not None:
            _fits_deadline(name, bucket.wait_time(weight), "the rate limit")
            waited = bucket.acquire(weight)
            stats.waited += waited
            metrics.record_wait(name, waited)
        stats.calls += 1
        began = time.perf_counter()
        try:
            result = fn()
        except Exception as exc:
            took = time.perf_counter() - began
            metrics.record_call(name, took, exc)
            log.debug("%s request failed in %.0f ms: %s", name, took * 1000, type(exc).__name__)
            if isinstance(exc, ProviderUnavailableError) or not isinstance(
                exc, TemporaryProviderError
            ):
                raise
            stats.failures += 1
            if isinstance(exc, RateLimitError):
                stats.rate_limited += 1
                if bucket is not None and exc.retry_after:
                    bucket.penalize(float(exc.retry_after))
            wait = policy.delay(attempt, exc, rng.random())
            if wait is None:
                if breaker is not None:
                    breaker.record_failure()
                raise
            stats.retries += 1
            metrics.record_retry(name)
            log.info("%s: %s; retry %d in %.2f s", name, type(exc).__name__, attempt, wait)
            if isinstance(exc, RateLimitError) and bucket is not None and exc.retry_after:
                wait = 0.0  # the bucket's penalty already makes the next acquire wait
            _fits_deadline(name, wait, f"a retry after: {exc}")
            sleep(wait)
            continue
        took = time.perf_counter() - began
        metrics.record_call(name, took)
        log.debug("%s request ok in %.0f ms", name, took * 1000)
        if breaker is not None:
            breaker.record_success()
        return result
