"""Fixtures for the stock provider tests: fake servers, providers wired to them, fast retries.

Every stock provider class gets a tiny retry delay and a generous rate limit for the test's
duration (the declared values are kept in ``DECLARED``), Alpha Vantage's ``Note`` back-off
becomes a millisecond, and the process-wide buckets and breakers start empty. yfinance's
on-disk caches live in a temporary folder for the whole session.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest

from tests.fakes import FakeProviderServer
from tradedata.adapters import STOCK_PROVIDERS, provider_class, resilience
from tradedata.adapters.base import Capabilities, Provider, ProviderSettings, RateLimit
from tradedata.adapters.resilience import RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.004)
#: capabilities as the providers declare them (the tests relax the rate limits)
DECLARED: dict[str, Capabilities] = {n: provider_class(n).capabilities for n in STOCK_PROVIDERS}
KEY = "test-key-4711"
SECRET = "test-secret-0815"
#: a clock for the fake servers and the providers, so intraday limits hold on fixed dates
NOW = pd.Timestamp("2024-03-20 15:00", tz="UTC")


@dataclass(frozen=True)
class Case:
    """A request each provider can serve: symbol, timeframe and range."""

    symbol: str
    timeframe: str
    start: pd.Timestamp
    end: pd.Timestamp


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


_DAILY = Case("AAPL", "1d", _utc("2024-02-01"), _utc("2024-03-15"))
CASES: dict[str, Case] = {
    "yahoo": _DAILY,
    "alpha_vantage": _DAILY,
    "fmp": _DAILY,
    "alpaca": Case("AAPL", "1h", _utc("2024-03-04"), _utc("2024-03-15")),
    "polygon": _DAILY,
    "tiingo": _DAILY,
    "coingecko": Case("BTC/USDT", "4h", NOW - pd.Timedelta(days=5), NOW),
}


@pytest.fixture(scope="session", autouse=True)
def _yfinance_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep yfinance's cookie and timezone caches out of the user's cache folder."""
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yfinance-cache")))


@pytest.fixture(autouse=True)
def _fast_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny retry delays, no pacing, and fresh shared buckets/breakers for every test."""
    for name in STOCK_PROVIDERS:
        cls = provider_class(name)
        monkeypatch.setattr(cls, "retry_policy", FAST_RETRY)
        relaxed = dataclasses.replace(cls.capabilities, rate_limit=RateLimit(100_000, 1.0))
        monkeypatch.setattr(cls, "capabilities", relaxed)
    monkeypatch.setattr(provider_class("alpha_vantage"), "note_retry_after", 0.001)
    monkeypatch.setattr(resilience, "_buckets", {})
    monkeypatch.setattr(resilience, "_breakers", {})


def make_provider(
    name: str,
    server: FakeProviderServer,
    *,
    key: str | None = KEY,
    secret: str | None = SECRET,
    now: pd.Timestamp | None = NOW,
    **options: Any,
) -> Provider:
    """Provider ``name`` pointed at ``server`` (its clock fixed at ``now``)."""
    settings = ProviderSettings(
        url=server.url, api_key=key, secret=secret, timeout=5.0, options=options
    )
    provider = provider_class(name)(settings)
    if now is not None:
        provider.now = lambda: now  # type: ignore[method-assign]
    return provider


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeProviderServer]]:
    """A factory of started fake servers (stopped after the test)."""
    started: list[FakeProviderServer] = []

    def start(name: str, **kwargs: Any) -> FakeProviderServer:
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("secret", SECRET)
        kwargs.setdefault("now", NOW)
        server = FakeProviderServer(name, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def wired(
    fake_server: Callable[..., FakeProviderServer],
) -> Iterator[Callable[..., tuple[FakeProviderServer, Provider]]]:
    """A factory of ``(server, provider)`` pairs for one provider name."""
    providers: list[Provider] = []

    def build(
        name: str, server_kwargs: dict[str, Any] | None = None, **provider_kwargs: Any
    ) -> tuple[FakeProviderServer, Provider]:
        server = fake_server(name, **(server_kwargs or {}))
        provider = make_provider(name, server, **provider_kwargs)
        providers.append(provider)
        return server, provider

    yield build
    for provider in providers:
        provider.close()
