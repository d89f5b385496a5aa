"""The recorded response shapes (tests/resources): parsed right, replayed, matched by the fakes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from tests.adapters.conftest import KEY, SECRET
from tests.fakes import FakeProviderServer
from tradedata.adapters.alpaca import parse_bars
from tradedata.adapters.alpha_vantage import parse_series
from tradedata.adapters.base import Provider
from tradedata.adapters.coingecko import parse_ohlc
from tradedata.adapters.fmp import parse_intraday
from tradedata.adapters.polygon import parse_aggregates
from tradedata.adapters.tiingo import parse_daily
from tradedata.errors import (
    AuthenticationError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    UnsupportedError,
)
from tradedata.fundamentals.sources import parse_alpha_vantage, parse_fmp, parse_yahoo
from tradedata.model import Timeframe

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
Wired = Callable[..., tuple[FakeProviderServer, Provider]]
DAY, FIVE = Timeframe(1, "d"), Timeframe(5, "m")
SESSIONS = [pd.Timestamp(d, tz="UTC") for d in ("2024-03-07", "2024-03-08", "2024-03-11")]


def load(name: str) -> Any:
    return json.loads((RESOURCES / name).read_text(encoding="utf-8"))


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_every_provider_folder_says_where_its_shapes_come_from() -> None:
    folders = {p.name for p in RESOURCES.iterdir() if p.is_dir()}

    assert {"yahoo", "alpha_vantage", "fmp", "alpaca", "polygon", "tiingo", "coingecko"} <= folders
    assert all((RESOURCES / f / "NOTE.md").is_file() for f in folders)


# -- parsers on the recorded bodies -----------------------------------------------------------
def test_daily_bars_from_recorded_bodies_are_session_dates() -> None:
    frames = {
        "alpaca": parse_bars(load("alpaca/bars_AAPL_1Day.json")["bars"], DAY),
        "polygon": parse_aggregates(load("polygon/aggs_AAPL_1_day.json")["results"], DAY),
        "tiingo": parse_daily(load("tiingo/daily_prices_AAPL.json"), DAY),
    }

    for name, frame in frames.items():
        assert list(frame.index) == SESSIONS, name
        assert frame.loc[SESSIONS[1], "close"] == 170.73, name
    assert frames["tiingo"].loc[SESSIONS[2], "adj_close"] == 172.08


def test_intraday_keys_in_new_york_time_become_utc_opens() -> None:
    av = parse_series(load("alpha_vantage/time_series_intraday_IBM_5min.json"), FIVE)
    fmp = parse_intraday(load("fmp/historical_chart_5min_AAPL.json"), "America/New_York")
    alpaca = parse_bars(load("alpaca/bars_AAPL_5Min.json")["bars"], FIVE)

    assert list(av.index) == [
        utc("2024-03-08 14:30"),
        utc("2024-03-08 14:35"),
        utc("2024-03-09 00:55"),
    ]
    assert fmp.index[0] == utc("2024-03-08 14:30") and fmp.index[-1] == utc("2024-03-08 20:55")
    assert alpaca.index[0] == utc("2024-03-11 13:30")  # after the switch: UTC-4


def test_alpha_vantage_daily_and_coingecko_close_times() -> None:
    av = parse_series(load("alpha_vantage/time_series_daily_IBM.json"), DAY)
    cg = parse_ohlc(load("coingecko/ohlc_bitcoin_usd_7.json"), Timeframe(4, "h"))

    assert list(av.index) == SESSIONS and av.loc[SESSIONS[2], "volume"] == 4712685.0
    assert cg.index[0] == utc("2024-03-02 12:00")  # close 16:00 minus the 4-hour candle
    assert (cg["volume"] == 0).all() and cg.attrs["volume_available"] is False


def test_recorded_fundamentals_parse_to_our_units() -> None:
    fmp = parse_fmp(
        {
            "profile": load("fmp/profile_AAPL.json")[0],
            "ratios": load("fmp/ratios_ttm_AAPL.json")[0],
            "metrics": load("fmp/key_metrics_ttm_AAPL.json")[0],
        }
    )
    av = parse_alpha_vantage(load("alpha_vantage/overview_IBM.json"))

    assert fmp["dividend_yield"] == 0.0055 and fmp["fifty_two_week_high"] == 199.62
    assert fmp["country"] == "US" and fmp["employees"] == 161000 and fmp["eps"] == 6.42
    assert av["sector"] == "Technology" and av["industry"] == "Computer & Office Equipment"
    assert av["country"] == "US" and av["market_cap"] == 175765356000.0
    assert "price" not in av


# -- recorded bodies replayed through the real clients ----------------------------------------
def test_yahoo_chart_recorded_body_through_yfinance(wired: Wired) -> None:
    server, provider = wired("yahoo")
    server.fail("custom", times=None, body=load("yahoo/chart_AAPL_1d.json"))

    frame = provider.fetch_ohlcv("AAPL", "1d", "2024-03-07", "2024-03-11")

    assert list(frame.index) == SESSIONS
    assert list(frame["adj_close"]) == [168.34, 170.07, 172.08]
    assert list(frame["volume"]) == [71765100.0, 76114600.0, 60139500.0]


def test_yahoo_intraday_recorded_body_through_yfinance(wired: Wired) -> None:
    server, provider = wired("yahoo")
    server.fail("custom", times=None, body=load("yahoo/chart_AAPL_5m.json"))

    frame = provider.fetch_ohlcv("AAPL", "5m", "2024-03-11 13:30", "2024-03-11 13:40")

    assert list(frame.index) == [
        utc("2024-03-11 13:30"),
        utc("2024-03-11 13:35"),
        utc("2024-03-11 13:40"),
    ]
    assert "adj_close" not in frame.columns


def test_yahoo_quote_summary_recorded_body_through_yfinance(wired: Wired) -> None:
    server, provider = wired("yahoo")
    body = load("yahoo/quoteSummary_AAPL.json")
    server.fail("custom", times=None, path="/v10/finance/quoteSummary/", body=body)

    fields = parse_yahoo(provider.fetch_fundamentals("AAPL"))  # type: ignore[attr-defined]

    assert fields["dividend_yield"] == pytest.approx(0.96 / 172.75)  # not Yahoo's percent
    assert fields["debt_to_equity"] == pytest.approx(1.40968)
    assert fields["country"] == "US" and fields["revenue"] == 385705984000


@pytest.mark.parametrize(
    ("name", "resource", "status", "error"),
    [
        ("yahoo", "yahoo/chart_not_found.json", 404, SymbolNotFoundError),
        ("yahoo", "yahoo/chart_unprocessable_1m.json", 422, UnsupportedError),
        ("alpha_vantage", "alpha_vantage/note_rate_limit.json", 200, RateLimitError),
        ("alpha_vantage", "alpha_vantage/error_invalid_call.json", 200, SymbolNotFoundError),
        ("fmp", "fmp/error_invalid_key.json", 401, AuthenticationError),
        ("polygon", "polygon/error_unknown_key.json", 401, AuthenticationError),
        ("polygon", "polygon/not_authorized.json", 403, UnsupportedError),
        ("tiingo", "tiingo/not_found.json", 404, SymbolNotFoundError),
        ("coingecko", "coingecko/rate_limit.json", 429, RateLimitError),
        ("coingecko", "coingecko/coin_not_found.json", 404, SymbolNotFoundError),
    ],
)
def test_recorded_error_bodies_become_our_errors(
    name: str, resource: str, status: int, error: type[ProviderError], wired: Wired
) -> None:
    from tests.adapters.conftest import CASES

    server, provider = wired(name)
    server.fail("custom", times=None, status=status, body=load(resource), retry_after=0)
    case = CASES[name]

    with pytest.raises(error):
        provider.fetch_ohlcv(case.symbol, case.timeframe, case.start, case.end)


# -- the fakes answer in the recorded shapes --------------------------------------------------
def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def covers(fake: Any, recorded: Any, path: str = "$") -> list[str]:
    """Where the fake's shape lacks something the recorded shape has."""
    if isinstance(recorded, dict):
        if not isinstance(fake, dict):
            return [path]
        if recorded and all(k[:1].isdigit() for k in recorded):  # keyed by time: a map
            if not fake:
                return [path]
            return covers(next(iter(fake.values())), next(iter(recorded.values())), f"{path}.*")
        return [
            m
            for k, v in recorded.items()
            for m in (covers(fake[k], v, f"{path}.{k}") if k in fake else [f"{path}.{k}"])
        ]
    if isinstance(recorded, list) and recorded:
        return (
            covers(fake[0], recorded[0], f"{path}[0]")
            if isinstance(fake, list) and fake
            else [path]
        )
    if recorded in ("NoneType", "str") or fake in ("NoneType",):
        return []  # nullable fields and cursors
    return [] if fake == recorded else [f"{path}: {fake} != {recorded}"]


