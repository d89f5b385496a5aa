"""The ccxt adapter's parts that need no server: traits, error translation, clock, settings."""

from __future__ import annotations

import traceback

import ccxt
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradedata.adapters import create_provider, provider_class
from tradedata.adapters.base import ProviderSettings, Secret
from tradedata.adapters.ccxt_ import CcxtProvider
from tradedata.adapters.ccxt_.clock import ServerClock
from tradedata.adapters.ccxt_.cooldown import Cooldown
from tradedata.adapters.ccxt_.errors import retry_after_seconds, scrub, translate
from tradedata.adapters.ccxt_.pacing import SEND_JITTER, binance_weight_limit, fixed_window_rate
from tradedata.adapters.ccxt_.traits import TRAITS
from tradedata.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidResponseError,
    ProviderError,
    RateLimitError,
    SymbolNotFoundError,
    TemporaryProviderError,
    UnsupportedError,
)
from tradedata.model import parse_timeframe
from tradedata.redact import UpstreamError
from tradedata.symbols import AssetClass

CANARY = "CANARY-KEY-5f0e1d2c"


# -- rate limits -------------------------------------------------------------------------------
@given(
    limit=st.floats(min_value=8, max_value=1e6, allow_nan=False),
    window=st.floats(min_value=1, max_value=86400, allow_nan=False),
    heavy=st.floats(min_value=0.1, max_value=0.25),
)
def test_fixed_window_rate_never_exceeds_the_limit_in_any_window(limit, window, heavy):
    rate = fixed_window_rate(limit, window, max_weight=heavy * limit)

    # sends spread over window + jitter seconds may all land in one server window
    most_in_one_window = rate.capacity + rate.rate * (window + SEND_JITTER)

    assert most_in_one_window <= limit * 1.000001
    assert rate.capacity >= heavy * limit  # the heaviest request is never undercharged
    assert rate.rate * window >= 0.3 * limit  # and still uses most of the limit


def test_binance_published_limit_paces_at_over_94_percent():
    rate = fixed_window_rate(6000, 60, max_weight=20)

    assert rate.capacity == pytest.approx(120)
    assert rate.rate == pytest.approx((5820 - 120) / 60.25)
    assert rate.rate / 100 > 0.94


def test_binance_weight_limit_picks_the_tightest_request_weight_entry():
    body = (
        '{"rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",'
        ' "intervalNum": 1, "limit": 6000},'
        ' {"rateLimitType": "REQUEST_WEIGHT", "interval": "SECOND", "intervalNum": 10,'
        ' "limit": 500},'
        ' {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 1}]}'
    )

    assert binance_weight_limit(body) == (500.0, 10.0)


@pytest.mark.parametrize("body", ["not json", "[]", '{"rateLimits": [{"limit": "x"}]}'])
def test_binance_weight_limit_is_none_without_a_usable_entry(body: str):
    assert binance_weight_limit(body) is None


# -- capabilities ------------------------------------------------------------------------------
def test_class_capabilities_serve_selection_before_an_exchange_is_chosen():
    caps = provider_class("binance").capabilities

    assert caps.asset_classes == frozenset({AssetClass.CRYPTO})
    assert {"1m", "1h", "1d"} <= set(caps.timeframes)


def test_instance_capabilities_are_the_exchanges_own():
    binance = CcxtProvider("binance")
    bybit = CcxtProvider("bybit")

    assert binance.name == "binance" and bybit.name == "bybit"
    assert binance.capabilities.max_candles == 1000
    assert binance.capabilities.page_weight == 2
    assert "1s" in binance.capabilities.timeframes
    assert bybit.capabilities.max_candles == 1000
    assert "8h" not in bybit.capabilities.timeframes  # Bybit has no 8h candles
    assert CcxtProvider.capabilities.max_candles == 500  # the class view is untouched


def test_exchange_outside_the_table_gets_ccxts_own_figures():
    caps = CcxtProvider.capabilities_for("bitvavo")

    assert "bitvavo" not in TRAITS
    assert caps.max_candles == ccxt.bitvavo().features["spot"]["fetchOHLCV"]["limit"]
    assert caps.rate_limit.period == pytest.approx(ccxt.bitvavo().rateLimit / 1000)


def test_options_override_limits():
    settings = ProviderSettings(options={"rate_limit": 300, "rate_period": 10, "max_candles": 200})

    caps = CcxtProvider.capabilities_for("binance", settings)

    assert caps.max_candles == 200
    assert caps.rate_limit == fixed_window_rate(300, 10, max_weight=20)


