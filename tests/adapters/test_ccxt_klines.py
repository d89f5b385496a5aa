"""Klines through ccxt's implicit API, parsed with numpy: the same bars as ccxt's own parsing."""

# ruff: noqa: F811 - the simulator fixtures are imported, then requested by name

from __future__ import annotations

import dataclasses
import json
import time
import traceback

import ccxt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.adapters.ccxt_conftest_fixtures import (
    make_provider,
    sim,  # noqa: F401 - fixture
    sim_server,  # noqa: F401 - fixture
)
from tradedata.adapters.base import ProviderSettings, Secret
from tradedata.adapters.ccxt_ import CcxtProvider
from tradedata.adapters.ccxt_.klines import parse_kline_rows
from tradedata.adapters.ccxt_.traits import TRAITS
from tradedata.errors import AuthenticationError, InvalidResponseError
from tradedata.model import empty_frame, frame_from_rows, parse_timeframe
from tradedata.redact import UpstreamError
from tradedata.sim.binance import kline_body, kline_rows
from tradedata.sim.market import ReplayMarket, SyntheticMarket

CANARY = "CANARY-KEY-5f0e1d2c"
#: Binance's documented kline shape (spot REST docs, as quoted in ccxt's binance.py).
BINANCE_ROWS = [
    [1591478520000, "0.02501300", "0.02501800", "0.02500000", "0.02500000", "22.19000000",
     1591478579999, "0.55490906", 40, "10.92900000", "0.27336462", "0"],
    [1591478580000, "0.02499600", "0.02500900", "0.02499400", "0.02500300", "21.34700000",
     1591478639999, "0.53370468", 24, "7.53800000", "0.18850725", "0"],
]  # fmt: skip
#: Bybit v5's documented shape: strings only, newest first (v5 market/kline docs).
BYBIT_ROWS = [
    ["1670608800000", "17071", "17073", "17027", "17055.5", "268611", "15.74462667"],
    ["1670605200000", "17071.5", "17071.5", "17061", "17071", "4177", "0.24469757"],
]


def _ccxt_parsed(rows: list[list], exchange: str) -> pd.DataFrame:
    """What the unified path makes of ``rows``: ccxt's parse_ohlcvs, then frame_from_rows."""
    client = getattr(ccxt, exchange)()
    market = {"spot": True, "inverse": False, "symbol": "X/Y", "id": "XY"}
    return frame_from_rows(client.parse_ohlcvs(rows, market, "1m"))


# -- parsing ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("rows", "exchange"), [(BINANCE_ROWS, "binance"), (BYBIT_ROWS, "bybit")])
def test_documented_shapes_parse_as_ccxt_parses_them(rows, exchange):
    got = parse_kline_rows(rows, exchange)

    pd.testing.assert_frame_equal(got, _ccxt_parsed(rows, exchange))
    assert got.index.is_monotonic_increasing  # Bybit's newest-first rows come out oldest first


def test_no_rows_is_an_empty_schema_frame():
    pd.testing.assert_frame_equal(parse_kline_rows([], "binance"), empty_frame())


@pytest.mark.parametrize(
    "rows",
    [
        {"code": -1121, "msg": "Invalid symbol."},  # an error body, not candles
        [[1591478520000, "1", "2", "0.5"]],  # too few fields
        [BINANCE_ROWS[0], BINANCE_ROWS[1][:5]],  # ragged
        [[1591478520000, "1", "x", "0.5", "1", "3"]],  # not a number
        [["soon", "1", "2", "0.5", "1", "3"]],  # not a time
        [[10**19, "1", "2", "0.5", "1", "3"]],  # beyond any timestamp
    ],
)
def test_anything_but_kline_rows_is_an_invalid_response(rows):
    with pytest.raises(InvalidResponseError):
        parse_kline_rows(rows, "binance")


def test_a_null_volume_is_nan_as_with_ccxt():  # validation flags it, as on the unified path
    rows = [[1591478520000, "1", "2", "0.5", "1", None]]

    got = parse_kline_rows(rows, "binance")

    pd.testing.assert_frame_equal(got, _ccxt_parsed(rows, "binance"))
    assert np.isnan(got["volume"].iloc[0])


_price = st.floats(min_value=1e-8, max_value=1e7, allow_nan=False, allow_infinity=False)


@settings(max_examples=50, deadline=None)
@given(
    opens=st.lists(
        st.integers(min_value=0, max_value=4_000_000_000_000), min_size=1, max_size=40, unique=True
    ),
    values=st.lists(st.tuples(_price, _price, _price, _price, _price), min_size=40, max_size=40),
    exchange=st.sampled_from(["binance", "bybit"]),
)
def test_parsing_agrees_with_ccxt_on_any_rows(opens, values, exchange):
    rows = [
        [t if exchange == "binance" else str(t), *(repr(v) for v in vals), "0"]
        for t, vals in zip(opens, values, strict=False)
    ]

    pd.testing.assert_frame_equal(parse_kline_rows(rows, exchange), _ccxt_parsed(rows, exchange))


