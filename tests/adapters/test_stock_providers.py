"""What each stock provider does beyond the contract: paging, windows, labels, quirks."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from tests.adapters.conftest import DECLARED, KEY, NOW
from tests.fakes import FakeProviderServer
from tradedata.adapters.alpaca import alpaca_symbol
from tradedata.adapters.alpha_vantage import AlphaVantageProvider, av_symbol
from tradedata.adapters.base import Provider
from tradedata.adapters.fmp import fmp_symbol
from tradedata.adapters.polygon import polygon_ticker
from tradedata.adapters.yahoo import yahoo_symbol
from tradedata.errors import RateLimitError, SymbolNotFoundError, UnsupportedError
from tradedata.model import Timeframe

Wired = Callable[..., tuple[FakeProviderServer, Provider]]


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# -- symbol spelling ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fn", "symbol", "expected"),
    [
        (av_symbol, "VOD.L", "VOD.LON"),
        (av_symbol, "SHOP.TO", "SHOP.TRT"),
        (av_symbol, "AAPL", "AAPL"),
        (yahoo_symbol, "EUR/USD", "EURUSD=X"),
        (yahoo_symbol, "BRK.B", "BRK-B"),
        (yahoo_symbol, "7203.T", "7203.T"),
        (polygon_ticker, "EUR/USD", "C:EURUSD"),
        (polygon_ticker, "^GSPC", "I:SPX"),
        (polygon_ticker, "BRK-B", "BRK.B"),
        (alpaca_symbol, "BRK-B", "BRK.B"),
        (fmp_symbol, "EUR/USD", "EURUSD"),
        (fmp_symbol, "VOD.L", "VOD.L"),
    ],
)
def test_tickers_are_spelled_the_providers_way(
    fn: Callable[[str], str], symbol: str, expected: str
) -> None:
    assert fn(symbol) == expected


# -- Alpaca ------------------------------------------------------------------------------------
def test_alpaca_follows_next_page_token_one_call_per_page(wired: Wired) -> None:
    server, provider = wired("alpaca", {"page_limit": 20})
    _, whole = wired("alpaca")

    paged = provider.fetch_ohlcv("AAPL", "1h", utc("2024-03-04"), utc("2024-03-15"))

    bars = server.requests
    assert len(bars) == -(-len(paged) // 20) and len(bars) >= 3
    assert "page_token" not in bars[0].query and all("page_token" in r.query for r in bars[1:])
    assert {r.query["start"] for r in bars} == {"2024-03-04T00:00:00Z"}  # replayed query
    assert provider.stats.calls == len(bars)
    pd.testing.assert_frame_equal(
        paged, whole.fetch_ohlcv("AAPL", "1h", utc("2024-03-04"), utc("2024-03-15"))
    )


def test_alpaca_sends_credentials_in_headers_only(wired: Wired) -> None:
    server, provider = wired("alpaca")

    provider.fetch_ohlcv("BRK-B", "1d", utc("2024-03-01"), utc("2024-03-08"))

    request = server.requests[0]
    assert request.path == "/v2/stocks/BRK.B/bars"
    assert request.headers["apca-api-key-id"] == KEY
    assert KEY not in request.raw_query


def test_alpaca_daily_bars_are_labelled_by_session_date(wired: Wired) -> None:
    _, provider = wired("alpaca")

    frame = provider.fetch_ohlcv("AAPL", "1d", utc("2024-03-04"), utc("2024-03-08"))

    assert list(frame.index) == list(pd.date_range("2024-03-04", "2024-03-08", tz="UTC"))


# -- Polygon -----------------------------------------------------------------------------------
def test_polygon_follows_next_url_with_the_key_in_a_header(wired: Wired) -> None:
    server, provider = wired("polygon", {"page_limit": 50})
    _, whole = wired("polygon")

    paged = provider.fetch_ohlcv("AAPL", "5m", utc("2024-03-07"), utc("2024-03-09"))

    assert len(server.requests) == -(-len(paged) // 50) and len(server.requests) >= 3
    assert all("cursor" in r.query for r in server.requests[1:])
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in server.requests)
    assert all(KEY not in r.raw_query for r in server.requests)
    pd.testing.assert_frame_equal(
        paged, whole.fetch_ohlcv("AAPL", "5m", utc("2024-03-07"), utc("2024-03-09"))
    )


def test_polygon_weeks_start_on_monday_and_forex_uses_c_prefix(wired: Wired) -> None:
    server, provider = wired("polygon")

    weeks = provider.fetch_ohlcv("EUR/USD", "1w", utc("2024-01-01"), utc("2024-03-15"))

    assert "/ticker/C:EURUSD/range/1/week/" in server.requests[0].path
    assert (weeks.index.weekday == 0).all() and len(weeks) == 11


def test_polygon_plan_limit_is_unsupported_not_auth(wired: Wired) -> None:
    server, provider = wired("polygon")
    server.fail("forbidden", times=None)

    with pytest.raises(UnsupportedError, match="entitled"):
        provider.fetch_ohlcv("AAPL", "1d", utc("2024-03-01"), utc("2024-03-08"))


# -- Alpha Vantage -----------------------------------------------------------------------------
def test_alpha_vantage_intraday_fetches_each_month_once(wired: Wired) -> None:
    server, provider = wired("alpha_vantage")

    frame = provider.fetch_ohlcv("AAPL", "5m", utc("2024-01-25"), utc("2024-03-05"))

    months = [r.query.get("month") for r in server.requests]
    assert months == ["2024-01", "2024-02", "2024-03"]
    assert frame.index[0] == utc("2024-01-25 14:30") and frame.index[-1] < utc("2024-03-05")


def test_alpha_vantage_note_is_a_rate_limit_with_a_wait(
    wired: Wired, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, provider = wired("alpha_vantage")
    server.fail("note", times=None)
    monkeypatch.setattr(
        AlphaVantageProvider, "retry_policy", provider.retry_policy.__class__(max_attempts=1)
    )

    with pytest.raises(RateLimitError) as info:
        provider.fetch_ohlcv("AAPL", "1d", utc("2024-03-01"), utc("2024-03-08"))
    assert info.value.retry_after == AlphaVantageProvider.note_retry_after


def test_alpha_vantage_daily_quota_message_hides_the_key(wired: Wired) -> None:
    server, provider = wired("alpha_vantage")
    server.fail("daily_limit", times=None)

    with pytest.raises(RateLimitError) as info:
        provider.fetch_ohlcv("AAPL", "1d", utc("2024-03-01"), utc("2024-03-08"))
    assert info.value.retry_after is None and "25 requests per day" in str(info.value)
    assert KEY not in str(info.value) and "***" in str(info.value)


def test_alpha_vantage_premium_function_is_unsupported(wired: Wired) -> None:
    server, provider = wired("alpha_vantage")
    server.fail("premium", times=None)

    with pytest.raises(UnsupportedError, match="premium"):
        provider.fetch_ohlcv("AAPL", "1d", utc("2024-03-01"), utc("2024-03-08"))


def test_alpha_vantage_international_daily_uses_its_suffix_and_no_intraday(wired: Wired) -> None:
    server, provider = wired("alpha_vantage")

    with pytest.raises(UnsupportedError):
        provider.fetch_ohlcv("VOD.L", "5m", utc("2024-03-01"), utc("2024-03-08"))
    assert server.count() == 0
    provider.fetch_ohlcv("VOD.L", "1d", utc("2024-03-01"), utc("2024-03-08"))
    assert server.requests[0].query["symbol"] == "VOD.LON"


def test_alpha_vantage_weeks_and_months_are_labelled_by_their_start(wired: Wired) -> None:
    _, provider = wired("alpha_vantage")

    weeks = provider.fetch_ohlcv("AAPL", "1w", utc("2024-01-01"), utc("2024-03-15"))
    months = provider.fetch_ohlcv("AAPL", "1M", utc("2023-06-01"), utc("2024-03-01"))

    assert (weeks.index.weekday == 0).all() and len(weeks) == 11
    assert (months.index.day == 1).all() and len(months) == 9  # March is still open


def test_alpha_vantage_forex_has_zero_volume(wired: Wired) -> None:
    _, provider = wired("alpha_vantage")

    frame = provider.fetch_ohlcv("EUR/USD", "1d", utc("2024-03-01"), utc("2024-03-08"))

    assert len(frame) == 6 and (frame["volume"] == 0.0).all()


# -- FMP ---------------------------------------------------------------------------------------
def test_fmp_intraday_goes_window_by_window_and_daily_has_adj_close(wired: Wired) -> None:
    server, provider = wired("fmp")

    intraday = provider.fetch_ohlcv("AAPL", "5m", utc("2024-02-01"), utc("2024-02-26"))
    daily = provider.fetch_ohlcv("AAPL", "1d", utc("2024-02-01"), utc("2024-02-26"))

    assert server.count("/historical-chart/5min/") == 3  # 10-day windows
    assert intraday.index[0] == utc("2024-02-01 14:30") and intraday.index.is_unique
    assert "adj_close" in daily.columns and (daily["adj_close"] <= daily["close"]).all()


# -- Tiingo ------------------------------------------------------------------------------------
def test_tiingo_relabels_friday_weeks_and_month_ends(wired: Wired) -> None:
    server, provider = wired("tiingo")

    weeks = provider.fetch_ohlcv("AAPL", "1w", utc("2024-01-01"), utc("2024-03-15"))
    months = provider.fetch_ohlcv("AAPL", "1M", utc("2023-06-01"), utc("2024-03-01"))

    assert (weeks.index.weekday == 0).all() and len(weeks) == 11
    assert (months.index.day == 1).all()
    assert server.requests[0].headers["authorization"] == f"Token {KEY}"
    assert all(KEY not in r.raw_query for r in server.requests)


def test_tiingo_intraday_uses_iex_windows(wired: Wired) -> None:
    server, provider = wired("tiingo")

    frame = provider.fetch_ohlcv("AAPL", "1m", utc("2024-03-01"), utc("2024-03-12"))

    assert server.count("/iex/aapl/prices") == 3  # 5-day windows
    assert frame.index[0] == utc("2024-03-01 14:30") and frame.index.is_unique


# -- CoinGecko ---------------------------------------------------------------------------------
def test_coingecko_labels_bars_by_open_and_has_no_volume(wired: Wired) -> None:
    server, provider = wired("coingecko")
    tf = pd.Timedelta(hours=4)

    page = provider.fetch_page("BTC/USDT", Timeframe(4, "h"), NOW - pd.Timedelta(days=5), NOW, 1000)
    frame = provider.fetch_ohlcv("BTC/USDT", "4h", NOW - pd.Timedelta(days=5), NOW)

    assert page.frame.attrs["volume_available"] is False and not provider.provides_volume
    assert (frame["volume"] == 0.0).all()
    assert (frame.index.hour % 4 == 0).all() and frame.index[-1] + tf <= NOW  # open candle dropped
    assert server.requests[-1].query == {"vs_currency": "usd", "days": "7"}


def test_coingecko_refuses_ranges_it_cannot_serve_without_calling(wired: Wired) -> None:
    server, provider = wired("coingecko")

    with pytest.raises(UnsupportedError, match="30 days"):
        provider.fetch_ohlcv("BTC/USDT", "4h", NOW - pd.Timedelta(days=45), NOW)
    assert server.count() == 0


def test_coingecko_looks_up_unlisted_coins_and_refuses_ambiguous_ones(wired: Wired) -> None:
    server, provider = wired("coingecko")

    frame = provider.fetch_ohlcv("FKC/EUR", "30m", NOW - pd.Timedelta(hours=12), NOW)
    with pytest.raises(SymbolNotFoundError, match="ambiguous"):
        provider.fetch_ohlcv("DUP/USD", "30m", NOW - pd.Timedelta(hours=12), NOW)

    assert len(frame) == 24
    assert server.count("/coins/list") == 1
    assert server.requests[1].path == "/api/v3/coins/fakecoin/ohlc"
    assert server.requests[1].query["vs_currency"] == "eur"


# -- Yahoo -------------------------------------------------------------------------------------
def test_yahoo_daily_has_adj_close_below_close_before_dividends(wired: Wired) -> None:
    _, provider = wired("yahoo")

    frame = provider.fetch_ohlcv("MSFT", "1d", utc("2023-06-01"), utc("2024-03-15"))

    assert "adj_close" in frame.columns
    assert (frame["adj_close"] <= frame["close"] + 1e-9).all()
    assert (frame["adj_close"] < frame["close"]).any()


def test_yahoo_corporate_actions(wired: Wired) -> None:
    _, provider = wired("yahoo")

    splits, dividends = provider.corporate_actions("SPLT", "2023-01-01", "2024-03-19")  # type: ignore[attr-defined]

    assert list(splits.index) == [utc("2024-03-11")] and splits.iloc[0] == 2.0
    assert len(dividends) == 5 and (dividends > 0).all()
    assert all(t.hour == 0 and str(t.tz) == "UTC" for t in dividends.index)


def test_yahoo_refuses_intraday_older_than_its_history_without_calling(wired: Wired) -> None:
    server, provider = wired("yahoo")

    with pytest.raises(UnsupportedError, match="30 days"):
        provider.fetch_ohlcv("AAPL", "1m", NOW - pd.Timedelta(days=45), NOW - pd.Timedelta(days=40))
    assert server.count() == 0


def test_yahoo_1m_goes_in_windows_within_yahoos_limit(wired: Wired) -> None:
    server, provider = wired("yahoo")

    frame = provider.fetch_ohlcv("AAPL", "1m", utc("2024-03-04"), utc("2024-03-15"))

    assert server.count("/v8/finance/chart/") == 2  # 7-day windows (Yahoo allows 8)
    assert len(frame) == 9 * 390 and frame.index.is_unique


def test_yahoo_session_moves_yahoo_hosts_onto_the_configured_url(wired: Wired) -> None:
    server, provider = wired("yahoo")
    session = provider.session  # type: ignore[attr-defined]

    from yfinance.const import _BASE_URL_  # the host yfinance itself calls (never reached)

    assert (
        session.rewrite(f"{_BASE_URL_}/v8/finance/chart/X?a=1")
        == f"{server.url}/v8/finance/chart/X?a=1"
    )
    assert session.rewrite("https://fc.yahoo.com") == f"{server.url}/"
    assert session.rewrite("https://example.org/x") == "https://example.org/x"


def test_yahoo_weeks_months_and_forex(wired: Wired) -> None:
    server, provider = wired("yahoo")

    weeks = provider.fetch_ohlcv("EUR/USD", "1w", utc("2024-01-01"), utc("2024-03-15"))
    months = provider.fetch_ohlcv("AAPL", "1M", utc("2023-06-01"), utc("2024-03-01"))

    assert server.count("/v8/finance/chart/EURUSD=X") == 1
    assert (weeks.index.weekday == 0).all() and len(weeks) == 11
    assert (months.index.day == 1).all() and len(months) == 9  # March is still open


def test_providers_without_fundamentals_do_not_claim_them() -> None:
    assert {n for n, c in DECLARED.items() if c.fundamentals} == {"fmp", "yahoo", "alpha_vantage"}


def test_yahoo_leaves_yfinance_with_its_own_session(wired: Wired) -> None:
    from yfinance.data import YfData

    before = YfData()._session
    _, provider = wired("yahoo")

    provider.fetch_ohlcv("AAPL", "1d", utc("2024-03-04"), utc("2024-03-08"))

    assert YfData()._session is before
    assert provider.session.yf_state[0] == "fakeCrumb.7x"  # type: ignore[attr-defined]