def test_registry_builds_a_ccxt_provider_for_any_exchange_id():
    provider = create_provider("okx", ProviderSettings())

    assert isinstance(provider, CcxtProvider)
    assert provider.name == "okx"


def test_unknown_exchange_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="not a ccxt exchange"):
        CcxtProvider("no-such-exchange")


@pytest.mark.parametrize(
    "options", [{"colour": "red"}, {"max_candles": "many"}, {"rate_limit": -1}, {"ccxt": 3}]
)
def test_bad_options_are_configuration_errors(options: dict):
    with pytest.raises(ConfigurationError):
        CcxtProvider("binance", ProviderSettings(options=options))


def test_sandbox_switches_ccxt_to_the_exchanges_test_urls():
    provider = CcxtProvider("binance", ProviderSettings(sandbox=True))

    client = provider.ccxt_client()

    assert client.urls["api"]["public"] == ccxt.binance().urls["test"]["public"]


def test_endpoint_override_wins_and_only_spot_markets_are_loaded():
    url = "http://127.0.0.1:9"
    client = CcxtProvider("bybit", ProviderSettings(url=url)).ccxt_client()

    assert client.urls["api"]["public"] == url
    assert client.options["fetchMarkets"]["types"] == ["spot"]
    assert client.enableRateLimit is False  # pacing is the shared bucket's job


def test_a_users_own_ccxt_client_keeps_ccxts_defaults():
    CcxtProvider("binance", ProviderSettings(url="http://127.0.0.1:9"))

    mine = ccxt.binance()

    assert "linear" in mine.options["fetchMarkets"]["types"]
    assert mine.urls["api"]["public"].startswith("https://")


def test_secrets_stay_out_of_reprs():
    settings = ProviderSettings(api_key=Secret(CANARY), secret=Secret(CANARY + "s"))
    provider = CcxtProvider("binance", settings)

    text = repr(provider) + repr(settings) + str(provider.settings.api_key)

    assert CANARY not in text
    assert provider.ccxt_client().apiKey == CANARY  # handed to ccxt, and only there


# -- error translation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("exc", "status", "expected"),
    [
        (ccxt.RateLimitExceeded("429"), 429, RateLimitError),
        (ccxt.DDoSProtection("418"), 418, RateLimitError),
        (ccxt.RequestTimeout("slow"), None, TemporaryProviderError),
        (ccxt.ExchangeNotAvailable("503"), 503, TemporaryProviderError),
        (ccxt.NetworkError("reset"), None, TemporaryProviderError),
        (ccxt.OperationFailed("-1001"), 500, TemporaryProviderError),
        (ccxt.ExchangeError("bad gateway"), 502, TemporaryProviderError),
        (ccxt.BadResponse("half a body"), 200, InvalidResponseError),
        (ccxt.ExchangeError("odd body"), 200, InvalidResponseError),
        (ValueError("not a number"), 200, InvalidResponseError),
        (ccxt.BadSymbol("no such market"), 400, SymbolNotFoundError),
        (ccxt.AuthenticationError("bad key"), 401, AuthenticationError),
        (ccxt.PermissionDenied("not allowed"), 403, AuthenticationError),
        (ccxt.NotSupported("no ohlcv"), None, UnsupportedError),
        (ccxt.BadRequest("-1120 invalid interval"), 400, UnsupportedError),
        (ccxt.ExchangeError("refused"), 409, ProviderError),
    ],
)
def test_translate_maps_each_ccxt_error_to_the_narrowest_class(exc, status, expected):
    err = translate(exc, provider="binance", status=status)

    assert type(err) is expected
    assert err.provider == "binance"


def test_rate_limit_carries_retry_after_and_a_ban_says_so():
    headers = {"retry-after": "37"}

    limited = translate(ccxt.DDoSProtection("429"), provider="binance", status=429, headers=headers)
    banned = translate(ccxt.DDoSProtection("418"), provider="binance", status=418, headers=headers)

    assert isinstance(limited, RateLimitError) and limited.retry_after == 37
    assert isinstance(banned, RateLimitError) and "banned" in str(banned)


def test_retry_after_from_bybit_reset_timestamp():
    headers = {"X-Bapi-Limit-Reset-Timestamp": "1700000002500"}

    assert retry_after_seconds(headers, now=1_700_000_000.0) == pytest.approx(2.5)