SAMPLES = [
    ("polygon", "/v3/reference/splits", {"ticker": "NVDA"}, "polygon/splits_NVDA.json"),
    ("polygon", "/v3/reference/dividends", {"ticker": "AAPL"}, "polygon/dividends_AAPL.json"),
    (
        "fmp",
        "/api/v3/historical-price-full/stock_split/NVDA",
        {},
        "fmp/stock_split_NVDA.json",
    ),
    (
        "fmp",
        "/api/v3/historical-price-full/stock_dividend/AAPL",
        {},
        "fmp/stock_dividend_AAPL.json",
    ),
    (
        "alpaca",
        "/v1/corporate-actions",
        {"symbols": "NVDA", "types": "forward_split,cash_dividend", "start": "2021-01-01"},
        "alpaca/corporate_actions_NVDA.json",
    ),
    (
        "alpha_vantage",
        "/query",
        {"function": "SPLITS", "symbol": "NVDA"},
        "alpha_vantage/splits_NVDA.json",
    ),
    (
        "alpha_vantage",
        "/query",
        {"function": "DIVIDENDS", "symbol": "AAPL"},
        "alpha_vantage/dividends_IBM.json",
    ),
    (
        "alpaca",
        "/v2/stocks/AAPL/bars",
        {"timeframe": "1Day", "start": "2024-03-07", "end": "2024-03-11", "limit": "2"},
        "alpaca/bars_AAPL_1Day.json",
    ),
    (
        "polygon",
        "/v2/aggs/ticker/AAPL/range/1/day/2024-03-07/2024-03-20",
        {"limit": "3"},
        "polygon/aggs_AAPL_1_day.json",
    ),
    (
        "tiingo",
        "/tiingo/daily/aapl/prices",
        {"startDate": "2024-03-07", "endDate": "2024-03-11"},
        "tiingo/daily_prices_AAPL.json",
    ),
    (
        "tiingo",
        "/iex/aapl/prices",
        {"startDate": "2024-03-11", "endDate": "2024-03-12", "resampleFreq": "5min"},
        "tiingo/iex_prices_AAPL_5min.json",
    ),
    (
        "fmp",
        "/api/v3/historical-price-full/AAPL",
        {"from": "2024-03-07", "to": "2024-03-11"},
        "fmp/historical_price_full_AAPL.json",
    ),
    (
        "fmp",
        "/api/v3/historical-chart/5min/AAPL",
        {"from": "2024-03-08", "to": "2024-03-08"},
        "fmp/historical_chart_5min_AAPL.json",
    ),
    ("fmp", "/api/v3/profile/AAPL", {}, "fmp/profile_AAPL.json"),
    ("fmp", "/api/v3/ratios-ttm/AAPL", {}, "fmp/ratios_ttm_AAPL.json"),
    ("fmp", "/api/v3/key-metrics-ttm/AAPL", {}, "fmp/key_metrics_ttm_AAPL.json"),
    (
        "alpha_vantage",
        "/query",
        {"function": "TIME_SERIES_DAILY", "symbol": "IBM"},
        "alpha_vantage/time_series_daily_IBM.json",
    ),
    (
        "alpha_vantage",
        "/query",
        {
            "function": "TIME_SERIES_INTRADAY",
            "symbol": "IBM",
            "interval": "5min",
            "month": "2024-03",
        },
        "alpha_vantage/time_series_intraday_IBM_5min.json",
    ),
    (
        "alpha_vantage",
        "/query",
        {"function": "OVERVIEW", "symbol": "IBM"},
        "alpha_vantage/overview_IBM.json",
    ),
    (
        "coingecko",
        "/api/v3/coins/bitcoin/ohlc",
        {"vs_currency": "usd", "days": "7"},
        "coingecko/ohlc_bitcoin_usd_7.json",
    ),
    (
        "yahoo",
        "/v8/finance/chart/AAPL",
        {"period1": "1598000000", "period2": "1710201600", "interval": "1d"},
        "yahoo/chart_AAPL_1d.json",
    ),
    (
        "yahoo",
        "/v8/finance/chart/AAPL",
        {"period1": "1710163800", "period2": "1710165000", "interval": "5m"},
        "yahoo/chart_AAPL_5m.json",
    ),
    (
        "yahoo",
        "/v10/finance/quoteSummary/AAPL",
        {"modules": "assetProfile"},
        "yahoo/quoteSummary_AAPL.json",
    ),
]


@pytest.mark.parametrize(
    ("name", "path", "params", "resource"), SAMPLES, ids=[s[3] for s in SAMPLES]
)
def test_fake_answers_cover_the_recorded_shape(
    name: str,
    path: str,
    params: dict[str, str],
    resource: str,
    fake_server: Callable[..., FakeProviderServer],
) -> None:
    server = fake_server(name)
    headers = {
        "APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": SECRET, "Authorization": f"Bearer {KEY}",
    }  # fmt: skip
    if name == "tiingo":
        headers["Authorization"] = f"Token {KEY}"

    answer = requests.get(
        server.url + path, params={**params, "apikey": KEY}, headers=headers, timeout=5
    )

    assert answer.status_code == 200
    missing = covers(shape(answer.json()), shape(load(resource)))
    if name == "alpha_vantage" and "Time Series" in json.dumps(load(resource)):
        missing = [m for m in missing if "Output Size" not in m]
    assert missing == [], missing
