"""One contract, every registered stock provider, through the real clients and a fake server."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from tests.adapters.conftest import CASES, DECLARED, KEY, NOW, make_provider
from tests.fakes import FakeProviderServer
from tradedata.adapters import STOCK_PROVIDERS, provider_class, resilience
from tradedata.adapters.base import Provider, ProviderSettings
from tradedata.errors import (
    AuthenticationError,
    InvalidResponseError,
    MissingAPIKeyError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    TemporaryProviderError,
    UnsupportedError,
)
from tradedata.model import OHLCV_COLUMNS, STANDARD_TIMEFRAMES

NAMES = sorted(STOCK_PROVIDERS)
Wired = Callable[..., tuple[FakeProviderServer, Provider]]


def fetch(provider: Provider, name: str, symbol: str | None = None) -> pd.DataFrame:
    case = CASES[name]
    return provider.fetch_ohlcv(symbol or case.symbol, case.timeframe, case.start, case.end)


def assert_schema(frame: pd.DataFrame) -> None:
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert str(frame.index.tz) == "UTC"
    assert frame.index.name == "timestamp"
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    assert list(frame.columns[:5]) == list(OHLCV_COLUMNS)
    assert all(frame[c].dtype == np.float64 for c in frame.columns)
    assert not frame[list(OHLCV_COLUMNS)].isna().any().any()


@pytest.mark.parametrize("name", NAMES)
def test_capabilities_are_declared_as_data(name: str) -> None:
    caps = DECLARED[name]

    assert caps.timeframes and set(caps.timeframes) <= set(STANDARD_TIMEFRAMES)
    assert caps.max_candles > 0 and caps.rate_limit.capacity > 0 and caps.rate_limit.period > 0
    assert set(caps.history_days) <= set(caps.timeframes)
    assert caps.asset_classes


@pytest.mark.parametrize("name", NAMES)
def test_success_returns_closed_bars_in_range_in_the_schema(name: str, wired: Wired) -> None:
    server, provider = wired(name)
    case = CASES[name]

    frame = fetch(provider, name)

    assert len(frame) > 5
    assert_schema(frame)
    assert frame.index[0] >= case.start.floor("D") and frame.index[-1] <= case.end
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert provider.stats.calls >= 1 and server.count() >= 1


@pytest.mark.parametrize("name", NAMES)
def test_empty_result_is_an_empty_frame(name: str, wired: Wired) -> None:
    server, provider = wired(name)
    server.fail("empty", times=None)

    frame = fetch(provider, name)

    assert frame.empty
    assert_schema(frame)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_symbol(name: str, wired: Wired) -> None:
    _, provider = wired(name)
    symbol = "NOSUCH/USDT" if name == "coingecko" else "NOSUCH"

    if getattr(provider, "reports_unknown_symbols", True):
        with pytest.raises(SymbolNotFoundError):
            fetch(provider, name, symbol)
    else:  # the API answers an unknown ticker with no bars
        assert fetch(provider, name, symbol).empty


@pytest.mark.parametrize("name", NAMES)
def test_bad_key_is_an_authentication_error_without_retries(name: str, wired: Wired) -> None:
    if name == "yahoo":  # no key: a refused cookie/crumb answers 401
        server, provider = wired(name)
        server.fail("auth", times=None)
    else:
        server, provider = wired(name, key="wrong-key-9999", secret="wrong-secret")

    with pytest.raises(AuthenticationError):
        fetch(provider, name)
    assert provider.stats.retries == 0


@pytest.mark.parametrize("name", [n for n in NAMES if DECLARED[n].needs_api_key])
def test_missing_key_makes_the_provider_unavailable(name: str) -> None:
    with pytest.raises(MissingAPIKeyError, match=DECLARED[name].key_env or "key"):
        provider_class(name)(ProviderSettings(url="http://127.0.0.1:9"))


@pytest.mark.parametrize("name", NAMES)
def test_rate_limit_is_retried_then_succeeds(name: str, wired: Wired) -> None:
    server, provider = wired(name)
    server.fail("note" if name == "alpha_vantage" else "rate_limit", times=1, retry_after=0)

    frame = fetch(provider, name)

    assert len(frame) > 0
    assert provider.stats.rate_limited >= (0 if name == "yahoo" else 1)  # yfinance retries once


@pytest.mark.parametrize("name", NAMES)
def test_persistent_rate_limit_raises_rate_limit_error(name: str, wired: Wired) -> None:
    server, provider = wired(name)
    server.fail("note" if name == "alpha_vantage" else "rate_limit", times=None, retry_after=0)

    with pytest.raises(RateLimitError):
        fetch(provider, name)
    assert provider.stats.rate_limited == provider.retry_policy.max_attempts


@pytest.mark.parametrize("name", NAMES)
def test_server_error_is_retried_then_succeeds(name: str, wired: Wired) -> None:
    server, provider = wired(name)
    server.fail("server_error", times=2, status=503)

    frame = fetch(provider, name)

    assert len(frame) > 0


@pytest.mark.parametrize("name", NAMES)
def test_persistent_server_error_is_temporary(name: str, wired: Wired) -> None:
    server, provider = wired(name)
    server.fail("server_error", times=None)

    with pytest.raises(TemporaryProviderError) as info:
        fetch(provider, name)
    assert not isinstance(info.value, RateLimitError)
    assert provider.stats.retries == provider.retry_policy.max_attempts - 1


@pytest.mark.parametrize("name", NAMES)
def test_malformed_body_is_an_invalid_response(name: str, wired: Wired) -> None:
    server, provider = wired(name)
    server.fail("malformed", times=None)

    with pytest.raises(InvalidResponseError):
        fetch(provider, name)


@pytest.mark.parametrize("name", NAMES)
def test_malformed_body_once_is_retried(name: str, wired: Wired) -> None:
    server, provider = wired(name)
    server.fail("malformed", times=1)

    assert len(fetch(provider, name)) > 0


@pytest.mark.parametrize("name", NAMES)
def test_dropped_connection_is_temporary(name: str, wired: Wired) -> None:
    server, provider = wired(name)
    server.fail("disconnect", times=None)

    with pytest.raises(TemporaryProviderError):
        fetch(provider, name)


@pytest.mark.parametrize("name", NAMES)
def test_unserved_market_is_skipped_without_a_request(name: str, wired: Wired) -> None:
    server, provider = wired(name)
    caps = DECLARED[name]
    symbol = "BTC/USDT" if name != "coingecko" else "AAPL"
    if caps.markets is not None:
        symbol = "VOD.L" if "XLON" not in caps.markets else "0700.HK"

    assert not provider.supports(symbol, CASES[name].timeframe)
    with pytest.raises(UnsupportedError):
        provider.fetch_ohlcv(symbol, CASES[name].timeframe, CASES[name].start, CASES[name].end)
    assert server.count() == 0


@pytest.mark.parametrize("name", NAMES)
def test_canary_key_never_leaks(
    name: str, fake_server: Callable[..., FakeProviderServer], caplog: pytest.LogCaptureFixture
) -> None:
    canary = "CANARY-KEY-7f3a9c"
    secret = "CANARY-SECRET-2b8e"
    caplog.set_level(logging.DEBUG)
    server = fake_server(name, api_key=canary, secret=secret)
    provider = make_provider(name, server, key=canary, secret=secret)
    texts = [repr(provider), repr(provider.settings), str(provider.settings.api_key)]
    kinds = ["server_error", "malformed", "disconnect", "rate_limit", "auth"]
    if name == "alpha_vantage":
        kinds.append("daily_limit")  # its answer quotes the key back
    try:
        assert len(fetch(provider, name)) > 0
        for kind in kinds:
            server.fail(kind, times=None, retry_after=0)
            with pytest.raises(ProviderError) as info:
                fetch(provider, name)
            texts.append("".join(traceback.format_exception(info.value)))
            server.clear_faults()
            resilience._breakers.clear()  # keep the circuit closed for the next case
        try:
            fetch(provider, name, "NOSUCH/USDT" if name == "coingecko" else "NOSUCH")
        except SymbolNotFoundError as exc:
            texts.append("".join(traceback.format_exception(exc)))
        if name != "yahoo":  # Yahoo takes no key
            bad = make_provider(name, server, key=canary + "-wrong", secret=secret + "-wrong")
            with pytest.raises(AuthenticationError) as auth:
                fetch(bad, name)
            texts.append("".join(traceback.format_exception(auth.value)))
            bad.close()
    finally:
        provider.close()
    texts.append(caplog.text)

    for text in texts:
        assert canary not in text
        assert secret not in text


def test_contract_covers_every_registered_stock_provider() -> None:
    assert set(CASES) == set(STOCK_PROVIDERS)
    assert KEY and NOW.tzinfo is not None