def test_retry_after_from_an_http_date():
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}

    assert retry_after_seconds(headers, now=1445412470.0) == pytest.approx(10.0)


def test_messages_never_carry_the_key():
    exc = ccxt.AuthenticationError(f"binance GET /api?apiKey={CANARY} -2015")

    err = translate(exc, provider="binance", status=401, secrets=[CANARY])

    try:
        raise err from exc
    except ProviderError as raised:
        shown = str(raised)
    assert CANARY not in shown and "***" in shown


def test_scrub_shortens_long_messages():
    assert len(scrub("x" * 5000, [])) == 300


def test_a_translated_error_and_its_cause_never_show_the_key():
    provider = CcxtProvider("binance", ProviderSettings(api_key=Secret(CANARY)))
    client = provider.ccxt_client()

    def boom(*_args: object, **_kwargs: object) -> None:
        raise ccxt.AuthenticationError(f"binance GET /api/v3/klines?apiKey={CANARY} rejected")

    client.fetch_ohlcv = boom
    hour = pd.Timestamp("2024-01-01", tz="UTC")
    with pytest.raises(AuthenticationError) as info:
        provider.fetch_page("BTC/USDT", parse_timeframe("1h"), hour, hour, 10)

    assert CANARY not in "".join(traceback.format_exception(info.value))  # cause included
    # the chained cause is a redacted stand-in naming ccxt's error, never ccxt's own object
    assert isinstance(info.value.__cause__, UpstreamError)
    assert str(info.value.__cause__).startswith("AuthenticationError: binance GET")


def test_a_rate_limit_answer_holds_back_every_threads_next_request():
    provider = CcxtProvider("binance", ProviderSettings(url="http://127.0.0.1:9"))
    cooldown = Cooldown()
    provider._pool.cooldown = cooldown  # not the process-wide one: no other test waits
    client = provider.ccxt_client()

    def limited(*_args: object, **_kwargs: object) -> None:
        raise ccxt.RateLimitExceeded("binance 429 Too Many Requests")

    client.fetch_ohlcv = limited
    hour = pd.Timestamp("2024-01-01", tz="UTC")
    with pytest.raises(RateLimitError):
        provider.fetch_page("BTC/USDT", parse_timeframe("1h"), hour, hour, 10)

    assert cooldown.remaining() > 0.5  # the default wait when no Retry-After came


def test_cooldown_waits_for_the_longest_block():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    cooldown = Cooldown(monotonic=lambda: now[0], sleep=sleep)
    cooldown.block(5)
    cooldown.block(2)  # never shortens

    assert cooldown.wait() == pytest.approx(5) and cooldown.remaining() == 0
    assert cooldown.wait() == 0


# -- server clock ------------------------------------------------------------------------------
class _Clocks:
    def __init__(self, server_speed: float) -> None:
        self.local = 100.0
        self.server_ms = 1_700_000_000_000
        self.speed = server_speed
        self.fetches = 0

    def tick(self, seconds: float) -> None:
        self.local += seconds
        self.server_ms += int(seconds * 1000 * self.speed)

    def fetch(self) -> int:
        self.fetches += 1
        return self.server_ms


@pytest.mark.parametrize("speed", [0.0, 0.5, 1.0, 60.0])
def test_server_clock_is_never_ahead_of_the_server(speed: float):
    clocks = _Clocks(speed)
    clock = ServerClock(clocks.fetch, ttl=5.0, monotonic=lambda: clocks.local)

    readings = []
    for _ in range(40):
        readings.append(clock.now_ms() - clocks.server_ms)
        clocks.tick(0.7)

    assert max(readings) <= 0


def test_server_clock_follows_a_real_time_server_closely_and_caches():
    clocks = _Clocks(1.0)
    clock = ServerClock(clocks.fetch, ttl=5.0, monotonic=lambda: clocks.local)
    clock.now_ms()
    clocks.tick(6.0)
    clock.now_ms()  # second sample: the rate is known

    clocks.tick(3.0)
    lag = clocks.server_ms - clock.now_ms()

    assert lag == pytest.approx(0, abs=2)
    assert clocks.fetches == 2


def test_server_clock_invalidate_forces_a_new_reading():
    clocks = _Clocks(1.0)
    clock = ServerClock(clocks.fetch, ttl=60.0, monotonic=lambda: clocks.local)
    clock.now_ms()

    clock.invalidate()
    clock.now_ms()

    assert clocks.fetches == 2
