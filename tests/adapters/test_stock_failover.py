"""Failing over from a primary stock provider to its backup gives exactly the backup's data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pytest

from tests.adapters.conftest import KEY, SECRET
from tests.fakes import FakeProviderServer
from tradedata.adapters.base import Provider
from tradedata.errors import AllProvidersFailedError, ProviderError

Wired = Callable[..., tuple[FakeProviderServer, Provider]]
START, END = pd.Timestamp("2024-03-04", tz="UTC"), pd.Timestamp("2024-03-08 23:00", tz="UTC")


def first_that_works(
    providers: Sequence[Provider], symbol: str, tf: str
) -> tuple[str, pd.DataFrame]:
    """The smallest failover loop: try each provider in order."""
    errors: dict[str, BaseException] = {}
    for provider in providers:
        if not provider.supports(symbol, tf):
            continue
        try:
            return provider.name, provider.fetch_ohlcv(symbol, tf, START, END)
        except ProviderError as exc:
            errors[provider.name] = exc
    raise AllProvidersFailedError("all failed", errors=errors)


@pytest.mark.parametrize(
    ("primary", "backup", "fault"),
    [
        ("fmp", "alpaca", "server_error"),
        ("alpaca", "polygon", "rate_limit"),
        ("polygon", "yahoo", "auth"),
        ("yahoo", "alpha_vantage", "malformed"),
        ("alpha_vantage", "tiingo", "note"),
    ],
)
def test_failover_returns_the_backups_data(
    primary: str, backup: str, fault: str, wired: Wired
) -> None:
    bad_server, bad = wired(primary)
    _, good = wired(backup)
    _, reference = wired(backup)
    bad_server.fail(fault, times=None, retry_after=0)

    used, frame = first_that_works([bad, good], "AAPL", "1h")

    assert used == backup
    pd.testing.assert_frame_equal(frame, reference.fetch_ohlcv("AAPL", "1h", START, END))


def test_unserved_market_fails_over_without_calling_the_primary(wired: Wired) -> None:
    alpaca_server, alpaca = wired("alpaca")
    _, fmp = wired("fmp")

    used, frame = first_that_works([alpaca, fmp], "VOD.L", "1h")

    assert used == "fmp" and len(frame) > 0
    assert alpaca_server.count() == 0


def test_data_manager_fails_over_from_fmp_within_consolidated_never_to_iex(
    fake_server: Callable[..., FakeProviderServer], tmp_path: Path
) -> None:
    """FMP down: the next provider of the same source (consolidated volume) continues the
    series; Alpaca's free feed (IEX-only volume) is another source, asked only when named."""
    from tradedata.manager import DataManager

    servers = {n: fake_server(n) for n in ("fmp", "alpaca", "alpha_vantage", "polygon", "yahoo")}
    servers["fmp"].fail("server_error", times=None)
    settings = {n: {"url": s.url, "api_key": KEY, "secret": SECRET} for n, s in servers.items()}

    with DataManager(cache_dir=tmp_path / "cache", providers=settings) as manager:
        frame = manager.get_ohlcv("AAPL", "1h", START, END)
        assert servers["alpaca"].count() == 0  # IEX volume never continues consolidated
        direct = manager.provider("alpha_vantage").fetch_ohlcv("AAPL", "1h", START, END)
        iex = manager.get_ohlcv("IEX:AAPL", "1h", START, END)
        alpaca = manager.provider("alpaca").fetch_ohlcv("AAPL", "1h", START, END)
        assert manager.cache.sources("AAPL", "1h") == ["consolidated", "iex"]

    assert frame.attrs["source"] == "consolidated" and frame.attrs["provider"] == "alpha_vantage"
    assert servers["fmp"].count() >= 1
    cols = ["open", "high", "low", "close", "volume"]
    pd.testing.assert_frame_equal(frame[cols], direct[cols], check_freq=False)
    assert iex.attrs["source"] == "iex" and iex.attrs["provider"] == "alpaca"
    pd.testing.assert_frame_equal(iex[cols], alpaca[cols], check_freq=False)
