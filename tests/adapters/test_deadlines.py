"""Every request has a total deadline; every provider call honours the overall one.

A slow-loris server (:mod:`tests.fakes.slowloris`) sends a byte before each per-read timeout,
so only a limit on the whole request ends the call. Intervals and timeouts are small to keep
the tests fast; the margin covers thread scheduling on a loaded machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pandas as pd
import pytest

from tests.adapters.conftest import CASES, NOW
from tests.fakes.slowloris import SlowLorisServer
from tradedata.adapters import STOCK_PROVIDERS, provider_class
from tradedata.adapters.base import ProviderSettings
from tradedata.adapters.http import HttpClient
from tradedata.adapters.resilience import RetryPolicy, call_with_resilience
from tradedata.deadline import Deadline, deadline_scope
from tradedata.errors import DeadlineExceededError, TemporaryProviderError, TradeDataError

TIMEOUT = 0.8
MARGIN = 0.7


@pytest.fixture(params=["headers", "body"])
def loris(request: pytest.FixtureRequest) -> Iterator[SlowLorisServer]:
    with SlowLorisServer(interval=0.05, mode=request.param) as server:
        yield server


def test_one_request_ends_at_its_total_deadline(loris: SlowLorisServer) -> None:
    client = HttpClient("fmp", loris.url, timeout=TIMEOUT)
    began = time.monotonic()

    with pytest.raises(TemporaryProviderError, match=r"timed out after 0\.8s"):
        client.get_json("/api/v3/historical-price-full/AAPL", {"apikey": "k"})

    assert time.monotonic() - began < TIMEOUT + MARGIN
    client.close()


def test_the_overall_deadline_cuts_a_request_short(loris: SlowLorisServer) -> None:
    client = HttpClient("fmp", loris.url, timeout=30)
    began = time.monotonic()

    with deadline_scope(0.5), pytest.raises(DeadlineExceededError):
        client.get_json("/x")

    assert time.monotonic() - began < 0.5 + MARGIN
    client.close()


@pytest.mark.parametrize("name", sorted(STOCK_PROVIDERS))
def test_every_stock_provider_call_ends_at_the_overall_deadline(
    name: str, loris: SlowLorisServer
) -> None:
    settings = ProviderSettings(url=loris.url, api_key="k", secret="s", timeout=TIMEOUT)
    provider = provider_class(name)(settings)
    provider.now = lambda: NOW  # type: ignore[method-assign]
    case = CASES[name]
    began = time.monotonic()

    with deadline_scope(1.5), pytest.raises(TradeDataError) as info:
        provider.fetch_ohlcv(case.symbol, case.timeframe, case.start, case.end)

    assert time.monotonic() - began < 1.5 + MARGIN
    assert isinstance(info.value, (DeadlineExceededError, TemporaryProviderError))
    provider.close()


def test_a_ccxt_exchange_call_ends_at_its_total_and_overall_deadline(
    loris: SlowLorisServer,
) -> None:
    from tradedata.adapters.ccxt_ import CcxtProvider

    provider = CcxtProvider("binance", ProviderSettings(url=loris.url, timeout=TIMEOUT))
    began = time.monotonic()

    with deadline_scope(2.0), pytest.raises(DeadlineExceededError):
        provider.fetch_ohlcv("BTC/USDT", "1h", NOW - pd.Timedelta(hours=3), NOW)

    elapsed = time.monotonic() - began
    assert elapsed < 2.0 + MARGIN
    assert loris.connections >= 2  # each request was cut at TIMEOUT, then retried
    provider.close()


def test_no_retry_wait_runs_past_the_deadline() -> None:
    calls = []

    def failing() -> None:
        calls.append(time.monotonic())
        raise TemporaryProviderError("flaky", provider="p")

    began = time.monotonic()
    with deadline_scope(0.3), pytest.raises(DeadlineExceededError, match="retry"):
        call_with_resilience(
            failing, name="p", policy=RetryPolicy(max_attempts=10, base_delay=1.0), sleep=time.sleep
        )

    assert len(calls) == 1 and time.monotonic() - began < 0.3


def test_an_expired_deadline_stops_before_any_request() -> None:
    calls = []
    deadline = Deadline(0.01)
    time.sleep(0.02)

    with deadline_scope(deadline), pytest.raises(DeadlineExceededError):
        call_with_resilience(lambda: calls.append(1), name="p", policy=RetryPolicy())

    assert calls == []


def test_an_inner_deadline_never_extends_an_outer_one() -> None:
    with deadline_scope(0.2) as outer, deadline_scope(60) as inner:
        assert inner is outer