# -- the raw path against the simulator ------------------------------------------------------
def test_binance_and_bybit_read_pages_raw():
    assert TRAITS["binance"].raw_klines == "binance" and TRAITS["bybit"].raw_klines == "bybit"


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
@pytest.mark.parametrize("timeframe", ["1m", "1h", "1d"])
def test_a_raw_page_equals_ccxts_unified_page(sim, exchange, timeframe):
    provider = make_provider(sim, exchange)
    provider.load_markets()
    tf = parse_timeframe(timeframe)
    until = tf.floor(sim.now()) - tf.delta  # closed bars: both requests see the same values
    since = until - tf.delta * 299

    got = provider.fetch_page("ETH/USDT", tf, since, until, 300).frame

    rows = provider.ccxt_client().fetch_ohlcv(
        "ETH/USDT", timeframe, since=int(since.value // 10**6), limit=300,
        params={"until": int(until.value // 10**6)},
    )  # fmt: skip
    pd.testing.assert_frame_equal(got, frame_from_rows(rows))
    assert len(got) == 300


@pytest.mark.parametrize("exchange", ["binance", "bybit"])
def test_with_markets_loaded_pages_never_go_through_fetch_ohlcv(sim, exchange):
    provider = make_provider(sim, exchange)
    provider.load_markets()

    def unused(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("fetch_ohlcv was called")

    provider.ccxt_client().fetch_ohlcv = unused
    end = sim.now().floor("h") - pd.Timedelta(hours=1)

    got = provider.fetch_ohlcv("BTC/USDT", "1h", end - pd.Timedelta(hours=5), end)

    assert len(got) == 6


def test_an_exchange_without_a_raw_reader_uses_fetch_ohlcv(sim, monkeypatch):
    monkeypatch.setitem(TRAITS, "binance", dataclasses.replace(TRAITS["binance"], raw_klines=None))
    provider = make_provider(sim, "binance")
    provider.load_markets()
    client = provider.ccxt_client()
    calls = []
    real = client.fetch_ohlcv
    client.fetch_ohlcv = lambda *a, **k: calls.append(a) or real(*a, **k)
    end = sim.now().floor("h") - pd.Timedelta(hours=1)

    got = provider.fetch_ohlcv("BTC/USDT", "1h", end - pd.Timedelta(hours=5), end)

    assert len(got) == 6 and len(calls) == 1


def test_a_raw_request_error_is_translated_without_the_key(sim):
    settings_ = ProviderSettings(
        url=sim.url,
        api_key=Secret(CANARY),
        secret=Secret(CANARY),
        # the wallet and margin listings a key unlocks are not simulated
        options={"ccxt": {"options": {"fetchCurrencies": False, "fetchMargins": False}}},
    )
    provider = CcxtProvider("binance", settings_)
    provider.load_markets()

    def boom(*_args: object, **_kwargs: object) -> None:
        raise ccxt.AuthenticationError(f"binance GET /api/v3/klines?apiKey={CANARY} rejected")

    provider.ccxt_client().publicGetKlines = boom
    hour = sim.now().floor("h") - pd.Timedelta(hours=2)
    with pytest.raises(AuthenticationError) as info:
        provider.fetch_page("BTC/USDT", parse_timeframe("1h"), hour, hour, 10)

    assert CANARY not in "".join(traceback.format_exception(info.value))
    assert isinstance(info.value.__cause__, UpstreamError)  # a redacted stand-in, not ccxt's
    assert "AuthenticationError" in str(info.value.__cause__)


# -- the simulator's fast kline body ---------------------------------------------------------
@pytest.mark.parametrize("symbol", ["BTC/USDT", "XRP/USDT", "ZQQQ/USDT"])
@pytest.mark.parametrize("timeframe", ["1m", "1h", "1d", "1M"])
def test_the_simulators_kline_body_is_the_json_of_its_rows(symbol, timeframe):
    market = SyntheticMarket("binance", symbol, 5, 1514764800000)
    now = int(time.time() * 1000)
    bars = market.klines(timeframe, now - 300 * 86_400_000, None, 1000, now)  # open bar too

    assert (
        kline_body(bars, timeframe)
        == json.dumps(kline_rows(bars, timeframe), separators=(",", ":")).encode()
    )


def test_the_kline_body_of_inexact_values_is_the_json_of_its_rows():
    index = pd.date_range("2024-01-01", periods=50, freq="min", tz="UTC", name="timestamp")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {c: rng.uniform(1, 2, 50) for c in ("open", "high", "low", "close", "volume")},
        index=index,
    )
    bars = ReplayMarket("binance", "X/USDT", frame, "1m").bars

    assert (
        kline_body(bars, "1m") == json.dumps(kline_rows(bars, "1m"), separators=(",", ":")).encode()
    )
